"""A run folder's report: ``summary.parquet``, ``figures/*.png`` (drawn by ``run_figures``) and a
self-contained ``report.html``.

Everything is derived from the Parquet tables alone, so ``python -m analysis report RUN_DIR`` can regenerate
it at any time (e.g. after this package gains a figure).
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from analysis.figures import tasks as task_figures
from analysis.figures.style import FigureFile, save
from analysis.figures.sweep import make_figures, run_labels, run_title
from analysis.pages import search as schedule_report
from analysis.pages.markup import ci_text, document, img_html, manifest_html
from analysis.pages.sections import (
    best_html,
    caveats,
    defaults_html,
    method_html,
    names_text,
    p_text,
    schedule_sections,
    summary_html,
)
from analysis.stats.summary import summarise
from analysis.summaries import halving, pbt, tasks
from analysis.tables.format import format_value
from analysis.tables.run import RunTables, load, write_parquet, write_summary
from common.files import atomic_write_text, make_dir

TASKS_CAPTION = (
    "Each setting's normalised final score (0: random policy, 1: the task's reference return) pooled over the "
    "tasks: IQM with its 95% CI (black), each task's own IQM (markers); middle, the optimality gap with its 95% CI; "
    "right, the top settings' performance profiles: the share of their runs on all tasks scoring at least τ, with "
    "95% Clopper-Pearson bands."
)


def save_figure(fig, path: Path, caption: str) -> FigureFile:
    """Writes ``fig`` to ``path`` (its folder created) and returns it with its caption."""
    make_dir(path.parent)
    save(fig, path)
    return FigureFile(path, caption)


def render(t: RunTables, figs: Sequence[FigureFile]) -> str:
    """The report page: best config (for PBT: the populations' best members), the halving or PBT section,
    summary table, figures (embedded), manifest."""
    labels = run_labels(t)
    title = run_title(t)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run folder: <code>{html.escape(str(t.path))}</code>. Generated "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}.</p>",
        *([] if pbt.is_pbt(t) else [best_html(t, labels)]),
        *caveats(t),
        *schedule_report.missing_tables(t),
        *schedule_sections(t, labels),
        method_html(t),
        *defaults_html(t),
        "<h2>Members over populations (best first)</h2>" if pbt.is_pbt(t) else "<h2>Summary (best first)</h2>",
        summary_html(t),
        "<h2>Figures</h2>",
        *(img_html(f) for f in figs),
        "<h2>Sweep</h2>",
        manifest_html(t.manifest),
    ]
    return document(title, "\n".join(body))


def env_folder(env: str) -> str:
    """The figures folder of a task: its name with anything but letters, digits, '.', '-' and '_' as '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", env)


def _task_table(found: tasks.AcrossTasks, *, max_rows: int = 50) -> str:
    """The settings pooled over tasks as an HTML table, best first."""
    by = tasks.setting_axes([c for c in found.table.columns if c not in tasks.TABLE_COLUMNS])
    head = ["rank", *by, "tasks", "runs", "IQM [95% CI]", "mean", "median", "optimality gap"]
    head.append("P(best > it) across tasks [95% CI]")
    rows = []
    for r in found.table.head(max_rows).to_dict("records"):
        cells = [str(r["rank"]), *(format_value(r[a]) for a in by), str(r["n_tasks"]), str(r["n_runs"])]
        cells += [ci_text(r, k, ".3f") for k in ("iqm", "mean", "median", "gap")]
        cells.append("" if r["rank"] == 1 else p_text(r["p_best"], r["p_best_ci_low"], r["p_best_ci_high"])
                     + (" ✓" if r["clear"] else ""))  # fmt: skip
        rows.append("".join(f"<td>{html.escape(c)}</td>" for c in cells))
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    more = f"<p>The best {max_rows} of {len(found.table)} settings.</p>" if len(found.table) > max_rows else ""
    return f"<table><tr>{th}</tr>" + "".join(f"<tr>{r}</tr>" for r in rows) + f"</table>{more}"


def tasks_html(found: tasks.AcrossTasks | None, figs: Sequence[FigureFile]) -> list[str]:
    """The section "Across tasks": how scores were normalised, the settings ranked over every task, the figure."""
    if found is None:
        return []
    out = ["<h2>Across tasks</h2>"]
    refs = "; ".join(f"{env}: random {n.random:g}, reference {n.reference:g}" for env, n in found.normalisers.items())
    out.append(
        "<p>Each run's final return is put on one scale: its <i>normalised score</i> is (return − random) / "
        "(reference − random), 0 for a uniformly random policy and 1 at the task's reference return (its solved "
        "return, else its highest) — "
        f"{html.escape(refs) or 'no task has one'}. A setting (the values of the swept axes other than the "
        "environment) pools its runs on every task: the IQM, mean and median of the normalised scores with 95% "
        "intervals (each task's config a stratum keeping its share of the runs, seeds paired across them, as the "
        "heatmaps' cells are), and the optimality gap, the mean of max(1 − score, 0), lower better. Ranked by "
        "IQM. P(best &gt; it) across tasks is the probability that a run of the best setting beats a run of this "
        "one on the same task, averaged over the tasks (rliable's average probability of improvement; each task's "
        "runs paired by seed, Munzel's interval with the tasks' variances added); ✓: the best clearly beats it, "
        f"with a family-wise error rate of {tasks.FWER:.0%} over these comparisons (Holm).</p>"
    )
    if found.left_out:
        out.append(
            f"<p><b>Left out of the pooled scores:</b> {html.escape(', '.join(found.left_out))}, whose returns "
            "have no reference (no solved return and no highest return) or no random return to normalise by; "
            "see its own section.</p>"
        )
    if found.incomplete:
        out.append(
            f"<p><b>{len(found.incomplete)} setting{'s' * (len(found.incomplete) > 1)} without runs on every task "
            f"pooled</b> ({html.escape(names_text(found.incomplete))}) are left out of the ranking.</p>"
        )
    if len(found.table):
        out.append(_task_table(found))
    out += [img_html(f) for f in figs]
    return out


def task_section(t: RunTables, figs: Sequence[FigureFile]) -> list[str]:
    """One task's part of a report over several: its best config, comparison with the defaults, summary and
    figures (``t``: ``RunTables.for_env``)."""
    labels = run_labels(t)
    return [
        f"<h2>{html.escape(t.envs[0])}</h2>",
        best_html(t, labels),
        *[h.replace("<h2>", "<h3>").replace("</h2>", "</h3>") for h in defaults_html(t)],
        "<h3>Summary (best first)</h3>",
        summary_html(t),
        "<h3>Figures</h3>",
        *(img_html(f) for f in figs),
    ]


def render_tasks(
    t: RunTables,
    found: tasks.AcrossTasks | None,
    task_figs: Sequence[FigureFile],
    sections: Sequence[tuple[RunTables, Sequence[FigureFile]]],
) -> str:
    """The report page of a sweep over several tasks: the settings across tasks, then a section per task."""
    title = run_title(t)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Run folder: <code>{html.escape(str(t.path))}</code>. Generated "
        f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}. Tasks: "
        + ", ".join(f'<a href="#{env_folder(sub.envs[0])}">{html.escape(sub.envs[0])}</a>' for sub, _ in sections)
        + ".</p>",
        *caveats(t),
        *tasks_html(found, task_figs),
        method_html(t),
    ]
    for sub, figs in sections:
        part = task_section(sub, figs)
        part[0] = f'<h2 id="{env_folder(sub.envs[0])}">{html.escape(sub.envs[0])}</h2>'
        body += part
    body += ["<h2>Sweep</h2>", manifest_html(t.manifest)]
    return document(title, "\n".join(body))


def report(run_dir: str | os.PathLike) -> Path:
    """Writes ``summary.parquet``, ``figures/*.png`` and ``report.html`` into a run folder from its tables, and
    for a halving sweep ``rung_summary.parquet`` (each config's metric IQM with its CI at each rung it reached),
    for a PBT sweep ``populations.parquet`` (each population's best member and its final return).

    Returns the path of ``report.html`` (self-contained: figures are embedded, so it opens from the file
    system). Raises ``RunDirError`` for a path that is not a readable run folder.
    """
    t = load(run_dir, summary=False)
    summary = summarise(t.runs, t.evals, t.axes, scales=t.tasks)
    write_summary(t.path / "summary.parquet", summary, t.manifest)
    t = t._replace(summary=summary)
    if halving.is_halving(t) and t.rungs is not None:
        write_parquet(t.path / "rung_summary.parquet", schedule_report.rung_summary(t), t.manifest)
    if pbt.is_pbt(t):
        write_parquet(t.path / "populations.parquet", schedule_report.population_summary(t), t.manifest)
    out = t.path / "report.html"
    if len(t.envs) == 1:
        atomic_write_text(out, render(t, make_figures(t, t.path / "figures")))
        return out
    found = tasks.across_tasks(summary, t.runs, t.axes, t.tasks)
    task_figs = []
    if found is not None:
        write_parquet(t.path / "tasks_summary.parquet", found.table, t.manifest)
        if len(found.table):
            fig = task_figures.across_tasks(found, title=run_title(t))
            task_figs.append(save_figure(fig, t.path / "figures" / "across_tasks.png", TASKS_CAPTION))
    sections = []
    for env in t.envs:
        sub = t.for_env(env)
        sections.append((sub, make_figures(sub, t.path / "figures" / env_folder(env))))
    atomic_write_text(out, render_tasks(t, found, task_figs, sections))
    return out
