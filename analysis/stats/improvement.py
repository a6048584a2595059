"""P(X > Y) between two configs paired by seed: its confidence interval, the matching p-value, and the corrections
for the many comparisons a report makes. Chosen by measured coverage and power (``python -m analysis coverage``;
BENCHMARKS.md has the tables).

**Estimate.** ``p = P(X > Y) + P(X = Y) / 2`` over independent runs of the two configs, estimated over all pairs
of the observed runs (``point.probability_of_improvement``). Every config of a sweep trains seed ``s`` from the
same key (common random numbers), so the runs come in pairs, and the variance may use the pairing.

**Interval.** Munzel's (1999) studentised statistic for paired samples ("Nonparametric methods for paired
samples", Statistica Neerlandica 53): with ``Z_i`` the placement of ``x_i`` among the ``y``'s less the placement of
``y_i`` among the ``x``'s (mid-ranks, as shares), ``var(p) ~ var(Z) / n`` (the Hoeffding projection of the
U-statistic) with ``n - 1`` degrees of freedom. Beside it, Brunner and Munzel's (2000) variance for unpaired
samples, ``var(P) / n + var(Q) / n`` (the two configs' placements apart) with Welch-Satterthwaite's degrees of
freedom: where the pairing gains nothing (configs whose seeds are not alike) the paired one spends ``n - 1``
degrees of freedom on the same variance, this one up to ``2 n - 2``. The interval takes whichever of the two is
shorter (smaller ``t se``): Brunner-Munzel's power where the pairing does not help, the paired statistic's where it
does. Its coverage is measured, not proven: 0.935 or more at 8+ seeds on every pair tested, within 0.01 of the
paired interval's alone (``python -m analysis coverage``). Where a seed's two runs are negatively correlated (a
seed good for one config and poor for the other; the sweeps measured show no sign of it) the unpaired variance
misses the pairing's negative covariance: 0.87 at 16 seeds at rho -0.6, against 0.92 for the paired interval
(``power.negative_study``). It is a t interval on the arcsine-square-root scale
(``sin^2(asin(sqrt(p)) -+ t se / (2 sqrt(p (1 - p))))``). The transform lengthens the end toward 1/2 when ``p`` is
near 0 or 1, where the plain t interval undercovers (rare runs, a collapse or a run at the cap, missing from the
sample). When the paired placements carry no variance (every pair tied, or complete separation) the interval is
``[a p, 1 - a (1 - p)]``, ``a = (alpha / 2)^(1 / n)``: at ``p = 1`` the Clopper-Pearson bound of n wins in n.

**Test.** The p-value of ``p = 1/2`` on the same scale, so that ``pvalue <= 1 - confidence`` exactly when the
interval excludes 1/2. **Many comparisons**: ``holm`` (family-wise error) and ``benjamini_hochberg`` (false
discovery rate) turn a row of p-values into decisions.

Closed form: no replicates, deterministic, ``O(n log n)`` a pair of rows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats as sps

from analysis.stats.intervals import MIN_SEEDS, Interval, check_confidence

_TINY = 1e-12  # a placement variance below this is none (every pair tied, or complete separation)


class Improvement(NamedTuple):
    """P(X > Y) with its interval and the p-value of P = 1/2; all fields share one shape (NaN: undefined)."""

    point: np.ndarray  # [...] P(X > Y), ties 1/2
    low: np.ndarray  # [...] lower end
    high: np.ndarray  # [...] upper end
    pvalue: np.ndarray  # [...] two-sided, of P = 1/2; <= 1 - confidence exactly when the interval excludes 1/2

    def interval(self) -> Interval:
        return Interval(self.point, self.low, self.high)


def _rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, ...]]:
    """``x, y`` broadcast to rows ``[r, n]`` with a pair whose either side is missing set to ``+inf`` in both (it
    then ranks above every real score and is left out of the placements), the valid mask, the leading shape."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape[-1:] != b.shape[-1:]:
        raise ValueError(f"x and y must hold the same seeds on their last axis, got shapes {a.shape} and {b.shape}")
    shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    n = a.shape[-1]
    a = np.broadcast_to(a, shape + (n,)).reshape(-1, n)
    b = np.broadcast_to(b, shape + (n,)).reshape(-1, n)
    valid = ~np.isnan(a) & ~np.isnan(b)
    if np.any(np.isinf(a[valid])) or np.any(np.isinf(b[valid])):
        raise ValueError("scores must be finite (NaN marks a missing seed)")
    return np.where(valid, a, np.inf), np.where(valid, b, np.inf), valid, shape


def _placements(a: np.ndarray, b: np.ndarray, valid: np.ndarray):
    """``(p, s2, k, vx, vy)`` per row: the estimate, the sample variance of Munzel's ``Z``, the valid pairs, and the
    unpaired variance's two parts ``var(P) / k`` and ``var(Q) / k`` (``P_i`` the share of ``y``'s below ``x_i``,
    ``Q_j`` the share of ``x``'s below ``y_j``).

    A valid ``x_i``'s count of ``y``'s below it (ties 1/2) is its mid-rank among all ``2n`` scores less its
    mid-rank among the ``x``'s (the invalid pairs, at ``+inf``, are above every real score and never counted).
    """
    n = a.shape[-1]
    ranks = sps.rankdata(np.concatenate([a, b], axis=-1), axis=-1)
    below_x = ranks[:, :n] - sps.rankdata(a, axis=-1)  # y's below x_i
    below_y = ranks[:, n:] - sps.rankdata(b, axis=-1)  # x's below y_i
    k = valid.sum(axis=-1)
    kk = np.maximum(k, 1).astype(np.float64)
    p = np.where(valid, below_x, 0.0).sum(axis=-1) / kk**2

    def variance(v: np.ndarray) -> np.ndarray:  # the sample variance of each row's valid entries
        mean = np.where(valid, v, 0.0).sum(axis=-1) / kk
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(valid, (v - mean[:, None]) ** 2, 0.0).sum(axis=-1) / (kk - 1.0)

    s2 = variance((below_x - below_y) / kk[:, None])  # placement of x_i less placement of y_i
    return p, s2, k, variance(below_x / kk[:, None]) / kk, variance(below_y / kk[:, None]) / kk


def _shorter(s2: np.ndarray, vx: np.ndarray, vy: np.ndarray, k: np.ndarray, alpha: float):
    """``(var, df)`` per row: Munzel's paired variance ``s2 / k`` with ``k - 1`` degrees of freedom, or the
    unpaired ``vx + vy`` with Welch-Satterthwaite's, whichever gives the shorter t interval."""
    kk = np.maximum(k, 1).astype(np.float64)
    paired, unpaired = np.maximum(s2, 0.0) / kk, vx + vy
    df_paired = np.maximum(kk - 1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        df_unpaired = np.maximum(unpaired**2 * df_paired / (vx**2 + vy**2), 1.0)
        use = (unpaired > _TINY / kk) & (
            sps.t.ppf(1.0 - alpha / 2.0, np.where(np.isfinite(df_unpaired), df_unpaired, 1.0)) * np.sqrt(unpaired)
            < sps.t.ppf(1.0 - alpha / 2.0, df_paired) * np.sqrt(paired)
        )
    return np.where(use, unpaired, paired), np.where(use, df_unpaired, df_paired)


def arcsine_interval(
    p: np.ndarray, se: np.ndarray, df: np.ndarray, k: np.ndarray, flat: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(low, high, p-value)`` of an estimate ``p`` of P(X > Y) with standard error ``se``: a t interval with
    ``df`` degrees of freedom on the arcsine-square-root scale (delta method); where ``flat`` (no variance, or
    ``p`` at 0 or 1) the degenerate rule for ``k`` seeds: ``p`` shrunk by (alpha / 2) ^ (1 / k) towards the far
    end, the p-value that of ``k`` wins in ``k``."""
    t = sps.t.ppf(1.0 - alpha / 2.0, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        h, dh = np.arcsin(np.sqrt(p)), 0.5 / np.sqrt(p * (1.0 - p))
        low = np.sin(np.clip(h - t * se * dh, 0.0, np.pi / 2)) ** 2
        high = np.sin(np.clip(h + t * se * dh, 0.0, np.pi / 2)) ** 2
        pvalue = 2.0 * sps.t.sf(np.abs(h - np.pi / 4) / (se * dh), df)
    shrink = (alpha / 2.0) ** (1.0 / np.maximum(k, 1))  # the degenerate rule's factor
    far = np.maximum(p, 1.0 - p)
    with np.errstate(divide="ignore"):
        flat_p = np.where(far <= 0.5, 1.0, np.minimum(1.0, 2.0 * (0.5 / far) ** np.maximum(k, 1)))
    low = np.where(flat, shrink * p, low)
    high = np.where(flat, 1.0 - shrink * (1.0 - p), high)
    return low, high, np.where(flat, flat_p, pvalue)


def munzel_rows(x: np.ndarray, y: np.ndarray, alpha: float | None = None):
    """``(p, se, df, flat)`` of rows ``x, y [r, n]`` without missing seeds: Munzel's estimate of P(X > Y), a
    standard error with its degrees of freedom, and where it has none (no paired placement variance, or ``p`` at
    0 or 1). ``alpha`` None: Munzel's paired one (``n - 1``); else the package's, the shorter of the paired and
    the unpaired one at that level. For the candidates the power study measures beside ``improvement``
    (``compared``)."""
    a, b, valid, _ = _rows(x, y)
    p, s2, k, vx, vy = _placements(a, b, valid)
    if alpha is None:
        var, df = np.maximum(s2, 0.0) / np.maximum(k, 1), np.maximum(k - 1.0, 1.0)
    else:
        var, df = _shorter(s2, vx, vy, k, alpha)
    return p, np.sqrt(var), df, ~(s2 > _TINY) | (p <= 0.0) | (p >= 1.0)


def improvement(x: np.ndarray, y: np.ndarray, *, confidence: float = 0.95) -> Improvement:
    """P(X > Y) of runs paired by seed, with its interval and p-value (see the module docstring).

    Args:
      x, y: ``[..., seeds]`` scores, the same seed in the same column (broadcast against each other); NaN marks a
        missing seed, and a seed missing in either config is left out of both.
      confidence: the interval's nominal coverage.

    Returns:
      ``Improvement`` of shape ``[...]``: NaN ends and p-value where fewer than 2 seeds have both scores.
    """
    check_confidence(confidence)
    alpha = 1.0 - confidence
    a, b, valid, shape = _rows(x, y)
    p, s2, k, vx, vy = _placements(a, b, valid)
    var, df = _shorter(s2, vx, vy, k, alpha)
    flat = ~(s2 > _TINY) | (p <= 0.0) | (p >= 1.0)
    low, high, pvalue = arcsine_interval(p, np.sqrt(var), df, k, flat, alpha)
    ok = k >= MIN_SEEDS  # fewer seeds with both scores: the point alone
    point = np.where(k > 0, p, np.nan)
    low, high = np.minimum(low, point), np.maximum(high, point)
    ends = (np.where(ok, v, np.nan).reshape(shape) for v in (np.clip(low, 0, 1), np.clip(high, 0, 1), pvalue))
    return Improvement(point.reshape(shape), *ends)


def improvement_across(x: np.ndarray, y: np.ndarray, *, confidence: float = 0.95) -> Improvement:
    """P(X > Y) averaged over tasks (rliable's average probability of improvement), with its interval and p-value.

    Args:
      x, y: ``[..., tasks, seeds]`` scores of two settings on each task, the same seed in the same column within a
        task (NaN: missing); tasks are independent of each other.

    Each task's estimate ``p_t``, variance ``v_t`` and degrees of freedom ``d_t`` are ``improvement``'s (the
    shorter of the paired and the unpaired one); the mean ``p`` of the ``T`` tasks' estimates has variance
    ``sum_t v_t / T^2``, and the interval is a t interval on the arcsine-square-root scale as for one task, its
    degrees of freedom Welch-Satterthwaite's (``(sum v_t)^2 / sum(v_t^2 / d_t)``). Without any variance (every
    task tied, or separated completely) the degenerate rule of ``improvement`` applies with ``n`` the seeds of all
    tasks. NaN where a task has fewer than 2 seeds with both scores.
    """
    check_confidence(confidence)
    alpha = 1.0 - confidence
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.ndim < 2 or a.shape[-2:] != b.shape[-2:]:
        raise ValueError(f"x and y must be [..., tasks, seeds] of one shape, got {a.shape} and {b.shape}")
    n_tasks = a.shape[-2]
    ra, rb, valid, shape = _rows(a, b)  # rows: [... x tasks, seeds]
    p_t, s2_t, k_t, vx_t, vy_t = _placements(ra, rb, valid)
    var_t, df_t = _shorter(s2_t, vx_t, vy_t, k_t, alpha)
    p_t, s2_t, k_t, var_t, df_t = (v.reshape(-1, n_tasks) for v in (p_t, s2_t, k_t, var_t, df_t))
    with np.errstate(invalid="ignore", divide="ignore"):
        v_t = np.where(s2_t > _TINY, var_t, 0.0)
        p = p_t.mean(axis=-1)
        var = v_t.sum(axis=-1) / n_tasks**2
        df = np.maximum(v_t.sum(axis=-1) ** 2 / np.sum(v_t**2 / df_t, axis=-1), 1.0)
    k = k_t.sum(axis=-1)
    flat = ~(var > _TINY / np.maximum(k, 1)) | (p <= 0.0) | (p >= 1.0)  # where df is not finite too
    low, high, pvalue = arcsine_interval(p, np.sqrt(var), np.where(np.isfinite(df), df, 1.0), k, flat, alpha)
    ok = np.all(k_t >= MIN_SEEDS, axis=-1)
    point = np.where(np.all(k_t > 0, axis=-1), p, np.nan)
    low, high = np.minimum(low, point), np.maximum(high, point)
    out = shape[:-1]
    ends = (np.where(ok, v, np.nan).reshape(out) for v in (np.clip(low, 0, 1), np.clip(high, 0, 1), pvalue))
    return Improvement(point.reshape(out), *ends)


def improvement_interval(x: np.ndarray, y: np.ndarray, *, confidence: float = 0.95) -> Interval:
    """P(X > Y) with its interval (``improvement(x, y).interval()``)."""
    return improvement(x, y, confidence=confidence).interval()


def holm(pvalues: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    """Holm's step-down decisions along the last axis: True where a hypothesis is rejected with the family-wise
    error rate at most ``alpha`` (NaN p-values are never rejected and not counted)."""
    p = np.asarray(pvalues, dtype=np.float64)
    valid = ~np.isnan(p)
    m = valid.sum(axis=-1, keepdims=True)
    order = np.argsort(np.where(valid, p, np.inf), axis=-1, kind="stable")
    ps = np.take_along_axis(np.where(valid, p, np.inf), order, axis=-1)
    ok = ps <= alpha / np.maximum(m - np.arange(p.shape[-1]), 1)
    ok = np.cumprod(ok, axis=-1).astype(bool)  # stops at the first hypothesis kept
    out = np.zeros_like(ok)
    np.put_along_axis(out, order, ok, axis=-1)
    return out & valid


def benjamini_hochberg(pvalues: np.ndarray, q: float = 0.05) -> np.ndarray:
    """Benjamini-Hochberg's step-up decisions along the last axis: True where rejected with the false discovery
    rate at most ``q`` (for independent or positively dependent tests; NaN never rejected, not counted)."""
    p = np.asarray(pvalues, dtype=np.float64)
    valid = ~np.isnan(p)
    if p.shape[-1] == 0:
        return valid
    m = valid.sum(axis=-1, keepdims=True)
    order = np.argsort(np.where(valid, p, np.inf), axis=-1, kind="stable")
    ps = np.take_along_axis(np.where(valid, p, np.inf), order, axis=-1)
    rank = np.arange(1, p.shape[-1] + 1)
    below = ps <= q * rank / np.maximum(m, 1)
    last = np.where(below.any(axis=-1), p.shape[-1] - np.argmax(below[..., ::-1], axis=-1), 0)  # largest rank
    ok = rank <= last[..., None]
    out = np.zeros_like(ok)
    np.put_along_axis(out, order, ok, axis=-1)
    return out & valid
