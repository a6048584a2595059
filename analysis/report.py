"""A run folder's report: ``summary.parquet``, ``figures/*.png`` and a self-contained ``report.html``.

Everything is derived from the Parquet tables alone, so ``python -m analysis report RUN_DIR`` can regenerate
it at any time (e.g. after this package gains a figure).
"""

from __future__ import annotations

import html
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import aggregate, figures
from .aggregate import CURVE_BOOT
from .io import atomic_write_text, make_dir
from .page import FigureFile, document, img_html, manifest_html, manifest_number
from .plotting import EVAL_LABEL, save, sweep_title
from .summary import N_BOOT, summarise
from .tables import RunTables, load, write_summary

# Below this many seeds the report warns that its intervals undercover (see ``caveats``).
FEW_SEEDS = 10


def sweep_facts(t: RunTables) -> dict[str, Any]:
    """Sizes for titles: ``n_configs``, ``n_seeds`` (most seeds of any config) and ``total_steps`` per run."""
    runs = t.runs
    n_seeds = int(t.summary["n_seeds"].max()) if len(t.summary) else 0
    steps = manifest_number(t.manifest.get("total_steps"))
    if steps is None or not math.isfinite(steps) or steps <= 0:
        if "total_steps" in runs.columns and len(runs):
            steps = runs["total_steps"].max()
        elif len(t.episodes):
            steps = t.episodes["end_step"].max()
        else:
            steps = 0
    return {"n_configs": len(t.summary), "n_seeds": n_seeds, "total_steps": int(steps)}


def run_title(t: RunTables) -> str:
    """The title of a run's figures and report (``plotting.sweep_title``)."""
    facts = sweep_facts(t)
    return sweep_title(t.manifest, t.axes, facts["n_configs"], facts["n_seeds"], facts["total_steps"])


class _Context(NamedTuple):
    """What the figures of one run share."""

    t: RunTables
    title: str
    labels: dict[int, str]  # {config: "lr=0.001, ..."}
    top: list[int]  # the configs shown where not all are (up to ``figures.TOP_K``), best first
    layout: figures.CurveLayout  # the learning curves' colours and panels


def _eval_curves(c: _Context) -> Figure | None:
    """Learning curves of the greedy eval return; none without evaluations."""
    if not len(c.t.evals):
        return None
    curves = aggregate.eval_curves(c.t.runs, c.t.evals, configs=c.layout.configs)
    return figures.learning_curves(curves, c.t.summary, c.layout, c.labels, title=c.title, ylabel=EVAL_LABEL)


def _train_curves(c: _Context) -> Figure | None:
    """Learning curves of the training episode return; none without completed episodes."""
    if not len(c.t.episodes):
        return None
    curves = aggregate.train_curves(c.t.runs, c.t.episodes, configs=c.layout.configs)
    ylabel = "training episode return (IQM, 95% CI)"
    return figures.learning_curves(curves, c.t.summary, c.layout, c.labels, title=c.title, ylabel=ylabel)


def _heatmaps(c: _Context) -> Figure | None:
    """Final-return IQM over each pair of axes; only for 2 to 4 axes."""
    if not 2 <= len(c.t.axes) <= 4:
        return None
    return figures.heatmaps(aggregate.pair_heatmaps(c.t.summary, c.t.runs, c.t.axes), title=c.title)


def _ranking(c: _Context) -> Figure | None:
    """The configs ranked by final IQM, with their AUC."""
    return figures.ranking(c.t.summary, c.labels, title=c.title)


def _sensitivity(c: _Context) -> Figure | None:
    """Each axis's marginal effect on final return; none without axes."""
    if not c.t.axes:
        return None
    return figures.sensitivity(aggregate.sensitivity(c.t.summary, c.t.runs, c.t.axes), title=c.title)


def _improvement(c: _Context) -> Figure | None:
    """P(row config > column config) among the top configs; needs 2 configs."""
    if len(c.top) < 2:
        return None
    pairs = aggregate.improvement_matrix(c.t.runs, c.top)
    return figures.improvement(pairs, c.top, c.labels, title=c.title)


def _score_distributions(c: _Context) -> Figure | None:
    """Per-seed final returns and performance profiles of the top configs."""
    if not c.top:
        return None
    profiles = aggregate.score_profiles(c.t.runs, c.top[: figures.TOP_PROFILES])
    final = c.t.runs[["config", "final_eval_return"]]
    return figures.score_distributions(final, profiles, c.t.summary, c.top, c.labels, title=c.title)


# The figures of a run in reading order: file name, how to draw it (None where this sweep has none), caption.
FIGURES: tuple[tuple[str, Callable[[_Context], Figure | None], str], ...] = (
    (
        "learning_curves_eval",
        _eval_curves,
        "Greedy evaluation return against environment steps: IQM over seeds with 95% percentile "
        "bootstrap bands (each replicate resamples a config's seeds as whole curves).",
    ),
    (
        "learning_curves_train",
        _train_curves,
        "Training (ε-greedy) episode return, episodes binned by the step they ended at: IQM over seeds "
        "with 95% bootstrap bands.",
    ),
    (
        "heatmap_final_iqm",
        _heatmaps,
        "Final greedy return over each pair of swept axes: IQM [95% CI]; with more than two axes each "
        "cell pools the other axes' configs as strata of a stratified bootstrap.",
    ),
    (
        "ranking",
        _ranking,
        "Configs ranked by final IQM (left) with the normalised area under the eval curve (right), 95% bootstrap CIs.",
    ),
    (
        "sensitivity",
        _sensitivity,
        "Each hyperparameter's marginal effect on final return: IQM pooled over the other axes "
        "(stratified bootstrap, 95% CI).",
    ),
    (
        "probability_of_improvement",
        _improvement,
        "P(a random seed of the row config ends with a higher return than one of the column config), "
        "with 95% bootstrap CIs (Agarwal et al., 2021).",
    ),
    (
        "score_distributions",
        _score_distributions,
        "Final return of every seed of the top configs, and performance profiles: the fraction of seeds "
        "above each return τ, with 95% CI bands.",
    ),
)


def make_figures(t: RunTables, out_dir: Path) -> list[FigureFile]:
    """Draws every figure of a sweep into ``out_dir`` and returns them in reading order.

    Learning curves (eval and training returns), heatmaps over pairs of axes (2-4 axes), the ranking, the
    sensitivity to each axis (1+ axes), probability of improvement among the top configs (2+ configs) and the
    score distributions with performance profiles (``FIGURES``).
    """
    make_dir(out_dir)
    top = t.summary.sort_values("rank")["config"].astype(int).tolist()
    labels = aggregate.config_labels(t.summary, t.axes)
    c = _Context(t, run_title(t), labels, top[: figures.TOP_K], figures.curve_layout(t.summary, t.axes))
    out: list[FigureFile] = []
    for name, draw, caption in FIGURES:
        fig = draw(c)
        if fig is not None:
            path = out_dir / f"{name}.png"
            save(fig, path)
            out.append(FigureFile(path, caption))
    return out


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------


def _ci(row: Mapping[str, Any], m: str, fmt: str = ".1f") -> str:
    """The summary's statistic ``m`` as ``point [low, high]``, or ``–`` where it is undefined."""
    p, lo, hi = row[m], row[f"{m}_ci_low"], row[f"{m}_ci_high"]
    if not np.isfinite(p):
        return "–"
    return f"{p:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def summary_html(summary: pd.DataFrame, axes: Sequence[str], *, max_rows: int = 50) -> str:
    """The summary as an HTML table, best first, at most ``max_rows`` rows."""
    s = summary.sort_values("rank")
    head = ["rank", *axes, "seeds", "final IQM [95% CI]", "final mean", "final median", "optimality gap"]
    head += ["AUC IQM", "solved", "diverged"]
    rows = []
    for r in s.head(max_rows).to_dict("records"):
        cells = [str(r["rank"]), *(aggregate.format_value(r[a]) for a in axes), str(r["n_seeds"])]
        cells += [_ci(r, "final_iqm"), _ci(r, "final_mean"), _ci(r, "final_median")]
        cells += [_ci(r, "final_optimality_gap"), _ci(r, "auc_iqm", ".3f")]
        cells += [f"{r['frac_solved']:.0%}", str(r["n_diverged"])]
        rows.append("".join(f"<td>{html.escape(c)}</td>" for c in cells))
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    more = ""
    if len(s) > max_rows:
        more = f"<p>The best {max_rows} of {len(s)} configs; all are in <code>summary.parquet</code>.</p>"
    return f"<table><tr>{th}</tr>" + "".join(f"<tr>{r}</tr>" for r in rows) + f"</table>{more}"


def verdict(p: float, lo: float, hi: float) -> str:
    """Plain-words reading of a probability of improvement and its CI."""
    if lo > 0.5:
        return "the best config beats the runner-up on these seeds (the whole 95% CI is above 0.5)"
    if hi < 0.5:
        return "the runner-up tends to beat the best-ranked config seed for seed (CI below 0.5)"
    return "the data cannot tell them apart at 95% confidence (the CI contains 0.5); more seeds would help"


def best_html(t: RunTables, labels: Mapping[int, str]) -> str:
    """The best config with its CIs, and P(best > runner-up) with its CI."""
    s = t.summary.sort_values("rank").to_dict("records")
    if not s:
        return "<p>No configs.</p>"
    b = s[0]
    text = (
        f"<p><b>Best config</b> (rank 1 by final IQM): <b>{html.escape(labels[int(b['config'])])}</b><br>"
        f"final greedy return IQM {_ci(b, 'final_iqm')}, mean {_ci(b, 'final_mean')}, "
        f"AUC IQM {_ci(b, 'auc_iqm', '.3f')}; {b['frac_solved']:.0%} of {b['n_seeds']} seeds solved "
        f"(≥ 475), {b['n_diverged']} diverged.</p>"
    )
    if len(s) >= 2:
        r = s[1]
        pairs = aggregate.improvement_matrix(t.runs, [int(b["config"]), int(r["config"])])
        row = pairs.iloc[0]
        text += (
            f"<p><b>Runner-up</b>: {html.escape(labels[int(r['config'])])}, "
            f"final IQM {_ci(r, 'final_iqm')}.<br>"
            f"P(best &gt; runner-up) = <b>{row['p']:.2f}</b> "
            f"(95% CI {row['ci_low']:.2f}–{row['ci_high']:.2f}): "
            f"{verdict(row['p'], row['ci_low'], row['ci_high'])}.</p>"
            "<p>Both were picked as the best of many configs on the same seeds, so their numbers are "
            "optimistic; confirm a choice on fresh seeds.</p>"
        )
    return f'<div class="box">{text}</div>'


def caveats(t: RunTables) -> list[str]:
    """Warnings about the data that change how far the numbers can be trusted."""
    out = []
    n_seeds = int(t.summary["n_seeds"].min()) if len(t.summary) else 0
    if 0 < n_seeds < FEW_SEEDS:
        out.append(
            f"<p><b>Few seeds:</b> some configs have only {n_seeds} seed{'s' if n_seeds > 1 else ''}. "
            "Percentile bootstrap intervals from few runs are too narrow: in simulation (normal scores), "
            "nominal 95% intervals of the IQM covered the true value about 75% of the time with 3 seeds, 91% "
            "with 5–6 and 94% with 10, so read these intervals as optimistic (one seed gives none).</p>"
        )
    if len(t.evals) == 0:
        out.append("<p><b>No evaluations were recorded:</b> final and AUC statistics are undefined.</p>")
    if len(t.runs) and t.runs["final_eval_return"].isna().any() and len(t.evals):
        n = int(t.runs["final_eval_return"].isna().sum())
        out.append(
            f"<p><b>{n} run{'s' if n > 1 else ''} without any evaluation</b>: left out of the return and AUC "
            "statistics, and counted as not solved.</p>"
        )
    return out


def render(t: RunTables, figs: Sequence[FigureFile]) -> str:
    """The report page: best config, summary table, figures (embedded), manifest."""
    labels = aggregate.config_labels(t.summary, t.axes)
    title = run_title(t)
    method = (
        "Statistics over seeds follow Agarwal et al., “Deep Reinforcement Learning at the Edge of the "
        "Statistical Precipice” (NeurIPS 2021): interquartile mean (IQM), probability of improvement and "
        "performance profiles, with percentile bootstrap 95% confidence intervals over seeds (stratified by "
        "config where a figure pools several configs; fixed seed; "
        f"{N_BOOT:,} replicates for the summary, ranking, heatmaps, sensitivity and probability of improvement, "
        f"{CURVE_BOOT:,} for learning-curve bands and performance profiles). "
        "<i>Final</i> is the greedy evaluation return at each run's last evaluation; <i>AUC</i> is the area "
        "under a run's evaluation curve (each evaluation's return held over the steps since the previous one, "
        "from step 0 to the last evaluation) divided by that of a return of 500 over the same steps (0–1); "
        "<i>solved</i> is the share of a config's seeds whose final return reached 475, a seed without any "
        "evaluation counting as not solved; the optimality gap is the mean shortfall below 475."
    )
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run folder: <code>{html.escape(str(t.path))}</code>. Generated "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}.</p>",
        best_html(t, labels),
        *caveats(t),
        f"<p>{method}</p>",
        "<h2>Summary (best first)</h2>",
        summary_html(t.summary, t.axes),
        "<h2>Figures</h2>",
        *(img_html(f) for f in figs),
        "<h2>Sweep</h2>",
        manifest_html(t.manifest),
    ]
    return document(title, "\n".join(body))


def report(run_dir: str | os.PathLike) -> Path:
    """Writes ``summary.parquet``, ``figures/*.png`` and ``report.html`` into a run folder from its tables.

    Returns the path of ``report.html`` (self-contained: figures are embedded, so it opens from the file
    system). Raises ``RunDirError`` for a path that is not a readable run folder.
    """
    t = load(run_dir, summary=False)
    summary = summarise(t.runs, t.evals, t.axes)
    write_summary(t.path / "summary.parquet", summary, t.manifest)
    t = t._replace(summary=summary)
    figs = make_figures(t, t.path / "figures")
    out = t.path / "report.html"
    atomic_write_text(out, render(t, figs))
    return out
