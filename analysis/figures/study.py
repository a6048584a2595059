"""The ablation study's figure: one column per task, one row per family of variants (e.g. "DQN + X" and
"Rainbow - X"), each variant's per-iteration score with its band (``summaries.study.iteration_curves``)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from analysis.figures.style import FigureFile, figure, return_axis, save, style
from analysis.stats.point import Scale


def study_figure(
    curves: Mapping[str, pd.DataFrame],
    scales: Mapping[str, Scale],
    rows: Sequence[tuple[str, Sequence[str]]],
    path: str | os.PathLike,
    *,
    ylabel: str,
    title: str,
) -> FigureFile:
    """``curves[task]`` (``iteration_curves``' frame) drawn in a grid: a column per task, a row per ``(row
    title, variants)`` of ``rows``, each variant's line in one colour throughout; returns the figure file."""
    tasks = list(curves)
    palette = sns.color_palette("colorblind", 10)
    # Each row's first variant (its baseline) black; the others one colour each, the same in every column.
    colours = {name: "black" if i == 0 else palette[(i - 1) % 10] for _, names in rows for i, name in enumerate(names)}
    with style():
        fig = figure(4.2 * len(tasks) + 2.6, 3.2 * len(rows) + 0.6)
        axes = fig.subplots(len(rows), len(tasks), squeeze=False)
        for r, (row_title, names) in enumerate(rows):
            for c, task in enumerate(tasks):
                ax, d = axes[r][c], curves[task]
                for name in names:
                    v = d[d["variant"] == name]
                    if v.empty:
                        continue
                    lw = 2.2 if name == names[0] else 1.2
                    ax.plot(v["iteration"], v["value"], color=colours[name], lw=lw, label=name)
                    ax.fill_between(v["iteration"], v["ci_low"], v["ci_high"], color=colours[name], alpha=0.12, lw=0)
                return_axis(ax, scales[task])
                ax.set_title(f"{task}: {row_title}", fontsize=10)
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
                ax.set_xlabel("iteration (1,000 env steps)" if r == len(rows) - 1 else "")
                ax.set_ylabel(ylabel if c == 0 else "")
            axes[r][-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8, frameon=False)
        fig.suptitle(title, fontsize=11)
        save(fig, path)
    return FigureFile(Path(path), title)
