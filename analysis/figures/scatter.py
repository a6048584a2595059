"""The figures of continuous (sampled) axes, where every config has its own value: the final return of each
config against each axis with a smoothed trend (``response``), and every pair of axes as a scatter plot
coloured by the return (``pairs``). They draw ``aggregate.response_points`` / ``response_trends`` and the
summary, and compute nothing. Shared labels, colours and layout are in ``plotting``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from analysis.figures.style import (
    figure,
    label,
    palette,
    return_axis,
    return_limits,
    solved_note,
    sorted_values,
    style,
)
from analysis.stats.point import CARTPOLE, Scale
from analysis.tables.axes import AxisScale
from analysis.tables.format import format_value, steps_formatter

MAX_GROUPS = 6  # values of a discrete axis the response figure colours its points and trends by
MAX_PAIR_AXES = 6  # continuous axes in the pair plot (the first, in space order): 15 panels
RESPONSE_COLUMNS = 3  # panels per row of the response figure
PANEL_WIDTH = 3.9  # inches per panel of the response figure


def response_hue(summary: pd.DataFrame, discrete: Sequence[str]) -> str | None:
    """The discrete axis to colour the response figure by: the first of ``discrete`` with 2 to ``MAX_GROUPS``
    values among the configs; ``None`` (one colour, one trend) without such an axis."""
    for a in discrete:
        if 2 <= summary[a].nunique() <= MAX_GROUPS:
            return a
    return None


def _plain(v: float) -> str:
    """A log-axis tick label: ``0.001``, ``0.5``, ``300``; ``1e-4``, ``2e5`` for the very small or large."""
    if v <= 0 or 1e-3 <= v < 1e5:
        return f"{v:g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _log_ticks(axis, low: float, high: float, inches: float) -> None:
    """Ticks of a log ``axis`` (``ax.xaxis``/``ax.yaxis``, about ``inches`` long) spanning ``low``..``high``,
    labelled as plain numbers: at 1-2-3-5-7, 1-2-5 or 1 per decade, the most that leave labels apart (about
    half an inch), every few decades where even one per decade is too many."""
    decades = math.log10(high / low) if low > 0 and high > low else 1.0
    per_decade = inches / decades
    if per_decade >= 2.6 and decades < 1.2:
        subs = (1.0, 2.0, 3.0, 5.0, 7.0)
    elif per_decade >= 1.5:
        subs = (1.0, 2.0, 5.0)
    else:
        subs = (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=max(3, int(inches / 0.5))))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: _plain(float(v))))
    axis.set_minor_locator(LogLocator(base=10, subs=np.arange(1, 10), numticks=100))
    axis.set_minor_formatter(NullFormatter())


def value_scale(ax: Axes, which: str, scale: AxisScale, values: np.ndarray, inches: float) -> None:
    """Sets ``ax``'s ``which`` ('x' or 'y') axis for a continuous hyperparameter: log where it was drawn
    log-uniformly, limits at the space's bounds (the configs' range where they are degenerate), a small margin."""
    lo, hi = (scale.low, scale.high) if scale.high > scale.low else (float(np.min(values)), float(np.max(values)))
    axis = ax.xaxis if which == "x" else ax.yaxis
    set_lim = ax.set_xlim if which == "x" else ax.set_ylim
    if scale.log:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        pad = (hi / lo) ** 0.03 if hi > lo else 1.5
        set_lim(lo / pad, hi * pad)
        _log_ticks(axis, lo, hi, inches)
    else:
        pad = 0.03 * (hi - lo) if hi > lo else max(abs(hi), 1.0) * 0.1
        set_lim(lo - pad, hi + pad)


def response(
    points: pd.DataFrame,
    trends: pd.DataFrame,
    scales: Mapping[str, AxisScale],
    *,
    title: str,
    hue: str | None = None,
    stopped: pd.DataFrame | None = None,
    scale: Scale = CARTPOLE,
) -> Figure:
    """Final-return IQM of every config against each continuous axis: one point per config with its 95% CI as
    an error bar, the smoothed trend with its 95% band; a log axis for a log-uniform space. With ``hue`` (a
    discrete axis) points and trends are coloured by its value, one trend per value.

    ``points``: ``aggregate.response_points``; ``trends``: ``aggregate.response_trends``. ``stopped``
    (successive halving): ``axis, value, step`` of the configs stopped at a rung, which ``points`` leaves out
    (their last return is not a final one): each is a tick along the bottom of its panels, grey by the step it
    stopped at (darker: later).
    """
    axes = list(dict.fromkeys(points["axis"]))
    n = len(axes)
    n_cols = min(n, RESPONSE_COLUMNS)
    n_rows = math.ceil(n / n_cols)
    groups = sorted_values(points["group"]) if hue else [None]
    if hue:
        colours = palette(groups)
        trend_colour = colours
    else:
        colours = {None: sns.color_palette("colorblind")[0]}
        trend_colour = {None: sns.color_palette("colorblind")[3]}
    stop_greys = _stop_greys(stopped)
    with style():
        fig = figure(0.6 + PANEL_WIDTH * n_cols + 2.3, 1.3 + 3.2 * n_rows)
        grid = fig.subplots(n_rows, n_cols, squeeze=False, sharey=True)
        for i, a in enumerate(axes):
            ax = grid.flat[i]
            d, t = points[points["axis"] == a], trends[trends["axis"] == a]
            for g in groups:
                dg = d if g is None else d[d["group"] == g]
                tg = t if g is None else t[t["group"] == g]
                if len(tg):
                    v = tg["value"].to_numpy(np.float64)
                    ax.fill_between(
                        v, tg["band_low"], tg["band_high"], color=trend_colour[g], alpha=0.2, lw=0, zorder=1
                    )
                    ax.plot(v, tg["trend"], color=trend_colour[g], lw=2.0, zorder=3)
                ci = np.isfinite(dg["ci_low"].to_numpy(np.float64))
                p, lo, hi = (dg[c].to_numpy(np.float64) for c in ("iqm", "ci_low", "ci_high"))
                x = dg["value"].to_numpy(np.float64)
                ax.errorbar(
                    x[ci], p[ci], yerr=[p[ci] - lo[ci], hi[ci] - p[ci]], fmt="o", color=colours[g], ms=3.5,
                    elinewidth=0.7, alpha=0.7, zorder=2,
                )  # fmt: skip
                if (~ci).any():  # one seed: no interval
                    ax.scatter(x[~ci], p[~ci], s=14, facecolors="none", edgecolors=colours[g], zorder=2)
            if stopped is not None:
                _rug(ax, stopped[stopped["axis"] == a], stop_greys)
            value_scale(ax, "x", scales[a], d["value"].to_numpy(np.float64), PANEL_WIDTH - 0.6)
            return_axis(ax, scale)
            ax.set_xlabel(label(a))
            if len(t):  # one bandwidth per trend (per group)
                unit = " decades" if scales[a].log else ""
                hs = ", ".join(f"{h:.2g}" for h in t.drop_duplicates("group")["bandwidth"])
                ax.set_title(f"trend bandwidth{'s' if ',' in hs else ''} {hs}{unit}", fontsize=8)
        for ax in grid[:, 0]:
            ax.set_ylabel("final greedy eval return\n(IQM over seeds, 95% CI)")
        for j in range(n, n_rows * n_cols):
            grid.flat[j].set_visible(False)
        point_c, line_c = ("0.3", "0.3") if hue else (colours[None], trend_colour[None])
        handles = [
            mpl.lines.Line2D([], [], color=point_c, marker="o", ls="none", ms=4, label="config (95% CI)"),
            mpl.lines.Line2D([], [], color=line_c, lw=2, label="smoothed trend"),
            mpl.patches.Patch(color=line_c, alpha=0.2, label="95% band"),
        ]
        if hue:
            handles += [mpl.patches.Patch(color=colours[g], label=format_value(g)) for g in groups]
        for step, grey in stop_greys.items():
            name = f"stopped at {steps_formatter(step)} (tick)"
            handles.append(mpl.lines.Line2D([], [], color=grey, marker="|", ls="none", ms=9, mew=1.2, label=name))
        fig.legend(
            handles=handles, title=label(hue) if hue else None, loc="outside right center", fontsize=8,
            title_fontsize=9,
        )  # fmt: skip
        which = "every config" if not stop_greys else "every config that trained to the end"
        ticks = "; ticks: the configs stopped at a rung" if stop_greys else ""
        fig.suptitle(
            f"{title}\nfinal return of {which} against each sampled hyperparameter"
            f"{f' ({solved_note(scale)})' if scale.solved is not None else ''};\ntrend: local-linear smoother, "
            f"band: 95% bootstrap over configs{ticks}",
            fontsize=10,
        )
    return fig


def _stop_greys(stopped: pd.DataFrame | None) -> dict[int, str]:
    """``{step: grey}`` for the steps configs stopped at, light (earliest) to dark."""
    if stopped is None or not len(stopped):
        return {}
    steps = sorted(int(s) for s in stopped["step"].unique())
    return dict(zip(steps, (str(g) for g in np.linspace(0.75, 0.35, len(steps))), strict=True))


def _rug(ax: Axes, stopped: pd.DataFrame, greys: Mapping[int, str]) -> None:
    """A tick along the bottom of ``ax`` at each stopped config's value, grey by the step it stopped at."""
    for step, d in stopped.groupby("step"):
        ax.vlines(d["value"].to_numpy(np.float64), 0.0, 0.045, transform=ax.get_xaxis_transform(),
                  colors=greys[int(step)], lw=0.9, zorder=1)  # fmt: skip


def pairs(
    summary: pd.DataFrame,
    axes: Sequence[str],
    scales: Mapping[str, AxisScale],
    *,
    title: str,
    stopped: pd.Series | None = None,
    scale: Scale = CARTPOLE,
) -> Figure:
    """Every pair of the continuous ``axes`` (the first ``MAX_PAIR_AXES``) as a scatter plot of the configs,
    coloured by final-return IQM (one colour bar over the task's returns: 0 to 500 for CartPole-v1), the best
    config (rank 1) ringed; configs without a final return are left out. Panels form the lower triangle of a
    matrix: column j has ``axes[j]`` on x, row i has ``axes[i + 1]`` on y, so the panels of a row or column share
    that axis.

    ``stopped`` (successive halving): ``{config: step}`` of the configs stopped at a rung; they are drawn as
    small grey points (darker: stopped later), not coloured by a return that is not final."""
    n_axes = len(axes)
    axes = list(axes)[:MAX_PAIR_AXES]
    k = len(axes) - 1
    s = summary[np.isfinite(summary["final_iqm"].to_numpy(np.float64))].sort_values(["final_iqm", "config"])
    greys = _stop_greys(None if stopped is None else pd.DataFrame({"step": stopped.to_numpy()}))
    grey = summary.set_index("config").loc[stopped.index] if greys else None
    if greys:
        s = s[~s["config"].isin(stopped.index)]
    best = s[s["rank"] == s["rank"].min()] if len(s) else s
    size = 30 if len(s) <= 200 else 14
    limits = return_limits(scale, summary["final_iqm"].to_numpy(np.float64))
    panel = 4.2 if k == 1 else 3.1
    with style():
        fig = figure(1.4 + panel * k + 1.3, 1.2 + panel * k)
        grid = fig.subplots(k, k, squeeze=False, sharex="col", sharey="row")
        sc = None
        for i in range(k):
            for j in range(k):
                ax = grid[i, j]
                if j > i:
                    ax.set_visible(False)
                    continue
                xa, ya = axes[j], axes[i + 1]
                for step, colour in greys.items():
                    g = grey[stopped.to_numpy() == step]
                    ax.scatter(g[xa], g[ya], s=size * 0.45, color=colour, lw=0, zorder=1)
                sc = ax.scatter(
                    s[xa], s[ya], c=s["final_iqm"], cmap="viridis", vmin=limits[0], vmax=limits[1], s=size,
                    edgecolors="white", linewidths=0.3, zorder=2,
                )  # fmt: skip
                ax.scatter(best[xa], best[ya], s=size * 5, facecolors="none", edgecolors="#d62728", lw=1.5, zorder=3)
                if i == k - 1:
                    value_scale(ax, "x", scales[xa], summary[xa].to_numpy(np.float64), panel - 0.5)
                    ax.set_xlabel(label(xa))
                if j == 0:
                    value_scale(ax, "y", scales[ya], summary[ya].to_numpy(np.float64), panel - 0.5)
                    ax.set_ylabel(label(ya))
        visible = [ax for ax in grid.flat if ax.get_visible()]
        fig.colorbar(sc, ax=visible, label="final greedy eval return (IQM over seeds)", shrink=0.9 if k > 1 else 1.0)
        shown = f"the first {len(axes)} of {n_axes} sampled axes; " if len(axes) < n_axes else ""
        left = len(summary) - len(s) - (len(grey) if greys else 0)
        missing = f"; {left} config{'s' if left != 1 else ''} without a final return not shown" if left else ""
        if greys:
            shades = ", ".join(f"{steps_formatter(st)}" for st in greys)
            missing += f";\ngrey: configs stopped at a rung ({shades}; darker: later), not coloured by an early return"
        fig.suptitle(
            f"{title}\n{shown}each point a config, coloured by its final return; ringed in red: the best "
            f"(rank 1){missing}",
            fontsize=10,
        )
    return fig
