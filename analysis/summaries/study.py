"""An ablation study's numbers: named variants (``[variants]``) against one or more of them, on the study's own
metric, from one run folder per task.

The metric is Dopamine's (and the Revisiting Rainbow study's): training runs in iterations of ``ITERATION`` env
steps, and an iteration's score is the mean return of the training episodes that ended in it (an iteration where
none ended carries the previous one's). A run's final score is its last iteration's. The greedy evaluation the
engine also records stands beside it (``final_eval_*``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.stats import intervals
from analysis.stats.summary import SEED, seed_matrix
from analysis.summaries.aggregate import binned_train_returns
from analysis.summaries.baseline import FDR, paired_columns, verdict_word
from analysis.tables.read import RunDirError
from analysis.tables.run import RunTables

ITERATION = 1_000  # env steps per iteration
VARIANT = "variant"  # the axis of named variants (``sweep.spec.variants.AXIS``)


def check_variants(t: RunTables) -> None:
    """``RunDirError`` unless ``t`` is a sweep of named variants alone (its one axis is ``variant``)."""
    if t.axes != [VARIANT] or VARIANT not in t.runs.columns:
        axes = ", ".join(t.axes) or "none"
        raise RunDirError(
            f"{str(t.path)!r} is not a sweep of named variants alone (its axes: {axes}); a study takes run folders "
            "of grids whose only axis is [variants]"
        )


def variant_names(t: RunTables) -> dict[int, str]:
    """``{config: variant name}`` in config order."""
    names = t.runs.groupby("config", sort=True)[VARIANT].first()
    return {int(c): str(v) for c, v in names.items()}


def iteration_returns(t: RunTables, width: int = ITERATION) -> tuple[np.ndarray, np.ndarray]:
    """``([configs, seeds, iterations] scores, configs)``: each run's score in each iteration of ``width`` env
    steps (the module docstring), NaN before its first episode ended; as many iterations as the longest run's
    ``total_steps`` holds."""
    total = int(t.runs["total_steps"].max()) if "total_steps" in t.runs.columns else int(t.episodes["end_step"].max())
    return binned_train_returns(t.runs, t.episodes, width, max(1, math.ceil(total / width)))


def _check_against(names: dict[int, str], against: Sequence[str], where: str) -> list[int]:
    by_name = {v: c for c, v in names.items()}
    missing = [a for a in against if a not in by_name]
    if missing:
        raise RunDirError(
            f"{where} has no variant {missing[0]!r} to compare with; its variants: {', '.join(names.values())}"
        )
    return [by_name[a] for a in against]


def study_table(t: RunTables, against: Sequence[str], *, width: int = ITERATION, fdr: float = FDR) -> pd.DataFrame:
    """One row per variant: ``variant, config, n_seeds``; the final iteration's score's ``final_iqm`` and
    ``final_mean`` with ``_ci_low``/``_ci_high``; the greedy evaluation's ``final_eval_iqm`` with its interval;
    and per name ``b`` of ``against``: P(variant > b) paired by seed ``p_<b>`` with ``p_<b>_ci_low``,
    ``p_<b>_ci_high``, ``p_<b>_pvalue`` and ``p_<b>_verdict`` (``verdict_word``; clear at a false discovery rate
    of ``fdr`` over the column, Benjamini-Hochberg), NaN and "" on ``b``'s own row."""
    check_variants(t)
    names = variant_names(t)
    base_configs = _check_against(names, against, repr(str(t.path)))
    scores, configs = iteration_returns(t, width)
    final = scores[..., -1]  # [configs, seeds]
    bounds = t.scale.bounds(final)
    iv = intervals.intervals_of(final, ("iqm", "mean"), bounds=bounds, seed=SEED)
    greedy, greedy_configs = seed_matrix(t.runs, "final_eval_return")
    assert list(greedy_configs) == list(configs)
    ev = intervals.interval(greedy, "iqm", bounds=t.scale.bounds(greedy), seed=SEED)
    out = pd.DataFrame(
        {
            VARIANT: [names[int(c)] for c in configs],
            "config": configs,
            "n_seeds": np.sum(~np.isnan(final), axis=1),
            **{f"final_{m}{s}": getattr(iv[m], f) for m in ("iqm", "mean") for s, f in _ENDS},
            **{f"final_eval_iqm{s}": getattr(ev, f) for s, f in _ENDS},
        }
    )
    row_of = {int(c): i for i, c in enumerate(configs)}
    for name, b in zip(against, base_configs, strict=True):
        others = np.flatnonzero(np.asarray(configs) != b)  # b's own row stays NaN and ""
        cols = paired_columns(final[others], final[row_of[b]], fdr)
        key = f"p_{name}"
        for col, k in (
            (key, "p"),
            (f"{key}_ci_low", "ci_low"),
            (f"{key}_ci_high", "ci_high"),
            (f"{key}_pvalue", "pvalue"),
        ):
            out[col] = np.nan
            out.loc[others, col] = cols[k]
        verdicts = np.full(len(configs), "", dtype=object)
        verdicts[others] = [
            verdict_word(lo, hi, c) if np.isfinite(pv) else ""
            for lo, hi, c, pv in zip(cols["ci_low"], cols["ci_high"], cols["clear"], cols["pvalue"], strict=True)
        ]
        out[f"{key}_verdict"] = verdicts
    return out


_ENDS = (("", "point"), ("_ci_low", "low"), ("_ci_high", "high"))


def iteration_curves(t: RunTables, *, width: int = ITERATION, statistic: str = "iqm") -> pd.DataFrame:
    """``variant, config, iteration, value, ci_low, ci_high, n_runs``: ``statistic`` over seeds of each
    iteration's score with its 95% band (whole runs resampled). The study plotted the mean; the IQM's band (an
    expanded percentile bootstrap) is far narrower at a few seeds than the mean's, whose worst case reaches to
    the task's bounds (``stats.intervals``)."""
    check_variants(t)
    names = variant_names(t)
    scores, configs = iteration_returns(t, width)
    band = intervals.curve_interval(scores, statistic, bounds=t.scale.bounds(scores), seed=SEED)
    n_it = scores.shape[-1]
    return pd.DataFrame(
        {
            VARIANT: np.repeat([names[int(c)] for c in configs], n_it),
            "config": np.repeat(configs, n_it),
            "iteration": np.tile(np.arange(1, n_it + 1), len(configs)),
            "value": band.point.ravel(),
            "ci_low": band.low.ravel(),
            "ci_high": band.high.ravel(),
            "n_runs": np.sum(~np.isnan(scores), axis=1).ravel(),
        }
    )


def final_scores(t: RunTables, *, width: int = ITERATION) -> dict[str, np.ndarray]:
    """``{variant: [seeds] final iteration scores}``, seeds aligned across variants (NaN: missing)."""
    names = variant_names(t)
    scores, configs = iteration_returns(t, width)
    return {names[int(c)]: scores[i, :, -1] for i, c in enumerate(configs)}
