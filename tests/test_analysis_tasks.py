"""A sweep over several tasks: summaries on each task's own scale, the settings pooled across tasks on normalised
scores, and a report with a section per task (no JAX)."""

import re

import numpy as np
import pandas as pd
import pytest
from test_analysis_tables import sweep

import analysis
from analysis import __main__ as cli
from analysis.pages.sections import at_least
from analysis.stats import intervals
from analysis.stats import point as stats
from analysis.stats.improvement import improvement, improvement_across
from analysis.stats.summary import SEED, run_auc
from analysis.summaries import tasks
from analysis.tables.run import load

TASKS = {
    "CartPole-v1": {"low": 0.0, "high": 500.0, "solved": 475.0, "random": 21.9},
    "Acrobot-v1": {"low": -500.0, "high": 0.0, "solved": -100.0, "random": -499.2},
    "Breakout-MinAtar": {"low": 0.0, "high": None, "solved": None, "random": 0.37},
}


def task_sweep(envs=("CartPole-v1", "Acrobot-v1"), n_seeds=5, lrs=(1e-4, 1e-3)):
    """``sweep`` with ``env`` as its first axis: CartPole's returns as ``sweep`` draws them (0..500), Acrobot's
    moved down by 500 (-500..0), Breakout's divided by 10 (no top)."""
    data = sweep({"env": list(envs), "lr": list(lrs)}, n_seeds=n_seeds)
    runs, ev = data["runs"], data["evals"]
    env_of_run = runs["env"].to_numpy()[ev["run"]]
    ev["eval_return"] = np.where(
        env_of_run == "Acrobot-v1",
        ev["eval_return"] - 500.0,
        np.where(env_of_run == "Breakout-MinAtar", ev["eval_return"] / 10.0, ev["eval_return"]),
    ).astype(np.float32)
    data["manifest"]["tasks"] = {e: TASKS[e] for e in envs}
    return data


def test_normalised_score_is_zero_at_random_and_one_at_the_reference():
    n = tasks.normaliser(stats.Scale(**TASKS["Acrobot-v1"]))
    np.testing.assert_allclose(n(np.array([-499.2, -100.0, 0.0])), [0.0, 1.0, 499.2 / 399.2])
    assert tasks.normaliser(stats.Scale(**TASKS["Breakout-MinAtar"])) is None  # no solved, no highest return
    # No solved return: the highest is the reference.
    assert tasks.normaliser(stats.Scale(0.0, 10.0, None, 2.0)) == tasks.Normaliser(2.0, 10.0)
    lo, hi = tasks.normalised_bounds({e: stats.Scale(**TASKS[e]) for e in ("CartPole-v1", "Acrobot-v1")})
    assert lo == pytest.approx(-21.9 / 453.1) and hi == pytest.approx(499.2 / 399.2)


def test_summary_uses_each_tasks_scale(tmp_path):
    analysis.write_tables(tmp_path, **task_sweep())
    t = load(tmp_path)
    assert t.envs == ["Acrobot-v1", "CartPole-v1"]
    s = t.summary.set_index("config")
    env = t.runs.groupby("config")["env"].first()
    # Configs rank within their task: each task has a rank 1 and a rank 2.
    assert sorted(s["rank"].groupby(env).apply(sorted).tolist()) == [[1, 2], [1, 2]]
    # Acrobot's shortfall is below -100 (its solved return), not 475.
    acro = t.runs[t.runs["env"] == "Acrobot-v1"]
    for c, g in acro.groupby("config"):
        want = np.mean(np.maximum(-100.0 - g["final_eval_return"].to_numpy(), 0.0))
        assert s.loc[c, "final_shortfall"] == pytest.approx(want, rel=1e-6)
    # The AUC is normalised between each task's own lowest and highest return: Acrobot's -500 is 0, not negative.
    sub = t.for_env("Acrobot-v1")
    auc = run_auc(sub.runs, sub.evals, sub.scale)
    assert np.all((auc >= 0) & (auc <= 1))
    assert sub.axes == ["lr"] and set(sub.runs["env"]) == {"Acrobot-v1"} and list(sub.tasks) == ["Acrobot-v1"]


def test_across_tasks_pools_each_setting_over_the_tasks(tmp_path):
    analysis.write_tables(tmp_path, **task_sweep(("CartPole-v1", "Acrobot-v1", "Breakout-MinAtar")))
    t = load(tmp_path)
    found = tasks.across_tasks(t.summary, t.runs, t.axes, t.tasks, n_boot=500)
    assert found.tasks == ["Acrobot-v1", "CartPole-v1"] and found.left_out == ["Breakout-MinAtar"]
    assert not found.incomplete and len(found.table) == 2 and list(found.table["rank"]) == [1, 2]
    for row in found.table.to_dict("records"):
        runs = t.runs[(t.runs["lr"] == row["lr"]) & t.runs["env"].isin(found.tasks)]
        score = np.concatenate(
            [found.normalisers[e](g["final_eval_return"].to_numpy()) for e, g in runs.groupby("env")]
        )
        assert row["n_tasks"] == 2 and row["n_runs"] == len(score) == 10
        assert row["iqm"] == pytest.approx(float(stats.iqm(score[None])[0]))
        assert row["mean"] == pytest.approx(score.mean())
        assert row["gap"] == pytest.approx(np.mean(np.maximum(1.0 - score, 0.0)))
        for k in ("iqm", "mean", "median", "gap"):
            assert row[f"{k}_ci_low"] <= row[k] <= row[f"{k}_ci_high"]
            assert row[f"{k}_ci_low"] < row[f"{k}_ci_high"]
    assert found.table["iqm"].is_monotonic_decreasing
    assert len(found.per_task) == 4  # each (setting, pooled task)
    # P(best > the other) across tasks: each task's P(X > Y) of final returns, paired by seed, averaged.
    best, other = (found.table["lr"][i] for i in (0, 1))

    def finals(lr):
        return np.stack([t.runs[(t.runs["lr"] == lr) & (t.runs["env"] == e)].sort_values("seed")[
            "final_eval_return"].to_numpy() for e in found.tasks])  # fmt: skip

    want = improvement_across(finals(best), finals(other))
    row = found.table.iloc[1]
    assert row["p_best"] == pytest.approx(float(want.point)) and row["p_best_ci_low"] == pytest.approx(float(want.low))
    per_task = [stats.probability_of_improvement(a, b) for a, b in zip(finals(best), finals(other), strict=True)]
    assert row["p_best"] == pytest.approx(np.mean(per_task))
    assert np.isnan(found.table["p_best"][0])
    # Profiles: the top settings' share of runs (both tasks pooled) at or above each tau.
    prof = found.profiles[found.profiles["label"] == found.table["label"][0]]
    scores = np.concatenate([found.normalisers[e](finals(best)[i]) for i, e in enumerate(found.tasks)])
    for tau, share in zip(prof["tau"][::25], prof["share"][::25], strict=True):
        assert share == pytest.approx(np.mean(scores >= tau))


def test_a_setting_missing_a_task_is_left_out_of_the_ranking(tmp_path):
    data = task_sweep(lrs=(1e-4, 1e-3, 1e-2))
    runs = data["runs"]
    drop = (runs["env"] == "Acrobot-v1") & (runs["lr"] == 1e-2)  # lr=0.01 ran on CartPole only
    keep_runs = np.flatnonzero(~drop.to_numpy())
    new_index = {int(r): i for i, r in enumerate(keep_runs)}
    data["runs"] = runs[~drop].reset_index(drop=True)
    for key in ("evals", "episodes"):
        table = data[key]
        mask = np.isin(table["run"], keep_runs)
        data[key] = {k: v[mask] for k, v in table.items()}
        data[key]["run"] = np.array([new_index[int(r)] for r in data[key]["run"]])
    analysis.write_tables(tmp_path, **data)
    t = load(tmp_path)
    found = tasks.across_tasks(t.summary, t.runs, t.axes, t.tasks, n_boot=200)
    assert found.incomplete == ["lr=0.01"] and sorted(found.table["lr"]) == [1e-4, 1e-3]


def test_one_task_has_no_across_tasks_section(tmp_path):
    analysis.write_tables(tmp_path, **task_sweep(("Acrobot-v1",)))
    t = load(tmp_path)
    assert tasks.across_tasks(t.summary, t.runs, t.axes, t.tasks) is None
    html = analysis.report(tmp_path).read_text()
    assert "Across tasks" not in html and "DQN on Acrobot-v1" in html
    text = re.sub(r"base64,[^\"]*", "", html).split("<h2>Sweep</h2>")[0]  # the page's words, without images
    assert "shortfall below -100" in text and "475" not in text and "a return of 0 over the same steps" in text
    assert "No upper bound" not in text  # Acrobot's returns are bounded


def test_report_over_several_tasks(tmp_path):
    analysis.write_tables(tmp_path, **task_sweep(("CartPole-v1", "Acrobot-v1", "Breakout-MinAtar")))
    html = analysis.report(tmp_path).read_text()
    figs = tmp_path / "figures"
    assert (figs / "across_tasks.png").is_file()
    for env in ("CartPole-v1", "Acrobot-v1", "Breakout-MinAtar"):
        assert (figs / env / "ranking.png").is_file() and (figs / env / "learning_curves_eval.png").is_file()
        assert f'<h2 id="{env}">{env}</h2>' in html
    assert "<h2>Across tasks</h2>" in html and "Left out of the pooled scores:</b> Breakout-MinAtar" in html
    # Each task's summary names its own solved return (Breakout has none).
    sections = {env: html.split(f'<h2 id="{env}">')[1].split("<h2")[0] for env in ("CartPole-v1", "Acrobot-v1")}
    assert "shortfall below 475" in sections["CartPole-v1"] and "shortfall below -100" in sections["Acrobot-v1"]
    breakout = html.split('<h2 id="Breakout-MinAtar">')[1].split("<h2")[0]
    assert "shortfall (no solved return)" in breakout
    # Breakout has no highest return: the report says what that costs the mean's interval, with the measured figure.
    assert "<b>No upper bound:</b> Breakout-MinAtar has no highest return" in html
    assert f"covered the true mean {at_least(intervals.UNBOUNDED_MEAN_COVERAGE[8])} of the time at 8 seeds" in html
    table = pd.read_parquet(tmp_path / "tasks_summary.parquet")
    assert list(table["rank"]) == [1, 2] and set(table["n_tasks"]) == {2}
    summary = pd.read_parquet(tmp_path / "summary.parquet")
    assert len(summary) == 6 and "env" in summary.columns


def _write(root, name, data):
    run = root / name
    run.mkdir()
    analysis.write_tables(run, **data)
    return run


def test_compare_takes_sweeps_of_one_task(tmp_path, capsys):
    acrobot = [_write(tmp_path, f"acrobot{i}", task_sweep(("Acrobot-v1",), lrs=lrs)) for i, lrs in
               enumerate([(1e-4, 1e-3), (3e-4,)])]  # fmt: skip
    cartpole = _write(tmp_path, "cartpole", task_sweep(("CartPole-v1",)))
    both = _write(tmp_path, "both", task_sweep())
    out = tmp_path / "cmp"
    assert cli.main(["compare", *map(str, acrobot), "--out", str(out)]) == 0
    table = pd.read_parquet(out / "compare.parquet")
    assert len(table) == 2 and (table["final_iqm"] < 0).all()  # Acrobot's returns, on its scale
    capsys.readouterr()
    for runs, message in (
        ([acrobot[0], cartpole], "trained on different environments (Acrobot-v1, CartPole-v1)"),
        ([acrobot[0], both], "trained on 2 environments (Acrobot-v1, CartPole-v1); compare takes sweeps of one"),
    ):
        assert cli.main(["compare", *map(str, runs), "--out", str(tmp_path / "refused")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "Traceback" not in err
        assert not (tmp_path / "refused").exists()


def test_env_as_the_only_axis_pools_one_setting(tmp_path):
    data = task_sweep()
    data["runs"] = data["runs"].drop(columns="lr")
    data["axes"] = data["manifest"]["axes"] = ["env"]
    # Keep one config per env: the lr=1e-4 ones (configs 0 and 2 of env x lr).
    keep = np.flatnonzero(data["runs"]["config"].isin([0, 2]).to_numpy())
    index = {int(r): i for i, r in enumerate(keep)}
    data["runs"] = data["runs"].iloc[keep].reset_index(drop=True)
    data["runs"]["config"] = data["runs"]["config"] // 2
    for key in ("evals", "episodes"):
        mask = np.isin(data[key]["run"], keep)
        data[key] = {k: v[mask] for k, v in data[key].items()}
        data[key]["run"] = np.array([index[int(r)] for r in data[key]["run"]])
    analysis.write_tables(tmp_path, **data)
    t = load(tmp_path)
    found = tasks.across_tasks(t.summary, t.runs, t.axes, t.tasks, n_boot=200)
    assert list(found.table["label"]) == ["the sweep's config"] and int(found.table["n_runs"][0]) == 10
    assert "<h2>Across tasks</h2>" in analysis.report(tmp_path).read_text()


def test_improvement_across_one_task_is_improvement_and_averages_tasks():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 16)), rng.normal(size=(3, 16)) - 0.3
    one, alone = improvement_across(x[:1], y[:1]), improvement(x[0], y[0])
    for a, b in zip(one, alone, strict=True):
        assert float(a) == pytest.approx(float(b))
    found = improvement_across(x, y)
    assert float(found.point) == pytest.approx(
        np.mean([float(improvement(a, b).point) for a, b in zip(x, y, strict=True)])
    )
    # Three tasks' variances add: narrower than any one task's interval, and still around the estimate.
    width = float(found.high - found.low)
    assert all(width < float(improvement(a, b).high - improvement(a, b).low) for a, b in zip(x, y, strict=True))
    assert found.low < found.point < found.high and (found.pvalue < 0.05) == (found.low > 0.5 or found.high < 0.5)
    # Batched: [settings, tasks, seeds] gives one value per setting; a task without 2 paired seeds gives NaN ends.
    batched = improvement_across(np.stack([x, y]), x[None])
    assert batched.point.shape == (2,) and float(batched.point[0]) == pytest.approx(0.5)
    y_gap = y.copy()
    y_gap[1, 1:] = np.nan
    assert np.isnan(improvement_across(x, y_gap).low)


def test_across_tasks_iqm_interval_is_the_seed_bootstrap_from_eight_seeds(tmp_path):
    # At 8 seeds per task the pooled IQM's interval is intervals.pooled_interval(method="expanded") of the
    # normalised scores (tasks as strata, seeds aligned), narrower here than the worst-case atom's.
    analysis.write_tables(tmp_path, **task_sweep(n_seeds=8, lrs=(1e-3,)))
    t = load(tmp_path)
    found = tasks.across_tasks(t.summary, t.runs, t.axes, t.tasks, n_boot=500)
    row = found.table.iloc[0]
    cube = np.stack([found.normalisers[e](g.sort_values("seed")["final_eval_return"].to_numpy())
                     for e, g in t.runs.groupby("env")], axis=-1)[None]  # [1, seeds, tasks]  # fmt: skip
    bounds = tasks.normalised_bounds({e: t.tasks[e] for e in found.tasks})
    iv = intervals.pooled_interval(cube, "iqm", bounds=bounds, n_boot=500, seed=SEED, method="expanded")
    assert (row["iqm_ci_low"], row["iqm_ci_high"]) == pytest.approx((iv.low[0], iv.high[0]))
    atom = intervals.pooled_interval(cube, "iqm", bounds=bounds, n_boot=500, seed=SEED)
    assert row["iqm_ci_high"] - row["iqm_ci_low"] < atom.high[0] - atom.low[0]
