"""``analysis.pages.report``: the summary, figures and HTML page ``report`` writes into a run folder (no JAX)."""

import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_analysis_tables import sweep, tiny_sweep

import analysis
from analysis.pages.sections import caveats
from analysis.stats.intervals import MEASURED_MIN_COVERAGE
from analysis.summaries import aggregate
from common.files import WriteError

PNG = b"\x89PNG\r\n\x1a\n"


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
    analysis.write_tables(tmp_path, **sweep(axes_values))
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
    data = sweep({"lr": [1e-4, 1e-3]}, n_seeds=2)
    data[missing] = {k: v[:0] for k, v in data[missing].items()}
    analysis.write_tables(tmp_path, **data)
    html = analysis.report(tmp_path).read_text()
    figs = {p.stem for p in (tmp_path / "figures").iterdir()}
    curve = "learning_curves_eval" if missing == "evals" else "learning_curves_train"
    assert curve not in figs and "ranking" in figs
    assert ("No evaluations were recorded" in html) == (missing == "evals")
    assert "Few seeds" in html


@pytest.mark.parametrize("n_seeds, measured_at", [(2, 2), (6, 5), (9, 8), (10, None)])
def test_few_seeds_caveat_quotes_the_coverage_measured_at_that_seed_count(tmp_path, n_seeds, measured_at):
    # Below 10 seeds the caveat quotes the study's lowest coverage at the largest seed count it measured that is
    # not above the sweep's (python -m analysis coverage).
    analysis.write_tables(tmp_path, **sweep({"lr": [1e-4, 1e-3]}, n_seeds=n_seeds))
    text = " ".join(caveats(analysis.load(tmp_path)))
    assert ("Few seeds" in text) == (measured_at is not None)
    if measured_at is not None:
        cov = MEASURED_MIN_COVERAGE[measured_at]
        quoted = f"at least {math.floor(cov * 1000 + 1e-9) / 10:g}% of the time at {measured_at} seeds"
        assert f"only {n_seeds} seeds" in text and quoted in text


def test_report_of_a_config_with_one_seed_and_the_seeds_a_clear_difference_needs(tmp_path):
    # Config 0 trained one seed (it scores highest): it gets no interval and ranks after the others. The box
    # compares the best with the runner-up and says how many seeds would make their difference clear.
    data = sweep({"lr": [1e-4, 1e-3, 1e-2]}, n_seeds=6)
    keep = ~((data["runs"]["config"] == 0) & (data["runs"]["seed"] > 0))
    runs = data["runs"][keep].reset_index(drop=True)
    old = np.flatnonzero(keep.to_numpy())
    new = {int(o): i for i, o in enumerate(old)}
    ev = data["evals"]
    sel = np.isin(ev["run"], old)
    evals = {k: v[sel] for k, v in ev.items()}
    evals["run"] = np.array([new[int(r)] for r in evals["run"]])
    evals["eval_return"] = np.where(evals["run"] == 0, 500.0, evals["eval_return"]).astype(np.float32)
    ep = data["episodes"]
    sel = np.isin(ep["run"], old)
    episodes = {k: v[sel] for k, v in ep.items()}
    episodes["run"] = np.array([new[int(r)] for r in episodes["run"]])
    analysis.write_tables(tmp_path, **dict(data, runs=runs, evals=evals, episodes=episodes))
    html = analysis.report(tmp_path).read_text()
    summary = pd.read_parquet(tmp_path / "summary.parquet").set_index("config")
    assert summary.loc[0, "final_iqm"] == 500.0 and summary.loc[0, "rank"] == 3
    assert "500.0 (no CI: 1 seed)" in html and "ranks after every config that has one" in html
    assert "P(best &gt; runner-up)" in html and "seeds per config" in html
    assert "P(best &gt; it) [95% CI]" in html


def test_report_reads_infinite_manifest_numbers(tmp_path):
    # Strict JSON stores inf as "inf": the title falls back on the runs' total_steps (2,000), the manifest
    # table prints the infinite compile time, and the full manifest shows the strings as written.
    data = sweep({"lr": [1e-4, 1e-3]})
    manifest = {**data["manifest"], "total_steps": float("inf"), "compile_seconds": float("inf")}
    manifest["traced_fixed"] = {"max_grad_norm": float("inf")}
    analysis.write_tables(tmp_path, **dict(data, manifest=manifest))
    html = analysis.report(tmp_path).read_text()
    assert "2,000 env steps per run" in html
    assert '<th class="l">compile time</th><td class="l">inf s</td>' in html
    assert "&quot;max_grad_norm&quot;: &quot;inf&quot;" in html


def test_failed_report_write_keeps_the_tables(tmp_path):
    # summary.parquet, the first file report writes, cannot replace a folder of that name.
    analysis.write_tables(tmp_path, **tiny_sweep())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    (tmp_path / "summary.parquet").mkdir()
    with pytest.raises(WriteError, match="cannot write .*summary.parquet"):
        analysis.report(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "figures").exists()
