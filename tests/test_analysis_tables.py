"""Tables, summary, report, compare and command line of ``analysis``, on small synthetic sweeps (no JAX)."""

import errno
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import analysis
from analysis import __main__ as cli
from analysis import aggregate, tables
from analysis.bench import synthetic_sweep
from analysis.report import caveats

PNG = b"\x89PNG\r\n\x1a\n"


def tiny_sweep():
    """2 configs (lr) x 4 seeds with hand-picked final returns, and evals out of step order."""
    runs = pd.DataFrame(
        {
            "config": np.repeat([0, 1], 4),
            "seed": np.tile([0, 1, 2, 3], 2),
            "lr": np.repeat([1e-3, 1e-4], 4),
            "hidden_sizes": "64x64",
            "double_q": False,
            "extra": np.arange(8) * 10,  # an engine column analysis does not know: kept
            "diverged": [False, False, False, True, False, False, False, False],
        }
    )
    # Each run has evals at steps 200 and 100 (listed in that order); config 0's final returns are
    # 100, 200, 300, 500 and config 1's are 10, 20, 30, 40; run 7 has no evals at all.
    finals = [100.0, 200.0, 300.0, 500.0, 10.0, 20.0, 30.0]
    evals = {
        "run": np.repeat(np.arange(7), 2),
        "step": np.tile([200, 100], 7).astype(np.int64),
        "eval_return": np.array([[f, 0.0] for f in finals], np.float32).ravel(),
    }
    episodes = {
        "run": np.array([0, 0, 0, 5]),
        "episode": np.array([0, 1, 2, 0]),
        "episode_return": np.array([10.0, 20.0, 30.0, 12.0], np.float32),
        "episode_length": np.array([10, 20, 30, 12], np.int32),
        "end_step": np.array([10, 30, 60, 12], np.int64),
    }
    manifest = {"grid": "tiny", "axes": ["lr"], "n_seeds": 4, "total_steps": 200, "versions": {"numpy": "x"}}
    return {"runs": runs, "axes": ["lr"], "episodes": episodes, "evals": evals, "manifest": manifest}


@pytest.fixture
def tiny_dir(tmp_path):
    analysis.write_tables(tmp_path, **tiny_sweep())
    return tmp_path


def test_write_tables_columns_dtypes_and_manifest(tiny_dir):
    ep = pd.read_parquet(tiny_dir / "episodes.parquet")
    assert list(ep.columns) == [
        "config", "seed", "lr", "episode", "episode_return", "episode_length", "end_step"
    ]  # fmt: skip
    assert ep["episode_return"].dtype == np.float32 and ep["episode_length"].dtype == np.int32
    assert ep["config"].tolist() == [0, 0, 0, 1] and ep["seed"].tolist() == [0, 0, 0, 1]
    assert ep["lr"].tolist() == [1e-3, 1e-3, 1e-3, 1e-4]
    ev = pd.read_parquet(tiny_dir / "evals.parquet")
    assert list(ev.columns) == ["config", "seed", "lr", "step", "eval_return"]
    runs = pd.read_parquet(tiny_dir / "runs.parquet")
    assert list(runs.columns[:2]) == ["config", "seed"]
    assert {"extra", "hidden_sizes", "double_q", "diverged", "final_eval_return", "episodes"} <= set(runs)
    # The return at the largest step, not the last row; NaN for the run without evals.
    np.testing.assert_array_equal(runs["final_eval_return"], [100, 200, 300, 500, 10, 20, 30, np.nan])
    assert runs["episodes"].tolist() == [3, 0, 0, 0, 0, 1, 0, 0]
    manifest = json.loads((tiny_dir / "manifest.json").read_text())
    assert manifest["grid"] == "tiny"
    for name in ("episodes", "evals", "runs"):
        meta = pq.read_schema(tiny_dir / f"{name}.parquet").metadata
        assert json.loads(meta[b"manifest"]) == manifest
        column = pq.ParquetFile(tiny_dir / f"{name}.parquet").metadata.row_group(0).column(0)
        assert column.compression == "ZSTD"
    assert not [p for p in os.listdir(tiny_dir) if p.endswith(".tmp")]


def test_write_tables_rejects_bad_input(tmp_path):
    data = tiny_sweep()
    bad = dict(data, evals={**data["evals"], "step": data["evals"]["step"][:-1]})
    with pytest.raises(ValueError, match="equal length"):
        analysis.write_tables(tmp_path, **bad)
    bad = dict(data, episodes={**data["episodes"], "run": np.array([0, 0, 0, 8])})
    with pytest.raises(ValueError, match="run index 8"):
        analysis.write_tables(tmp_path, **bad)
    with pytest.raises(ValueError, match="missing the columns lr"):
        analysis.write_tables(tmp_path, **dict(data, runs=data["runs"].drop(columns="lr")))


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
    auc = tables.run_auc(runs, evals)
    np.testing.assert_allclose(auc, [130_000 / 200_000, 110_000 / 150_000, 0.5, np.nan, 0.4])


def _sweep(axes_values, n_seeds=3, steps=2000, seed=0):
    """A sweep over any axes: returns depend on the config so rankings are stable."""
    rng = np.random.default_rng(seed)
    names = list(axes_values)
    combos = list(itertools.product(*axes_values.values())) or [()]
    rows = []
    for c, combo in enumerate(combos):
        for s in range(n_seeds):
            rows.append({"config": c, "seed": s, **dict(zip(names, combo, strict=True)), "lr_fixed": 1e-3})
    runs = pd.DataFrame(rows)
    runs["total_steps"] = steps
    runs["diverged"] = False
    n = len(runs)
    skill = rng.uniform(0.1, 1.0, len(combos))[runs["config"]] * rng.uniform(0.7, 1.0, n)
    steps_eval = np.arange(1, 5) * steps // 4
    evals = {
        "run": np.repeat(np.arange(n), 4),
        "step": np.tile(steps_eval, n),
        "eval_return": (500 * skill[:, None] * np.linspace(0.2, 1, 4)).astype(np.float32).ravel(),
    }
    lengths = np.clip((20 + 100 * skill[:, None] * np.ones((1, 40))).astype(int), 8, 500)
    end = np.cumsum(lengths, axis=1)
    r, e = np.nonzero(end <= steps)
    episodes = {
        "run": r,
        "episode": e,
        "episode_return": lengths[r, e].astype(np.float32),
        "episode_length": lengths[r, e],
        "end_step": end[r, e],
    }
    manifest = {"grid": "test", "axes": names, "n_seeds": n_seeds, "total_steps": steps}
    return {"runs": runs, "axes": names, "episodes": episodes, "evals": evals, "manifest": manifest}


@pytest.mark.parametrize(
    "axes_values",
    [
        {},
        {"lr": [1e-4, 1e-3, 1e-2]},
        {"lr": [1e-4, 1e-3], "eps_end": [0.01, 0.1]},
        {"lr": [1e-4, 1e-3], "double_q": [False, True], "hidden_sizes": ["64x64", "128x128"]},
    ],
    ids=["0-axes", "1-axis", "2-axes", "3-axes"],
)
def test_report_for_any_number_of_axes(tmp_path, axes_values):
    analysis.write_tables(tmp_path, **_sweep(axes_values))
    out = analysis.report(tmp_path)
    assert out == tmp_path.resolve() / "report.html"
    figs = {p.name for p in (tmp_path / "figures").iterdir()}
    expected = {"learning_curves_eval.png", "learning_curves_train.png", "ranking.png"}
    expected.add("score_distributions.png")
    n_configs = max(1, int(np.prod([len(v) for v in axes_values.values()])))
    if axes_values:
        expected.add("sensitivity.png")
    if len(axes_values) >= 2:
        expected.add("heatmap_final_iqm.png")
    if n_configs >= 2:
        expected.add("probability_of_improvement.png")
    assert figs == expected
    for name in figs:
        assert (tmp_path / "figures" / name).read_bytes()[:8] == PNG
    html = out.read_text()
    assert html.count("data:image/png;base64,") == len(expected)
    assert ("Runner-up" in html) == (n_configs >= 2)
    summary = pd.read_parquet(tmp_path / "summary.parquet")
    # The best config's final IQM and its CI, as the report prints them, and its label.
    best = summary.sort_values("rank").iloc[0]
    iqm = f"{best['final_iqm']:.1f} [{best['final_iqm_ci_low']:.1f}, {best['final_iqm_ci_high']:.1f}]"
    assert f"IQM {iqm}" in html
    label = aggregate.config_labels(summary, list(axes_values))[int(best["config"])]
    assert f"<b>Best config</b> (rank 1 by final IQM): <b>{label}</b>" in html
    assert len(summary) == n_configs and list(summary.columns[: 1 + len(axes_values)]) == [
        "config",
        *axes_values,
    ]
    assert b"manifest" in pq.read_schema(tmp_path / "summary.parquet").metadata


@pytest.mark.parametrize("missing", ["evals", "episodes"])
def test_report_without_evals_or_episodes(tmp_path, missing):
    data = _sweep({"lr": [1e-4, 1e-3]}, n_seeds=2)
    data[missing] = {k: v[:0] for k, v in data[missing].items()}
    analysis.write_tables(tmp_path, **data)
    html = analysis.report(tmp_path).read_text()
    figs = {p.stem for p in (tmp_path / "figures").iterdir()}
    curve = "learning_curves_eval" if missing == "evals" else "learning_curves_train"
    assert curve not in figs and "ranking" in figs
    assert ("No evaluations were recorded" in html) == (missing == "evals")
    assert "Few seeds" in html


@pytest.mark.parametrize("n_seeds, warned", [(2, True), (6, True), (9, True), (10, False)])
def test_few_seeds_caveat_below_ten_seeds(tmp_path, n_seeds, warned):
    analysis.write_tables(tmp_path, **_sweep({"lr": [1e-4, 1e-3]}, n_seeds=n_seeds))
    text = " ".join(caveats(analysis.load(tmp_path)))
    assert ("Few seeds" in text) == warned
    if warned:
        assert f"only {n_seeds} seeds" in text and "91% with 5–6" in text


def test_load_errors_are_one_sentence(tmp_path):
    with pytest.raises(analysis.RunDirError, match="does not exist"):
        analysis.load(tmp_path / "nope")
    with pytest.raises(analysis.RunDirError, match="is not a sweep's run folder"):
        analysis.load(tmp_path)
    analysis.write_tables(tmp_path, **tiny_sweep())
    (tmp_path / "evals.parquet").write_bytes(b"not parquet")
    with pytest.raises(analysis.RunDirError, match="cannot read"):
        analysis.load(tmp_path)


def _rewrite(path, change):
    """Rewrites a Parquet table of a run folder as ``change(DataFrame)``."""
    change(pd.read_parquet(path)).to_parquet(path)


def _manifest(value):
    return lambda d: (d / "manifest.json").write_text(json.dumps(value))


BAD_RUN_FOLDERS = {
    "manifest-not-object": (_manifest([1]), "holds an array; a manifest must be a JSON object"),
    "axes-not-list": (_manifest({"axes": "lr"}), "it must be a list of column names"),
    "axis-not-a-column": (_manifest({"axes": ["lr", "gamma"]}), "names the axis 'gamma', but runs.parquet has no"),
    "evals-without-eval_return": (
        lambda d: _rewrite(d / "evals.parquet", lambda df: df.drop(columns="eval_return")),
        "evals.parquet' has no column 'eval_return'",
    ),
    "episodes-without-end_step": (
        lambda d: _rewrite(d / "episodes.parquet", lambda df: df.drop(columns="end_step")),
        "episodes.parquet' has no column 'end_step'",
    ),
    "text-seeds": (
        lambda d: _rewrite(d / "runs.parquet", lambda df: df.assign(seed=df["seed"].astype(str))),
        "it must hold integer values",
    ),
    "zero-runs": (lambda d: _rewrite(d / "runs.parquet", lambda df: df.iloc[:0]), "holds no runs"),
    "duplicate-run": (
        lambda d: _rewrite(d / "runs.parquet", lambda df: df.assign(seed=0)),
        "lists config 0, seed 0 more than once",
    ),
}


@pytest.mark.parametrize("case", list(BAD_RUN_FOLDERS))
@pytest.mark.parametrize("command", ["report", "compare"])
def test_cli_bad_run_folder_is_one_line_and_keeps_earlier_results(tmp_path, capsys, case, command):
    run = tmp_path / "run"
    run.mkdir()
    analysis.write_tables(run, **tiny_sweep())
    (run / "report.html").write_text("earlier report")
    (run / "summary.parquet").write_bytes(b"earlier summary")
    good = tmp_path / "good"
    good.mkdir()
    analysis.write_tables(good, **tiny_sweep())
    spoil, message = BAD_RUN_FOLDERS[case]
    spoil(run)
    out = tmp_path / "cmp"
    argv = ["report", str(run)] if command == "report" else ["compare", str(good), str(run), "--out", str(out)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err, err
    assert (run / "report.html").read_text() == "earlier report"
    assert (run / "summary.parquet").read_bytes() == b"earlier summary"
    assert not out.exists()


def test_compare_does_not_trust_a_stale_or_foreign_summary(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    analysis.write_tables(run, **tiny_sweep())
    truth = analysis.load(run).summary
    assert truth.loc[truth["rank"] == 1, "config"].item() == 0
    # A summary without a rank column (written by something else), and one with every column but no format
    # marker (an older version) and numbers that would make config 1 the best: both are recomputed.
    bad = [
        lambda p: tables.write_summary(p, truth.drop(columns="rank"), {}),
        lambda p: tables.write_parquet(p, truth.assign(rank=[2, 1], final_iqm=[0.0, 500.0]), {}),
    ]
    for write in bad:
        write(run / "summary.parquet")
        pd.testing.assert_frame_equal(analysis.load(run).summary, truth)
        out = analysis.compare([run], out_dir=tmp_path / "cmp")
        row = pd.read_parquet(out.parent / "compare.parquet").iloc[0]
        assert row["config"] == 0 and row["final_iqm"] == pytest.approx(truth.loc[0, "final_iqm"])
    # A summary written by report with this version is used as it is.
    tables.write_summary(run / "summary.parquet", truth.assign(final_iqm=[1.0, 2.0]), {})
    assert analysis.load(run).summary["final_iqm"].tolist() == [1.0, 2.0]


def test_summary_columns_are_the_documented_ones(tiny_dir):
    t = analysis.load(tiny_dir)
    assert list(t.summary.columns) == tables.summary_columns(["lr"])


def test_cli_report_and_bad_input(tiny_dir, tmp_path, capsys):
    link = tmp_path / "latest"
    link.symlink_to(tiny_dir)
    assert cli.main(["report", str(link)]) == 0
    assert (tiny_dir / "report.html").is_file()
    capsys.readouterr()
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "required: command"),
        (["report"], "required: run_dir"),
        (["frob", "x"], "invalid choice: 'frob'"),
        (["compare", "a", "--out"], "--out: expected one argument"),
    ],
)
def test_cli_usage_errors_are_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err


def test_atomic_write_fsyncs_before_rename(tmp_path, monkeypatch):
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), replace(a, b))[1])
    tables.write_parquet(tmp_path / "x.parquet", pd.DataFrame({"a": [1, 2]}), {"grid": "g"})
    assert calls == ["fsync", "replace"]
    assert pd.read_parquet(tmp_path / "x.parquet")["a"].tolist() == [1, 2]


def test_failed_write_keeps_the_old_file(tiny_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "notes.txt"
    tables.atomic_write_text(path, "old")

    def fail(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(tables.WriteError, match="cannot write .*notes.txt.*Input/output error"):
        tables.atomic_write_text(path, "new")
    assert path.read_text() == "old" and os.listdir(path.parent) == ["notes.txt"]
    # The command line words it as a failed write, on one line, and leaves the run's tables alone.
    before = {p.name: p.read_bytes() for p in tiny_dir.iterdir() if p.is_file()}
    assert cli.main(["report", str(tiny_dir)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: cannot write") and "Traceback" not in err
    assert {p.name: p.read_bytes() for p in tiny_dir.iterdir() if p.is_file()} == before


def test_cli_subprocess_bad_folder_exits_2(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "analysis", "report", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "not a sweep's run folder" in r.stderr


def test_cli_subprocess_compare_bad_input_exits_2(tiny_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    analysis.write_tables(bad, **tiny_sweep())
    (bad / "manifest.json").write_text("[1]")
    r = subprocess.run(
        [sys.executable, "-m", "analysis", "compare", str(tiny_dir), str(bad), "--out", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert f"{str(bad.resolve() / 'manifest.json')!r} holds an array; a manifest must be a JSON object" in r.stderr


def test_compare_two_sweeps(tmp_path, monkeypatch):
    a, b = tmp_path / "a" / "run1", tmp_path / "b" / "run2"
    for d, seed in ((a, 0), (b, 1)):
        d.mkdir(parents=True)
        analysis.write_tables(d, **_sweep({"lr": [1e-4, 1e-3]}, seed=seed))
    monkeypatch.chdir(tmp_path)
    out = analysis.compare([a, b])
    assert out.parent.parent == (Path("results") / "compare")
    table = pd.read_parquet(out.parent / "compare.parquet")
    assert table["sweep"].tolist() == ["test/run1", "test/run2"]
    for r, d in zip(table.itertuples(), (a, b), strict=True):
        best = analysis.load(d).summary.sort_values("rank").iloc[0]
        assert r.config == best["config"] and r.final_iqm == pytest.approx(best["final_iqm"])
    for name in ("learning_curves.png", "intervals.png"):
        assert (out.parent / "figures" / name).read_bytes()[:8] == PNG
    assert "P(X &gt; Y)" in out.read_text()
    assert cli.main(["compare", str(a), str(tmp_path / "missing"), "--out", str(tmp_path / "c")]) == 2


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


def test_synthetic_bench_data_is_the_advertised_size():
    data = synthetic_sweep(n_seeds=2)
    per_run = len(data["episodes"]["run"]) / len(data["runs"])
    assert len(data["runs"]) == 128 and 350 <= per_run <= 650
    assert len(data["evals"]["run"]) == 128 * 10
