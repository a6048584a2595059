"""The IQM and median intervals: an expanded percentile bootstrap over seeds, with the worst-case atom where every
seed sits at one bound. Chosen by measured coverage and power (``python -m analysis coverage``).

**Expanded percentile bootstrap** (Hesterberg, 2015, "What teachers should know about the bootstrap", sec. 5):
seeds are resampled with replacement, and the interval's ends are the resampled statistic's quantiles at the
levels ``Phi(-+ sqrt(n / (n - 1)) t_{n-1, 1 - alpha/2})`` instead of ``alpha/2`` and ``1 - alpha/2``, which undoes
the percentile interval's narrowness at a few seeds (a factor ``sqrt((n - 1) / n)``, and z where t belongs).

**At a bound.** When every seed of a row scored the lowest or the highest possible value, every resample is that
value and the bootstrap interval has no width, though seeds not drawn could still fail. There the interval is the
worst-case atom's (Gaffke, 2005; what ``intervals`` computes for the mean): the seeds plus one pseudo-seed at the
far bound, weighted by Dirichlet(1, ..., 1), whose atom weight ``w`` is Beta(1, n); with ``w* = 1 - (alpha/2)^(1/n)``
its ``1 - alpha/2`` quantile, all seeds at ``hi`` give ``[hi - 2 R clip(w* - 1/4, 0, 1/2), hi]`` for the IQM and
``[lo if w* > 1/2 else hi, hi]`` for the median (R the range; mirrored at ``lo``).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

STATISTICS = ("iqm", "median")
_CHUNK_ELEMENTS = 1 << 22  # rows x replicates x seeds handled at once (the ends do not depend on it)


def _counts(k: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``[r, B, n]`` resample counts: row r draws ``k[r]`` of its first ``k[r]`` (sorted) positions with
    replacement, draw j of replicate b at position ``floor(u[b, j] k[r])``; positions from ``k[r]`` on get 0. The
    uniform draws ``u [B, n]`` are shared by every row, so a row's resamples depend only on its own values."""
    r, (n_boot, n) = k.shape[0], u.shape
    idx = np.minimum((u[None] * k[:, None, None]).astype(np.int64), np.maximum(k - 1, 0)[:, None, None])
    use = np.broadcast_to(np.arange(n)[None, None, :] < k[:, None, None], idx.shape)
    flat = idx + n * np.arange(r * n_boot).reshape(r, n_boot, 1)
    return np.bincount(flat[use], minlength=r * n_boot * n).reshape(r, n_boot, n).astype(np.float64)


def _order_statistic(xs: np.ndarray, cum: np.ndarray, which: np.ndarray) -> np.ndarray:
    """The ``which``-th (0-based, ``[r, B]``) smallest value of resamples with cumulative counts ``cum [r, B, n]``
    of the sorted values ``xs [r, n]``."""
    pos = np.minimum(np.sum(cum <= which[..., None], axis=-1), xs.shape[-1] - 1)
    return np.take_along_axis(np.broadcast_to(xs[:, None, :], cum.shape), pos[..., None], axis=-1)[..., 0]


def _resampled(
    xs: np.ndarray, c: np.ndarray, k: np.ndarray, statistic: str, total: np.ndarray | None = None
) -> np.ndarray:
    """``[r, B]`` the statistic of each resample: the IQM drops ``floor(k / 4)`` from each end and the median is
    the mean of the middle two, as ``point.iqm`` and ``point.median`` compute them on the seeds themselves.
    ``total [r, B]``: each resample's size where it is not ``k`` (a pool whose seeds hold different numbers of
    runs)."""
    if total is None:
        total = np.broadcast_to(k[:, None], c.shape[:2])
    total = np.asarray(total).astype(np.int64)
    cum = np.cumsum(c, axis=-1)
    if statistic == "median":
        return 0.5 * (_order_statistic(xs, cum, (total - 1) // 2) + _order_statistic(xs, cum, total // 2))
    cut = total // 4
    kept = np.clip(np.minimum(cum, (total - cut)[..., None]) - np.maximum(cum - c, cut[..., None]), 0.0, None)
    return np.einsum("rbn,rn->rb", kept, xs) / np.maximum(total - 2 * cut, 1)


def _quantile(sorted_reps: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Each row's quantile at ``level [r]`` of its sorted replicates ``[r, B]`` (linear interpolation)."""
    nb = sorted_reps.shape[-1]
    pos = np.clip(level * (nb - 1), 0, nb - 1)
    i = np.floor(pos).astype(np.int64)
    j = np.minimum(i + 1, nb - 1)
    lo = np.take_along_axis(sorted_reps, i[:, None], axis=-1)[:, 0]
    hi = np.take_along_axis(sorted_reps, j[:, None], axis=-1)[:, 0]
    return lo + (pos - i) * (hi - lo)


def pooled_expanded_ends(
    groups: np.ndarray, statistics, *, n_boot: int, confidence: float, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{statistic: (low, high)}`` ends ``[G]`` of a statistic of pooled runs, ``groups [G, T, S]`` (strata x seeds,
    NaN = missing): the expanded percentile bootstrap with the **seed** as the unit. A replicate draws ``k`` of
    the group's ``k`` seeds that hold a run (draw ``j`` is the ``floor(u[b, j] k)``-th of them, ``u`` the uniform
    draws of ``numpy.random.default_rng(seed)`` shared by every group) and pools every stratum's runs on the drawn
    seeds, as often as drawn; the levels are those of ``k`` seeds. No fallback of its own: where a stratum's runs
    are all one value the caller, ``intervals.pooled_interval(method="expanded")`` (the IQM of pools of tasks),
    uses the worst-case atom instead."""
    g_count, t, s = groups.shape
    rows = groups.reshape(g_count, t * s)  # stratum-major: run (t, j) at t * s + j
    has = ~np.isnan(groups).all(axis=1)  # [G, S] seeds with a run
    k = has.sum(axis=-1)
    u = np.random.default_rng(seed).random((n_boot, s))
    out = {m: (np.full(g_count, np.nan), np.full(g_count, np.nan)) for m in statistics}
    level = expanded_level(k, confidence)
    for g in range(g_count):
        if k[g] == 0:
            continue
        seeds = np.flatnonzero(has[g])
        drawn = seeds[np.minimum((u[:, : k[g]] * k[g]).astype(np.int64), k[g] - 1)]  # [B, k]
        c = np.zeros((n_boot, s))
        np.add.at(c, (np.arange(n_boot)[:, None], drawn), 1.0)
        valid = ~np.isnan(rows[g])
        order = np.argsort(np.where(valid, rows[g], np.inf), kind="stable")[: valid.sum()]
        counts = np.tile(c, (1, t))[:, order][None]  # [1, B, m]: each valid run's count, runs sorted
        xs = rows[g][order][None]
        for m in statistics:
            reps = np.sort(_resampled(xs, counts, k[g : g + 1], m, total=counts.sum(-1)), axis=-1)
            out[m][0][g] = _quantile(reps, level[g : g + 1])[0]
            out[m][1][g] = _quantile(reps, 1.0 - level[g : g + 1])[0]
    return out


def expanded_level(k: np.ndarray, confidence: float) -> np.ndarray:
    """The lower quantile level of the expanded percentile interval at ``k`` seeds (``[r]``)."""
    kk = np.maximum(k, 2).astype(np.float64)
    return sps.norm.cdf(-np.sqrt(kk / (kk - 1.0)) * sps.t.ppf(1.0 - (1.0 - confidence) / 2.0, kk - 1))


def atom_ends(rows: np.ndarray, statistic: str, bounds: tuple[float, float], confidence: float):
    """``(low, high, applies)`` of rows ``[r, n]`` (NaN = missing): the worst-case atom's ends where every valid
    seed sits at one bound (``applies``), NaN elsewhere (see the module docstring)."""
    lo, hi = bounds
    k = np.sum(~np.isnan(rows), axis=-1)
    at_hi = (k > 0) & np.all(np.isnan(rows) | (rows >= hi), axis=-1)
    at_lo = (k > 0) & np.all(np.isnan(rows) | (rows <= lo), axis=-1) & ~at_hi
    w = 1.0 - ((1.0 - confidence) / 2.0) ** (1.0 / np.maximum(k, 1))
    move = (hi - lo) * (2.0 * np.clip(w - 0.25, 0.0, 0.5) if statistic == "iqm" else (w > 0.5))
    low = np.where(at_hi, hi - move, np.where(at_lo, lo, np.nan))
    high = np.where(at_hi, hi, np.where(at_lo, lo + move, np.nan))
    return low, high, at_hi | at_lo


def expanded_ends(
    rows: np.ndarray, statistics, bounds: tuple[float, float], *, n_boot: int, confidence: float, seed: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{statistic: (low, high)}`` ends ``[r]`` for rows ``[r, n]`` of scores (NaN = missing): the expanded
    percentile bootstrap, the atom's ends on rows at one bound. Every statistic of a row shares its resamples, and
    every row the uniform draws of ``numpy.random.default_rng(seed)``: a row gets the same ends alone or in any
    batch, in chunks of any size."""
    xs = np.sort(rows, axis=-1)  # NaN last
    k = np.sum(~np.isnan(xs), axis=-1)
    xs = np.where(np.isnan(xs), 0.0, xs)
    r, n = xs.shape
    level = expanded_level(k, confidence)
    u = np.random.default_rng(seed).random((n_boot, n))
    step = max(1, _CHUNK_ELEMENTS // max(1, n_boot * n))
    out = {s: (np.empty(r), np.empty(r)) for s in statistics}
    for start in range(0, max(r, 1), step):
        sl = slice(start, start + step)
        c = _counts(k[sl], u)
        for s in statistics:
            reps = np.sort(_resampled(xs[sl], c, k[sl], s), axis=-1)
            out[s][0][sl], out[s][1][sl] = _quantile(reps, level[sl]), _quantile(reps, 1.0 - level[sl])
    for s in statistics:
        low, high, use = atom_ends(rows, s, bounds, confidence)
        out[s] = (np.where(use, low, out[s][0]), np.where(use, high, out[s][1]))
    return out
