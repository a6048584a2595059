"""Successive halving's analysis: ``rungs.parquet`` and ``stopped_at`` read by ``load``, the summary's statistics
step and ranking of stopped configs, each config's metric with its CI at each rung (``analysis.summaries.halving``), the
env steps against the full grid's, and the report and compare of a halving folder, on synthetic folders written
to the spec (no JAX).

Also home of the synthetic halving sweep ``halving_sweep``.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from test_analysis_tables import sweep

import analysis
from analysis.stats import intervals
from analysis.stats.summary import AUC_RANGE
from analysis.summaries import halving
from analysis.tables import run as tables
from common.errors import UserError

PNG = b"\x89PNG\r\n\x1a\n"
LR = {"dist": "log_uniform", "low": 1e-4, "high": 1e-2, "integer": False}
EPS = {"dist": "uniform", "low": 0.0, "high": 0.2, "integer": False}


def halving_sweep(n_configs=27, n_seeds=4, min_steps=1000, eta=3, total=6000, eval_every=500, *, metric="auc"):
    """``(write_tables arguments, rungs.parquet frame)`` of a made-up halving sweep over ``lr`` and ``eps_end``.

    Each run's eval returns rise towards 500 * its skill (which peaks at lr = 1e-3); evaluations every
    ``eval_every`` steps. At each rung every config still running is ranked by the IQM over seeds
    (``scipy.stats.trim_mean``) of its runs' metric there, computed here independently of the package: the
    mean eval return so far / 500 ("auc", evenly spaced evaluations) or the last one ("final"); the best
    ``ceil(n / eta)`` go on (ties to the lower config). A stopped config's evaluations end at its rung.
    """
    rng = np.random.default_rng(0)
    lr, eps = 10 ** rng.uniform(-4, -2, n_configs), rng.uniform(0.0, 0.2, n_configs)
    skill = np.exp(-0.5 * ((np.log10(lr) + 3) / 0.6) ** 2) * (1 - 2 * eps)
    steps = np.arange(eval_every, total + 1, eval_every)
    runs = pd.DataFrame(
        {"config": np.repeat(np.arange(n_configs), n_seeds), "seed": np.tile(np.arange(n_seeds), n_configs)}
    )
    n = len(runs)
    run_skill = np.clip(skill[runs["config"]] + rng.normal(0, 0.1, n), 0, 1)
    ret = np.clip(
        500 * run_skill[:, None] * (1 - np.exp(-steps / (0.3 * total)))[None, :] + rng.normal(0, 20, (n, len(steps))),
        0,
        500,
    )
    ret = ret.astype(np.float32)
    rungs, step, alive = [], min_steps, list(range(n_configs))
    while step < total:
        rungs.append(step)
        step *= eta
    stopped_at = np.full(n_configs, total)
    rows = []
    for k, r in enumerate(rungs):
        upto = steps <= r
        run_score = ret[:, upto].mean(axis=1) / 500 if metric == "auc" else ret[:, upto][:, -1].astype(np.float64)
        score = run_score.reshape(n_configs, n_seeds)
        iqm = sps.trim_mean(score, 0.25, axis=1)
        ranked = sorted(alive, key=lambda c: (-iqm[c], c))
        kept = set(ranked[: math.ceil(len(alive) / eta)])
        for c in alive:
            for s in range(n_seeds):
                rows.append(
                    {
                        "rung": k,
                        "step": r,
                        "config": c,
                        "seed": s,
                        "score": score[c, s],
                        "iqm": iqm[c],
                        "kept": c in kept,
                    }
                )
            if c not in kept:
                stopped_at[c] = r
        alive = sorted(kept)
    runs["lr"], runs["eps_end"] = lr[runs["config"]], eps[runs["config"]]
    runs["total_steps"] = total
    runs["diverged"] = False
    runs["stopped_at"] = stopped_at[runs["config"]]
    keep = steps[None, :] <= runs["stopped_at"].to_numpy()[:, None]
    run_idx, step_idx = np.nonzero(keep)
    evals = {"run": run_idx, "step": steps[step_idx].astype(np.int64), "eval_return": ret[run_idx, step_idx]}
    ends = np.arange(100, total + 1, 100)
    keep = ends[None, :] <= runs["stopped_at"].to_numpy()[:, None]
    r, e = np.nonzero(keep)
    episodes = {"run": r, "episode": e, "episode_return": np.full(len(r), 100.0, np.float32),
                "episode_length": np.full(len(r), 100, np.int32), "end_step": ends[e].astype(np.int64)}  # fmt: skip
    spent = int(runs["stopped_at"].sum())
    manifest = {
        "grid": "halving",
        "axes": ["lr", "eps_end"],
        "n_seeds": n_seeds,
        "total_steps": total,
        "space": {"lr": LR, "eps_end": EPS},
        "search": {
            "method": "sobol",
            "samples": n_configs,
            "seed": 0,
            "scheduler": "halving",
            "min_steps": min_steps,
            "eta": eta,
            "metric": metric,
        },  # fmt: skip
        "halving": {"rungs": [*rungs, total], "env_steps": spent, "full_grid_env_steps": n * total},
    }
    data = {"runs": runs, "axes": ["lr", "eps_end"], "episodes": episodes, "evals": evals, "manifest": manifest}
    return data, pd.DataFrame(rows)


def write_halving(run_dir, data, rungs):
    """The run folder of ``halving_sweep``'s output: the usual tables and ``rungs.parquet``."""
    analysis.write_tables(run_dir, **data)
    tables.write_parquet(run_dir / "rungs.parquet", rungs, data["manifest"])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A halving folder of 27 configs x 4 seeds: rungs at 1,000 and 3,000 steps, the end at 6,000."""
    run_dir = tmp_path_factory.mktemp("halving")
    data, rungs = halving_sweep()
    write_halving(run_dir, data, rungs)
    return run_dir, data, rungs


def test_a_stopped_configs_statistics_stand_at_its_rung(folder):
    run_dir, data, rungs = folder
    t = analysis.load(run_dir)
    assert t.rungs is not None and len(t.rungs) == len(rungs)
    stop = data["runs"].groupby("config")["stopped_at"].first()
    summary = t.summary.set_index("config")
    assert summary["stopped_at"].to_dict() == stop.to_dict()
    assert list(t.summary.columns).index("stopped_at") == list(t.summary.columns).index("n_seeds") + 1
    assert sorted(stop.unique()) == [1000, 3000, 6000]
    ev = pd.DataFrame(data["evals"])
    ev["config"] = data["runs"]["config"].to_numpy()[ev["run"]]
    for c in (stop[stop == 1000].index[0], stop[stop == 3000].index[0], stop[stop == 6000].index[0]):
        mine = ev[ev["config"] == c]
        assert mine["step"].max() == stop[c]  # its evaluations end at its rung ...
        last = mine[mine["step"] == stop[c]]["eval_return"].to_numpy(np.float64)
        assert summary.loc[c, "final_iqm"] == pytest.approx(sps.trim_mean(last, 0.25))  # ... and so does "final"
        auc = mine.groupby("run")["eval_return"].mean().to_numpy(np.float64) / 500  # evenly spaced evals
        assert summary.loc[c, "auc_iqm"] == pytest.approx(sps.trim_mean(auc, 0.25), rel=1e-6)


def test_stopped_configs_rank_after_every_config_that_trained_further(folder):
    t = analysis.load(folder[0])
    s = t.summary.sort_values("rank")
    assert s["stopped_at"].is_monotonic_decreasing  # the end first, then the later rungs
    for _, d in s.groupby("stopped_at"):  # within a step, by final IQM as for any sweep
        assert d["final_iqm"].is_monotonic_decreasing
    # By hand: config 2 stopped at a rung with a final return above the others' still ranks last; without
    # stopped_at the same numbers rank it first.
    hand = pd.DataFrame(
        {
            "stopped_at": [6000, 6000, 1000],
            "final_iqm": [300.0, 400.0, 500.0],
            "final_iqm_ci_low": [200.0, 300.0, 450.0],
            "final_mean": [300.0, 400.0, 500.0],
            "final_mean_ci_low": [200.0, 300.0, 450.0],
            "auc_iqm": [0.5, 0.5, 0.9],
        }
    )
    assert analysis.stats.summary.rank(hand).tolist() == [2, 1, 3]
    assert analysis.stats.summary.rank(hand.drop(columns="stopped_at")).tolist() == [3, 2, 1]


def test_each_configs_metric_at_each_rung_with_its_interval(folder):
    run_dir, data, rungs = folder
    t = analysis.load(run_dir)
    ivs = halving.rung_intervals(halving.rung_scores(t), halving.metric(t))
    assert ivs.groupby("rung")["config"].nunique().tolist() == [27, 9, 3]  # the two rungs, then the end
    engine = rungs.drop_duplicates(["rung", "config"]).set_index(["rung", "config"])
    decided = ivs[ivs["rung"] < 2].set_index(["rung", "config"])
    np.testing.assert_allclose(decided["iqm"], engine.loc[decided.index, "iqm"], rtol=1e-6)  # what ranked them
    assert (decided["kept"] == engine.loc[decided.index, "kept"]).all()
    for k, d in ivs.groupby("rung"):
        assert d["iqm"].is_monotonic_decreasing  # best first
        if k == 2:
            continue
        # The interval of a rung pairs its configs by seed: one call over the [configs, seeds] scores.
        mine = rungs[rungs["rung"] == k]
        mat = mine.pivot(index="config", columns="seed", values="score").loc[d["config"]].to_numpy()
        iv = intervals.interval(mat, "iqm", bounds=AUC_RANGE)
        np.testing.assert_allclose(d["ci_low"], iv.low)
        np.testing.assert_allclose(d["ci_high"], iv.high)
        assert (d["ci_low"] < d["iqm"]).all() and (d["iqm"] < d["ci_high"]).all()
    # At the end: the configs that trained to it, their AUC over the whole run (the summary's).
    end = ivs[ivs["rung"] == 2].set_index("config")
    np.testing.assert_allclose(end["iqm"], t.summary.set_index("config").loc[end.index, "auc_iqm"])


@pytest.mark.parametrize("metric", ["auc", "final"])
def test_a_rungs_file_of_one_row_per_config_gives_the_same_rungs(tmp_path, metric):
    # The engine's first format had no seed and score: the runs' scores then come from their evaluations.
    data, rungs = halving_sweep(n_configs=9, n_seeds=3, metric=metric)
    write_halving(tmp_path, data, rungs)
    per_run = halving.rung_intervals(halving.rung_scores(analysis.load(tmp_path)), metric)
    per_config = rungs.drop_duplicates(["rung", "config"]).drop(columns=["seed", "score"])
    tables.write_parquet(tmp_path / "rungs.parquet", per_config, data["manifest"])
    t = analysis.load(tmp_path)
    assert "score" not in t.rungs.columns and halving.metric(t) == metric
    derived = halving.rung_intervals(halving.rung_scores(t), metric)
    pd.testing.assert_frame_equal(derived, per_run, check_exact=False, rtol=1e-6)


def test_env_steps_against_the_full_grid(folder):
    run_dir, data, _ = folder
    t = analysis.load(run_dir)
    # 27 configs x 4 seeds to 1,000 steps, 9 to 3,000, 3 to 6,000: by hand.
    spent = 4 * (18 * 1000 + 6 * 3000 + 3 * 6000)
    assert halving.budget(t) == (spent, 27 * 4 * 6000)
    assert halving.budget(t).share == pytest.approx(1 / 3)
    bare = t._replace(manifest={k: v for k, v in t.manifest.items() if k != "halving"})
    assert halving.budget(bare) == halving.budget(t)  # from the runs' stopped_at and total_steps
    assert halving.rung_steps(bare) == [1000, 3000, 6000]
    assert halving.alive(t)["n_configs"].tolist() == [27, 9, 3]


def test_report_of_a_halving_sweep(folder, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for f in folder[0].iterdir():
        if f.is_file():
            (run_dir / f.name).write_bytes(f.read_bytes())
    drawn = {}
    real = analysis.figures.scatter.response
    spy = lambda *a, **kw: drawn.update(a=a, kw=kw) or real(*a, **kw)  # noqa: E731
    monkeypatch.setattr(analysis.figures.scatter, "response", spy)
    html = analysis.report(run_dir).read_text()
    figs = {p.stem for p in (run_dir / "figures").iterdir()}
    assert {"halving_rungs", "sampled_response", "sampled_pairs", "ranking"} <= figs
    assert not {"heatmap_final_iqm", "sensitivity"} & figs  # they pool final returns of different steps
    assert (run_dir / "figures" / "halving_rungs.png").read_bytes()[:8] == PNG
    assert html.index("figures/halving_rungs.png") < html.index("figures/learning_curves_eval.png")
    assert "The sweep trained 216,000 env steps, 33% of the 648,000 the full grid would have (3.0× fewer)" in html
    assert "27 → 9 → 3 configs" in html
    assert html.index("<h2>Successive halving</h2>") < html.index("<h2>Summary (best first)</h2>")
    assert "<th>statistics at env step</th>" in html and "1,000 (stopped)" in html
    t = analysis.load(run_dir)
    stop = t.summary.set_index("config")["stopped_at"]
    # The response figure draws only the configs that trained to the end; the stopped ones as ticks.
    points, stopped = drawn["a"][0], drawn["kw"]["stopped"]
    assert set(points["config"]) == set(stop[stop == 6000].index)
    assert len(stopped) == 2 * 24 and set(stopped["step"]) == {1000, 3000}
    rung_summary = pd.read_parquet(run_dir / "rung_summary.parquet")
    assert len(rung_summary) == 27 + 9 + 3 and {"iqm", "ci_low", "ci_high", "kept"} <= set(rung_summary.columns)
    best = t.summary.sort_values("rank").iloc[0]
    assert best["stopped_at"] == 6000 and "(stopped at" not in html[html.index("<b>Best config</b>") :][:300]


def test_compare_of_a_halving_sweep_with_a_grid(folder, tmp_path, capsys):
    grid = tmp_path / "grid" / "run"
    grid.mkdir(parents=True)
    analysis.write_tables(grid, **sweep({"lr": [1e-4, 1e-3]}, n_seeds=4, steps=6000))
    out = analysis.compare([folder[0], grid], out_dir=tmp_path / "cmp")
    row = pd.read_parquet(tmp_path / "cmp" / "compare.parquet").iloc[0]
    best = analysis.load(folder[0]).summary.sort_values("rank").iloc[0]
    assert row["config"] == best["config"] and best["stopped_at"] == 6000 and row["total_steps"] == 6000
    note = "the whole sweeps trained 216,000"
    assert note in capsys.readouterr().err and note in out.read_text()


def test_load_rejects_a_rungs_table_that_does_not_fit_the_runs(tmp_path):
    data, rungs = halving_sweep(n_configs=9, n_seeds=2)
    bad = {
        "unknown config": (rungs.assign(config=rungs["config"] + 100), "holds 100, which is no config"),
        "twice": (pd.concat([rungs, rungs.iloc[:1]]), "lists rung 0, config 0, seed 0 more than once"),
        "kept as ints": (rungs.assign(kept=rungs["kept"].astype(int)), "column 'kept' holds int64 values"),
        "no score": (rungs.drop(columns="score"), "has no column 'score'"),
    }
    for name, (frame, message) in bad.items():
        d = tmp_path / name.replace(" ", "_")
        d.mkdir()
        write_halving(d, data, frame)
        with pytest.raises(UserError, match=message):
            analysis.load(d)
    d = tmp_path / "no_stopped_at"
    d.mkdir()
    write_halving(d, dict(data, runs=data["runs"].drop(columns="stopped_at")), rungs)
    with pytest.raises(UserError, match="has no column 'stopped_at'"):
        analysis.load(d)
