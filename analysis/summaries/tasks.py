"""Statistics across tasks, for a sweep with ``env`` as an axis: each hyperparameter setting (the values of the
other axes) scored on every task at once.

Returns are first put on one scale, rliable-style: a run's **normalised score** is
``(return - random) / (reference - random)``, 0 for a uniformly random policy and 1 at the task's reference
return: its solved return where it has one (gymnasium's reward threshold: 475 on CartPole-v1, -100 on Acrobot-v1,
-110 on MountainCar-v0), else its highest possible return. A task without a reference or a random return (MinAtar's
scores have no top and no solved threshold) cannot be put on that scale and is left out, with a note.

A setting's runs on every task it has are then pooled (``aggregate.grouped_intervals``: each task's config is a
stratum keeping its share of the runs, seeds paired across them) for the IQM, mean and median of the normalised
scores with 95% intervals (the IQM's from 8 seeds on by the expanded percentile bootstrap over seeds where no task's
runs are all one value, the others' by the worst-case atom: ``intervals.pooled_interval(method="expanded")``), and
its **optimality gap** (Agarwal et al., 2021): the mean of ``max(1 - score, 0)``, how far its runs fall short of
the reference, lower better (its interval is that of the mean of ``min(score, 1)``, mirrored). Settings that do
not cover every task kept are left out of the ranking.

Beside them, **P(best > setting) across tasks** (rliable's average probability of improvement: each task's
P(X > Y) of final returns, runs paired by seed, averaged over the tasks; ``improvement.improvement_across``), with
Holm's correction over the comparisons with the best, and the top settings' **performance profiles** over
normalised scores (every task's runs pooled; Clopper-Pearson bands).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.stats import point as stats
from analysis.stats.improvement import holm, improvement_across
from analysis.stats.intervals import profile_interval
from analysis.stats.summary import N_BOOT, SEED, task_scales
from analysis.summaries.aggregate import grouped_intervals
from analysis.tables.format import format_value

STATISTICS = ("iqm", "mean", "median")
POOLED = "expanded"  # the pooled intervals' method (intervals.pooled_interval): the seed bootstrap for the IQM
FWER = 0.05  # the family-wise error rate of the marks "the best setting clearly beats this one" (Holm)
PROFILED = 5  # settings whose performance profiles are drawn, best first
PROFILE_POINTS = 101
# The columns of ``AcrossTasks.table`` besides the setting's axes.
TABLE_COLUMNS = ("rank", "label", "n_tasks", "n_runs", "clear") + tuple(
    f"{s}{end}" for s in (*STATISTICS, "gap", "p_best") for end in ("", "_ci_low", "_ci_high")
)


class Normaliser(NamedTuple):
    """A task's normalised score: ``(return - random) / (reference - random)``."""

    random: float
    reference: float

    def __call__(self, returns: np.ndarray | float) -> np.ndarray:
        return (np.asarray(returns, dtype=np.float64) - self.random) / (self.reference - self.random)


def normaliser(scale: stats.Scale) -> Normaliser | None:
    """The normalised score of a task with this ``Scale`` (reference: its solved return, else its highest
    return); None where it has no reference or no random return, or the two coincide."""
    reference = scale.solved if scale.solved is not None else scale.high
    if reference is None or scale.random is None or reference == scale.random:
        return None
    return Normaliser(float(scale.random), float(reference))


def normalised_bounds(scales: Mapping[str, stats.Scale]) -> tuple[float, float] | None:
    """The lowest and highest normalised score possible on these tasks (None where one is unbounded)."""
    ends = []
    for scale in scales.values():
        norm = normaliser(scale)
        if norm is None or scale.low is None or scale.high is None:
            return None
        ends += sorted(norm(np.array([scale.low, scale.high])).tolist())
    return (min(ends), max(ends)) if ends else None


class AcrossTasks(NamedTuple):
    """What ``across_tasks`` found: one row per setting, best first, and what was left out."""

    table: pd.DataFrame  # settings: the other axes, label, n_tasks, n_runs, iqm/mean/median/gap with ci_low/ci_high
    tasks: list[str]  # the tasks pooled, sorted
    normalisers: dict[str, Normaliser]  # each pooled task's
    left_out: list[str]  # tasks without a normalised score
    incomplete: list[str]  # settings (labels) that lack a pooled task's runs, left out of the table
    per_task: pd.DataFrame  # each (setting, task): its config and normalised final IQM (the figure's markers)
    profiles: pd.DataFrame = pd.DataFrame()  # the top settings' performance profiles over normalised scores


def setting_axes(axes: Sequence[str]) -> list[str]:
    """The axes that make a setting: every swept axis but ``env``."""
    return [a for a in axes if a != "env"]


def setting_label(row: Mapping, by: Sequence[str]) -> str:
    """``lr=0.001, eps_end=0.05``; ``the sweep's config`` where env is the only axis."""
    return ", ".join(f"{a}={format_value(row[a])}" for a in by) if by else "the sweep's config"


def across_tasks(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    axes: Sequence[str],
    scales: Mapping[str, stats.Scale],
    *,
    n_boot: int = N_BOOT,
    seed: int = SEED,
) -> AcrossTasks | None:
    """Each setting's normalised final scores pooled over the tasks (see the module docstring); None for a sweep
    of one task. ``scales``: each environment's ``Scale`` (``RunTables.tasks``)."""
    found = task_scales(runs, scales)
    if len(found) < 2:
        return None
    norms = {env: n for env, s in found.items() if (n := normaliser(s)) is not None}
    left_out = [env for env in found if env not in norms]
    by = setting_axes(axes)
    keep = runs[runs["env"].astype(str).isin(norms)].copy()
    score = np.full(len(keep), np.nan)
    env_col = keep["env"].astype(str).to_numpy()
    for env, norm in norms.items():
        at = env_col == env
        score[at] = norm(keep["final_eval_return"].to_numpy(np.float64)[at])
    keep["normalised"] = score
    tasks = sorted(norms)
    empty = pd.DataFrame(columns=[*by, "label", "n_tasks", "n_runs"])
    if not tasks:
        return AcrossTasks(empty, [], {}, left_out, [], pd.DataFrame())  # nothing to pool
    # Settings that have a config on every pooled task.
    configs = summary[summary["config"].isin(keep["config"].unique())]
    env_of = keep.groupby("config")["env"].first().astype(str)
    configs = configs.assign(env=configs["config"].map(env_of))
    key = configs[by].astype(str).agg("\x1f".join, axis=1) if by else pd.Series("", index=configs.index)
    covered = configs.groupby(key)["env"].nunique()
    full = set(covered.index[covered == len(tasks)])
    incomplete = sorted(
        {setting_label(r, by) for k, r in zip(key, configs.to_dict("records"), strict=True) if k not in full}
    )
    configs = configs[key.isin(full).to_numpy()]
    keep = keep[keep["config"].isin(configs["config"])]
    if not len(configs):
        return AcrossTasks(empty, tasks, norms, left_out, incomplete, pd.DataFrame())
    bounds = normalised_bounds({e: found[e] for e in tasks})
    lo, hi = bounds if bounds is not None else (float(np.nanmin(score)), float(np.nanmax(score)))
    scale = stats.Scale(lo, hi, None)
    kw = dict(n_boot=n_boot, seed=seed)
    # Every call groups the same configs by the same axes, so the groups come in the same order.
    parts = []
    for statistic in STATISTICS:
        g = grouped_intervals(configs, keep, "normalised", by, statistic=statistic, scale=scale, method=POOLED, **kw)
        if not parts:
            parts.append(g[[*by, "n_configs", "n_runs"]].rename(columns={"n_configs": "n_tasks"}))
        parts.append(g[[statistic, "ci_low", "ci_high"]].set_axis(
            [statistic, f"{statistic}_ci_low", f"{statistic}_ci_high"], axis=1))  # fmt: skip
    # Optimality gap: 1 - mean(min(score, 1)); its interval that of the mean, mirrored.
    capped = keep.assign(normalised=np.minimum(keep["normalised"], 1.0))
    g = grouped_intervals(configs, capped, "normalised", by, statistic="mean",
                          scale=stats.Scale(min(lo, 1.0), 1.0, None), **kw)  # fmt: skip
    parts.append(
        pd.DataFrame({"gap": 1.0 - g["mean"], "gap_ci_low": 1.0 - g["ci_high"], "gap_ci_high": 1.0 - g["ci_low"]})
    )
    table = pd.concat([p.reset_index(drop=True) for p in parts], axis=1)
    table.insert(len(by), "label", [setting_label(r, by) for r in table.to_dict("records")])
    table = table.sort_values(["iqm", "iqm_ci_low", "mean"], ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    per = keep.groupby("config")["normalised"].apply(lambda v: float(stats.iqm(v.to_numpy()[None])[0]))
    per_task = configs[[*by, "config", "env"]].assign(iqm=configs["config"].map(per).to_numpy())
    per_task["label"] = [setting_label(r, by) for r in per_task.to_dict("records")]
    per_task = per_task.reset_index(drop=True)
    table = _versus_best(table, _seed_cube(keep, per_task, table["label"].tolist(), tasks))
    profiles = _profiles(keep, per_task, table["label"].head(PROFILED).tolist(), lo)
    return AcrossTasks(table, tasks, norms, left_out, incomplete, per_task, profiles)


def _seed_cube(runs: pd.DataFrame, per_task: pd.DataFrame, labels: list[str], tasks: list[str]) -> np.ndarray:
    """``[settings, tasks, seeds]`` final returns (NaN: missing), settings in the order of ``labels``; a setting
    with several configs on one task (a sampled axis) gets NaN there."""
    seeds = np.sort(runs["seed"].unique())
    cube = np.full((len(labels), len(tasks), len(seeds)), np.nan)
    at = {label: i for i, label in enumerate(labels)}
    count = per_task.groupby(["label", "env"])["config"].transform("size")
    for row, n in zip(per_task.to_dict("records"), count, strict=True):
        if n != 1:
            continue
        mine = runs[runs["config"] == row["config"]]
        cube[at[row["label"]], tasks.index(row["env"]), np.searchsorted(seeds, mine["seed"])] = mine[
            "final_eval_return"
        ]
    return cube


def _versus_best(table: pd.DataFrame, cube: np.ndarray) -> pd.DataFrame:
    """``table`` with P(best > setting) across tasks (``improvement_across``: each task's P(X > Y), seeds paired,
    averaged over the tasks) and its interval for every setting after the first, and ``clear``: significant under
    Holm's correction over those comparisons (family-wise error ``FWER``), where the best is ahead."""
    out = table.copy()
    for col in ("p_best", "p_best_ci_low", "p_best_ci_high"):
        out[col] = np.nan
    out["clear"] = False
    if len(out) < 2:
        return out
    found = improvement_across(cube[:1], cube[1:])
    marked = holm(np.where(found.point > 0.5, found.pvalue, np.nan), FWER)
    out.loc[1:, "p_best"], out.loc[1:, "p_best_ci_low"], out.loc[1:, "p_best_ci_high"] = (
        found.point,
        found.low,
        found.high,
    )
    out.loc[1:, "clear"] = marked
    return out


def _profiles(runs: pd.DataFrame, per_task: pd.DataFrame, labels: list[str], low: float) -> pd.DataFrame:
    """Performance profiles over normalised scores of the settings ``labels``, every task's runs pooled: the share
    of runs scoring at least tau, with its Clopper-Pearson interval, tau from ``min(low, 0)`` to the highest score."""
    top = float(np.nanmax(runs["normalised"])) if len(runs) else 1.0
    taus = np.linspace(min(low, 0.0), max(top, 1.0), PROFILE_POINTS)
    parts = []
    for label in labels:
        scores = runs.loc[runs["config"].isin(per_task.loc[per_task["label"] == label, "config"]), "normalised"]
        iv = profile_interval(scores.to_numpy(np.float64)[None], taus)
        parts.append(pd.DataFrame({"label": label, "tau": taus, "share": iv.point[0], "ci_low": iv.low[0],
                                   "ci_high": iv.high[0]}))  # fmt: skip
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["label", "tau", "share"])
