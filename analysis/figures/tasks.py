"""The figure of a sweep over several tasks: each setting's normalised score pooled over the tasks
(``summaries.tasks``), with every task's own IQM beside it."""

from __future__ import annotations

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from analysis.figures.style import figure, style
from analysis.summaries.tasks import AcrossTasks

MAX_SETTINGS = 25  # settings shown, best first
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _profiles(ax, found: AcrossTasks) -> None:
    """The top settings' performance profiles over normalised scores, with Clopper-Pearson bands."""
    labels = list(dict.fromkeys(found.profiles["label"])) if len(found.profiles) else []
    colours = dict(zip(labels, sns.color_palette("viridis", len(labels)), strict=True))
    for label in labels:
        d = found.profiles[found.profiles["label"] == label]
        ax.plot(d["tau"], d["share"], color=colours[label], lw=1.6, label=label)
        ax.fill_between(d["tau"], d["ci_low"], d["ci_high"], color=colours[label], alpha=0.15, lw=0)
    ax.axvline(1.0, color="0.4", lw=0.8, ls=":")
    ax.set_xlabel("normalised score τ")
    ax.set_ylabel("share of runs (all tasks) scoring ≥ τ")
    ax.set_ylim(-0.02, 1.02)
    if labels:
        ax.legend(fontsize=7, title=f"top {len(labels)}", title_fontsize=7, loc="lower left", framealpha=0.85)


def across_tasks(found: AcrossTasks, *, title: str, top: int = MAX_SETTINGS) -> Figure:
    """Left: each setting's IQM of normalised final scores over every task pooled, with its 95% CI, and each
    task's own IQM as a marker; middle: the optimality gap with its 95% CI (best first, at most ``top``); right:
    the top settings' performance profiles over normalised scores, every task's runs pooled."""
    s = found.table.head(top)
    n = len(s)
    y = np.arange(n)[::-1]
    names = s["label"].tolist()
    colours = dict(zip(found.tasks, sns.color_palette("colorblind", len(found.tasks)), strict=True))
    with style():
        fig = figure(13.5 + 0.05 * max(len(t) for t in names), max(3.6, 1.9 + 0.28 * n))
        a1, a2, a3 = fig.subplots(1, 3, width_ratios=[1.4, 1, 1.2])
        a2.sharey(a1)
        a2.tick_params(labelleft=False)
        err = np.vstack([s["iqm"] - s["iqm_ci_low"], s["iqm_ci_high"] - s["iqm"]])
        a1.errorbar(s["iqm"], y, xerr=err, fmt="o", color="k", ms=5, capsize=2, lw=1.4, label="all tasks (IQM, 95% CI)")
        at = dict(zip(s["label"], y, strict=True))
        per = found.per_task[found.per_task["label"].isin(at)]
        for i, env in enumerate(found.tasks):
            d = per[per["env"] == env]
            a1.scatter(d["iqm"], [at[v] + 0.22 for v in d["label"]], marker=MARKERS[i % len(MARKERS)], s=22,
                       color=colours[env], label=f"{env} (IQM)", zorder=3)  # fmt: skip
        a1.axvline(0.0, color="0.5", lw=0.8, ls="--")
        a1.axvline(1.0, color="0.4", lw=0.8, ls=":")
        a1.set_xlabel("normalised final score (0: random policy, 1: reference return)")
        a1.set_yticks(y, [f"#{r}  {t}" for r, t in zip(s["rank"], names, strict=True)], fontsize=8)
        a1.set_ylim(-0.7, n - 0.3 + 0.3)
        handles, names_ = a1.get_legend_handles_labels()
        fig.legend(handles, names_, fontsize=8, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
        gap = np.vstack([s["gap"] - s["gap_ci_low"], s["gap_ci_high"] - s["gap"]])
        a2.errorbar(s["gap"], y, xerr=gap, fmt="o", color="k", ms=5, capsize=2, lw=1.4)
        a2.set_xlabel("optimality gap, lower better (95% CI)")
        a2.set_xlim(left=min(0.0, float(np.nanmin(s["gap_ci_low"])) if n else 0.0))
        _profiles(a3, found)
        shown = f"top {n} of {len(found.table)} settings" if n < len(found.table) else f"all {n} settings"
        fig.suptitle(f"{title}\n{shown} over {', '.join(found.tasks)}, best first", fontsize=10)
    return fig
