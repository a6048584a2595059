"""``analysis.stats.summary``: per-config statistics over seeds, on tiny hand-computed sweeps (no JAX)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from test_analysis_tables import tiny_sweep

import analysis
from analysis.stats import summary


@pytest.fixture
def tiny_dir(tmp_path):
    analysis.write_tables(tmp_path, **tiny_sweep())
    return tmp_path


def test_summary_hand_computed(tiny_dir):
    t = analysis.load(tiny_dir)
    s = t.summary.set_index("config")
    assert t.axes == ["lr"] and s.loc[0, "lr"] == 1e-3
    assert s["n_seeds"].tolist() == [4, 4]
    # config 0: finals 100, 200, 300, 500 -> IQM mean(200, 300); mean 275; median 250; 1 of 4 solved.
    assert s.loc[0, "final_iqm"] == pytest.approx(250.0)
    assert s.loc[0, "final_mean"] == pytest.approx(275.0)
    assert s.loc[0, "final_seed_median"] == pytest.approx(250.0)
    assert s.loc[0, "final_shortfall"] == pytest.approx((375 + 275 + 175 + 0) / 4)
    assert s.loc[0, "frac_solved"] == pytest.approx(0.25)
    exact = sps.binomtest(1, 4).proportion_ci(method="exact")  # 1 of 4 seeds solved: Clopper-Pearson
    assert (s.loc[0, "frac_solved_ci_low"], s.loc[0, "frac_solved_ci_high"]) == pytest.approx((exact.low, exact.high))
    assert s.loc[0, "n_diverged"] == 1
    # Evals evenly spaced (steps 100, 200), so AUC = mean eval return / 500: run 0's (0, 100) -> 0.1; config 0's
    # AUCs are 0.1, 0.2, 0.3, 0.5 -> IQM mean(0.2, 0.3) = 0.25.
    assert s.loc[0, "auc_iqm"] == pytest.approx(0.25)
    # config 1 has three runs with a final return (run 7 has none): IQM of 10, 20, 30 -> drops none.
    assert s.loc[1, "final_iqm"] == pytest.approx(20.0)
    assert s.loc[0, "rank"] == 1 and s.loc[1, "rank"] == 2
    for m in (
        "final_iqm",
        "final_mean",
        "final_seed_median",
        "final_shortfall",
        "auc_iqm",
        "auc_mean",
        "auc_seed_median",
    ):
        assert np.all(s[f"{m}_ci_low"] <= s[m]) and np.all(s[m] <= s[f"{m}_ci_high"])
        assert np.all(s[f"{m}_ci_low"] < s[f"{m}_ci_high"])  # 3 or 4 distinct seeds: a real interval
    again = analysis.summarise(t.runs, t.evals, t.axes)
    pd.testing.assert_frame_equal(t.summary, again)  # seeded: the same tables give the same numbers


def test_summary_columns_are_the_documented_ones(tiny_dir):
    t = analysis.load(tiny_dir)
    assert list(t.summary.columns) == summary.summary_columns(["lr"])


def _runs(finals: dict[int, list[float]]) -> pd.DataFrame:
    """A runs table: config c's seeds 0, 1, ... with the final returns ``finals[c]``."""
    rows = [(c, i, float(c), f) for c, fs in finals.items() for i, f in enumerate(fs)]
    return pd.DataFrame(rows, columns=["config", "seed", "lr", "final_eval_return"])


def _evals(runs: pd.DataFrame, first: list[float] | None = None) -> pd.DataFrame:
    """Evals at step 100 (``first``, default the final return) and at step 200 (the final return)."""
    final = runs["final_eval_return"].tolist()
    return pd.DataFrame(
        {
            "config": np.tile(runs["config"], 2),
            "seed": np.tile(runs["seed"], 2),
            "step": np.repeat([100, 200], len(runs)),
            "eval_return": (final if first is None else first) + final,
        }
    )


def test_rank_breaks_an_iqm_tie_by_the_mean_before_the_auc():
    # 4 seeds: the IQM drops the lowest and the highest. Both configs have IQM 500; config 0 has a failing seed
    # (mean 400, and a lower end of its mean's interval below config 1's) and the larger area under its curve.
    runs = _runs({0: [100.0, 500.0, 500.0, 500.0], 1: [500.0] * 4})
    first = [500.0] * 4 + [0.0] * 4  # eval at step 100: config 0 learned sooner
    s = analysis.summarise(runs, _evals(runs, first), ["lr"]).set_index("config")
    assert s.loc[0, "final_iqm"] == s.loc[1, "final_iqm"] == 500.0
    assert s.loc[0, "auc_iqm"] > s.loc[1, "auc_iqm"] and s.loc[0, "final_mean_ci_low"] < s.loc[1, "final_mean_ci_low"]
    assert s.loc[1, "rank"] == 1 and s.loc[0, "rank"] == 2


def test_an_iqm_tie_goes_to_the_config_with_more_evidence_not_the_luckier_few_seeds():
    # Config 0: 2 seeds, both at 500 (mean 500). Config 1: 16 seeds, one at 300 (mean 487.5). Both IQMs are 500;
    # the mean alone would rank the two lucky seeds first, but their mean's lower end is 500 * sqrt(0.025) = 79
    # against config 1's ~400: 15 of 16 seeds at 500 say more than 2 of 2.
    runs = _runs({0: [500.0, 500.0], 1: [300.0] + [500.0] * 15})
    s = analysis.summarise(runs, _evals(runs), ["lr"]).set_index("config")
    assert s.loc[0, "final_iqm"] == s.loc[1, "final_iqm"] == 500.0 and s.loc[0, "final_mean"] > s.loc[1, "final_mean"]
    assert s.loc[0, "final_mean_ci_low"] < 100 < 350 < s.loc[1, "final_mean_ci_low"]
    assert s.loc[1, "rank"] == 1 and s.loc[0, "rank"] == 2


def test_a_config_with_one_seed_has_no_interval_and_ranks_after_those_with_one():
    # Config 0: one seed at 500 (IQM 500); config 1: four seeds, IQM 250; config 2: one seed at 10.
    runs = _runs({0: [500.0], 1: [100.0, 200.0, 300.0, 400.0], 2: [10.0]})
    s = analysis.summarise(runs, _evals(runs), ["lr"]).set_index("config")
    assert s.loc[0, "final_iqm"] == 500.0 and s.loc[1, "final_iqm"] == 250.0
    for c in (0, 2):
        assert s.loc[c, ["final_iqm_ci_low", "final_iqm_ci_high", "frac_solved_ci_low"]].isna().all()
    assert s.loc[1, ["final_iqm_ci_low", "final_iqm_ci_high", "frac_solved_ci_low"]].notna().all()
    assert s["rank"].tolist() == [2, 1, 3]


def test_all_seeds_at_500_say_what_the_data_can_rule_out():
    # 10 seeds, all at 500: the IQM's and median's lower ends and the mean's stay below 500 unless the seeds
    # rule the lower values out (the median: yes, 0.5 ** 10 < 2.5%; the IQM and mean: no), and the solved
    # share's interval says up to 31% of such seeds could fail (Clopper-Pearson: 1 - 0.025 ** 0.1).
    runs = _runs({0: [500.0] * 10})
    s = analysis.summarise(runs, _evals(runs), ["lr"]).iloc[0]
    assert s["final_iqm"] == s["final_iqm_ci_high"] == 500.0 and s["final_iqm_ci_low"] < 480
    assert s["final_mean_ci_low"] < 400 and s["final_seed_median_ci_low"] == 500.0
    assert s["frac_solved"] == 1.0 and s["frac_solved_ci_low"] == pytest.approx(0.025**0.1)


def test_frac_solved_counts_a_run_without_evaluation_as_not_solved(tmp_path):
    # Config 1's final returns become 480, 490, 30 and run 7 has no evaluation: 2 of its 4 seeds solved.
    data = tiny_sweep()
    ret = data["evals"]["eval_return"].copy()
    ret[[8, 10]] = [480.0, 490.0]  # the step-200 evals of runs 4 and 5
    analysis.write_tables(tmp_path, **dict(data, evals={**data["evals"], "eval_return": ret}))
    s = analysis.load(tmp_path).summary.set_index("config")
    assert s.loc[1, "n_seeds"] == 4 and s.loc[1, "frac_solved"] == pytest.approx(2 / 4)
    assert s.loc[0, "frac_solved"] == pytest.approx(1 / 4)
    assert s.loc[1, "final_mean"] == pytest.approx(1000 / 3)  # the return statistics leave run 7 out


def test_run_auc_weights_each_eval_by_the_steps_it_covers():
    runs = pd.DataFrame({"config": [0, 1, 2, 3, 4], "seed": 0})
    evals = pd.DataFrame(
        [
            (0, 400, 400.0), (0, 100, 100.0),  # (100 * 100 + 300 * 400) / (500 * 400)
            (1, 0, 50.0), (1, 200, 300.0), (1, 300, 500.0),  # the step-0 eval covers no step
            (2, 0, 250.0),  # only a step-0 eval: its return / 500
            (4, 100, 100.0), (4, 100, 300.0),  # two evals at one step count as their mean; run 3 has none
        ],
        columns=["config", "step", "eval_return"],
    ).assign(seed=0)  # fmt: skip
    auc = summary.run_auc(runs, evals)
    np.testing.assert_allclose(auc, [130_000 / 200_000, 110_000 / 150_000, 0.5, np.nan, 0.4])


def test_run_auc_leaves_out_a_missing_evaluation_instead_of_counting_it_as_0():
    # Run 0: evals 300 at step 100, missing (NaN) at 200, 500 at 300: the steps (100, 200] are unknown and drop
    # out: (100 * 300 + 100 * 500) / (500 * 200) = 0.8 (counting NaN as 0 would give 0.533). Run 1: only NaN.
    runs = pd.DataFrame({"config": [0, 1], "seed": 0})
    evals = pd.DataFrame(
        {"config": [0, 0, 0, 1], "seed": 0, "step": [100, 200, 300, 100], "eval_return": [300.0, np.nan, 500.0, np.nan]}
    )
    np.testing.assert_allclose(summary.run_auc(runs, evals), [0.8, np.nan])


def test_seed_matrix_puts_configs_in_rows_and_each_seed_in_one_column():
    # Runs listed out of order; config 7 has seeds 5 and 2, config 3 has seeds 9, 1 and 4. Columns are the seeds
    # 1, 2, 4, 5, 9 for every config, so intervals can pair configs by seed; a missing seed is a gap.
    runs = pd.DataFrame({"config": [7, 3, 3, 7, 3], "seed": [5, 9, 1, 2, 4], "v": [75.0, 39.0, 31.0, 72.0, 34.0]})
    mat, configs = summary.seed_matrix(runs, "v")
    assert configs.tolist() == [3, 7]
    nan = np.nan
    np.testing.assert_array_equal(mat, [[31.0, nan, 34.0, nan, 39.0], [nan, 72.0, nan, 75.0, nan]])
    layout = summary.seed_layout(runs)
    assert layout.row.tolist() == [1, 0, 0, 1, 0] and layout.col.tolist() == [3, 4, 0, 1, 2]
    assert layout.n_cols == 5
    # An array in row order lands in the same cells as the column.
    np.testing.assert_array_equal(summary.seed_matrix(runs, runs["v"].to_numpy())[0], mat)


def test_rank_within_counts_each_groups_elements_in_key_order():
    groups = np.array([1, 0, 1, 1, 0])
    assert summary.rank_within(groups, 2).tolist() == [0, 0, 1, 2, 1]  # by position
    assert summary.rank_within(groups, 2, np.array([30, 5, 10, 20, 1])).tolist() == [2, 1, 0, 1, 0]
