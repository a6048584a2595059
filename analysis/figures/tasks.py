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


def across_tasks(found: AcrossTasks, *, title: str, top: int = MAX_SETTINGS) -> Figure:
    """Left: each setting's IQM of normalised final scores over every task pooled, with its 95% CI, and each
    task's own IQM as a marker; right: the optimality gap with its 95% CI. Best first, at most ``top``."""
    s = found.table.head(top)
    n = len(s)
    y = np.arange(n)[::-1]
    names = s["label"].tolist()
    colours = dict(zip(found.tasks, sns.color_palette("colorblind", len(found.tasks)), strict=True))
    with style():
        fig = figure(9.5 + 0.05 * max(len(t) for t in names), 1.9 + 0.28 * n)
        a1, a2 = fig.subplots(1, 2, sharey=True, width_ratios=[1.4, 1])
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
        shown = f"top {n} of {len(found.table)} settings" if n < len(found.table) else f"all {n} settings"
        fig.suptitle(f"{title}\n{shown} over {', '.join(found.tasks)}, best first", fontsize=10)
    return fig
