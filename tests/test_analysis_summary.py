"""``analysis.summary``: per-config statistics over seeds, on tiny hand-computed sweeps (no JAX)."""

import numpy as np
import pandas as pd
import pytest
from test_analysis_tables import tiny_sweep

import analysis
from analysis import summary


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
    assert s.loc[0, "final_median"] == pytest.approx(250.0)
    assert s.loc[0, "final_optimality_gap"] == pytest.approx((375 + 275 + 175 + 0) / 4)
    assert s.loc[0, "frac_solved"] == pytest.approx(0.25)
    assert s.loc[0, "n_diverged"] == 1
    # Evals evenly spaced (steps 100, 200), so AUC = mean eval return / 500: run 0's (0, 100) -> 0.1; config 0's
    # AUCs are 0.1, 0.2, 0.3, 0.5 -> IQM mean(0.2, 0.3) = 0.25.
    assert s.loc[0, "auc_iqm"] == pytest.approx(0.25)
    # config 1 has three runs with a final return (run 7 has none): IQM of 10, 20, 30 -> drops none.
    assert s.loc[1, "final_iqm"] == pytest.approx(20.0)
    assert s.loc[0, "rank"] == 1 and s.loc[1, "rank"] == 2
    for m in ("final_iqm", "final_mean", "final_median", "auc_iqm", "auc_mean", "auc_median"):
        assert np.all(s[f"{m}_ci_low"] <= s[m]) and np.all(s[m] <= s[f"{m}_ci_high"])
    again = analysis.summarise(t.runs, t.evals, t.axes)
    pd.testing.assert_frame_equal(t.summary, again)  # seeded: the same tables give the same numbers


def test_summary_columns_are_the_documented_ones(tiny_dir):
    t = analysis.load(tiny_dir)
    assert list(t.summary.columns) == summary.summary_columns(["lr"])


def test_rank_breaks_an_iqm_tie_by_the_mean_before_the_auc():
    # 4 seeds: the IQM drops the lowest and the highest. Both configs have IQM 500; config 0 has a failing seed
    # (mean 400) and the larger area under its curve, config 1 solves every seed (mean 500).
    runs = pd.DataFrame(
        {"config": np.repeat([0, 1], 4), "seed": np.tile(np.arange(4), 2), "lr": np.repeat([1.0, 2.0], 4)}
    )
    runs["final_eval_return"] = [100.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0, 500.0]
    first = [500.0] * 4 + [0.0] * 4  # eval at step 100: config 0 learned sooner
    evals = pd.DataFrame(
        {
            "config": np.tile(runs["config"], 2),
            "seed": np.tile(runs["seed"], 2),
            "step": np.repeat([100, 200], 8),
            "eval_return": first + runs["final_eval_return"].tolist(),
        }
    )
    s = analysis.summarise(runs, evals, ["lr"]).set_index("config")
    assert s.loc[0, "final_iqm"] == s.loc[1, "final_iqm"] == 500.0
    assert s.loc[0, "auc_iqm"] > s.loc[1, "auc_iqm"]
    assert s.loc[1, "rank"] == 1 and s.loc[0, "rank"] == 2


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


def test_seed_matrix_puts_configs_in_rows_and_seeds_in_increasing_order():
    # Runs listed out of order; config 7 has seeds 5 and 2, config 3 has seeds 9, 1 and 4.
    runs = pd.DataFrame({"config": [7, 3, 3, 7, 3], "seed": [5, 9, 1, 2, 4], "v": [75.0, 39.0, 31.0, 72.0, 34.0]})
    mat, configs = summary.seed_matrix(runs, "v")
    assert configs.tolist() == [3, 7]
    np.testing.assert_array_equal(mat, [[31.0, 34.0, 39.0], [72.0, 75.0, np.nan]])
    layout = summary.seed_layout(runs)
    assert layout.row.tolist() == [1, 0, 0, 1, 0] and layout.col.tolist() == [1, 2, 0, 0, 1]
    assert layout.n_cols == 3
    # An array in row order lands in the same cells as the column.
    np.testing.assert_array_equal(summary.seed_matrix(runs, runs["v"].to_numpy())[0], mat)


def test_rank_within_counts_each_groups_elements_in_key_order():
    groups = np.array([1, 0, 1, 1, 0])
    assert summary.rank_within(groups, 2).tolist() == [0, 0, 1, 2, 1]  # by position
    assert summary.rank_within(groups, 2, np.array([30, 5, 10, 20, 1])).tolist() == [2, 1, 0, 1, 0]
