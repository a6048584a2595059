"""A run folder's report: ``summary.parquet``, ``figures/*.png`` and a self-contained ``report.html``.

Everything is derived from the Parquet tables alone, so ``python -m analysis report RUN_DIR`` can regenerate
it at any time (e.g. after this package gains a figure).
"""

from __future__ import annotations

import base64
import html
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from . import aggregate, figures
from .aggregate import CURVE_BOOT
from .tables import N_BOOT, RunTables, atomic_write_text, load, make_dir, manifest_json, summarise, write_summary

# Below this many seeds the report warns that its intervals undercover (see ``caveats``).
FEW_SEEDS = 10


class FigureFile(NamedTuple):
    """A figure written to disk, with what it shows."""

    path: Path
    caption: str


def sweep_facts(t: RunTables) -> dict[str, Any]:
    """Sizes for titles: ``n_configs``, ``n_seeds`` (most seeds of any config) and ``total_steps`` per run."""
    m, runs = t.manifest, t.runs
    n_seeds = int(t.summary["n_seeds"].max()) if len(t.summary) else 0
    steps = m.get("total_steps")
    if not isinstance(steps, int | float) or not np.isfinite(steps) or steps <= 0:
        if "total_steps" in runs.columns and len(runs):
            steps = runs["total_steps"].max()
        elif len(t.episodes):
            steps = t.episodes["end_step"].max()
        else:
            steps = 0
    return {"n_configs": len(t.summary), "n_seeds": n_seeds, "total_steps": int(steps)}


def make_figures(t: RunTables, out_dir: Path) -> list[FigureFile]:
    """Draws every figure of a sweep into ``out_dir`` and returns them in reading order.

    Learning curves (eval and training returns), heatmaps over pairs of axes (2+ axes), the ranking, the
    sensitivity to each axis (1+ axes), probability of improvement among the top configs (2+ configs) and the
    score distributions with performance profiles.
    """
    make_dir(out_dir)
    summary, runs, axes = t.summary, t.runs, t.axes
    facts = sweep_facts(t)
    title = figures.sweep_title(t.manifest, axes, facts["n_configs"], facts["n_seeds"], facts["total_steps"])
    labels = aggregate.config_labels(summary, axes)
    top = summary.sort_values("rank")["config"].astype(int).tolist()
    out: list[FigureFile] = []

    def emit(name: str, fig, caption: str) -> None:
        path = out_dir / f"{name}.png"
        figures.save(fig, path)
        out.append(FigureFile(path, caption))

    layout = figures.curve_layout(summary, axes)
    if len(t.evals):
        curves = aggregate.eval_curves(runs, t.evals, configs=layout.configs)
        fig = figures.learning_curves(curves, summary, layout, labels, title=title, ylabel=figures.EVAL_LABEL)
        emit(
            "learning_curves_eval",
            fig,
            "Greedy evaluation return against environment steps: IQM over seeds with 95% percentile "
            "bootstrap bands (each replicate resamples a config's seeds as whole curves).",
        )
    if len(t.episodes):
        curves = aggregate.train_curves(runs, t.episodes, configs=layout.configs)
        fig = figures.learning_curves(
            curves, summary, layout, labels, title=title, ylabel="training episode return (IQM, 95% CI)"
        )
        emit(
            "learning_curves_train",
            fig,
            "Training (ε-greedy) episode return, episodes binned by the step they ended at: IQM over seeds "
            "with 95% bootstrap bands.",
        )
    if len(axes) >= 2 and len(axes) <= 4:
        cells = aggregate.pair_heatmaps(summary, runs, axes)
        emit(
            "heatmap_final_iqm",
            figures.heatmaps(cells, title=title),
            "Final greedy return over each pair of swept axes: IQM [95% CI]; with more than two axes each "
            "cell pools the other axes' configs as strata of a stratified bootstrap.",
        )
    emit(
        "ranking",
        figures.ranking(summary, labels, title=title),
        "Configs ranked by final IQM (left) with the normalised area under the eval curve (right), 95% bootstrap CIs.",
    )
    if axes:
        sens = aggregate.sensitivity(summary, runs, axes)
        emit(
            "sensitivity",
            figures.sensitivity(sens, title=title),
            "Each hyperparameter's marginal effect on final return: IQM pooled over the other axes "
            "(stratified bootstrap, 95% CI).",
        )
    k = min(figures.TOP_K, len(top))
    if k >= 2:
        pairs = aggregate.improvement_matrix(runs, top[:k])
        emit(
            "probability_of_improvement",
            figures.improvement(pairs, top[:k], labels, title=title),
            "P(a random seed of the row config ends with a higher return than one of the column config), "
            "with 95% bootstrap CIs (Agarwal et al., 2021).",
        )
    if k >= 1:
        profiles = aggregate.score_profiles(runs, top[: min(k, figures.TOP_PROFILES)])
        final = runs[["config", "final_eval_return"]]
        emit(
            "score_distributions",
            figures.score_distributions(final, profiles, summary, top[:k], labels, title=title),
            "Final return of every seed of the top configs, and performance profiles: the fraction of seeds "
            "above each return τ, with 95% CI bands.",
        )
    return out


# --------------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f4f4f4; position: sticky; top: 0; } td.l, th.l { text-align: left; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; }
.box { background: #f6f8fa; padding: 0.8em 1em; border-radius: 6px; }
pre { font-size: 0.8em; overflow-x: auto; background: #f6f8fa; padding: 1em; }
"""


def _ci(row: Mapping[str, Any], m: str, fmt: str = ".1f") -> str:
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


def manifest_html(m: Mapping[str, Any]) -> str:
    """The manifest's essentials as a table, then the full manifest in a collapsed block."""
    fields = [
        ("grid", m.get("grid")),
        ("description", m.get("description")),
        ("axes", _join(m.get("axes")) or "none (seeds only)"),
        ("seeds per config", m.get("n_seeds")),
        ("env steps per run", f"{m['total_steps']:,}" if isinstance(m.get("total_steps"), int) else None),
        ("devices", _join(m.get("devices")) or None),
        ("processes", m.get("num_processes")),
        ("compile time", _seconds(m.get("compile_seconds"))),
        ("run time", _seconds(m.get("run_seconds"))),
        ("throughput", _rate(m.get("env_steps_per_second"))),
    ]
    for key in ("git_commit", "git", "commit", "created", "run_id"):
        if m.get(key) is not None and not isinstance(m.get(key), dict | list):
            fields.append((key.replace("_", " "), m.get(key)))
    rows = "".join(
        f'<tr><th class="l">{html.escape(k)}</th><td class="l">{html.escape(str(v))}</td></tr>'
        for k, v in fields
        if v is not None and v != ""
    )
    versions = m.get("versions") if isinstance(m.get("versions"), dict) else {}
    vrows = "".join(
        f'<tr><th class="l">{html.escape(str(k))}</th><td class="l">{html.escape(str(v))}</td></tr>'
        for k, v in versions.items()
    )
    out = f"<table>{rows}</table>"
    if vrows:
        out += f"<h3>Versions</h3><table>{vrows}</table>"
    full = html.escape(manifest_json(m, indent=2))
    return out + f"<details><summary>Full manifest</summary><pre>{full}</pre></details>"


def _join(v: Any) -> str | None:
    return ", ".join(map(str, v)) if isinstance(v, list) else None if v is None else str(v)


def _seconds(v: Any) -> str | None:
    return f"{v:,.1f} s" if isinstance(v, int | float) else None


def _rate(v: Any) -> str | None:
    return f"{v:,.0f} env steps/s (all runs together)" if isinstance(v, int | float) else None


def img_html(f: FigureFile) -> str:
    data = base64.b64encode(f.path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(f.path.stem)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(f.caption)} <code>figures/{html.escape(f.path.name)}</code></figcaption>"
        "</figure>"
    )


def render(t: RunTables, figs: Sequence[FigureFile]) -> str:
    """The report page: best config, summary table, figures (embedded), manifest."""
    facts = sweep_facts(t)
    labels = aggregate.config_labels(t.summary, t.axes)
    title = figures.sweep_title(t.manifest, t.axes, facts["n_configs"], facts["n_seeds"], facts["total_steps"])
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
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


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
