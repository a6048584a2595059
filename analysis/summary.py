"""Per-config statistics of a sweep: one row per config with statistics over its seeds and their 95% CIs.

Pure functions of the ``runs`` and ``evals`` DataFrames (see ``tables``); reading and writing
``summary.parquet`` is ``tables``' job. ``seed_layout`` is the one place that decides where a run sits in a
``[configs, seeds]`` matrix; every statistic over seeds is computed on that layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import stats

N_BOOT = 2000  # bootstrap replicates for the summary's intervals
SEED = 0  # the summary's bootstrap seed: the same tables always give the same numbers
# Stored in summary.parquet's metadata; a summary with another value is recomputed, not trusted. Bump it when a
# column changes meaning.
SUMMARY_FORMAT = "2"  # 2: step-weighted AUC; frac_solved counts runs without evaluation
SUMMARY_STATISTICS = {"final": ("mean", "median", "iqm", "optimality_gap"), "auc": ("mean", "median", "iqm")}


class SeedLayout(NamedTuple):
    """Where each run of a runs table sits in a ``[configs, seeds]`` matrix."""

    configs: np.ndarray  # [C] config ids, sorted: matrix row i holds config configs[i]
    row: np.ndarray  # [runs] each run's matrix row (its config's index in configs)
    col: np.ndarray  # [runs] each run's matrix column: its rank among its config's runs by increasing seed
    n_cols: int  # the most runs of any config


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
    """The ``[configs, seeds]`` layout of ``runs`` (columns ``config``, ``seed``): configs sorted, seeds increasing."""
    configs, row = np.unique(runs["config"].to_numpy(), return_inverse=True)
    counts = np.bincount(row, minlength=len(configs))
    col = rank_within(row, len(configs), runs["seed"].to_numpy())
    return SeedLayout(configs, row, col, int(counts.max()) if len(counts) else 0)


def seed_matrix(runs: pd.DataFrame, values: np.ndarray | str) -> tuple[np.ndarray, np.ndarray]:
    """Per-run values as ``[configs, max_seeds]`` (``seed_layout``; NaN pads).

    Returns ``(matrix, configs)``. ``values`` is a column name of ``runs`` or a ``[runs]`` array in row order.
    """
    v = runs[values].to_numpy(np.float64) if isinstance(values, str) else np.asarray(values, np.float64)
    layout = seed_layout(runs)
    out = np.full((len(layout.configs), layout.n_cols), np.nan)
    out[layout.row, layout.col] = v
    return out, layout.configs


def config_table(runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """One row per config (sorted by config id): ``config``, its axes values and ``n_seeds``."""
    g = runs.groupby("config", sort=True)
    out = g[list(axes)].first() if axes else pd.DataFrame(index=g.size().index)
    out["n_seeds"] = g.size().astype(np.int32)
    return out.reset_index()


def run_auc(runs: pd.DataFrame, evals: pd.DataFrame) -> np.ndarray:
    """Normalised area under each run's evaluation curve, in ``[0, 1]``. ``[runs]`` in the row order of ``runs``.

    A run's evaluations at steps ``s_1 < ... < s_k`` with returns ``r_1 .. r_k`` define a step function worth
    ``r_i`` over the training steps ``(s_(i-1), s_i]`` since the previous evaluation (``s_0 = 0``). The AUC is
    its area divided by that of a perfect agent (return 500) over the same span::

        AUC = sum_i (s_i - s_(i-1)) * r_i / (500 * s_k)

    so each evaluation weighs as many steps as it stands for, and uneven spacing counts correctly; with
    evaluations every ``eval_every`` steps from step ``eval_every`` on it is the mean eval return / 500. An
    evaluation at step 0 covers no training and gets no weight, unless it is the run's only one (then the AUC is
    its return / 500); several evaluations at one step count as their mean. NaN for a run with no evaluation.
    """
    key = runs.set_index(["config", "seed"]).index
    if len(evals) == 0:
        return np.full(len(runs), np.nan)
    per = evals.groupby(["config", "seed", "step"], sort=True)["eval_return"].mean().reset_index()
    run = [per["config"], per["seed"]]
    step = per["step"].astype(np.float64)
    weight = (step - step.groupby(run).shift(1, fill_value=0.0)).clip(lower=0.0)
    ret = per["eval_return"].astype(np.float64)
    area = (weight * ret).groupby(run).sum()
    span = weight.groupby(run).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = pd.Series(np.where(span > 0, area / span, ret.groupby(run).mean()), index=area.index)
    return auc.reindex(key).to_numpy(np.float64) / stats.MAX_RETURN


def summary_columns(axes: Sequence[str]) -> list[str]:
    """The columns of ``summarise``'s table, in order."""
    cols = ["config", *axes, "n_seeds"]
    for prefix, names in SUMMARY_STATISTICS.items():
        for m in names:
            cols += [f"{prefix}_{m}", f"{prefix}_{m}_ci_low", f"{prefix}_{m}_ci_high"]
    return [*cols, "frac_solved", "n_diverged", "rank"]


def summarise(
    runs: pd.DataFrame,
    evals: pd.DataFrame,
    axes: Sequence[str],
    *,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    seed: int = SEED,
) -> pd.DataFrame:
    """One row per config: its axes, ``n_seeds`` and statistics over seeds with percentile bootstrap CIs.

    Columns, for ``m`` in ``mean, median, iqm`` (each with ``_ci_low`` / ``_ci_high``, 95% by default):
      ``final_m``: of ``final_eval_return`` (the greedy eval return at each run's last evaluation);
      ``final_optimality_gap``: mean shortfall below 475 (Agarwal et al., 2021), lower is better;
      ``auc_m``: of the normalised area under the eval curve (``run_auc``: step-weighted, in [0, 1]);
      ``frac_solved``: fraction of the config's ``n_seeds`` runs whose final eval return reached 475; a run
        with no evaluation counts as not solved (the return and AUC statistics leave it out);
      ``n_diverged``: runs flagged ``diverged``;
      ``rank``: 1 for the best config by ``final_iqm``, ties broken by ``final_mean``, then ``auc_iqm``.
    Intervals come from ``stats.stratified_bootstrap_cis`` with a fixed seed, so they are reproducible.
    """
    out = config_table(runs, list(axes))
    final, _ = seed_matrix(runs, "final_eval_return")
    auc, _ = seed_matrix(runs, run_auc(runs, evals))
    kw = dict(n_boot=n_boot, confidence=confidence, seed=seed)
    for prefix, mat in (("final", final), ("auc", auc)):
        cis = stats.stratified_bootstrap_cis(mat[..., None], SUMMARY_STATISTICS[prefix], **kw)
        for m, iv in cis.items():
            out[f"{prefix}_{m}"] = iv.point
            out[f"{prefix}_{m}_ci_low"] = iv.low
            out[f"{prefix}_{m}_ci_high"] = iv.high
    # NaN >= 475 is False: a run without a final evaluation is a run not solved, out of n_seeds.
    solved = (runs["final_eval_return"].to_numpy(np.float64) >= stats.SOLVED_RETURN).astype(np.float64)
    out["frac_solved"] = stats.mean(seed_matrix(runs, solved)[0])
    if "diverged" in runs.columns:
        div, _ = seed_matrix(runs, runs["diverged"].astype(np.float64).to_numpy())
        out["n_diverged"] = np.nansum(div, axis=1).astype(np.int32)
    else:
        out["n_diverged"] = np.zeros(len(out), np.int32)
    out["rank"] = _rank(out)
    return out


def _rank(summary: pd.DataFrame) -> np.ndarray:
    """``[configs]`` int32 rank, 1 = best by ``final_iqm``, then ``final_mean``, then ``auc_iqm`` (NaN last)."""
    # The IQM often saturates at 500 for several configs: among those, the mean (which sees the failing seeds)
    # decides, then the area under the eval curve.
    key = np.lexsort(
        tuple(-np.nan_to_num(summary[c].to_numpy(), nan=-np.inf) for c in ("auc_iqm", "final_mean", "final_iqm"))
    )
    rank = np.empty(len(summary), np.int32)
    rank[key] = np.arange(1, len(summary) + 1)
    return rank
