"""The figures of the schedules that do not train every config to its end: the rungs of successive halving
(``halving_rungs``), and population-based training's explored hyperparameters over time (``pbt_hyperparameters``)
and its lineages' evaluation curves (``pbt_lineage_curves``). They draw the frames of ``halving`` and ``pbt``
and compute nothing. Shared labels, colours and layout are in ``plotting``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from analysis.figures.scatter import value_scale
from analysis.figures.style import (
    EVAL_LABEL,
    STEP_LABEL,
    curve,
    figure,
    label,
    return_axis,
    return_limits,
    solved_note,
    style,
    use_log,
)
from analysis.stats.point import CARTPOLE, Scale
from analysis.summaries.halving import Budget
from analysis.tables.axes import AxisScale
from analysis.tables.format import steps_formatter

MAX_HIGHLIGHTED = 8  # configs that trained to the end drawn in colour, with a legend entry each
MAX_POPULATIONS = 4  # populations drawn in the hyperparameter figure, a row each
METRIC_AXIS = {"auc": "normalised AUC so far (IQM over seeds)", "final": "last eval return (IQM over seeds)"}


def _greys(n: int) -> list:
    """``n`` greys from light (stopped first) to dark (stopped last)."""
    return [str(g) for g in np.linspace(0.78, 0.45, max(n, 1))]


def halving_rungs(
    ivs: pd.DataFrame,
    alive: pd.DataFrame,
    budget: Budget,
    order: Sequence[int],
    labels: Mapping[int, str],
    *,
    metric: str,
    title: str,
    scale: Scale = CARTPOLE,
) -> Figure:
    """Left: each config's metric (IQM over seeds) at every rung it reached, a line per config; configs stopped
    at a rung in grey (darker: stopped later), those that trained to the end in colour with 95% CIs, the cut at
    each rung (between the lowest config kept and the highest stopped) as a black dash. Right: the configs
    training at each env step, against the full grid, whose areas are the env steps spent.

    ``ivs``: ``halving.rung_intervals``; ``alive``: ``halving.alive``; ``order``: configs best first (the
    summary's rank), which sets the colours of the configs that trained to the end.
    """
    steps = sorted(ivs["step"].unique()) if len(ivs) else []
    last = len(steps) - 1
    reached = ivs.groupby("config")["rung"].max()
    finalists = [c for c in order if reached.get(c, -1) == last]
    shown = finalists[:MAX_HIGHLIGHTED]
    colours = dict(zip(shown, sns.color_palette("colorblind", len(shown)), strict=True))
    greys = _greys(last)
    longest = max((len(labels[c]) for c in shown), default=10)
    with style():
        fig = figure(10.5 + 0.07 * longest, 5.2)
        a1, a2 = fig.subplots(1, 2, width_ratios=[2.0, 1.0])
        by_config = {c: d.sort_values("rung") for c, d in ivs.groupby("config", sort=True)}
        for c, d in by_config.items():  # grey first, so that the colours lie on top
            if c in colours:
                continue
            colour = greys[min(int(reached[c]), len(greys) - 1)] if reached[c] < last else "0.35"
            a1.plot(d["rung"], d["iqm"], color=colour, lw=0.8, marker="o", ms=2.5, zorder=1)
        for c in shown:
            d = by_config[c]
            p, lo, hi = (d[k].to_numpy(np.float64) for k in ("iqm", "ci_low", "ci_high"))
            # Beside the rung's column of grey points, a little apart from each other, so that every one shows.
            x = d["rung"].to_numpy(np.float64) + 0.1 + 0.05 * shown.index(c)
            a1.errorbar(
                x, p, yerr=[p - lo, hi - p], color=colours[c], lw=2.0, marker="o", ms=4, capsize=2.5, elinewidth=1,
                label=f"#{order.index(c) + 1}  {labels[c]}", zorder=3,
            )  # fmt: skip
        for k in range(last):
            d = ivs[ivs["rung"] == k]
            kept, cut = d.loc[d["kept"], "iqm"], d.loc[~d["kept"], "iqm"]
            if len(kept) and len(cut) and np.isfinite(kept.min()) and np.isfinite(cut.max()):
                y = 0.5 * (kept.min() + cut.max())
                a1.plot([k - 0.25, k + 0.25], [y, y], color="black", lw=1.4, ls="--", zorder=4)
        n_at = ivs.groupby("rung")["config"].nunique()
        names = [f"{steps_formatter(s)}\n{n_at.get(k, 0)} configs" for k, s in enumerate(steps)]
        a1.set_xticks(range(len(steps)), names, fontsize=8)
        a1.set_xlim(-0.35, last + 0.2 + 0.05 * len(shown))
        bottom, top = (0.0, 1.0) if metric == "auc" else return_limits(scale, ivs["iqm"].to_numpy(np.float64))
        a1.set_ylim(bottom - 0.02 * (top - bottom), top + 0.04 * (top - bottom))
        a1.set_xlabel("rung (env steps) and the configs that reached it; the last: the end of training")
        a1.set_ylabel(METRIC_AXIS.get(metric, metric))
        a1.set_title("each config across the rungs it reached; dashes: the cut", fontsize=9)
        handles, names = a1.get_legend_handles_labels()
        handles += [mpl.lines.Line2D([], [], color=g, lw=1.2) for g in greys[:last]]
        names += [f"stopped at {steps_formatter(s)}" for s in steps[:last]]
        title_legend = "trained to the end (best first)"
        if len(finalists) > len(shown):
            handles.append(mpl.lines.Line2D([], [], color="0.35", lw=1.2))
            names.append(f"{len(finalists) - len(shown)} more trained to the end")
        fig.legend(handles, names, loc="outside right center", fontsize=8, title=title_legend, title_fontsize=8)
        _budget_panel(a2, alive, budget)
        fig.suptitle(f"{title}\nsuccessive halving: who went on at each rung, and what it cost", fontsize=10)
    return fig


def _budget_panel(ax, alive: pd.DataFrame, budget: Budget) -> None:
    """The configs training against env steps (a staircase) and the full grid's (dashed)."""
    x = np.r_[alive["start"].to_numpy(), alive["end"].to_numpy()[-1:]]
    y = np.r_[alive["n_configs"].to_numpy(), alive["n_configs"].to_numpy()[-1:]]
    colour = sns.color_palette("colorblind")[0]
    ax.fill_between(x, y, step="post", color=colour, alpha=0.35, lw=0)
    ax.step(x, y, where="post", color=colour, lw=1.6, label="this sweep")
    n = int(alive["n_configs"].max()) if len(alive) else 0
    ax.plot([0, x[-1], x[-1]], [n, n, 0], color="0.3", ls="--", lw=1.2, label="full grid")
    ax.set_xlim(0, x[-1] * 1.02)
    ax.set_ylim(0, n * 1.3 + 0.5)
    ax.xaxis.set_major_formatter(FuncFormatter(steps_formatter))
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel("configs training")
    ax.legend(fontsize=8, loc="upper right", ncols=2)
    spent = f"{_about(budget.env_steps)} of the full grid's {_about(budget.full_grid_env_steps)} env steps"
    ax.set_title(f"{spent}\n({budget.share:.0%}; areas ∝ env steps)", fontsize=9)


def _about(n: int) -> str:
    """A step count to 3 significant digits: ``216k``, ``3.84M``."""
    return steps_formatter(float(f"{n:.3g}"))


def _value_axis(ax, name: str, scale: AxisScale | None, values: np.ndarray) -> None:
    """The y axis of an explored hyperparameter: the space's bounds, on a log scale where it draws ``name``
    log-uniformly (``scatter.value_scale``); without a space, a log scale where the values span 50x or more."""
    if scale is not None and scale.continuous:
        value_scale(ax, "y", scale, values, 2.0)
    elif use_log(name, list(values)):
        ax.set_yscale("log")


def pbt_hyperparameters(
    pbt: pd.DataFrame,
    lineages: pd.DataFrame,
    hps: Sequence[str],
    scales: Mapping[str, AxisScale],
    *,
    metric: str,
    title: str,
) -> Figure:
    """One row per population (the first ``MAX_POPULATIONS``), one column for the score and one per explored
    hyperparameter: every member's value over the env steps (grey; a hyperparameter is held through each
    interval, the score read at its end) and the lineage of the population's best final member in colour, its
    exploits (where it continues from another member's networks) ringed.

    ``pbt``: ``pbt.parquet``; ``lineages``: ``pbt.lineages``.
    """
    pops = sorted(pbt["population"].unique())
    shown = pops[:MAX_POPULATIONS]
    cols = ["score", *hps]
    colours = dict(zip(shown, sns.color_palette("colorblind", len(shown)), strict=True))
    with style():
        fig = figure(1.2 + 3.3 * len(cols), 1.3 + 2.4 * len(shown))
        grid = fig.subplots(len(shown), len(cols), squeeze=False, sharex=True, sharey="col")
        for i, pop in enumerate(shown):
            d = pbt[pbt["population"] == pop].sort_values(["member", "interval"])
            lin = lineages[lineages["population"] == pop].sort_values("interval")
            ends = d.groupby("interval")["step"].max().sort_index()
            edges = np.r_[0, ends.to_numpy()]
            for j, col in enumerate(cols):
                ax = grid[i, j]
                for _, m in d.groupby("member"):
                    _series(ax, edges, m[col].to_numpy(np.float64), col == "score", color="0.6", lw=0.7, alpha=0.6)
                v = lin[col].to_numpy(np.float64)
                _series(ax, edges, v, col == "score", color=colours[pop], lw=2.2, alpha=1.0)
                # An exploit at the start of interval k: the value it trains with from there, or the score the
                # lineage's parent had when it was copied (the end of interval k - 1).
                k = np.flatnonzero(lin["exploited"].to_numpy(bool))
                y = v[k - 1] if col == "score" else v[k]
                ax.scatter(edges[k], y, s=28, facecolors="none", edgecolors="black", lw=1.0, zorder=4)
                if col != "score":
                    _value_axis(ax, col, scales.get(col), d[col].to_numpy(np.float64))
                if i == 0:
                    ax.set_title(f"score ({metric})" if col == "score" else label(col), fontsize=9)
                if j == 0:
                    ax.set_ylabel(f"population {pop}")
                ax.xaxis.set_major_formatter(FuncFormatter(steps_formatter))
        for ax in grid[-1, :]:
            ax.set_xlabel(STEP_LABEL)
        handles = [mpl.lines.Line2D([], [], color="0.6", lw=0.8)]
        handles += [mpl.lines.Line2D([], [], color=colours[p], lw=2.2) for p in shown]
        handles.append(mpl.lines.Line2D([], [], color="black", marker="o", mfc="none", ls="none"))
        names = ["a member", *[f"population {p}: lineage of its best final member" for p in shown]]
        names.append("exploit: continues from another member")
        fig.legend(handles, names, loc="outside lower center", ncols=min(3, len(names)), fontsize=8)
        more = f" (the first {len(shown)} of {len(pops)} populations)" if len(shown) < len(pops) else ""
        fig.suptitle(f"{title}\npopulation-based training: explored hyperparameters over time{more}", fontsize=10)
    return fig


def _series(ax, edges: np.ndarray, v: np.ndarray, at_ends: bool, **kw) -> None:
    """One member's values over the intervals ``(edges[k], edges[k + 1]]``: points at the intervals' ends joined
    by lines (``at_ends``, a score) or held through each interval (a hyperparameter)."""
    if at_ends:
        ax.plot(edges[1 : 1 + len(v)], v, **kw)
    else:
        ax.step(edges[: len(v) + 1], np.r_[v, v[-1:]], where="post", **kw)


def pbt_lineage_curves(
    evals: pd.DataFrame, curve_frame: pd.DataFrame, *, title: str, scale: Scale = CARTPOLE
) -> Figure:
    """Each population's best lineage's eval return against env steps (thin, a colour each) and their IQM over
    populations with its 95% band (thick). ``evals``: ``pbt.lineage_runs``' evaluations; ``curve_frame``: their
    ``aggregate.eval_curves``."""
    pops = sorted(evals["seed"].unique())
    colours = dict(zip(pops, sns.color_palette("colorblind", len(pops)), strict=False))
    many = len(pops) > 10
    with style():
        fig = figure(8.5, 4.6)
        ax = fig.subplots()
        for p in pops:
            d = evals[evals["seed"] == p].sort_values("step")
            colour = "0.6" if many else colours[p]
            ax.plot(d["step"], d["eval_return"], color=colour, lw=0.9, alpha=0.8, label=None if many else f"{p}")
        curve(ax, curve_frame.sort_values("step"), "black", lw=2.2, label="IQM over populations (95% CI)")
        return_axis(ax, scale)
        ax.xaxis.set_major_formatter(FuncFormatter(steps_formatter))
        ax.set_xlabel(STEP_LABEL)
        ax.set_ylabel(EVAL_LABEL.replace("IQM, 95% CI", "lineage of the best final member"))
        legend_title = "population" if not many else None
        fig.legend(loc="outside right center", fontsize=8, title=legend_title, title_fontsize=8)
        n = len(pops)
        fig.suptitle(
            f"{title}\nthe best final member's lineage in each of {n} population{'s' if n != 1 else ''}: its "
            f"networks' eval return over time{f' ({solved_note(scale)})' if scale.solved is not None else ''}",
            fontsize=10,
        )
    return fig
