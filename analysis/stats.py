"""Aggregate statistics and bootstrap confidence intervals over seeds, after Agarwal et al. (2021).

Agarwal, Schwarzer, Castro, Courville, Bellemare, "Deep Reinforcement Learning at the Edge of the Statistical
Precipice", NeurIPS 2021 (the ``rliable`` library). Every function here is a small pure numpy function.

Conventions
-----------
* Scores are float arrays whose **last axis holds runs** (seeds); leading axes are batch axes (configs,
  groups, evaluation points) and everything is vectorised over them. ``NaN`` marks a missing run and is
  ignored, so configs with unequal seed counts can share one NaN-padded array.
* Stratified functions take ``[..., runs, tasks]``: runs are resampled with replacement *within* each task
  (stratum) and the statistic is computed on the pooled ``runs * tasks`` scores, as in the paper. CartPole is
  a single task; here strata are the configs pooled into one group (e.g. all configs sharing a learning rate).
* Intervals are percentile bootstrap intervals from ``n_boot`` replicates drawn from
  ``numpy.random.default_rng(seed)``, so the same scores always give the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]

SOLVED_RETURN = 475.0  # CartPole-v1 is "solved" at an average return of 475 (gymnasium's reward_threshold)
MAX_RETURN = 500.0  # CartPole-v1 truncates episodes at 500 steps, reward 1 per step

# Elements (replicates x runs) handled per chunk; bounds memory at a few hundred MB whatever the batch size.
_CHUNK_ELEMENTS = 1 << 22


class Interval(NamedTuple):
    """A point estimate with its bootstrap confidence interval; all fields share one shape."""

    point: np.ndarray  # [...] statistic of the observed scores
    low: np.ndarray  # [...] lower end of the interval (quantile (1 - confidence) / 2 of the replicates)
    high: np.ndarray  # [...] upper end of the interval (quantile (1 + confidence) / 2)


# ----------------------------------------------------------------------------------------------------
# Aggregate metrics (reduce the last axis, NaN = missing)
# ----------------------------------------------------------------------------------------------------


def _valid_sorted(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted scores along the last axis (NaN last, float64) and the count of non-NaN entries ``[...]``."""
    x = np.sort(np.asarray(scores, dtype=np.float64), axis=-1)
    return x, np.sum(~np.isnan(x), axis=-1)


def _at(x: np.ndarray, i: np.ndarray) -> np.ndarray:
    """``x[..., i]`` with a per-row index ``i`` of shape ``x.shape[:-1]`` (clipped into range)."""
    i = np.clip(i, 0, max(x.shape[-1] - 1, 0))
    flat = x.reshape(-1, x.shape[-1])  # flat fancy indexing: several times faster than take_along_axis
    return flat[np.arange(flat.shape[0]), i.ravel()].reshape(i.shape)


def mean(scores: np.ndarray) -> np.ndarray:
    """Mean over the last axis (runs), ignoring NaN. ``[..., n] -> [...]``; NaN where no run is valid."""
    x = np.asarray(scores, dtype=np.float64)
    n = np.sum(~np.isnan(x), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(x, axis=-1) / n, np.nan)


def median(scores: np.ndarray) -> np.ndarray:
    """Median over the last axis, ignoring NaN (mean of the middle two if even). ``[..., n] -> [...]``."""
    return _median_sorted(*_valid_sorted(scores))


def _median_sorted(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan)
    lo, hi = _at(x, (n - 1) // 2), _at(x, n // 2)
    return np.where(n > 0, 0.5 * (lo + hi), np.nan)


def iqm(scores: np.ndarray) -> np.ndarray:
    """Interquartile mean over the last axis, ignoring NaN. ``[..., n] -> [...]``.

    The mean of the scores left after dropping ``floor(n / 4)`` of the lowest and as many of the highest,
    i.e. ``scipy.stats.trim_mean(x, 0.25)``: rliable's ``aggregate_iqm`` (Agarwal et al., 2021, sec. 4).
    Robust to outlier seeds like the median, but uses half of the runs rather than one or two.
    """
    return _iqm_sorted(*_valid_sorted(scores))


def _iqm_sorted(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    g = n // 4
    # Sum of x[g : n - g] per row; NaN sort last (positions >= n), so the mask never keeps one.
    j = np.arange(x.shape[-1])
    keep = (j >= g[..., None]) & (j < (n - g)[..., None])
    kept = n - 2 * g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(kept > 0, np.sum(x, axis=-1, where=keep) / kept, np.nan)


def optimality_gap(scores: np.ndarray, threshold: float = SOLVED_RETURN) -> np.ndarray:
    """Optimality gap: mean of ``max(threshold - score, 0)`` ignoring NaN. ``[..., n] -> [...]``.

    How far runs fall short of ``threshold`` (default 475, CartPole-v1's "solved" return); lower is better
    (Agarwal et al., 2021, sec. 4).
    """
    x = np.asarray(scores, dtype=np.float64)
    return mean(np.where(np.isnan(x), np.nan, np.maximum(threshold - x, 0.0)))


def fraction_above(scores: np.ndarray, threshold: float = SOLVED_RETURN) -> np.ndarray:
    """Fraction of valid runs whose score is at least ``threshold``. ``[..., n] -> [...]``."""
    x = np.asarray(scores, dtype=np.float64)
    return mean(np.where(np.isnan(x), np.nan, (x >= threshold).astype(np.float64)))


def performance_profile(scores: np.ndarray, taus: Sequence[float] | np.ndarray) -> np.ndarray:
    """Run-score distribution: fraction of valid runs with score > tau, per tau. ``[..., n] -> [..., k]``.

    The empirical tail distribution ``F(tau) = P(score > tau)`` of Agarwal et al. (2021, sec. 5), over runs.
    """
    x = np.asarray(scores, dtype=np.float64)[..., None, :]
    t = np.asarray(taus, dtype=np.float64)[:, None]
    return mean(np.where(np.isnan(x), np.nan, (x > t).astype(np.float64)))


STATISTICS: Mapping[str, Statistic] = {
    "mean": mean,
    "median": median,
    "iqm": iqm,
    "optimality_gap": optimality_gap,
}


# Order statistics computed from scores already sorted along the last axis (NaN last) and their valid counts,
# so the bootstrap sorts each replicate once for all of them.
_SORTED = {"median": _median_sorted, "iqm": _iqm_sorted}


def _statistic(statistic: str | Statistic) -> Statistic:
    if callable(statistic):
        return statistic
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)} or a callable, got {statistic!r}")
    return STATISTICS[statistic]


# ----------------------------------------------------------------------------------------------------
# Stratified bootstrap
# ----------------------------------------------------------------------------------------------------


def _compact(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moves each row's non-NaN entries to its front (order kept); returns them and their count ``[...]``."""
    valid = ~np.isnan(x)
    order = np.argsort(~valid, axis=-1, kind="stable")
    return np.take_along_axis(x, order, axis=-1), valid.sum(axis=-1)


def _resample(x: np.ndarray, n: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Bootstrap replicates of compacted rows: ``x [..., m]`` with ``n [...]`` valid -> ``[..., n_boot, m]``.

    Each replicate draws ``n`` of the row's valid entries with replacement; positions past ``n`` stay NaN so a
    replicate has as many runs as the data it came from.
    """
    m = x.shape[-1]
    u = rng.random(x.shape[:-1] + (n_boot, m), dtype=np.float32)
    idx = np.minimum((u * n[..., None, None]).astype(np.int64), np.maximum(n - 1, 0)[..., None, None])
    rows = x.reshape(-1, m)
    base = (np.arange(rows.shape[0]) * m).reshape(x.shape[:-1] + (1, 1))
    out = rows.ravel()[base + idx] if rows.size else np.full(idx.shape, np.nan)
    return np.where(np.arange(m) < n[..., None, None], out, np.nan)


def _check_confidence(confidence: float, n_boot: int) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")


def _chunked_intervals(
    n_rows: int,
    row_elements: int,
    replicates: Callable[[slice], Mapping[str, np.ndarray]],
    trailing: Mapping[str, tuple[int, ...]],
    confidence: float,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Percentile intervals of bootstrap replicates drawn a chunk of batch rows at a time.

    ``replicates(rows)`` returns ``{name: [len(rows), n_boot, *trailing[name]]}``, the replicates of each
    statistic for the batch rows ``rows``; ``row_elements`` is how many values one row's replicates hold. A chunk
    holds about ``_CHUNK_ELEMENTS`` values, so memory stays bounded whatever the batch size. Chunks come in row
    order: where ``replicates`` makes one draw per chunk, row-major, the numbers do not depend on the chunk size
    (two draws per chunk, as for the probability of improvement, interleave differently with another size).

    Returns ``{name: (low, high)}``, each ``[n_rows, *trailing[name]]``: the replicates' quantiles
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``.
    """
    alpha = 1.0 - confidence
    step = max(1, _CHUNK_ELEMENTS // max(1, row_elements))
    ends: dict[str, list[np.ndarray]] = {k: [] for k in trailing}  # per chunk: [2 (low, high), c, *trailing]
    for start in range(0, n_rows, step):
        for k, reps in replicates(slice(start, start + step)).items():
            with np.errstate(invalid="ignore"):
                ends[k].append(np.quantile(reps, [alpha / 2, 1 - alpha / 2], axis=1))
    out = {}
    for k, shape in trailing.items():
        q = np.concatenate(ends[k], axis=1) if ends[k] else np.empty((2, 0, *shape))
        out[k] = (q[0], q[1])
    return out


def stratified_bootstrap_cis(
    scores: np.ndarray,
    statistics: Mapping[str, str | Statistic] | Sequence[str],
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Interval]:
    """Several statistics of the same runs, each with a stratified percentile bootstrap CI.

    Args:
      scores: ``[..., runs, tasks]`` scores; NaN marks a missing run. Leading axes are independent batches
        (e.g. configs) and each gets its own replicates.
      statistics: names from ``STATISTICS`` or ``{name: callable}``; a callable maps pooled scores
        ``[..., n]`` (NaN = missing) to ``[...]`` or ``[..., *k]``.
      n_boot: bootstrap replicates. confidence: coverage of the interval. seed: seeds the generator.

    Returns:
      ``{name: Interval}`` with fields of shape ``[...]`` (or ``[..., *k]``). Each replicate resamples runs
      with replacement independently within each task, pools them and applies the statistic (Agarwal et al.,
      2021, sec. 3-4); the interval is the percentile interval of the replicates. Replicates are shared
      across the statistics (one resample per batch element), which keeps their intervals consistent.
    """
    _check_confidence(confidence, n_boot)
    if not isinstance(statistics, Mapping):
        statistics = {k: k for k in statistics}
    stats = {k: _statistic(v) for k, v in statistics.items()}
    sorted_stats = {k: _SORTED[v] for k, v in statistics.items() if isinstance(v, str) and v in _SORTED}
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"scores must have shape [..., runs, tasks], got shape {x.shape}")
    batch, (r, t) = x.shape[:-2], x.shape[-2:]
    x = np.swapaxes(x.reshape((-1, r, t)), -1, -2)  # [C, T, R]
    xc, n = _compact(x)
    pooled = np.swapaxes(x, -1, -2).reshape(x.shape[0], r * t)
    points = {k: f(pooled) for k, f in stats.items()}

    rng = np.random.default_rng(seed)

    def replicates(rows: slice) -> dict[str, np.ndarray]:
        res = _resample(xc[rows], n[rows], rng, n_boot)  # [c, T, B, R]
        res = np.swapaxes(res, 1, 2).reshape(res.shape[0], n_boot, t * r)  # [c, B, T*R]
        ordered = _valid_sorted(res) if sorted_stats else None
        return {k: sorted_stats[k](*ordered) if k in sorted_stats else f(res) for k, f in stats.items()}

    extra = {k: p.shape[1:] for k, p in points.items()}
    cis = _chunked_intervals(x.shape[0], n_boot * r * t, replicates, extra, confidence)
    return {k: Interval(*(a.reshape(batch + extra[k]) for a in (points[k], *cis[k]))) for k in stats}


def stratified_bootstrap_ci(
    scores: np.ndarray,
    statistic: str | Statistic = "iqm",
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """One statistic of ``[..., runs, tasks]`` scores with its stratified percentile bootstrap CI.

    See ``stratified_bootstrap_cis``; returns an ``Interval`` of shape ``[...]`` (Agarwal et al., 2021).
    """
    stats = {"s": statistic}
    return stratified_bootstrap_cis(scores, stats, n_boot=n_boot, confidence=confidence, seed=seed)["s"]


def bootstrap_ci(
    scores: np.ndarray,
    statistic: str | Statistic = "iqm",
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """A statistic over runs ``[..., runs]`` with its percentile bootstrap CI, vectorised over leading axes.

    The single-task case of ``stratified_bootstrap_ci``: returns an ``Interval`` of shape ``[...]``.
    E.g. ``bootstrap_ci(final_returns)`` with ``final_returns [configs, seeds]`` gives each config's IQM and
    95% CI (Agarwal et al., 2021).
    """
    x = np.asarray(scores, dtype=np.float64)
    return stratified_bootstrap_ci(x[..., None], statistic, n_boot=n_boot, confidence=confidence, seed=seed)


def curve_cis(
    scores: np.ndarray,
    statistic: str | Statistic = "iqm",
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Sample-efficiency curves: a statistic over runs at each point of a learning curve, with CI bands.

    Args:
      scores: ``[..., runs, points]``, e.g. eval returns of each config's seeds at each evaluation step; NaN =
        missing. A replicate resamples whole runs (the same runs at every point), as rliable does for
        sample-efficiency curves (Agarwal et al., 2021, fig. 9), so the bands are smooth.

    Returns:
      ``Interval`` of shape ``[..., points]``.
    """
    _check_confidence(confidence, n_boot)
    f = _statistic(statistic)
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"scores must have shape [..., runs, points], got shape {x.shape}")
    batch, (r, p) = x.shape[:-2], x.shape[-2:]
    x = x.reshape((-1, r, p))
    point = f(np.swapaxes(x, -1, -2))  # [C, P]
    # A run counts as present when it has any value; missing points within a present run stay NaN.
    present = ~np.all(np.isnan(x), axis=-1)  # [C, R]
    order = np.argsort(~present, axis=-1, kind="stable")
    xc = np.take_along_axis(x, order[..., None], axis=1)
    n = present.sum(axis=-1)
    rng = np.random.default_rng(seed)

    def replicates(rows: slice) -> dict[str, np.ndarray]:
        c, n_c = xc[rows], n[rows, None, None]
        u = rng.random((c.shape[0], n_boot, r))
        idx = np.minimum((u * n_c).astype(np.int64), max(r - 1, 0))
        res = np.take_along_axis(c[:, None, :, :], idx[..., None], axis=2)  # [c, B, R, P]
        res = np.where((np.arange(r) < n_c)[..., None], res, np.nan)
        return {"s": f(np.swapaxes(res, -1, -2))}  # [c, B, P]

    low, high = _chunked_intervals(x.shape[0], n_boot * r * p, replicates, {"s": (p,)}, confidence)["s"]
    return Interval(*(a.reshape(batch + (p,)) for a in (point, low, high)))


# ----------------------------------------------------------------------------------------------------
# Probability of improvement
# ----------------------------------------------------------------------------------------------------


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y): the probability that a random run of X beats a random run of Y, ties counting 1/2.

    Args:
      x: ``[..., n]`` runs of algorithm/config X; y: ``[..., m]`` runs of Y (broadcast over leading axes);
        NaN = missing.

    Returns:
      ``[...]``: the Mann-Whitney U statistic divided by ``n * m`` (Agarwal et al., 2021, sec. 4,
      "probability of improvement"). Above 0.5 means X tends to beat Y; it says how often, not by how much.
    """
    a = np.asarray(x, dtype=np.float64)[..., :, None]
    b = np.asarray(y, dtype=np.float64)[..., None, :]
    valid = ~np.isnan(a) & ~np.isnan(b)
    wins = (a > b) + 0.5 * (a == b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            valid.any(axis=(-1, -2)), np.sum(wins * valid, axis=(-1, -2)) / valid.sum(axis=(-1, -2)), np.nan
        )


def probability_of_improvement_ci(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """P(X > Y) with a percentile bootstrap CI; ``x [..., n]``, ``y [..., m]`` -> ``Interval [...]``.

    Each replicate resamples the runs of X and of Y independently, with replacement (Agarwal et al., 2021).
    With several tasks the paper averages P over tasks, resampling within each task; CartPole is one task.
    """
    _check_confidence(confidence, n_boot)
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    batch = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    a = np.broadcast_to(a, batch + a.shape[-1:]).reshape(-1, a.shape[-1])
    b = np.broadcast_to(b, batch + b.shape[-1:]).reshape(-1, b.shape[-1])
    point = probability_of_improvement(a, b)
    ac, na = _compact(a)
    bc, nb = _compact(b)
    rng = np.random.default_rng(seed)

    def replicates(rows: slice) -> dict[str, np.ndarray]:
        ra = _resample(ac[rows], na[rows], rng, n_boot)  # [c, B, n]
        rb = _resample(bc[rows], nb[rows], rng, n_boot)  # [c, B, m]
        return {"p": probability_of_improvement(ra, rb)}  # [c, B]

    size = n_boot * a.shape[-1] * b.shape[-1]
    low, high = _chunked_intervals(a.shape[0], size, replicates, {"p": ()}, confidence)["p"]
    return Interval(point.reshape(batch), low.reshape(batch), high.reshape(batch))
