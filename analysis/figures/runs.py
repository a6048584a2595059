"""The figures of one run, drawn from the tidy frames of ``aggregate``: they plot precomputed intervals and
compute nothing. Shared labels, colours and layout are in ``plotting``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from analysis.figures.style import (
    STEP_LABEL,
    curve,
    figure,
    heatmap,
    iqm_panels,
    label,
    numeric,
    palette,
    return_axis,
    return_limits,
    solved_line,
    solved_note,
    sorted_values,
    style,
    tick,
    title_width,
    use_log,
)
from analysis.stats.point import CARTPOLE, Scale
from analysis.tables.format import format_value, steps_formatter

MAX_HUE = 10  # distinct colours on one learning-curve panel
MAX_PANELS = 12  # facets on one learning-curve figure
TOP_K = 8  # configs shown where showing all would be unreadable
MAX_RANKED = 64  # rows of the ranking plot (a standard 8 x 8 grid shows in full)
TOP_PROFILES = 4  # performance profiles overlaid (their bands overlap)


class CurveLayout(NamedTuple):
    """How learning curves are split: colour by ``hue``, panels by ``col`` and ``row`` (names or None)."""

    hue: str | None  # an axis name, "label" (one colour per config) or None (a single config)
    col: str | None
    row: str | None
    configs: list[int]  # the configs drawn
    note: str  # e.g. "top 8 of 64 configs by final IQM"


def curve_layout(summary: pd.DataFrame, axes: Sequence[str], *, continuous: bool = False) -> CurveLayout:
    """All configs with colour = first axis and panels = the next one or two, when that stays readable;
    otherwise, and whenever some axis is ``continuous`` (sampled: each config its own value, so no value is
    shared to colour or facet by), the ``TOP_K`` configs by rank on one panel, one colour each."""
    configs = summary.sort_values("rank")["config"].astype(int).tolist()
    if len(configs) <= 1 or not axes:
        return CurveLayout(None, None, None, configs[:1], "")
    sizes = {a: summary[a].nunique() for a in axes}
    panels = math.prod(sizes[a] for a in axes[1:])
    if not continuous and len(axes) <= 3 and sizes[axes[0]] <= MAX_HUE and panels <= MAX_PANELS:
        return CurveLayout(axes[0], axes[1] if len(axes) > 1 else None, axes[2] if len(axes) > 2 else None, configs, "")
    k = min(TOP_K, len(configs))
    note = f"top {k} of {len(configs)} configs by final IQM" if k < len(configs) else ""
    return CurveLayout("label", None, None, configs[:k], note)


def learning_curves(
    curves: pd.DataFrame,
    summary: pd.DataFrame,
    layout: CurveLayout,
    labels: Mapping[int, str],
    *,
    title: str,
    ylabel: str,
    scale: Scale = CARTPOLE,
) -> Figure:
    """IQM learning curves with 95% CI bands, one line per config, coloured and faceted as ``layout`` says.

    ``curves``: ``config, step, iqm, ci_low, ci_high`` (``aggregate.eval_curves`` / ``train_curves``).
    """
    meta = summary.set_index("config")
    df, hue_values = _hues(curves, meta, layout, labels)
    cols = sorted_values(meta[layout.col]) if layout.col else [None]
    rows = sorted_values(meta[layout.row]) if layout.row else [None]
    wrap = layout.row is None and len(cols) > 4
    n_cols = 4 if wrap else len(cols)
    n_rows = math.ceil(len(cols) / 4) if wrap else len(rows)
    panels = [(r, c) for r in rows for c in cols]
    colours = palette(hue_values)

    legend_width = 0.0
    if layout.hue is not None:
        longest = max(len(format_value(h)) for h in hue_values)
        legend_width = 0.7 + 0.075 * max(18 if layout.hue == "label" else len(label(layout.hue)), longest)
    panel_width = 5.5 if n_cols == 1 else 3.3
    with style():
        fig = figure(max(7.0, 0.5 + panel_width * n_cols + legend_width), 1.2 + 2.5 * n_rows)
        grid = fig.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
        for i, (r, c) in enumerate(panels):
            sel = df
            if layout.col:
                sel = sel[sel["config"].map(meta[layout.col]) == c]
            if layout.row:
                sel = sel[sel["config"].map(meta[layout.row]) == r]
            ax = grid.flat[i] if wrap else grid[rows.index(r), cols.index(c)]
            for h in hue_values:
                for _, line in sel[sel["_hue"] == h].groupby("config", sort=False):
                    curve(ax, line.sort_values("step"), colours[h], lw=1.6, label=format_value(h))
            parts = [f"{label(a)} = {format_value(v)}" for a, v in ((layout.row, r), (layout.col, c)) if a]
            if parts:
                ax.set_title("\n".join(parts), fontsize=9)
            return_axis(ax, scale)
            ax.xaxis.set_major_formatter(FuncFormatter(steps_formatter))
        _label_curve_grid(grid, len(panels), wrap, ylabel)
        if layout.hue is not None:
            handles = [mpl.lines.Line2D([], [], color=colours[h], lw=2) for h in hue_values]
            names = [format_value(h) for h in hue_values]
            legend_title = "config (best first)" if layout.hue == "label" else label(layout.hue)
            fig.legend(handles, names, title=legend_title, loc="outside right center", fontsize=8, title_fontsize=9)
        note = f" ({layout.note})" if layout.note else ""
        solved = f"{solved_note(scale)}; " if scale.solved is not None else ""
        fig.suptitle(f"{title}{note}\n{solved}bands: 95% bootstrap CI over seeds", fontsize=10)
    return fig


def _hues(
    curves: pd.DataFrame, meta: pd.DataFrame, layout: CurveLayout, labels: Mapping[int, str]
) -> tuple[pd.DataFrame, list]:
    """The rows of ``curves`` of ``layout``'s configs with their colour key ``_hue``, and the keys in order."""
    df = curves[curves["config"].isin(layout.configs)].copy()
    if layout.hue == "label":
        df["_hue"] = df["config"].map(labels)
        return df, [labels[c] for c in layout.configs]
    if layout.hue is None:
        df["_hue"] = df["config"].map(labels)
        return df, sorted_values(df["_hue"]) or [""]
    df["_hue"] = df["config"].map(meta[layout.hue])
    return df, sorted_values(meta.loc[layout.configs, layout.hue])


def _label_curve_grid(grid: np.ndarray, n_panels: int, wrap: bool, ylabel: str) -> None:
    """Hides the unused panels of ``grid`` and labels the outer axes of the rest."""
    n_rows, n_cols = grid.shape
    for j in range(n_panels, n_rows * n_cols):
        grid.flat[j].set_visible(False)
    for ax in grid[-1, :]:
        ax.set_xlabel(STEP_LABEL)
    for ax in grid[:, 0]:
        ax.set_ylabel(ylabel)
    if wrap:  # hidden panels leave the last row short: label the x axis of the panels above them
        for j in range(n_panels - n_cols, n_panels):
            grid.flat[j].set_xlabel(STEP_LABEL)
            grid.flat[j].xaxis.set_tick_params(labelbottom=True)


def heatmaps(cells: pd.DataFrame, *, title: str, scale: Scale = CARTPOLE) -> Figure:
    """Final-return IQM over each pair of axes (other axes pooled), each cell annotated with its 95% CI.

    ``cells``: ``x_axis, y_axis, x, y, iqm, ci_low, ci_high`` (``aggregate.pair_heatmaps``).
    """
    pairs = list(dict.fromkeys(zip(cells["x_axis"], cells["y_axis"], strict=True)))
    n = len(pairs)
    n_cols = min(n, 3)
    n_rows = math.ceil(n / n_cols)
    sizes = [
        (cells[cells["x_axis"] == xa]["x"].nunique(), cells[cells["y_axis"] == ya]["y"].nunique()) for xa, ya in pairs
    ]
    cw = max(max(s[0] for s in sizes) * 0.85, 3.5)
    ch = max(max(s[1] for s in sizes) * 0.5, 2.5)
    suptitle = f"{title}\nfinal greedy eval return: IQM over seeds [95% bootstrap CI]"
    limits = return_limits(scale, cells["iqm"].to_numpy(np.float64))
    with style(grid=False):
        fig = figure(max(0.8 + (cw + 1.6) * n_cols, title_width(suptitle)), 1.0 + (ch + 0.9) * n_rows)
        grid = fig.subplots(n_rows, n_cols, squeeze=False)
        for i, (xa, ya) in enumerate(pairs):
            ax = grid.flat[i]
            d = cells[(cells["x_axis"] == xa) & (cells["y_axis"] == ya)]
            xs, ys = sorted_values(d["x"]), sorted_values(d["y"])
            val = np.full((len(ys), len(xs)), np.nan)
            text = np.full((len(ys), len(xs)), "", dtype=object)
            show_ci = len(xs) <= 12
            for r in d.itertuples(index=False):
                yi, xi = ys.index(r.y), xs.index(r.x)
                val[yi, xi] = r.iqm
                ci = show_ci and np.isfinite(r.ci_low)  # one seed: no interval to print
                text[yi, xi] = f"{r.iqm:.0f}\n[{r.ci_low:.0f}, {r.ci_high:.0f}]" if ci else f"{r.iqm:.0f}"
            heatmap(
                val,
                ax=ax,
                annot=text,
                fmt="",
                cmap="viridis",
                vmin=limits[0],
                vmax=limits[1],
                annot_kws={"fontsize": 9 if len(xs) <= 5 else 7},
                xticklabels=[tick(v) for v in xs],
                yticklabels=[tick(v) for v in ys],
                cbar_kws={"label": "final eval return (IQM)"},
                linewidths=0.5,
                linecolor="white",
            )
            ax.invert_yaxis()  # small values at the bottom, like a plot
            ax.set_xlabel(label(xa))
            ax.set_ylabel(label(ya))
            ax.tick_params(axis="y", rotation=0)
            long = max(len(tick(v)) for v in xs) > 6 and len(xs) > 6
            ax.tick_params(axis="x", rotation=30 if long else 0)
            n_pooled = int(d["n_configs"].max()) if len(d) else 1
            if n_pooled > 1:
                ax.set_title(f"pooled over the other axes ({n_pooled} configs per cell)", fontsize=9)
        for j in range(n, n_rows * n_cols):
            grid.flat[j].set_visible(False)
        fig.suptitle(suptitle, fontsize=10)
    return fig


def ranking(
    summary: pd.DataFrame, labels: Mapping[int, str], *, title: str, top: int = MAX_RANKED, scale: Scale = CARTPOLE
) -> Figure:
    """Every config (or the ``top`` best) ranked by final IQM: point and 95% CI of final return and of AUC."""
    s = summary.sort_values("rank").head(top)
    n = len(s)
    y = np.arange(n)[::-1]
    names = [labels[int(c)] for c in s["config"]]
    with style():
        fig = figure(9.5 + 0.045 * max(len(t) for t in names), 1.3 + 0.26 * n)
        a1, a2 = fig.subplots(1, 2, sharey=True, width_ratios=[1.3, 1])
        iqm_panels((a1, a2), s, y, scale, ms=4, capsize=2, lw=1.2)
        solved_line(a1, scale)
        a1.set_yticks(y, [f"#{r}  {t}" for r, t in zip(s["rank"], names, strict=True)], fontsize=8)
        a1.set_ylim(-0.7, n - 0.3)
        shown = f"top {n} of {len(summary)} configs" if n < len(summary) else f"all {n} configs"
        shown = "the only config" if len(summary) == 1 else shown
        solved = f" ({solved_note(scale)})" if scale.solved is not None else ""
        fig.suptitle(f"{title}\n{shown}, best first{solved}", fontsize=10)
    return fig


def sensitivity(sens: pd.DataFrame, *, title: str, scale: Scale = CARTPOLE) -> Figure:
    """Each hyperparameter's marginal effect on final IQM (other axes pooled), one panel per axis, with CIs.

    ``sens``: ``axis, value, label, iqm, ci_low, ci_high, n_configs`` (``aggregate.sensitivity``).
    """
    axes = list(dict.fromkeys(sens["axis"]))
    n = len(axes)
    n_cols = min(n, 4)
    n_rows = math.ceil(n / n_cols)
    colour = sns.color_palette("colorblind")[0]
    suptitle = f"{title}\nsensitivity: each hyperparameter's effect, pooled over the others"
    with style():
        fig = figure(max(0.6 + 3.4 * n_cols, title_width(suptitle)), 1.0 + 2.9 * n_rows)
        grid = fig.subplots(n_rows, n_cols, squeeze=False, sharey=True)
        for i, a in enumerate(axes):
            ax = grid.flat[i]
            d = sens[sens["axis"] == a]
            order = sorted_values(d["value"])
            d = d.set_index(d["value"].map(order.index)).sort_index()
            x = _value_axis(ax, a, order)
            p, lo, hi = (d[c].to_numpy(np.float64) for c in ("iqm", "ci_low", "ci_high"))
            ax.fill_between(x, lo, hi, color=colour, alpha=0.18, lw=0)
            ax.errorbar(x, p, yerr=[p - lo, hi - p], fmt="o-", color=colour, ms=4, capsize=3, lw=1.4)
            return_axis(ax, scale)
            ax.set_xlabel(label(a))
            pooled = int(d["n_configs"].max())
            if pooled > 1:
                ax.set_title(f"{pooled} configs pooled per value", fontsize=9)
        for ax in grid[:, 0]:
            ax.set_ylabel("final greedy eval return\n(IQM, 95% CI)")
        for j in range(n, n_rows * n_cols):
            grid.flat[j].set_visible(False)
        fig.suptitle(suptitle, fontsize=10)
    return fig


def _value_axis(ax: Axes, name: str, values: Sequence[Any]) -> np.ndarray:
    """Sets up ``ax``'s x axis for the hyperparameter ``name``'s sorted ``values``; returns their x positions.

    Numbers sit at their value (on a log axis where ``use_log``), anything else at 0, 1, 2, ... .
    """
    if numeric(values):
        x = np.asarray(values, dtype=np.float64)
        if use_log(name, values):
            ax.set_xscale("log")
        if len(values) <= 8:  # ticks at the swept values (a log axis labels its minor ticks otherwise)
            ax.set_xticks(x, [format_value(v) for v in values])
            ax.xaxis.set_minor_formatter(NullFormatter())
        return x
    x = np.arange(len(values), dtype=np.float64)
    ax.set_xticks(x, [format_value(v) for v in values])
    ax.set_xlim(-0.5, len(values) - 0.5)
    return x


def improvement(pairs: pd.DataFrame, configs: Sequence[int], labels: Mapping[int, str], *, title: str) -> Figure:
    """Matrix of P(row config > column config) on final return among ``configs`` (best first), with 95% CIs.

    ``pairs``: ``x, y, p, ci_low, ci_high`` (``aggregate.improvement_matrix``).
    """
    k = len(configs)
    pos = {c: i for i, c in enumerate(configs)}
    val = np.full((k, k), np.nan)
    text = np.full((k, k), "", dtype=object)
    for r in pairs.itertuples(index=False):
        i, j = pos[int(r.x)], pos[int(r.y)]
        val[i, j] = r.p
        text[i, j] = f"{r.p:.2f}\n[{r.ci_low:.2f}, {r.ci_high:.2f}]" if np.isfinite(r.ci_low) else f"{r.p:.2f}"
    names = [f"#{i + 1}  {labels[c]}" for i, c in enumerate(configs)]
    with style(grid=False):
        fig = figure(3.0 + 0.06 * max(len(t) for t in names) + 0.95 * k, 1.9 + 0.62 * k)
        ax = fig.subplots()
        heatmap(
            val,
            ax=ax,
            annot=text,
            fmt="",
            cmap="vlag",
            center=0.5,
            vmin=0,
            vmax=1,
            annot_kws={"fontsize": 7},
            xticklabels=[f"#{i + 1}" for i in range(k)],
            yticklabels=names,
            cbar_kws={"label": "P(row config > column config)"},
            linewidths=0.5,
            linecolor="white",
        )
        ax.tick_params(axis="y", rotation=0, labelsize=8)
        ax.set_xlabel("column config (by rank)")
        ax.set_ylabel("row config")
        fig.suptitle(
            f"{title}\nprobability of improvement on final return among the top {k} configs [95% CI]",
            fontsize=10,
        )
    return fig


def score_distributions(
    final: pd.DataFrame,
    profiles: pd.DataFrame,
    summary: pd.DataFrame,
    configs: Sequence[int],
    labels: Mapping[int, str],
    *,
    title: str,
    scale: Scale = CARTPOLE,
) -> Figure:
    """Per-seed final returns of ``configs`` (dots, with IQM and 95% CI) and their performance profiles.

    ``final``: ``config, final_eval_return`` per run; ``profiles``: ``config, tau, fraction, ci_low,
    ci_high`` (``aggregate.score_profiles``, for the first ``TOP_PROFILES`` configs): the fraction of seeds
    whose final return exceeds tau (Agarwal et al., 2021).
    """
    k = len(configs)
    names = [labels[c] for c in configs]
    colours = palette(names)
    meta = summary.set_index("config")
    rng = np.random.default_rng(0)  # jitter only
    with style():
        fig = figure(12.0, 1.6 + max(2.6, 0.42 * k))
        a1, a2 = fig.subplots(1, 2, width_ratios=[1.25, 1])
        for i, c in enumerate(configs):
            y = k - 1 - i
            v = final.loc[final["config"] == c, "final_eval_return"].to_numpy(np.float64)
            colour = colours[names[i]]
            a1.scatter(v, y + rng.uniform(-0.18, 0.18, v.size), s=12, color=colour, alpha=0.6, lw=0)
            p, lo, hi = (meta.loc[c, m] for m in ("final_iqm", "final_iqm_ci_low", "final_iqm_ci_high"))
            a1.errorbar([p], [y + 0.32], xerr=[[p - lo], [hi - p]], fmt="D", color="0.15", ms=4, capsize=3)
            d = profiles[profiles["config"] == c]
            if len(d):
                a2.plot(d["tau"], d["fraction"], color=colour, lw=1.6, label=f"#{i + 1}", drawstyle="steps-post")
                a2.fill_between(d["tau"], d["ci_low"], d["ci_high"], color=colour, alpha=0.15, lw=0, step="post")
        a1.set_yticks(np.arange(k)[::-1], [f"#{i + 1}  {t}" for i, t in enumerate(names)], fontsize=8)
        lo, hi = return_limits(scale, final["final_eval_return"].to_numpy(np.float64))
        a1.set_xlim(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
        a1.set_ylim(-0.6, k - 0.4)
        a1.set_xlabel("final greedy eval return (dots: seeds; diamond: IQM, 95% CI)")
        solved_line(a1, scale)
        a2.set_xlim(lo, hi)
        a2.set_ylim(-0.02, 1.02)
        a2.set_xlabel("final greedy eval return τ")
        a2.set_ylabel("fraction of seeds with return ≥ τ")
        n_prof = profiles["config"].nunique()
        which = "" if n_prof == 1 else f" of the top {n_prof}"
        a2.set_title(f"performance profile{'s' if n_prof > 1 else ''}{which} (95% CI bands)", fontsize=9)
        a2.legend(fontsize=8, loc="lower left", title="config", title_fontsize=8)
        which = "the only config" if k == 1 else f"the top {k} configs"
        fig.suptitle(f"{title}\nscore distribution of {which}", fontsize=10)
    return fig
