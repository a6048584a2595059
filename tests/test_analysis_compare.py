"""``analysis.pages.compare``: the best config of several sweeps side by side (no JAX)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_analysis_tables import sweep, tiny_sweep

import analysis
from analysis.stats.improvement import improvement_interval
from analysis.tables import run as tables

PNG = b"\x89PNG\r\n\x1a\n"


def test_compare_two_sweeps(tmp_path, monkeypatch):
    a, b = tmp_path / "a" / "run1", tmp_path / "b" / "run2"
    for d, seed in ((a, 0), (b, 1)):
        d.mkdir(parents=True)
        analysis.write_tables(d, **sweep({"lr": [1e-4, 1e-3]}, seed=seed))
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
    html = out.read_text()
    assert "P(X &gt; Y)" in html and "seeds for a clear difference" in html
    assert html.count("seeds per config") + html.count("show no difference") + html.count("Too few seeds") >= 2


def test_compare_pairs_the_best_configs_by_seed(tmp_path):
    # Sweep a trained seeds 0-3, sweep b seeds 2-5 (one config each): P(a > b) pairs them on seeds 2 and 3, as
    # improvement_interval does with the two aligned on seeds 0-5.
    dirs = []
    for name, seeds, base in (("a", [0, 1, 2, 3], 400.0), ("b", [2, 3, 4, 5], 100.0)):
        d = tmp_path / name / "run"
        d.mkdir(parents=True)
        data = sweep({}, n_seeds=4)
        data["runs"]["seed"] = seeds
        data["evals"]["eval_return"] = np.full(len(data["evals"]["run"]), base, np.float32) + data["evals"]["run"]
        analysis.write_tables(d, **data)
        dirs.append(d)
    out = analysis.compare(dirs, out_dir=tmp_path / "cmp")
    finals = [analysis.load(d).runs.set_index("seed")["final_eval_return"] for d in dirs]
    x, y = (f.reindex(range(6)).to_numpy(float) for f in finals)
    iv = improvement_interval(x, y)
    assert f"{iv.point:.2f} [{iv.low:.2f}, {iv.high:.2f}]" in out.read_text()


def test_compare_does_not_trust_a_stale_or_foreign_summary(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    analysis.write_tables(run, **tiny_sweep())
    truth = analysis.load(run).summary
    # A summary without a rank column (written by something else), and one with every column but no format
    # marker (an older version) and numbers that would make config 1 the best: both are recomputed.
    bad = [
        lambda p: tables.write_summary(p, truth.drop(columns="rank"), {}),
        lambda p: tables.write_parquet(p, truth.assign(rank=[2, 1], final_iqm=[0.0, 500.0]), {}),
    ]
    for write in bad:
        write(run / "summary.parquet")
        out = analysis.compare([run], out_dir=tmp_path / "cmp")
        row = pd.read_parquet(out.parent / "compare.parquet").iloc[0]
        assert row["config"] == 0 and row["final_iqm"] == pytest.approx(truth.loc[0, "final_iqm"])


def test_compare_needs_a_run_folder():
    with pytest.raises(ValueError, match="at least one run folder"):
        analysis.compare([])


def test_compare_of_sweeps_of_different_lengths_says_so(tmp_path, capsys):
    dirs = []
    for name, steps in (("short", 2000), ("long", 4000)):
        d = tmp_path / name / "run"
        d.mkdir(parents=True)
        analysis.write_tables(d, **sweep({}, steps=steps))
        dirs.append(d)
    out = analysis.compare(dirs, out_dir=tmp_path / "cmp")
    note = "these sweeps trained for different numbers of env steps: 2,000 (test/run), 4,000 (test/run (2))"
    assert capsys.readouterr().err.startswith(f"note: {note}")
    assert note in out.read_text()
    assert pd.read_parquet(tmp_path / "cmp" / "compare.parquet")["total_steps"].tolist() == [2000, 4000]
    same = analysis.compare(dirs[:1] * 2, out_dir=tmp_path / "cmp2")
    assert "different numbers of env steps" not in same.read_text() and capsys.readouterr().err == ""
