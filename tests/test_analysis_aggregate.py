"""``analysis.summaries.aggregate``: the tidy frames the figures draw, on hand-checked data (no JAX)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from analysis.stats.improvement import improvement_interval
from analysis.summaries import aggregate


def test_train_curves_stop_at_each_runs_total_steps():
    # Config 0 trains 1,000 steps, config 1 5,000 (total_steps swept); 25 bins of 200 steps. Config 0's last
    # episode ends at 700: bin (800, 1000] is still training and carries 70 forward; later bins do not exist
    # for it. Config 1 completes no episode in (2000, 2600]: those bins carry its previous value.
    runs = pd.DataFrame({"config": [0, 0, 1, 1], "seed": [0, 1, 0, 1], "total_steps": [1000, 1000, 5000, 5000]})
    ends = {0: np.arange(100, 800, 100), 1: np.setdiff1d(np.arange(200, 5001, 200), [2200, 2400])}
    rows = [(c, s, e) for c in (0, 1) for s in (0, 1) for e in ends[c]]
    episodes = pd.DataFrame(rows, columns=["config", "seed", "end_step"]).assign(
        episode_return=lambda d: d["end_step"] / 10.0
    )
    cur = aggregate.train_curves(runs, episodes, n_bins=25)
    c0, c1 = cur[cur["config"] == 0], cur[cur["config"] == 1]
    assert c0["step"].tolist() == [200, 400, 600, 800, 1000]
    np.testing.assert_allclose(c0["iqm"], [15.0, 35.0, 55.0, 70.0, 70.0])
    assert c1["step"].tolist() == list(range(200, 5001, 200)) and (c1["n_runs"] == 2).all()
    np.testing.assert_allclose(c1.set_index("step").loc[[2200, 2400, 2600], "iqm"], [200.0, 200.0, 260.0])
    # Without total_steps a run ends at its last completed episode.
    cur = aggregate.train_curves(runs.drop(columns="total_steps"), episodes, n_bins=25)
    assert cur.loc[cur["config"] == 0, "step"].max() == 800


def test_grouped_intervals_pool_the_configs_sharing_a_value():
    # Configs 0 and 2 share lr 1 (seeds 10, 20 and 30, 40), config 1 alone has lr 2 (seeds 5, 7, 9): the lr-1
    # group's IQM pools four runs (drops 10 and 40 -> 25), the lr-2 group's is its middle three's mean (7).
    summary = pd.DataFrame({"config": [0, 1, 2], "lr": [1.0, 2.0, 1.0]})
    runs = pd.DataFrame({"config": [0, 0, 1, 1, 1, 2, 2], "seed": [0, 1, 0, 1, 2, 0, 1]})
    values = np.array([10.0, 20.0, 5.0, 7.0, 9.0, 30.0, 40.0])
    g = aggregate.grouped_intervals(summary, runs, values, ["lr"], n_boot=200)
    assert g["lr"].tolist() == [1.0, 2.0]
    np.testing.assert_allclose(g["iqm"], [25.0, 7.0])
    assert g["n_configs"].tolist() == [2, 1] and g["n_runs"].tolist() == [4, 3]
    assert np.all((g["ci_low"] <= g["iqm"]) & (g["iqm"] <= g["ci_high"]))


def test_a_cell_of_one_config_has_the_summarys_interval():
    # Two axes, each (lr, eps) cell one config: its interval is the config's own IQM interval, as the summary
    # prints it, not a pooled one (which allows for a seed at the task's bounds and was far wider on Acrobot).
    from analysis.stats import intervals
    from analysis.stats.point import Scale

    rng = np.random.default_rng(0)
    summary = pd.DataFrame({"config": [0, 1, 2, 3], "lr": [1.0, 1.0, 2.0, 2.0], "eps": [0.1, 0.2, 0.1, 0.2]})
    runs = pd.DataFrame({"config": np.repeat(np.arange(4), 8), "seed": np.tile(np.arange(8), 4)})
    values = rng.uniform(-95.0, -75.0, 32)
    scale = Scale(low=-500.0, high=0.0, solved=-100.0, random=-499.2)
    g = aggregate.grouped_intervals(summary, runs, values, ["lr", "eps"], n_boot=500, scale=scale)
    own = intervals.interval(values.reshape(4, 8), "iqm", bounds=(-500.0, 0.0), n_boot=500)
    np.testing.assert_allclose(g[["iqm", "ci_low", "ci_high"]].to_numpy(), np.stack([own.point, own.low, own.high], 1))
    assert (g["ci_high"] - g["ci_low"]).max() < 20  # one config allowed for seeds at the bounds before
    pooled = aggregate.grouped_intervals(summary, runs, values, ["lr"], n_boot=500, scale=scale)
    assert (pooled["n_configs"] == 2).all() and (pooled["ci_low"] < -110).all()  # pools keep the atom


def test_profile_at_the_cap_is_the_share_that_reached_it_with_exact_intervals():
    # Config 0's final returns 500, 500, 500, 200: at tau = 500 the profile is 3/4 (rliable's "above tau" would
    # be 0 there for any capped config), with the Clopper-Pearson interval of 3 of 4.
    runs = pd.DataFrame({"config": 0, "seed": [0, 1, 2, 3], "final_eval_return": [500.0, 500.0, 500.0, 200.0]})
    prof = aggregate.score_profiles(runs, [0]).set_index("tau")
    assert prof.loc[500.0, "fraction"] == 0.75 and prof.loc[0.0, "fraction"] == 1.0
    exact = sps.binomtest(3, 4).proportion_ci(method="exact")
    np.testing.assert_allclose(prof.loc[500.0, ["ci_low", "ci_high"]].to_numpy(float), [exact.low, exact.high])
    assert prof.loc[300.0, "fraction"] == 0.75 and prof.loc[200.0, "fraction"] == 1.0


def test_eval_curve_bands_are_finite_where_most_runs_lack_an_evaluation():
    # 12 seeds evaluated at step 100; only seeds 0 and 1 at step 200, only seed 0 at step 300.
    runs = pd.DataFrame({"config": 0, "seed": np.arange(12)})
    rows = [(s, 100, 50.0 * s) for s in range(12)] + [(0, 200, 300.0), (1, 200, 400.0), (0, 300, 480.0)]
    evals = pd.DataFrame(rows, columns=["seed", "step", "eval_return"]).assign(config=0)
    cur = aggregate.eval_curves(runs, evals).set_index("step")
    assert cur.loc[[100, 200], ["ci_low", "ci_high"]].notna().all().all()
    assert cur.loc[200, "n_runs"] == 2 and cur.loc[200, "ci_low"] < 350.0 < cur.loc[200, "ci_high"]
    assert cur.loc[300, "iqm"] == 480.0 and cur.loc[300, ["ci_low", "ci_high"]].isna().all()  # one run: no band


def test_improvement_matrix_pairs_configs_by_seed_value():
    # Config 0 has seeds 0-3, config 1 seeds 2-5: P and its interval use the seeds both trained, 2 and 3 (config 0
    # higher on both: complete separation), as improvement_interval does with the two aligned on seeds 0-5.
    runs = pd.DataFrame({"config": [0] * 4 + [1] * 4, "seed": [0, 1, 2, 3, 2, 3, 4, 5]}).assign(
        final_eval_return=[400.0, 410.0, 420.0, 430.0, 100.0, 110.0, 120.0, 130.0]
    )
    m = aggregate.improvement_matrix(runs, [0, 1]).set_index(["x", "y"])
    assert m.loc[(0, 1), "p"] == 1.0 and m.loc[(1, 0), "p"] == 0.0
    nan = np.nan
    x = np.array([400.0, 410.0, 420.0, 430.0, nan, nan])
    y = np.array([nan, nan, 100.0, 110.0, 120.0, 130.0])
    iv = improvement_interval(x, y)
    assert (m.loc[(0, 1), "ci_low"], m.loc[(0, 1), "ci_high"]) == (iv.low, iv.high) and iv.high == 1.0
    assert iv.low == pytest.approx(0.025**0.5)  # 2 wins in 2: the Clopper-Pearson bound
