"""Comparison of sweeps (e.g. DQN vs double DQN grids, or one grid under two code versions).

Each sweep is represented by its best config (rank 1 by final IQM; for successive halving, one that trained to
the end), a population-based-training sweep by each population's best final member (``_representative``).
Written into the output folder:
``compare.parquet`` (one row per sweep), ``figures/learning_curves.png`` (the best configs' eval curves
overlaid), ``figures/intervals.png`` (their final and AUC IQMs with CIs) and ``compare.html``. P(X > Y) between
sweeps pairs their runs by seed (the engine trains seed ``s`` from the same key in every sweep), and says how
many seeds would make each difference clear (``seeds``).
"""

from __future__ import annotations

import html
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FuncFormatter

from analysis.figures.style import (
    EVAL_LABEL,
    STEP_LABEL,
    FigureFile,
    curve,
    figure,
    iqm_panels,
    return_axis,
    save,
    style,
)
from analysis.pages.markup import ci_text, document, img_html, stamped_out_dir
from analysis.stats import seeds
from analysis.stats.improvement import improvement_interval
from analysis.stats.point import Scale
from analysis.stats.summary import summarise_task
from analysis.summaries import aggregate, halving, pbt
from analysis.tables.format import steps_formatter
from analysis.tables.read import RunDirError
from analysis.tables.run import RunTables, load, write_parquet
from common.files import atomic_write_text, make_dir


def _labels(tables: Sequence[RunTables]) -> list[str]:
    """``grid/run-id`` per sweep, made unique."""
    out: list[str] = []
    for t in tables:
        base = f"{t.manifest.get('grid') or t.path.parent.name}/{t.path.name}"
        name, i = base, 2
        while name in out:
            name, i = f"{base} ({i})", i + 1
        out.append(name)
    return out


def default_out_dir(run_dirs: Sequence[Path], root: str | os.PathLike = "results") -> Path:
    """``results/compare/<UTC time>-<short hash of the run folders>`` (``markup.stamped_out_dir``)."""
    return stamped_out_dir("compare", run_dirs, root)


def check_one_task(tables: Sequence[RunTables]) -> None:
    """``RunDirError`` unless every sweep trained on the same one environment: returns on different tasks are on
    different scales, and a sweep over several tasks has no one best config."""
    for t in tables:
        if len(t.envs) > 1:
            raise RunDirError(
                f"{str(t.path)!r} trained on {len(t.envs)} environments ({', '.join(t.envs)}); compare takes sweeps "
                "of one environment each (its report compares the settings across those tasks)"
            )
    envs = list(dict.fromkeys(t.envs[0] for t in tables))
    if len(envs) > 1:
        raise RunDirError(
            f"these sweeps trained on different environments ({', '.join(envs)}), whose returns are on different "
            "scales; compare sweeps of one environment, or sweep env as an axis to compare settings across tasks"
        )


def compare(run_dirs: Sequence[str | os.PathLike], *, out_dir: str | os.PathLike | None = None) -> Path:
    """Compares the best configs of several sweeps; returns the path of ``compare.html``.

    Raises ``RunDirError`` if any path is not a readable run folder or the sweeps are not all of one environment
    (``check_one_task``), ``ValueError`` for fewer than one.
    """
    if not run_dirs:
        raise ValueError("compare needs at least one run folder")
    tables = [load(d) for d in run_dirs]
    check_one_task(tables)
    scale = tables[0].scale
    out = Path(out_dir) if out_dir is not None else default_out_dir([t.path for t in tables])
    make_dir(out / "figures")
    names = _labels(tables)

    rows, curves, finals = [], [], []  # finals: each best config's {seed: final return}
    for name, t in zip(names, tables, strict=True):
        best, runs, evals, label = _representative(t)
        c = int(best["config"])
        rows.append(
            {
                "sweep": name,
                "path": str(t.path),
                "config": c,
                "best_config": label,
                "n_configs": len(t.summary),
                **{k: best[k] for k in best.index if k.startswith(("final_", "auc_"))},
                "n_seeds": int(best["n_seeds"]),
                **{k: float(best[k]) for k in ("frac_solved", "frac_solved_ci_low", "frac_solved_ci_high")},
                "total_steps": _total_steps(t, c) if runs is t.runs else int(runs["total_steps"].max()),
            }
        )
        cur = aggregate.eval_curves(runs, evals, configs=[c])
        cur.insert(0, "sweep", name)
        curves.append(cur)
        mine = runs[runs["config"] == c]
        finals.append(dict(zip(mine["seed"].tolist(), mine["final_eval_return"].to_numpy(np.float64), strict=True)))
    table = pd.DataFrame(rows)
    write_parquet(out / "compare.parquet", table, {"runs": [str(t.path) for t in tables]})
    note = budget_note(table)
    scheduled = [t for t in tables if pbt.is_pbt(t) or halving.is_halving(t)]
    if scheduled:  # a schedule's compute is not configs x seeds x steps: say what each sweep trained in all
        note = "; ".join(x for x in (note, sweep_steps_note(names, tables)) if x)
    if note:
        print(f"note: {note}", file=sys.stderr)

    figs = [
        _curves_figure(pd.concat(curves, ignore_index=True), table, out / "figures" / "learning_curves.png", scale),
        _intervals_figure(table, out / "figures" / "intervals.png", scale),
    ]
    pbt_names = [n for n, t in zip(names, tables, strict=True) if pbt.is_pbt(t)]
    atomic_write_text(out / "compare.html", _html(table, names, finals, figs, note, pbt_names))
    return out / "compare.html"


def _representative(t: RunTables) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame, str]:
    """What stands for a sweep: ``(its summary row, the runs and evals of that row, its label)``.

    A sweep's best config (rank 1; for successive halving a config that trained to the end, as ranks put
    those first). A population-based-training sweep's best lineages: seed ``s`` is population ``s``'s best
    final member, its final return that member's and its curve the lineage's (``pbt.lineage_runs``), summarised
    over populations like a config over seeds.
    """
    if pbt.is_pbt(t):
        runs, evals = pbt.lineage_runs(t)
        best = summarise_task(runs, evals, [], scale=t.scale).iloc[0]
        n = int(t.pbt.groupby("population")["member"].nunique().max())
        return best, runs, evals, f"best final member of each population (PBT, {n} members)"
    best = t.summary.sort_values("rank").iloc[0]
    return best, t.runs, t.evals, aggregate.config_labels(t.summary, t.axes)[int(best["config"])]


def sweep_env_steps(t: RunTables) -> int:
    """The env steps a whole sweep trained, all runs together: a halving sweep's ``stopped_at`` summed (its
    manifest's figure where it has one), every other sweep's runs' ``total_steps`` (their last evaluations'
    steps without that column)."""
    if halving.is_halving(t):
        return halving.budget(t).env_steps
    if "total_steps" in t.runs.columns:
        return int(t.runs["total_steps"].sum())
    return int(t.evals.groupby(["config", "seed"])["step"].max().sum()) if len(t.evals) else 0


def sweep_steps_note(names: Sequence[str], tables: Sequence[RunTables]) -> str:
    """A sentence on the env steps each whole sweep trained: the compute a PBT or halving sweep is compared at."""
    listed = ", ".join(f"{sweep_env_steps(t):,} ({n})" for n, t in zip(names, tables, strict=True))
    return f"the whole sweeps trained {listed} env steps"


def _total_steps(t: RunTables, config: int) -> int:
    """Env steps config ``config`` trained for: its runs' ``total_steps``, or (tables without that column) its
    last evaluation's step."""
    if "total_steps" in t.runs.columns:
        return int(t.runs.loc[t.runs["config"] == config, "total_steps"].max())
    steps = t.evals.loc[t.evals["config"] == config, "step"]
    return int(steps.max()) if len(steps) else 0


def budget_note(table: pd.DataFrame) -> str | None:
    """A sentence when the best configs were trained for different numbers of env steps, else None."""
    steps = table["total_steps"].tolist()
    if len(set(steps)) <= 1:
        return None
    listed = ", ".join(f"{s:,} ({name})" for s, name in zip(steps, table["sweep"], strict=True))
    return (
        f"these sweeps trained for different numbers of env steps: {listed}; their final returns and AUCs "
        "compare different budgets"
    )


def _curves_figure(curves: pd.DataFrame, table: pd.DataFrame, path: Path, scale: Scale) -> FigureFile:
    """Writes the best configs' eval curves, one colour per sweep, to ``path``."""
    names = table["sweep"].tolist()
    legend = dict(zip(names, (f"{n}: {b}" for n, b in zip(names, table["best_config"], strict=True)), strict=True))
    colours = dict(zip(names, sns.color_palette("colorblind", len(names)), strict=False))
    with style():
        fig = figure(7.5 + 0.07 * max(len(t) for t in legend.values()), 4.8)
        ax = fig.subplots()
        for n in names:
            curve(ax, curves[curves["sweep"] == n].sort_values("step"), colours[n], lw=1.8, label=legend[n])
        return_axis(ax, scale)
        ax.set_xlabel(STEP_LABEL)
        ax.set_ylabel(EVAL_LABEL)
        ax.xaxis.set_major_formatter(FuncFormatter(steps_formatter))
        fig.legend(fontsize=8, title="sweep: its best config", loc="outside right center")
        fig.suptitle("Best config of each sweep: greedy eval return, IQM over seeds, 95% CI bands", fontsize=10)
    save(fig, path)
    return FigureFile(path, "Each sweep's best config: eval return against env steps, IQM with 95% CI bands.")


def _intervals_figure(table: pd.DataFrame, path: Path, scale: Scale) -> FigureFile:
    """Writes the best configs' final and AUC IQMs with their CIs, one row per sweep, to ``path``."""
    n = len(table)
    y = np.arange(n)[::-1]
    names = [f"{s}\n{b}" for s, b in zip(table["sweep"], table["best_config"], strict=True)]
    with style():
        fig = figure(11.0, 1.6 + 0.55 * n)
        a1, a2 = fig.subplots(1, 2, sharey=True)
        iqm_panels((a1, a2), table, y, scale, ms=5, capsize=3)
        a1.set_yticks(y, names, fontsize=8)
        a1.set_ylim(-0.7, n - 0.3)
        fig.suptitle("Best config of each sweep", fontsize=10)
    save(fig, path)
    return FigureFile(path, "Each sweep's best config: final return and AUC, IQM with 95% bootstrap CIs.")


def seed_aligned(finals: Sequence[dict]) -> np.ndarray:
    """``[sweeps, seeds]`` final returns, one column per seed of any sweep (sorted), NaN where a sweep lacks it."""
    all_seeds = sorted(set().union(*finals))
    return np.array([[f.get(s, np.nan) for s in all_seeds] for f in finals], dtype=np.float64).reshape(
        len(finals), len(all_seeds)
    )


def _improvement_rows(names: Sequence[str], finals: Sequence[dict]) -> str:
    """Table rows of P(X > Y) for each ordered pair of sweeps, with how many seeds would make it clear."""
    mat = seed_aligned(finals)
    lines, need = [], {}
    for i in range(len(names)):
        for j in range(len(names)):
            if i == j:
                continue
            iv = improvement_interval(mat[i], mat[j])
            lo, hi = float(iv.low), float(iv.high)
            clear = bool(np.isfinite(lo) and (lo > 0.5 or hi < 0.5))
            key = (min(i, j), max(i, j))
            if key not in need:  # the same seeds answer both orders
                need[key] = seeds.seeds_to_separate(mat[i], mat[j])
            ci = f"{iv.point:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else f"{iv.point:.2f} (no CI)"
            x, y = html.escape(names[i]), html.escape(names[j])
            lines.append(
                f"<tr><td class='l'>{x}</td><td class='l'>{y}</td><td>{ci}</td>"
                f"<td class='l'>{html.escape(seeds.sentence(need[key], clear=clear))}</td></tr>"
            )
    return "".join(lines)


_PBT_TEXT = (
    "<p>A population-based-training sweep ({}) is represented by the best final member of each population (the "
    "highest score at the last interval): seed <i>s</i> stands for population <i>s</i>, its final return is "
    "that member's and its curve the lineage its networks descend from; its statistics are over populations. "
    "Its configs are members, their compute the same as a grid's of as many configs and seeds: compare it with "
    "a grid of equal env steps (the note below gives each sweep's).</p>"
)


def _html(
    table: pd.DataFrame, names: Sequence[str], finals: Sequence[dict], figs, note: str | None, pbt_names=()
) -> str:
    """The comparison page: the table of best configs, P(X > Y) for each ordered pair of sweeps, figures."""
    head = ["sweep", "best config", "configs", "seeds", "env steps", "final IQM [95% CI]", "AUC IQM", "solved [95% CI]"]
    rows = []
    for r in table.to_dict("records"):
        cells = [r["sweep"], r["best_config"], str(r["n_configs"]), str(r["n_seeds"]), f"{r['total_steps']:,}"]
        cells += [ci_text(r, "final_iqm")]
        cells += [ci_text(r, "auc_iqm", ".3f"), ci_text(r, "frac_solved", percent=True)]
        rows.append("".join(f'<td class="l">{html.escape(c)}</td>' for c in cells))
    th = "".join(f'<th class="l">{html.escape(h)}</th>' for h in head)
    poi = ""
    if len(names) >= 2:
        poi = (
            "<h2>Probability of improvement (final return)</h2><p>Runs are paired by seed: the engine trains "
            "seed <i>s</i> from the same key in every sweep. Each row says how many seeds per config would make "
            "the difference clear at 95%, from simulated sweeps that draw seeds from the ones here.</p>"
            "<table><tr><th class='l'>X</th><th class='l'>Y</th><th>P(X &gt; Y) [95% CI]</th>"
            "<th class='l'>seeds for a clear difference</th></tr>" + _improvement_rows(names, finals) + "</table>"
        )
    return document(
        "Sweep comparison",
        "<h1>Sweep comparison</h1>"
        "<p>Each sweep is represented by its best config (rank 1 by final IQM over seeds). A best config is "
        "chosen on the same seeds it is scored on, so each figure is optimistic; sweeps with more configs "
        "are more so.</p>"
        + (_PBT_TEXT.format(", ".join(html.escape(n) for n in pbt_names)) if pbt_names else "")
        + (f"<p class='warn'><b>Note:</b> {html.escape(note)}.</p>" if note else "")
        + f"<table><tr>{th}</tr>"
        + "".join(f"<tr>{r}</tr>" for r in rows)
        + "</table>"
        + poi
        + "<h2>Figures</h2>"
        + "".join(img_html(f) for f in figs),
    )
