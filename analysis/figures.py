"""Figures drawn from the tidy frames of ``aggregate``; they plot precomputed intervals and compute nothing.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global backend or style change), so this
works headless and does not disturb a notebook's settings. Colours: ``viridis`` (cut short of its pale yellow
end) for ordered hyperparameter values and seaborn's ``colorblind`` palette for unordered ones; both are
distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from .aggregate import format_value
from .stats import MAX_RETURN, SOLVED_RETURN

DPI = 110
MAX_HUE = 10  # distinct colours on one learning-curve panel
MAX_PANELS = 12  # facets on one learning-curve figure
TOP_K = 8  # configs shown where showing all would be unreadable
MAX_RANKED = 64  # rows of the ranking plot (a standard 8 x 8 grid shows in full)
TOP_PROFILES = 4  # performance profiles overlaid (their bands overlap)

# Readable names, with units, of the hyperparameters the engine knows about.
LABELS = {
    "lr": "learning rate (Adam step size)",
    "gamma": "discount γ",
    "eps_start": "initial ε",
    "eps_end": "final ε",
    "eps_decay_fraction": "ε decay (fraction of training)",
    "eps_schedule": "ε schedule",
    "target_period": "target update period (updates)",
    "tau": "target update rate τ",
    "max_grad_norm": "max gradient norm",
    "total_steps": "env steps per run",
    "buffer_capacity": "replay capacity (transitions)",
    "batch_size": "batch size (transitions)",
    "hidden_sizes": "hidden layer widths",
    "learning_starts": "learning starts (env steps)",
    "train_every": "env steps per update",
    "eval_every": "env steps between evals",
    "eval_episodes": "episodes per eval",
    "double_q": "double Q-learning",
    "loss": "TD loss",
}
LOG_NAMES = {"lr", "learning_rate", "tau", "adam_eps"}
EVAL_LABEL = "greedy eval return (IQM, 95% CI)"
STEP_LABEL = "environment steps"


def label(name: str) -> str:
    """Axis label for a hyperparameter name."""
    return LABELS.get(name, name.replace("_", " "))


def _numeric(values: Sequence[Any]) -> bool:
    v = pd.Series(list(values))
    return (
        pd.api.types.is_numeric_dtype(v)
        and not pd.api.types.is_bool_dtype(v)
        and bool(np.all(np.isfinite(v.to_numpy(np.float64))))
    )


def use_log(name: str, values: Sequence[Any]) -> bool:
    """Whether values read better on a log axis: rates, and positive values spanning 50x or more."""
    if not _numeric(values):
        return False
    v = np.asarray(list(values), dtype=np.float64)
    if v.size < 2 or np.any(v <= 0):
        return False
    return name in LOG_NAMES or v.max() / v.min() >= 50


def _natural_key(v: Any) -> Any:
    """Sort key putting ``"64x64"`` before ``"128x128"`` and numbers in numeric order."""
    if isinstance(v, str):
        import re

        return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", v))
    return v


def sorted_values(values: Sequence[Any]) -> list[Any]:
    """Distinct values in natural order."""
    uniq = list(pd.unique(pd.Series(list(values))))
    try:
        return sorted(uniq, key=_natural_key)
    except TypeError:
        return sorted(uniq, key=str)


def _palette(values: Sequence[Any]) -> dict[Any, Any]:
    values = list(values)
    if _numeric(values) and len(values) > 1:
        colours = mpl.colormaps["viridis"](np.linspace(0.0, 0.88, len(values)))
    else:
        colours = sns.color_palette("colorblind", max(len(values), 1))
        colours = [colours[i % len(colours)] for i in range(len(values))]
    return dict(zip(values, colours, strict=True))


def _steps_formatter(x: float, _pos: Any = None) -> str:
    if abs(x) >= 1e6:
        return f"{x / 1e6:g}M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:g}k"
    return f"{x:g}"


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _style(grid: bool = True):
    return sns.axes_style("whitegrid" if grid else "white")


def _heatmap(val: np.ndarray, **kw: Any) -> None:
    with warnings.catch_warnings():  # seaborn 0.13 calls Colormap.set_bad, pending deprecation in matplotlib
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        sns.heatmap(val, **kw)


def _tick(v: Any) -> str:
    """A compact tick label: 3 significant digits."""
    if isinstance(v, float | np.floating) and math.isfinite(v):
        return f"{float(v):.3g}"
    return format_value(v)


def sweep_title(manifest: Mapping[str, Any], axes: Sequence[str], n_configs: int, n_seeds: int, steps: int) -> str:
    """Two-line title naming what was swept, how many configs and seeds, and the env steps per run."""
    grid = manifest.get("grid") or "sweep"
    swept = "swept " + " × ".join(axes) if axes else "seeds only"
    seeds = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"
    configs = f"{n_configs} config{'s' if n_configs != 1 else ''}"
    return f"DQN on CartPole-v1, grid '{grid}': {swept}\n{configs} × {seeds}, {steps:,} env steps per run"


# --------------------------------------------------------------------------------------------------


class CurveLayout(NamedTuple):
    """How learning curves are split: colour by ``hue``, panels by ``col`` and ``row`` (names or None)."""

    hue: str | None  # an axis name, "label" (one colour per config) or None (a single config)
    col: str | None
    row: str | None
    configs: list[int]  # the configs drawn
    note: str  # e.g. "top 8 of 64 configs by final IQM"


def curve_layout(summary: pd.DataFrame, axes: Sequence[str]) -> CurveLayout:
    """All configs with colour = first axis and panels = the next one or two, when that stays readable;
    otherwise the ``TOP_K`` configs by rank on one panel, one colour each."""
    configs = summary.sort_values("rank")["config"].astype(int).tolist()
    if len(configs) <= 1 or not axes:
        return CurveLayout(None, None, None, configs[:1], "")
    sizes = {a: summary[a].nunique() for a in axes}
    panels = math.prod(sizes[a] for a in axes[1:])
    if len(axes) <= 3 and sizes[axes[0]] <= MAX_HUE and panels <= MAX_PANELS:
        return CurveLayout(axes[0], axes[1] if len(axes) > 1 else None, axes[2] if len(axes) > 2 else None, configs, "")
    k = min(TOP_K, len(configs))
    return CurveLayout("label", None, None, configs[:k], f"top {k} of {len(configs)} configs by final IQM")


def learning_curves(
    curves: pd.DataFrame,
    summary: pd.DataFrame,
    layout: CurveLayout,
    labels: Mapping[int, str],
    *,
    title: str,
    ylabel: str,
) -> Figure:
    """IQM learning curves with 95% CI bands, one line per config, coloured and faceted as ``layout`` says.

    ``curves``: ``config, step, iqm, ci_low, ci_high`` (``aggregate.eval_curves`` / ``train_curves``).
    """
    meta = summary.set_index("config")
    df = curves[curves["config"].isin(layout.configs)].copy()
    if layout.hue == "label":
        df["_hue"] = df["config"].map(labels)
        hue_values = [labels[c] for c in layout.configs]
    elif layout.hue is None:
        df["_hue"] = df["config"].map(labels)
        hue_values = sorted_values(df["_hue"]) or [""]
    else:
        df["_hue"] = df["config"].map(meta[layout.hue])
        hue_values = sorted_values(meta.loc[layout.configs, layout.hue])
    cols = sorted_values(meta[layout.col]) if layout.col else [None]
    rows = sorted_values(meta[layout.row]) if layout.row else [None]
    wrap = layout.row is None and len(cols) > 4
    n_cols = 4 if wrap else len(cols)
    n_rows = math.ceil(len(cols) / 4) if wrap else len(rows)
    panels = [(r, c) for r in rows for c in cols]
    palette = _palette(hue_values)

    legend_width = 0.0
    if layout.hue is not None:
        longest = max(len(format_value(h)) for h in hue_values)
        legend_width = 0.7 + 0.075 * max(18 if layout.hue == "label" else len(label(layout.hue)), longest)
    panel_width = 5.5 if n_cols == 1 else 3.3
    with _style():
        fig = _figure(max(7.0, 0.5 + panel_width * n_cols + legend_width), 1.2 + 2.5 * n_rows)
        grid = fig.subplots(n_rows, n_cols, sharex=True, sharey=True, squeeze=False)
        for i, (r, c) in enumerate(panels):
            ax = grid.flat[i] if wrap else grid[rows.index(r), cols.index(c)]
            sel = df
            if layout.col:
                sel = sel[sel["config"].map(meta[layout.col]) == c]
            if layout.row:
                sel = sel[sel["config"].map(meta[layout.row]) == r]
            for h in hue_values:
                for _, line in sel[sel["_hue"] == h].groupby("config", sort=False):
                    line = line.sort_values("step")
                    colour = palette[h]
                    ax.plot(line["step"], line["iqm"], color=colour, lw=1.6, label=format_value(h))
                    ax.fill_between(line["step"], line["ci_low"], line["ci_high"], color=colour, alpha=0.18, lw=0)
            parts = [f"{label(a)} = {format_value(v)}" for a, v in ((layout.row, r), (layout.col, c)) if a]
            if parts:
                ax.set_title("\n".join(parts), fontsize=9)
            ax.axhline(SOLVED_RETURN, color="0.4", lw=0.8, ls=":")
            ax.set_ylim(0, MAX_RETURN * 1.04)
            ax.xaxis.set_major_formatter(FuncFormatter(_steps_formatter))
        for j in range(len(panels), n_rows * n_cols):
            grid.flat[j].set_visible(False)
        for ax in grid[-1, :]:
            ax.set_xlabel(STEP_LABEL)
        for ax in grid[:, 0]:
            ax.set_ylabel(ylabel)
        if wrap:  # hidden panels leave the last row short: label the x axis of the panels above them
            for j in range(len(panels) - n_cols, len(panels)):
                grid.flat[j].set_xlabel(STEP_LABEL)
                grid.flat[j].xaxis.set_tick_params(labelbottom=True)
        if layout.hue is not None:
            handles = [mpl.lines.Line2D([], [], color=palette[h], lw=2) for h in hue_values]
            names = [format_value(h) for h in hue_values]
            legend_title = "config (best first)" if layout.hue == "label" else label(layout.hue)
            fig.legend(handles, names, title=legend_title, loc="outside right center", fontsize=8, title_fontsize=9)
        note = f" ({layout.note})" if layout.note else ""
        fig.suptitle(f"{title}{note}\ndotted line: solved (475); bands: 95% bootstrap CI over seeds", fontsize=10)
    return fig


def heatmaps(cells: pd.DataFrame, *, title: str) -> Figure:
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
    with _style(grid=False):
        fig = _figure(0.8 + (cw + 1.6) * n_cols, 1.0 + (ch + 0.9) * n_rows)
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
                text[yi, xi] = f"{r.iqm:.0f}\n[{r.ci_low:.0f}, {r.ci_high:.0f}]" if show_ci else f"{r.iqm:.0f}"
            _heatmap(
                val,
                ax=ax,
                annot=text,
                fmt="",
                cmap="viridis",
                vmin=0,
                vmax=MAX_RETURN,
                annot_kws={"fontsize": 9 if len(xs) <= 5 else 7},
                xticklabels=[_tick(v) for v in xs],
                yticklabels=[_tick(v) for v in ys],
                cbar_kws={"label": "final eval return (IQM)"},
                linewidths=0.5,
                linecolor="white",
            )
            ax.invert_yaxis()  # small values at the bottom, like a plot
            ax.set_xlabel(label(xa))
            ax.set_ylabel(label(ya))
            ax.tick_params(axis="y", rotation=0)
            long = max(len(_tick(v)) for v in xs) > 6 and len(xs) > 6
            ax.tick_params(axis="x", rotation=30 if long else 0)
            n_pooled = int(d["n_configs"].max()) if len(d) else 1
            if n_pooled > 1:
                ax.set_title(f"pooled over the other axes ({n_pooled} configs per cell)", fontsize=9)
        for j in range(n, n_rows * n_cols):
            grid.flat[j].set_visible(False)
        fig.suptitle(f"{title}\nfinal greedy eval return: IQM over seeds [95% bootstrap CI]", fontsize=10)
    return fig


def ranking(summary: pd.DataFrame, labels: Mapping[int, str], *, title: str, top: int = MAX_RANKED) -> Figure:
    """Every config (or the ``top`` best) ranked by final IQM: point and 95% CI of final return and of AUC."""
    s = summary.sort_values("rank").head(top)
    n = len(s)
    y = np.arange(n)[::-1]
    names = [labels[int(c)] for c in s["config"]]
    with _style():
        fig = _figure(9.5 + 0.045 * max(len(t) for t in names), 1.3 + 0.26 * n)
        a1, a2 = fig.subplots(1, 2, sharey=True, width_ratios=[1.3, 1])
        for ax, m, lim, xl in (
            (a1, "final_iqm", MAX_RETURN, "final greedy eval return (IQM, 95% CI)"),
            (a2, "auc_iqm", 1.0, "normalised area under eval curve (IQM, 95% CI)"),
        ):
            p, lo, hi = (s[c].to_numpy(np.float64) for c in (m, f"{m}_ci_low", f"{m}_ci_high"))
            colour = sns.color_palette("colorblind")[0]
            ax.errorbar(p, y, xerr=[p - lo, hi - p], fmt="o", color=colour, ms=4, capsize=2, lw=1.2)
            ax.set_xlim(-0.02 * lim, lim * 1.02)
            ax.set_xlabel(xl)
            if m == "final_iqm":
                ax.axvline(SOLVED_RETURN, color="0.4", lw=0.8, ls=":")
        a1.set_yticks(y, [f"#{r}  {t}" for r, t in zip(s["rank"], names, strict=True)], fontsize=8)
        a1.set_ylim(-0.7, n - 0.3)
        shown = f"top {n} of {len(summary)} configs" if n < len(summary) else f"all {n} configs"
        shown = "the only config" if len(summary) == 1 else shown
        fig.suptitle(f"{title}\n{shown}, best first (dotted line: solved, 475)", fontsize=10)
    return fig


def sensitivity(sens: pd.DataFrame, *, title: str) -> Figure:
    """Each hyperparameter's marginal effect on final IQM (other axes pooled), one panel per axis, with CIs.

    ``sens``: ``axis, value, label, iqm, ci_low, ci_high, n_configs`` (``aggregate.sensitivity``).
    """
    axes = list(dict.fromkeys(sens["axis"]))
    n = len(axes)
    n_cols = min(n, 4)
    n_rows = math.ceil(n / n_cols)
    colour = sns.color_palette("colorblind")[0]
    with _style():
        fig = _figure(0.6 + 3.4 * n_cols, 1.0 + 2.9 * n_rows)
        grid = fig.subplots(n_rows, n_cols, squeeze=False, sharey=True)
        for i, a in enumerate(axes):
            ax = grid.flat[i]
            d = sens[sens["axis"] == a]
            order = sorted_values(d["value"])
            d = d.set_index(d["value"].map(order.index)).sort_index()
            if _numeric(order):
                x = np.asarray(order, dtype=np.float64)
                if use_log(a, order):
                    ax.set_xscale("log")
                if len(order) <= 8:  # ticks at the swept values (a log axis labels its minor ticks otherwise)
                    ax.set_xticks(x, [format_value(v) for v in order])
                    ax.xaxis.set_minor_formatter(NullFormatter())
            else:
                x = np.arange(len(order), dtype=np.float64)
                ax.set_xticks(x, [format_value(v) for v in order])
                ax.set_xlim(-0.5, len(order) - 0.5)
            p, lo, hi = (d[c].to_numpy(np.float64) for c in ("iqm", "ci_low", "ci_high"))
            ax.fill_between(x, lo, hi, color=colour, alpha=0.18, lw=0)
            ax.errorbar(x, p, yerr=[p - lo, hi - p], fmt="o-", color=colour, ms=4, capsize=3, lw=1.4)
            ax.axhline(SOLVED_RETURN, color="0.4", lw=0.8, ls=":")
            ax.set_ylim(0, MAX_RETURN * 1.04)
            ax.set_xlabel(label(a))
            pooled = int(d["n_configs"].max())
            if pooled > 1:
                ax.set_title(f"{pooled} configs pooled per value", fontsize=9)
        for ax in grid[:, 0]:
            ax.set_ylabel("final greedy eval return\n(IQM, 95% CI)")
        for j in range(n, n_rows * n_cols):
            grid.flat[j].set_visible(False)
        fig.suptitle(f"{title}\nsensitivity: each hyperparameter's effect, pooled over the others", fontsize=10)
    return fig


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
        text[i, j] = f"{r.p:.2f}\n[{r.ci_low:.2f}, {r.ci_high:.2f}]"
    names = [f"#{i + 1}  {labels[c]}" for i, c in enumerate(configs)]
    with _style(grid=False):
        fig = _figure(3.0 + 0.06 * max(len(t) for t in names) + 0.95 * k, 1.9 + 0.62 * k)
        ax = fig.subplots()
        _heatmap(
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
) -> Figure:
    """Per-seed final returns of ``configs`` (dots, with IQM and 95% CI) and their performance profiles.

    ``final``: ``config, final_eval_return`` per run; ``profiles``: ``config, tau, fraction, ci_low,
    ci_high`` (``aggregate.score_profiles``, for the first ``TOP_PROFILES`` configs): the fraction of seeds
    whose final return exceeds tau (Agarwal et al., 2021).
    """
    k = len(configs)
    names = [labels[c] for c in configs]
    palette = _palette(names)
    meta = summary.set_index("config")
    rng = np.random.default_rng(0)  # jitter only
    with _style():
        fig = _figure(12.0, 1.6 + max(2.6, 0.42 * k))
        a1, a2 = fig.subplots(1, 2, width_ratios=[1.25, 1])
        for i, c in enumerate(configs):
            y = k - 1 - i
            v = final.loc[final["config"] == c, "final_eval_return"].to_numpy(np.float64)
            colour = palette[names[i]]
            a1.scatter(v, y + rng.uniform(-0.18, 0.18, v.size), s=12, color=colour, alpha=0.6, lw=0)
            p, lo, hi = (meta.loc[c, m] for m in ("final_iqm", "final_iqm_ci_low", "final_iqm_ci_high"))
            a1.errorbar([p], [y + 0.32], xerr=[[p - lo], [hi - p]], fmt="D", color="0.15", ms=4, capsize=3)
            d = profiles[profiles["config"] == c]
            if len(d):
                a2.plot(d["tau"], d["fraction"], color=colour, lw=1.6, label=f"#{i + 1}", drawstyle="steps-post")
                a2.fill_between(d["tau"], d["ci_low"], d["ci_high"], color=colour, alpha=0.15, lw=0, step="post")
        a1.set_yticks(np.arange(k)[::-1], [f"#{i + 1}  {t}" for i, t in enumerate(names)], fontsize=8)
        a1.set_xlim(-10, MAX_RETURN + 10)
        a1.set_ylim(-0.6, k - 0.4)
        a1.set_xlabel("final greedy eval return (dots: seeds; diamond: IQM, 95% CI)")
        a1.axvline(SOLVED_RETURN, color="0.4", lw=0.8, ls=":")
        a2.set_xlim(0, MAX_RETURN)
        a2.set_ylim(-0.02, 1.02)
        a2.set_xlabel("final greedy eval return τ")
        a2.set_ylabel("fraction of seeds with return > τ")
        n_prof = profiles["config"].nunique()
        which = "" if n_prof == 1 else f" of the top {n_prof}"
        a2.set_title(f"performance profile{'s' if n_prof > 1 else ''}{which} (95% CI bands)", fontsize=9)
        a2.legend(fontsize=8, loc="lower left", title="config", title_fontsize=8)
        which = "the only config" if k == 1 else f"the top {k} configs"
        fig.suptitle(f"{title}\nscore distribution of {which}", fontsize=10)
    return fig


def save(fig: Figure, path) -> None:
    """Writes ``fig`` as PNG to ``path`` atomically."""
    from .tables import _atomic_write

    _atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI))
