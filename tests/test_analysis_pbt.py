"""Population-based training's analysis: ``analysis.summaries.pbt`` (best member, lineage, stitched curves, the
populations' final returns), ``pbt.parquet`` read by ``load``, the report's figures and section, and ``compare``
of a PBT folder with a grid, on synthetic folders written to the spec (no JAX).

Also home of the synthetic PBT sweep ``pbt_sweep``.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from test_analysis_tables import sweep

import analysis
from analysis.figures.sweep import run_labels
from analysis.stats import intervals
from analysis.stats.improvement import improvement_interval
from analysis.summaries import pbt
from analysis.tables import run as tables
from common.errors import UserError

PNG = b"\x89PNG\r\n\x1a\n"
LR = {"dist": "log_uniform", "low": 1e-4, "high": 1e-2, "integer": False}
EPS = {"dist": "uniform", "low": 0.0, "high": 0.2, "integer": False}


def pbt_sweep(n_pops=3, n_members=8, n_intervals=5, interval=1000, *, seed=0):
    """``(write_tables arguments, pbt.parquet frame)`` of a made-up PBT sweep over ``lr`` and ``eps_end``.

    Members start from the same values in every population (config = member); a member's skill grows each
    interval with the quality of its values; at each interval's end the bottom quarter (by score: the last eval
    return) copies a random top-quarter member's skill (its parent) and multiplies its values by 0.8 or 1.25.
    Two evaluations per interval; the score at an interval is the second.
    """
    rng = np.random.default_rng(seed)
    init = {"lr": 10 ** rng.uniform(-4, -2, n_members), "eps_end": rng.uniform(0.0, 0.2, n_members)}
    total = n_intervals * interval
    q = max(1, n_members // 4)
    rows, ev = [], []
    for pop in range(n_pops):
        hp = {k: v.copy() for k, v in init.items()}
        skill = rng.uniform(0.0, 0.2, n_members)
        for k in range(n_intervals):
            quality = np.exp(-0.5 * ((np.log10(hp["lr"]) + 3) / 0.5) ** 2) * (1 - 2 * hp["eps_end"])
            returns = []
            for step in (k * interval + interval // 2, (k + 1) * interval):
                skill = np.clip(skill + 0.03 * quality + rng.normal(0, 0.02, n_members), 0, 1)
                r = np.clip(500 * skill + rng.normal(0, 10, n_members), 0, 500).astype(np.float32)
                ev += [(m, pop, step, r[m]) for m in range(n_members)]
                returns.append(r)
            score = returns[-1].astype(np.float64)
            parent = np.arange(n_members)
            if k < n_intervals - 1:
                order = np.lexsort((np.arange(n_members), -score))
                for m in order[-q:]:
                    parent[m] = order[rng.integers(q)]
            else:
                parent[:] = -1
            for m in range(n_members):
                rows.append(
                    {
                        "population": pop,
                        "member": m,
                        "interval": k,
                        "step": (k + 1) * interval,
                        "score": score[m],
                        "parent": parent[m],
                        "lr": hp["lr"][m],
                        "eps_end": hp["eps_end"][m],
                    }
                )
            if k < n_intervals - 1:  # exploit, then explore
                copied = parent != np.arange(n_members)
                skill = np.where(copied, skill[parent], skill)
                for name, (lo, hi) in (("lr", (1e-4, 1e-2)), ("eps_end", (0.0, 0.2))):
                    factor = rng.choice([0.8, 1.25], n_members)
                    hp[name] = np.where(copied, np.clip(hp[name][parent] * factor, lo, hi), hp[name])
    table = pd.DataFrame(rows).astype({"population": np.int64, "member": np.int64, "parent": np.int64})
    runs = pd.DataFrame(
        {"config": np.tile(np.arange(n_members), n_pops), "seed": np.repeat(np.arange(n_pops), n_members)}
    )
    for name, v in init.items():
        runs[name] = v[runs["config"]]
    runs["total_steps"] = total
    runs["diverged"] = False
    index = {(c, s): i for i, (c, s) in enumerate(zip(runs["config"], runs["seed"], strict=True))}
    evals = {
        "run": np.array([index[(m, p)] for m, p, _, _ in ev]),
        "step": np.array([s for _, _, s, _ in ev], np.int64),
        "eval_return": np.array([r for _, _, _, r in ev], np.float32),
    }
    n = len(runs)
    episodes = {
        "run": np.repeat(np.arange(n), 3),
        "episode": np.tile(np.arange(3), n),
        "episode_return": np.full(3 * n, 50.0, np.float32),
        "episode_length": np.full(3 * n, 50, np.int32),
        "end_step": np.tile([50, 100, 150], n).astype(np.int64),
    }
    search = {"method": "sobol", "samples": n_members, "seed": 0, "scheduler": "pbt", "population": n_members}
    search |= {"interval": interval, "quantile": 0.25, "perturb": [0.8, 1.25], "resample_probability": 0.0}
    search["metric"] = "final"
    manifest = {
        "grid": "pbt",
        "axes": ["lr", "eps_end"],
        "n_seeds": n_pops,
        "total_steps": total,
        "space": {"lr": LR, "eps_end": EPS},
        "search": search,
        "pbt": {"intervals": [(k + 1) * interval for k in range(n_intervals)]},
    }
    data = {"runs": runs, "axes": ["lr", "eps_end"], "episodes": episodes, "evals": evals, "manifest": manifest}
    return data, table


def write_pbt(run_dir, data, table):
    """The run folder of ``pbt_sweep``'s output: the usual tables and ``pbt.parquet``."""
    analysis.write_tables(run_dir, **data)
    tables.write_parquet(run_dir / "pbt.parquet", table, data["manifest"])


def _hand_table():
    """One population of 3 members over 3 intervals of 1,000 steps, by hand.

    After interval 0 member 1 takes member 0's state, after interval 1 member 2 takes member 1's; member 2
    scores highest at the end. Its lineage: member 0 in interval 0, member 1 in interval 1, itself in 2.
    """
    parent = {0: [0, 0, 2], 1: [0, 1, 1], 2: [-1, -1, -1]}
    score = {0: [10.0, 5.0, 20.0], 1: [30.0, 40.0, 10.0], 2: [100.0, 200.0, 300.0]}
    lr = {0: [1e-3, 2e-3, 3e-3], 1: [1e-3, 8e-4, 2e-3], 2: [1e-3, 1e-3, 1.6e-3]}
    rows = [
        {
            "population": 0,
            "member": m,
            "interval": k,
            "step": 1000 * (k + 1),
            "score": score[k][m],
            "parent": parent[k][m],
            "lr": lr[k][m],
        }  # fmt: skip
        for k in range(3)
        for m in range(3)
    ]
    return pd.DataFrame(rows)


def test_the_lineage_of_the_best_final_member_by_hand():
    table = _hand_table()
    assert pbt.explored(table) == ["lr"]
    assert pbt.best_members(table).to_dict("records") == [{"population": 0, "member": 2, "score": 300.0}]
    parents = table[["interval", "member", "parent"]]
    assert pbt.trace(parents, 2) == [0, 1, 2]
    assert pbt.trace(parents, 1) == [0, 1, 1]  # itself in interval 1, copied from member 0 after interval 0
    assert pbt.trace(parents, 0) == [0, 0, 0]
    lin = pbt.lineages(table)
    assert lin["member"].tolist() == [0, 1, 2] and lin["exploited"].tolist() == [False, True, True]
    assert lin["lr"].tolist() == [1e-3, 8e-4, 1.6e-3]  # the value each link trained with
    assert lin[["start", "end"]].to_numpy().tolist() == [[0, 1000], [1000, 2000], [2000, 3000]]
    with pytest.raises(ValueError, match="no row of member 1 at interval 0"):
        pbt.trace(parents[~((parents["interval"] == 0) & (parents["member"] == 1))], 2)


def test_the_best_member_ties_go_to_the_lower_member_and_nan_scores_last():
    table = _hand_table()
    last = table["interval"] == 2
    tied = table.assign(score=np.where(last, np.array([np.nan, 7.0, 7.0])[table["member"]], table["score"]))
    assert pbt.best_members(tied)["member"].tolist() == [1]
    only_nan = table.assign(score=np.where(last & (table["member"] > 0), np.nan, table["score"]))
    assert pbt.best_members(only_nan)["member"].tolist() == [0]


def _hand_folder(run_dir):
    """``_hand_table`` as a run folder: member m's eval at step s returns 100 m + s / 1000 (two per interval)."""
    runs = pd.DataFrame({"config": [0, 1, 2], "seed": 0, "lr": 1e-3, "total_steps": 3000, "diverged": False})
    steps = np.arange(500, 3001, 500)
    evals = {
        "run": np.repeat(np.arange(3), len(steps)),
        "step": np.tile(steps, 3).astype(np.int64),
        "eval_return": (100.0 * np.repeat(np.arange(3), len(steps)) + np.tile(steps, 3) / 1000).astype(np.float32),
    }
    empty = {k: np.zeros(0, np.int64) for k in ("run", "episode", "episode_length", "end_step")}
    empty["episode_return"] = np.zeros(0, np.float32)
    manifest = {"grid": "hand", "axes": [], "total_steps": 3000, "search": {"scheduler": "pbt", "metric": "final"}}
    write_pbt(
        run_dir, {"runs": runs, "axes": [], "episodes": empty, "evals": evals, "manifest": manifest}, _hand_table()
    )


def test_the_lineages_run_stitches_its_members_evaluations(tmp_path):
    _hand_folder(tmp_path)
    runs, evals = pbt.lineage_runs(analysis.load(tmp_path))
    assert evals["step"].tolist() == [500, 1000, 1500, 2000, 2500, 3000]
    # Interval 0 (steps 1-1,000) from member 0, interval 1 from member 1, interval 2 from member 2.
    np.testing.assert_allclose(evals["eval_return"], [0.5, 1.0, 101.5, 102.0, 202.5, 203.0], rtol=1e-6)
    assert runs[["config", "seed"]].to_numpy().tolist() == [[0, 0]]
    assert runs["final_eval_return"].tolist() == pytest.approx([203.0])
    assert runs["total_steps"].tolist() == [3000]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A PBT folder: 4 populations of 8 members, 5 intervals of 1,000 steps."""
    run_dir = tmp_path_factory.mktemp("pbt")
    data, table = pbt_sweep(n_pops=4)
    write_pbt(run_dir, data, table)
    return run_dir, data, table


def test_every_lineage_descends_through_parents_that_existed(folder):
    run_dir, _, table = folder
    t = analysis.load(run_dir)
    assert t.pbt is not None and len(t.pbt) == 4 * 8 * 5
    lin = pbt.lineages(t.pbt)
    assert lin.groupby("population").size().tolist() == [5] * 4
    rows = t.pbt.set_index(["population", "interval", "member"])
    for pop, d in lin.groupby("population"):
        chain = d.sort_values("interval")["member"].tolist()
        for k in range(len(chain) - 1):  # the member at k + 1 lists the member at k as its parent at k
            assert rows.loc[(pop, k, chain[k + 1]), "parent"] == chain[k]
        assert chain[-1] == pbt.best_members(t.pbt).set_index("population").loc[pop, "member"]
    assert lin["exploited"].sum() > 0  # the synthetic sweep exploits
    assert t.pbt["lr"].between(1e-4, 1e-2).all() and t.pbt["eps_end"].between(0.0, 0.2).all()


def test_the_populations_final_returns(folder):
    run_dir, data, _ = folder
    t = analysis.load(run_dir)
    pops = pbt.populations(t)
    assert pops["population"].tolist() == [0, 1, 2, 3] and (pops["n_members"] == 8).all()
    finals = t.runs.set_index(["config", "seed"])["final_eval_return"]
    expected = [finals[(m, p)] for p, m in zip(pops["population"], pops["member"], strict=True)]
    np.testing.assert_allclose(pops["final_eval_return"], expected)
    np.testing.assert_allclose(pops["score"], expected)  # the metric is the last eval return
    stats_ = pbt.final_statistics(pops["final_eval_return"])
    assert stats_["iqm"].point == pytest.approx(sps.trim_mean(expected, 0.25))
    iv = intervals.interval(np.asarray(expected)[None, :], "iqm")
    assert (stats_["iqm"].low, stats_["iqm"].high) == pytest.approx((iv.low[0], iv.high[0]))
    assert stats_["solved"].point == np.mean(np.asarray(expected) >= 475)
    last = t.pbt[t.pbt["interval"] == 4].set_index(["population", "member"])
    keys = list(zip(pops["population"], pops["member"], strict=True))
    np.testing.assert_allclose(pops["lr"], last.loc[keys, "lr"])


def test_report_of_a_pbt_sweep(folder, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for f in folder[0].iterdir():
        if f.is_file():
            (run_dir / f.name).write_bytes(f.read_bytes())
    html = analysis.report(run_dir).read_text()
    figs = {p.stem for p in (run_dir / "figures").iterdir()}
    assert figs == {
        "pbt_hyperparameters",
        "pbt_lineage_curves",
        "learning_curves_eval",
        "learning_curves_train",
        "ranking",
        "probability_of_improvement",
        "score_distributions",
    }  # nothing that reads a member's initial hyperparameters as those it trained with
    assert all((run_dir / "figures" / f"{n}.png").read_bytes()[:8] == PNG for n in figs)
    assert html.index("figures/pbt_hyperparameters.png") < html.index("figures/learning_curves_eval.png")
    assert "population-based training of lr × eps_end" in html and "8 members × 4 populations" in html
    pops = pd.read_parquet(run_dir / "populations.parquet")
    assert len(pops) == 4 and {"member", "final_eval_return", "exploits", "lr", "eps_end"} <= set(pops.columns)
    s = pbt.final_statistics(pops["final_eval_return"])["iqm"]
    assert f"IQM <b>{s.point:.1f} [{s.low:.1f}, {s.high:.1f}]</b>" in html
    solved = pbt.final_statistics(pops["final_eval_return"])["solved"]
    assert f"{solved.point:.0%} [{solved.low:.0%}–{solved.high:.0%}] solved (≥ 475)" in html  # CartPole-v1's
    assert "<b>Best config</b>" not in html and "<h2>Members over populations (best first)</h2>" in html
    assert run_labels(analysis.load(run_dir))[0].startswith("member 0 (initial lr=")  # the figures' labels
    assert "every 1,000 env steps each member of the bottom 25%" in html and "multiplied by 0.8 or 1.25" in html


def test_compare_represents_a_pbt_sweep_by_its_populations_best_members(folder, tmp_path, capsys):
    grid = tmp_path / "grid" / "run"
    grid.mkdir(parents=True)
    analysis.write_tables(grid, **sweep({"lr": [1e-4, 1e-3]}, n_seeds=4, steps=5000))
    out = analysis.compare([folder[0], grid], out_dir=tmp_path / "cmp")
    table = pd.read_parquet(tmp_path / "cmp" / "compare.parquet")
    row = table.iloc[0]
    t = analysis.load(folder[0])
    pops = pbt.populations(t)
    s = pbt.final_statistics(pops["final_eval_return"])
    assert row["best_config"] == "best final member of each population (PBT, 8 members)"
    assert row["n_seeds"] == 4 and row["n_configs"] == 8 and row["total_steps"] == 5000
    assert (row["final_iqm"], row["final_iqm_ci_low"], row["final_iqm_ci_high"]) == pytest.approx(s["iqm"])
    # P(PBT > grid) pairs population s with the grid's seed s.
    grid_best = analysis.load(grid).summary.sort_values("rank").iloc[0]["config"]
    g = analysis.load(grid).runs
    y = g[g["config"] == grid_best].sort_values("seed")["final_eval_return"].to_numpy(np.float64)
    iv = improvement_interval(pops["final_eval_return"].to_numpy(np.float64), y)
    text = out.read_text()
    assert f"{iv.point:.2f} [{iv.low:.2f}, {iv.high:.2f}]" in text
    assert "represented by the best final member of each population" in text
    assert "the whole sweeps trained 160,000 (pbt/" in capsys.readouterr().err


def test_load_rejects_a_pbt_table_that_does_not_fit_the_runs(tmp_path):
    data, table = pbt_sweep(n_pops=2, n_members=4, n_intervals=2)
    bad = {
        "unknown parent": (
            table.assign(parent=np.where(table["interval"] == 0, 9, table["parent"])),
            "'parent' holds 9",
        ),
        "unknown population": (table.assign(population=table["population"] + 5), "'population' holds 5"),
        "twice": (pd.concat([table, table.iloc[:1]]), "lists population 0, member 0, interval 0 more than once"),
        "no parent": (table.drop(columns="parent"), "has no column 'parent'"),
    }
    for name, (frame, message) in bad.items():
        d = tmp_path / name.replace(" ", "_")
        d.mkdir()
        write_pbt(d, data, frame)
        with pytest.raises(UserError, match=message):
            analysis.load(d)
