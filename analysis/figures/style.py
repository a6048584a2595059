"""What every figure of ``figures`` and ``compare`` shares: labels, colours, axis formats, layout and saving.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot, no global backend or style change), so this
works headless and does not disturb a notebook's settings. Colours: ``viridis`` (cut short of its pale yellow
end) for ordered hyperparameter values and seaborn's ``colorblind`` palette for unordered ones; both are
distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.stats.point import CARTPOLE, Scale
from analysis.tables.format import format_value
from common.files import atomic_write

DPI = 110

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
LOG_NAMES = {"lr", "tau"}
EVAL_LABEL = "greedy eval return (IQM, 95% CI)"
STEP_LABEL = "environment steps"
# The two per-config statistics shown side by side (ranking, compare): summary column, axis limit, axis label.
IQM_PANELS = (
    ("final_iqm", "final greedy eval return (IQM, 95% CI)"),
    ("auc_iqm", "normalised area under eval curve (IQM, 95% CI)"),
)


class FigureFile(NamedTuple):
    """A figure written to disk, with what it shows."""

    path: Path
    caption: str


def label(name: str) -> str:
    """Axis label for a hyperparameter name."""
    return LABELS.get(name, name.replace("_", " "))


def numeric(values: Sequence[Any]) -> bool:
    """Whether ``values`` are finite numbers (not booleans), so they can sit on a numeric axis."""
    v = pd.Series(list(values))
    return (
        pd.api.types.is_numeric_dtype(v)
        and not pd.api.types.is_bool_dtype(v)
        and bool(np.all(np.isfinite(v.to_numpy(np.float64))))
    )


def use_log(name: str, values: Sequence[Any]) -> bool:
    """Whether values read better on a log axis: rates, and positive values spanning 50x or more."""
    if not numeric(values):
        return False
    v = np.asarray(list(values), dtype=np.float64)
    if v.size < 2 or np.any(v <= 0):
        return False
    return name in LOG_NAMES or v.max() / v.min() >= 50


def _natural_key(v: Any) -> Any:
    """Sort key putting ``"64x64"`` before ``"128x128"`` and numbers in numeric order."""
    if isinstance(v, str):
        return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", v))
    return v


def sorted_values(values: Sequence[Any]) -> list[Any]:
    """Distinct values in natural order."""
    uniq = list(pd.unique(pd.Series(list(values))))
    try:
        return sorted(uniq, key=_natural_key)
    except TypeError:
        return sorted(uniq, key=str)


def palette(values: Sequence[Any]) -> dict[Any, Any]:
    """``{value: colour}``: viridis for several numbers, the colorblind palette otherwise."""
    values = list(values)
    if numeric(values) and len(values) > 1:
        colours = mpl.colormaps["viridis"](np.linspace(0.0, 0.88, len(values)))
    else:
        colours = sns.color_palette("colorblind", max(len(values), 1))
        colours = [colours[i % len(colours)] for i in range(len(values))]
    return dict(zip(values, colours, strict=True))


def tick(v: Any) -> str:
    """A compact tick label: 3 significant digits."""
    if isinstance(v, float | np.floating) and math.isfinite(v):
        return f"{float(v):.3g}"
    return format_value(v)


def sweep_title(
    manifest: Mapping[str, Any], axes: Sequence[str], n_configs: int, n_seeds: int, steps: int, env: str = "CartPole-v1"
) -> str:
    """Two-line title naming the task, what was swept (or sampled, and how), how many configs and seeds, and the
    env steps per run."""
    grid = manifest.get("grid") or "sweep"
    swept = "swept " + " × ".join(axes) if axes else "seeds only"
    space, search = manifest.get("space"), manifest.get("search")
    sampled = [a for a in axes if isinstance(space, Mapping) and a in space]
    if sampled:  # a sampled space is no Cartesian product: name the sampler, not "×"
        method = search.get("method") if isinstance(search, Mapping) else None
        swept = f"{method or 'sampled'} samples of " + ", ".join(sampled)
        rest = [a for a in axes if a not in sampled]
        swept += " × " + " × ".join(rest) if rest else ""
    seeds = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"
    configs = f"{n_configs} config{'s' if n_configs != 1 else ''}"
    return f"DQN on {env}, grid '{grid}': {swept}\n{configs} × {seeds}, {steps:,} env steps per run"


def title_width(text: str, fontsize: float = 10.0) -> float:
    """About how many inches the longest line of ``text`` takes at ``fontsize`` points (DejaVu Sans averages
    some 0.55 em a character), plus a margin: how wide a figure must be for its title not to be cut."""
    return 0.3 + max(len(line) for line in text.splitlines()) * 0.55 * fontsize / 72


def figure(width: float, height: float) -> Figure:
    """An empty figure of ``width`` x ``height`` inches with constrained layout."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def style(grid: bool = True):
    """The seaborn axes style to draw in (a context manager): white, with or without a grid."""
    return sns.axes_style("whitegrid" if grid else "white")


def heatmap(val: np.ndarray, **kw: Any) -> None:
    """``seaborn.heatmap`` without matplotlib's pending-deprecation noise."""
    with warnings.catch_warnings():  # seaborn 0.13 calls Colormap.set_bad, pending deprecation in matplotlib
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        sns.heatmap(val, **kw)


def return_axis(ax: Axes, scale: Scale = CARTPOLE) -> None:
    """A y axis of episode returns on a task's ``scale``: from its lowest to just above its highest return (the
    data's where the task has none), with a dotted line at the solved return (CartPole-v1: 0 to 500, 475)."""
    if scale.solved is not None:
        ax.axhline(scale.solved, color="0.4", lw=0.8, ls=":")
    lo, hi = scale.bounds(np.asarray(ax.get_ylim()) if scale.high is None else None)
    ax.set_ylim(lo - 0.01 * (hi - lo), hi + 0.04 * (hi - lo))


def solved_line(ax: Axes, scale: Scale = CARTPOLE) -> None:
    """A dotted vertical line at the solved return (if the task has one), on an x axis of returns."""
    if scale.solved is not None:
        ax.axvline(scale.solved, color="0.4", lw=0.8, ls=":")


def solved_note(scale: Scale = CARTPOLE) -> str:
    """``"dotted line: solved (475)"`` for a figure's title, or "" for a task without a solved return."""
    return "" if scale.solved is None else f"dotted line: solved ({scale.solved:g})"


def return_limits(scale: Scale, values: np.ndarray) -> tuple[float, float]:
    """The range a return axis or colour bar spans: the task's bounds, the data's where it has none."""
    return scale.bounds(values)


def curve(ax: Axes, d: pd.DataFrame, colour: Any, *, lw: float, label: str) -> None:
    """One learning curve: ``d``'s ``iqm`` against ``step`` with its ``ci_low``..``ci_high`` band."""
    ax.plot(d["step"], d["iqm"], color=colour, lw=lw, label=label)
    ax.fill_between(d["step"], d["ci_low"], d["ci_high"], color=colour, alpha=0.18, lw=0)


def iqm_panels(
    panels: Sequence[Axes], table: pd.DataFrame, y: np.ndarray, scale: Scale = CARTPOLE, **errorbar: Any
) -> None:
    """Each row of ``table`` at height ``y``: final-return IQM (first panel, on the task's ``scale``) and AUC IQM
    (second), with CIs.

    ``table`` has the ``IQM_PANELS`` columns with their ``_ci_low`` / ``_ci_high``; ``errorbar`` styles the
    markers (``ms``, ``capsize``, ...).
    """
    colour = sns.color_palette("colorblind")[0]
    for ax, (m, xlabel) in zip(panels, IQM_PANELS, strict=True):
        p, lo, hi = (table[c].to_numpy(np.float64) for c in (m, f"{m}_ci_low", f"{m}_ci_high"))
        ax.errorbar(p, y, xerr=[p - lo, hi - p], fmt="o", color=colour, **errorbar)
        if m == "final_iqm":
            a, b = return_limits(scale, np.concatenate([lo, p, hi]))
        else:  # the AUC: 0-1, a task without a highest return's mean return unscaled (the data's range)
            a, b = (0.0, 1.0) if scale.high is not None else Scale(0.0, None, None).bounds(np.concatenate([lo, p, hi]))
        ax.set_xlim(a - 0.02 * (b - a), b + 0.02 * (b - a))
        ax.set_xlabel(xlabel)


def save(fig: Figure, path: str | os.PathLike) -> None:
    """Writes ``fig`` as PNG to ``path`` atomically (``io.WriteError`` if it cannot)."""
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=DPI))
