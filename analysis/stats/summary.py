"""Per-config statistics of a sweep: one row per config with statistics over its seeds and their 95% CIs.

Pure functions of the ``runs`` and ``evals`` DataFrames (see ``tables``); reading and writing
``summary.parquet`` is ``tables``' job. ``seed_layout`` is the one place that decides where a run sits in a
``[configs, seeds]`` matrix; every statistic over seeds is computed on that layout, whose columns are seeds
(the same seed in the same column for every config), so intervals can pair configs by seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.stats import intervals
from analysis.stats import point as stats

N_BOOT = intervals.N_BOOT  # replicates for the summary's intervals
SEED = 0  # the summary's replicate seed: the same tables always give the same numbers
# Stored in summary.parquet's metadata; a summary with another value is recomputed, not trusted. Bump it when a
# column changes meaning.
SUMMARY_FORMAT = "3"  # 3: intervals with a worst-case atom, seed_median, shortfall, frac_solved CI, rank
# Summary column suffix -> the statistic of ``intervals`` it holds.
SUMMARY_STATISTICS = {
    "final": {"mean": "mean", "seed_median": "median", "iqm": "iqm", "shortfall": "shortfall"},
    "auc": {"mean": "mean", "seed_median": "median", "iqm": "iqm"},
}
AUC_RANGE = (0.0, 1.0)  # the normalised AUC's lowest and highest possible values


class SeedLayout(NamedTuple):
    """Where each run of a runs table sits in a ``[configs, seeds]`` matrix."""

    configs: np.ndarray  # [C] config ids, sorted: matrix row i holds config configs[i]
    row: np.ndarray  # [runs] each run's matrix row (its config's index in configs)
    col: np.ndarray  # [runs] each run's matrix column: its seed's index among all seeds of the sweep
    n_cols: int  # the distinct seeds of the sweep


def rank_within(groups: np.ndarray, n_groups: int, key: np.ndarray | None = None) -> np.ndarray:
    """Each element's 0-based position within its group, ordered by ``key`` (by position where ``None``).

    ``groups [n]`` holds ints in ``[0, n_groups)``; returns ``[n]`` int64.
    """
    key = np.arange(len(groups)) if key is None else key
    order = np.lexsort((key, groups))
    starts = np.concatenate([[0], np.cumsum(np.bincount(groups, minlength=n_groups))[:-1]])
    pos = np.empty(len(groups), np.int64)
    pos[order] = np.arange(len(order)) - starts[groups[order]]
    return pos


def seed_layout(runs: pd.DataFrame) -> SeedLayout:
    """The ``[configs, seeds]`` layout of ``runs`` (columns ``config``, ``seed``): configs sorted, seeds sorted.

    Column ``j`` holds the same seed for every config (every config of a sweep trains a seed from the same key),
    and a config without that seed has a gap there.
    """
    configs, row = np.unique(runs["config"].to_numpy(), return_inverse=True)
    seeds, col = np.unique(runs["seed"].to_numpy(), return_inverse=True)
    return SeedLayout(configs, row, col.astype(np.int64), len(seeds))


def seed_matrix(runs: pd.DataFrame, values: np.ndarray | str) -> tuple[np.ndarray, np.ndarray]:
    """Per-run values as ``[configs, max_seeds]`` (``seed_layout``; NaN pads).

    Returns ``(matrix, configs)``. ``values`` is a column name of ``runs`` or a ``[runs]`` array in row order.
    """
    v = runs[values].to_numpy(np.float64) if isinstance(values, str) else np.asarray(values, np.float64)
    layout = seed_layout(runs)
    out = np.full((len(layout.configs), layout.n_cols), np.nan)
    out[layout.row, layout.col] = v
    return out, layout.configs


def stopped_steps(runs: pd.DataFrame) -> pd.Series:
    """``{config: env step}`` (sorted by config): the step a config's runs stopped at (``stopped_at``, the
    largest over its seeds, which live or stop together), a halving sweep's. ``runs`` must have the column."""
    return runs.groupby("config", sort=True)["stopped_at"].max().astype(np.int64)


def config_table(runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """One row per config (sorted by config id): ``config``, its axes values and ``n_seeds``."""
    g = runs.groupby("config", sort=True)
    out = g[list(axes)].first() if axes else pd.DataFrame(index=g.size().index)
    out["n_seeds"] = g.size().astype(np.int32)
    return out.reset_index()


def run_auc(runs: pd.DataFrame, evals: pd.DataFrame, scale: stats.Scale = stats.CARTPOLE) -> np.ndarray:
    """Normalised area under each run's evaluation curve, in ``[0, 1]``. ``[runs]`` in the row order of ``runs``.

    A run's evaluations at steps ``s_1 < ... < s_k`` with returns ``r_1 .. r_k`` define a step function worth
    ``r_i`` over the training steps ``(s_(i-1), s_i]`` since the previous evaluation (``s_0 = 0``). The AUC is
    its area, measured from the task's lowest return, divided by that of a perfect agent (the highest return,
    ``scale.high``: 500 for CartPole-v1, 0 for Acrobot) over the same span::

        AUC = sum_i (s_i - s_(i-1)) * (r_i - low) / ((high - low) * sum_i (s_i - s_(i-1)))

    so each evaluation weighs as many steps as it stands for, and uneven spacing counts correctly; with
    evaluations every ``eval_every`` steps from step ``eval_every`` on it is the mean eval return, scaled to
    [0, 1]. A task without a highest return (MinAtar's) gets the time-weighted mean return itself, unscaled. An
    evaluation at step 0 covers no training and gets no weight, unless it is the run's only one (then the AUC is
    its scaled return); several evaluations at one step count as their mean. A NaN return is a missing
    evaluation: the steps it stands for leave both the area and the span (it does not count as 0). NaN for a
    run without any evaluation.
    """
    key = runs.set_index(["config", "seed"]).index
    if len(evals) == 0:
        return np.full(len(runs), np.nan)
    per = evals.groupby(["config", "seed", "step"], sort=True)["eval_return"].mean().reset_index()
    run = [per["config"], per["seed"]]
    step = per["step"].astype(np.float64)
    ret = per["eval_return"].astype(np.float64)
    known = ret.notna()
    weight = (step - step.groupby(run).shift(1, fill_value=0.0)).clip(lower=0.0).where(known, 0.0)
    area = (weight * ret.fillna(0.0)).groupby(run).sum()
    span = weight.groupby(run).sum()
    only = ret.groupby(run).mean()  # runs whose evaluations all cover no step (step 0): their mean return
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = pd.Series(np.where(span > 0, area / span, only), index=area.index)
    mean = auc.reindex(key).to_numpy(np.float64)
    if scale.high is None or scale.low is None:
        return mean
    return (mean - scale.low) / (scale.high - scale.low)


def summary_columns(axes: Sequence[str], *, stopped: bool = False) -> list[str]:
    """The columns of ``summarise``'s table, in order; ``stopped``: with ``stopped_at`` (a halving sweep)."""
    cols = ["config", *axes, "n_seeds", *(["stopped_at"] if stopped else [])]
    for prefix, names in SUMMARY_STATISTICS.items():
        for m in names:
            cols += [f"{prefix}_{m}", f"{prefix}_{m}_ci_low", f"{prefix}_{m}_ci_high"]
    return [*cols, "frac_solved", "frac_solved_ci_low", "frac_solved_ci_high", "n_diverged", "rank"]


def task_scales(runs: pd.DataFrame, scales: Mapping[str, stats.Scale] | None) -> dict[str, stats.Scale]:
    """Each environment of ``runs`` (its ``env`` column; CartPole-v1 where there is none, as in run folders from
    before environments were a field) with its scale from ``scales`` (CartPole-v1's where none is given)."""
    names = sorted(runs["env"].astype(str).unique()) if "env" in runs.columns and len(runs) else ["CartPole-v1"]
    return {n: (scales or {}).get(n, stats.CARTPOLE) for n in names}


def summarise(
    runs: pd.DataFrame,
    evals: pd.DataFrame,
    axes: Sequence[str],
    *,
    scales: Mapping[str, stats.Scale] | None = None,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    seed: int = SEED,
) -> pd.DataFrame:
    """``summarise_task`` of each environment's configs (``scales``: each environment's ``Scale``, from the
    manifest's ``tasks``), one table sorted by config; configs rank within their environment."""
    found = task_scales(runs, scales)
    kw = dict(n_boot=n_boot, confidence=confidence, seed=seed)
    if len(found) == 1:
        return summarise_task(runs, evals, axes, scale=next(iter(found.values())), **kw)
    parts = []
    for name, scale in found.items():
        mine = runs[runs["env"].astype(str) == name]
        theirs = evals[evals["config"].isin(mine["config"].unique())]
        parts.append(summarise_task(mine, theirs, axes, scale=scale, **kw))
    return pd.concat(parts).sort_values("config").reset_index(drop=True)


def summarise_task(
    runs: pd.DataFrame,
    evals: pd.DataFrame,
    axes: Sequence[str],
    *,
    scale: stats.Scale = stats.CARTPOLE,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    seed: int = SEED,
) -> pd.DataFrame:
    """One row per config: its axes, ``n_seeds`` and statistics over seeds with their intervals.

    Columns (each statistic with ``_ci_low`` / ``_ci_high``, 95% by default, NaN for fewer than 2 seeds):
      ``final_mean``, ``final_seed_median``, ``final_iqm``: of ``final_eval_return`` (the greedy eval return at
        each run's last evaluation); the median is the median seed (not rliable's median over tasks);
      ``final_shortfall``: mean shortfall below the solved return (``scale.solved``, 475 for CartPole-v1;
        ``stats.shortfall``), lower is better; NaN for a task without a solved return;
      ``auc_mean``, ``auc_seed_median``, ``auc_iqm``: of the normalised area under the eval curve (``run_auc``);
      ``frac_solved``: share of the config's ``n_seeds`` runs whose final eval return reached the solved return,
        with its Clopper-Pearson interval; a run with no evaluation counts as not solved (the return and AUC
        statistics leave it out); NaN for a task without a solved return;
      ``n_diverged``: runs flagged ``diverged``;
      ``rank``: 1 for the best config (``rank``).
    Intervals come from ``intervals.intervals_of`` with a fixed seed, so they are reproducible.

    A sweep whose schedule stops configs early (successive halving: ``runs`` has ``stopped_at``) gets
    ``stopped_at`` after ``n_seeds``: the env step at which the config's statistics stand, its rung if it was
    stopped there (its runs' evaluations end at the rung, so *final* means its last evaluation, at the rung)
    or its ``total_steps``; such configs rank after those that went further (``rank``).
    """
    out = config_table(runs, list(axes))
    if "stopped_at" in runs.columns:
        out.insert(out.columns.get_loc("n_seeds") + 1, "stopped_at", stopped_steps(runs).to_numpy())
    final, _ = seed_matrix(runs, "final_eval_return")
    auc, _ = seed_matrix(runs, run_auc(runs, evals, scale))
    kw = dict(n_boot=n_boot, confidence=confidence, seed=seed, solved=scale.solved or 0.0)
    auc_scale = stats.Scale(0.0, 1.0, None) if scale.high is not None and scale.low is not None else scale
    for prefix, mat, sc in (("final", final, scale), ("auc", auc, auc_scale)):
        names = SUMMARY_STATISTICS[prefix]
        cis = intervals.intervals_of(mat, list(names.values()), bounds=sc.bounds(mat), **kw)
        for col, m in names.items():
            unsolvable = m == "shortfall" and scale.solved is None  # no threshold to fall short of
            out[f"{prefix}_{col}"] = np.nan if unsolvable else cis[m].point
            out[f"{prefix}_{col}_ci_low"] = np.nan if unsolvable else cis[m].low
            out[f"{prefix}_{col}_ci_high"] = np.nan if unsolvable else cis[m].high
    # NaN >= solved is False: a run without a final evaluation is a run not solved, out of n_seeds.
    threshold = np.inf if scale.solved is None else scale.solved
    solved = (runs["final_eval_return"].to_numpy(np.float64) >= threshold).astype(np.float64)
    k = np.nansum(seed_matrix(runs, solved)[0], axis=1)
    n = out["n_seeds"].to_numpy(np.float64)
    out["frac_solved"] = k / n if scale.solved is not None else np.nan
    out["frac_solved_ci_low"], out["frac_solved_ci_high"] = intervals.proportion_interval(k, n, confidence=confidence)
    if scale.solved is None:
        out["frac_solved_ci_low"] = out["frac_solved_ci_high"] = np.nan
    if "diverged" in runs.columns:
        div, _ = seed_matrix(runs, runs["diverged"].astype(np.float64).to_numpy())
        out["n_diverged"] = np.nansum(div, axis=1).astype(np.int32)
    else:
        out["n_diverged"] = np.zeros(len(out), np.int32)
    out["rank"] = rank(out)
    return out


def rank(summary: pd.DataFrame) -> np.ndarray:
    """``[configs]`` int32 rank, 1 = best, from a summary's columns.

    Configs with a ``final_iqm`` interval (2 or more seeds with a final return) come first, by ``final_iqm``;
    ties go to the higher lower end of the mean's interval (the evidence that seeds succeed, which grows with
    the seeds that do, so a config whose one or two seeds happened to reach 500 does not win a tie on luck),
    then ``final_mean``, then ``auc_iqm``. Configs without an interval follow, in the same order; NaN last.

    With a ``stopped_at`` column (successive halving) configs are first ordered by it, the furthest first, and
    by the rules above within each step: a config that trained to the end ranks before every config stopped at
    a rung, whose "final" return is one from earlier in training (and which the schedule already judged
    worse), and a config stopped at a later rung before one stopped at an earlier rung.
    """
    # The IQM often saturates at 500 for several configs: among those, the mean's lower end and then the mean
    # (which see the failing seeds) decide, then the area under the eval curve.
    cols = ("auc_iqm", "final_mean", "final_mean_ci_low", "final_iqm")
    keys = [-np.nan_to_num(summary[c].to_numpy(np.float64), nan=-np.inf) for c in cols]
    keys.append(np.isnan(summary["final_iqm_ci_low"].to_numpy(np.float64)))  # no interval: after the rest
    if "stopped_at" in summary.columns:  # the furthest trained first, whatever its numbers
        keys.append(-summary["stopped_at"].to_numpy(np.float64))
    order = np.lexsort(tuple(keys))
    out = np.empty(len(summary), np.int32)
    out[order] = np.arange(1, len(summary) + 1)
    return out
