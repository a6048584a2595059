"""Confidence intervals over seeds for bounded scores, chosen by measured coverage (``python -m analysis coverage``).

**Method.** Each interval end is a quantile of the statistic over Bayesian-bootstrap replicates (Rubin, 1981)
that carry one extra *worst-case atom*: every replicate weighs the ``k`` observed seeds and one pseudo-seed
with Dirichlet(1, ..., 1) weights, and the pseudo-seed sits at the lowest possible score for the lower end and
at the highest for the upper end. For the mean this is Gaffke's bound (Gaffke, 2005; Learned-Miller and
Thomas, "A New Confidence Interval for the Mean of a Bounded Random Variable", arXiv:1905.06208, 2019); here
the same construction serves the IQM, the median and P(X > Y). The atom is what seeds that were never drawn
could be: when every seed scored 500, the mean's lower end is ``500 * 0.025 ** (1 / k)`` (at 10 seeds 346: a
third of such seeds could still fail), the IQM's is below 500 up to 12 seeds, and the median's up to 5. A
plain bootstrap gives [500, 500] there and, on CartPole-like returns, covered as little as 39% at 10 seeds (see
``coverage``). For a share of seeds the construction is the Clopper-Pearson interval, computed exactly.

**Pairing.** Every config of a sweep trains seed ``s`` from the same key (common random numbers), so a seed is
the unit of resampling: one set of weights per replicate is shared by every row of a call (configs, curve
points, the strata of a pooled statistic, the two sides of P(X > Y)); a config that lacks a seed gives it no
weight. Scores must therefore be aligned: column ``j`` is the same seed in every row (``summary.seed_matrix``).

Rows with fewer than 2 valid seeds get no interval (NaN ends). Both ends are widened, if need be, to contain
the point estimate. Replicates come from ``numpy.random.default_rng(seed)``: the same scores give the same
interval.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats as sps

from analysis.stats import bootstrap
from analysis.stats import point as stats
from analysis.stats.point import RETURN_RANGE, SOLVED_RETURN

N_BOOT = 2000  # replicates per interval by default
CURVE_BOOT = 1000  # replicates for curve bands: many points, and bands need less precision than the ranking
MIN_SEEDS = 2  # fewer valid seeds than this: no interval
# Below this many seeds the IQM and the median keep the worst-case atom: the expanded bootstrap covered 0.48 at 2
# seeds and 0.73 at 3 on continuous populations, 0.934 at 5 (python -m analysis coverage).
BOOTSTRAP_MIN_SEEDS = 5
# A pooled IQM over tasks (``pooled_interval(method="expanded")``) is bootstrapped from this many seeds on: at 5 seeds
# the bootstrap covered 0.90 on a pool of CartPole-, Acrobot- and MountainCar-like scores, from 8 on 0.934 or more.
POOL_BOOTSTRAP_MIN_SEEDS = 8
# The lowest coverage of any nominal 95% interval the report prints, over every bounded population of the coverage
# study (CartPole-, Acrobot- and MountainCar-like; P(X > Y) on every pair; the IQM pooled over tasks on four pools) at
# each seed count (``python -m analysis coverage``, 2026-12-07: 1,000 simulated sweeps per cell, 2,000 replicates;
# BENCHMARKS.md has the tables). The report quotes it.
MEASURED_MIN_COVERAGE = {2: 0.969, 3: 0.977, 5: 0.934, 8: 0.940, 10: 0.935, 16: 0.936, 32: 0.934}
# Scores without an upper bound (MinAtar-like in the same study): the mean's interval, whose worst case is the
# largest observed score, at each seed count. The report quotes it for such a task (docs/statistics.md).
UNBOUNDED_MEAN_COVERAGE = {5: 0.847, 8: 0.925, 10: 0.932, 16: 0.950, 32: 0.951}
STATISTICS = ("mean", "median", "iqm", "shortfall")
_POINT = {"mean": stats.mean, "median": stats.median, "iqm": stats.iqm, "shortfall": stats.shortfall}
# Elements (rows x replicates x seeds) handled per chunk; bounds memory at a few hundred MB whatever the batch.
_CHUNK_ELEMENTS = 1 << 22


class Interval(NamedTuple):
    """A point estimate with its confidence interval; all fields share one shape (NaN ends: no interval)."""

    point: np.ndarray  # [...] statistic of the observed scores
    low: np.ndarray  # [...] lower end
    high: np.ndarray  # [...] upper end


def check_confidence(confidence: float) -> None:
    """ValueError unless ``confidence`` is a share strictly between 0 and 1 (the one check of it)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def _check(confidence: float, n_boot: int) -> None:
    check_confidence(confidence)
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")


def _check_bounds(x: np.ndarray, bounds: tuple[float, float]) -> tuple[float, float]:
    lo, hi = float(bounds[0]), float(bounds[1])
    if not lo < hi:
        raise ValueError(f"bounds must be (low, high) with low < high, got {bounds!r}")
    if np.any(x < lo) or np.any(x > hi):
        raise ValueError(f"scores must lie within bounds {bounds!r}; got values from {np.nanmin(x)} to {np.nanmax(x)}")
    return lo, hi


def widened(bounds: tuple[float, float], values: np.ndarray) -> tuple[float, float]:
    """``bounds`` widened to hold ``values`` (NaN ignored): scores from outside the expected range (another
    environment, a changed reward) still get intervals, with the observed extremes as the worst cases."""
    v = np.asarray(values, dtype=np.float64)
    if not np.any(~np.isnan(v)):
        return bounds
    return min(bounds[0], float(np.nanmin(v))), max(bounds[1], float(np.nanmax(v)))


def seed_draws(n_seeds: int, n_boot: int, seed: int) -> np.ndarray:
    """``[n_boot, n_seeds + 1]`` Gamma(1) draws, one per seed and a last one for the atom.

    Normalised over a row's valid seeds and the atom they are Dirichlet(1, ..., 1) weights (a Dirichlet vector
    restricted to some of its parts and renormalised is again Dirichlet), so one draw serves every row.
    """
    return np.random.default_rng(seed).standard_exponential((n_boot, n_seeds + 1), dtype=np.float32)


def _normalised(draws: np.ndarray, atom_draws: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``[r, B, S]`` of each row's valid seeds and ``[r, B]`` of its atom, summing to 1 per replicate.

    ``draws [B, S]`` (the seeds') are shared by the rows, ``atom_draws`` (``[B]`` or ``[r, B]``) are the atoms'.
    """
    w = draws[None, :, :] * valid[:, None, :]
    atom = np.broadcast_to(atom_draws, w.shape[:2])
    total = w.sum(axis=-1) + atom
    return w / total[..., None], atom / total


def _replicates(statistic: str, d: np.ndarray, w: np.ndarray, atom: np.ndarray, bound: float, first: bool):
    """The statistic of weighted distributions, less the highest possible score ``hi``: ``d [r, k]`` are the
    sorted values less ``hi`` (zero-weight pads anywhere after the valid ones), ``w [r, B, k]`` their weights
    and ``atom [r, B]`` the weight of ``bound`` (also less ``hi``), placed before every value (``first``) or
    after. Returns ``[r, B]``.

    The weights are float32, which halves the memory traffic; working with ``value - hi`` keeps replicates
    whose weight sits on scores at the cap exactly at the cap, so [500, 500] is exact where the data allow it.
    """
    if statistic == "mean":
        return np.einsum("rk,rbk->rb", d, w) + atom * np.float32(bound)
    col = np.full((d.shape[0], 1), bound, d.dtype)
    d = np.concatenate([col, d] if first else [d, col], axis=1)
    w = np.concatenate([atom[..., None], w] if first else [w, atom[..., None]], axis=-1)
    c = np.cumsum(w, axis=-1)
    if statistic == "iqm":  # 2 x the integral of the quantile function over [1/4, 3/4]
        overlap = np.clip(np.minimum(c, 0.75) - np.maximum(c - w, 0.25), 0.0, None)
        return 2.0 * np.einsum("rk,rbk->rb", d, overlap)
    i = np.minimum(np.sum(c < 0.5, axis=-1), d.shape[1] - 1)  # median: first value reaching half the weight
    return np.take_along_axis(d, i, axis=1)


def _prepared(values: np.ndarray, w: np.ndarray, hi: float, sort: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(d, w)``: rows ``values [r, k]`` less ``hi`` as float32 (NaN: 0, weight 0) and their weights
    ``w [r, B, k]``, both in increasing order of value if ``sort`` (NaN last), as ``_replicates`` takes them."""
    if sort:
        order = np.argsort(values, axis=-1)
        values = np.take_along_axis(values, order, axis=-1)
        w = np.take_along_axis(w, order[:, None, :], axis=-1)
    return (np.where(np.isnan(values), hi, values) - hi).astype(np.float32), w


def _ends(statistic, d, w, atom, lo, hi, confidence) -> tuple[np.ndarray, np.ndarray]:
    """Interval ends ``[r]`` from ``_prepared`` rows ``d, w`` and the atoms' weights ``atom [r, B]``."""
    a = (1.0 - confidence) / 2.0
    low = np.quantile(_replicates(statistic, d, w, atom, lo - hi, True), a, axis=-1)
    high = np.quantile(_replicates(statistic, d, w, atom, 0.0, False), 1.0 - a, axis=-1)
    # Any weighted statistic of scores within the bounds lies within them: clip the rounding of float32.
    return np.clip(low.astype(np.float64) + hi, lo, hi), np.clip(high.astype(np.float64) + hi, lo, hi)


def _by_chunks(n_rows: int, row_elements: int, ends: Callable[[slice], dict]) -> dict:
    """``ends(rows) -> {key: (low, high)}`` over chunks of rows of about ``_CHUNK_ELEMENTS`` elements, each end
    concatenated over the chunks. The weights are drawn once per call, so the numbers do not depend on the
    chunk size."""
    step = max(1, _CHUNK_ELEMENTS // max(1, row_elements))
    parts = [ends(slice(s, s + step)) for s in range(0, max(n_rows, 1), step)]
    return {k: tuple(np.concatenate([p[k][j] for p in parts]) for j in (0, 1)) for k in parts[0]}


def _finish(point: np.ndarray, low: np.ndarray, high: np.ndarray, n: np.ndarray, shape) -> Interval:
    ok = n >= MIN_SEEDS
    low = np.where(ok, np.minimum(low, point), np.nan)
    high = np.where(ok, np.maximum(high, point), np.nan)
    return Interval(*(np.reshape(a, shape) for a in (point, low, high)))


def intervals_of(
    scores: np.ndarray,
    statistics: Sequence[str] = ("iqm",),
    *,
    bounds: tuple[float, float] = RETURN_RANGE,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    seed: int = 0,
    solved: float = SOLVED_RETURN,
) -> dict[str, Interval]:
    """Statistics over seeds, each with its interval (see the module's docstring).

    Args:
      scores: ``[..., seeds]``, the seed axis aligned across rows; NaN = missing. Leading axes are rows
        (configs, curve points) that share the replicates' seed weights.
      statistics: names from ``STATISTICS``. ``shortfall`` is the mean shortfall below ``solved`` (CartPole-v1's
        475 by default; ``stats.shortfall``); its worst cases are the shortfalls of the bounds.
      bounds: the lowest and highest possible score (CartPole returns: 0 and 500; the normalised AUC: 0 and 1).
      n_boot: replicates. confidence: the intended coverage. seed: seeds the replicates.

    Returns:
      ``{name: Interval}`` with fields of shape ``[...]``; ends NaN where a row has fewer than 2 valid seeds.
    """
    _check(confidence, n_boot)
    unknown = [s for s in statistics if s not in STATISTICS]
    if unknown:
        raise ValueError(f"statistic must be one of {', '.join(STATISTICS)}, got {unknown[0]!r}")
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim < 1:
        raise ValueError(f"scores must have shape [..., seeds], got shape {x.shape}")
    lo, hi = _check_bounds(x, bounds)
    shape, s = x.shape[:-1], x.shape[-1]
    rows = x.reshape(-1, s)
    valid = ~np.isnan(rows)
    n = valid.sum(axis=-1)
    draws = seed_draws(s, n_boot, seed)
    # The IQM and the median: an expanded percentile bootstrap (``bootstrap``), but the worst-case atom below
    # ``BOOTSTRAP_MIN_SEEDS`` (a resample of 2 or 3 seeds cannot reach past them). The mean and the shortfall: the
    # worst-case atom. Per statistic: the scores it is a statistic of, their bounds, what is computed of them.
    boot = [m for m in statistics if m in bootstrap.STATISTICS]
    booted = bootstrap.expanded_ends(rows, boot, (lo, hi), n_boot=n_boot, confidence=confidence, seed=seed)
    parts = {m: (rows, lo, hi, m) for m in statistics if m not in (*bootstrap.STATISTICS, "shortfall")}
    few = (n >= MIN_SEEDS) & (n < BOOTSTRAP_MIN_SEEDS)
    if np.any(few):
        parts.update({f"few {m}": (rows, lo, hi, m) for m in boot})
    if "shortfall" in statistics:  # a mean of max(solved - x, 0): decreasing in x, so the bounds swap
        short = np.maximum(solved - rows, 0.0)
        parts["shortfall"] = (short, max(solved - hi, 0.0), max(solved - lo, 0.0), "mean")

    def ends(sl: slice) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        w, atom = _normalised(draws[:, :-1], draws[:, -1], valid[sl])
        out, ordered = {}, None
        for m, (values, a, b, stat) in parts.items():
            if stat == "mean":  # order does not matter
                d, ws = _prepared(values[sl], w, b, False)
            else:  # the median and the IQM share one sort
                ordered = ordered or _prepared(values[sl], w, b, True)
                d, ws = ordered
            out[m] = _ends(stat, d, ws, atom, a, b, confidence)
        return out

    chunks = _by_chunks(rows.shape[0], n_boot * (s + 1) * max(len(parts), 1), ends) if parts else {}
    for m in boot:
        atom = chunks.get(f"few {m}")
        chunks[m] = (
            booted[m] if atom is None else tuple(np.where(few, a, b) for a, b in zip(atom, booted[m], strict=True))
        )
    point = {**_POINT, "shortfall": lambda r: stats.shortfall(r, solved)}
    return {m: _finish(point[m](rows), *chunks[m], n, shape) for m in statistics}


def interval(scores: np.ndarray, statistic: str = "iqm", **kw) -> Interval:
    """One statistic of ``[..., seeds]`` scores with its interval: ``intervals_of(scores, [statistic], **kw)``."""
    return intervals_of(scores, [statistic], **kw)[statistic]


def curve_interval(scores: np.ndarray, statistic: str = "iqm", **kw) -> Interval:
    """A statistic at each point of learning curves ``[..., runs, points]`` with its band: ``Interval [..., points]``.

    Each replicate weighs whole runs (the same weight at every point), as rliable resamples whole runs for
    sample-efficiency curves (Agarwal et al., 2021, fig. 9); a point's missing runs weigh nothing there, so a
    point with 2 or more runs always has a finite band.
    """
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"scores must have shape [..., runs, points], got shape {x.shape}")
    return interval(np.swapaxes(x, -1, -2), statistic, **kw)


def pooled_interval(
    scores: np.ndarray,
    statistic: str = "iqm",
    *,
    bounds: tuple[float, float] = RETURN_RANGE,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    seed: int = 0,
    method: str = "atom",
) -> Interval:
    """A statistic of the runs of several configs pooled together, with its interval.

    ``scores [..., seeds, strata]``: the strata are the pooled configs (e.g. every config with ``lr = 1e-3``),
    seeds aligned across them; returns ``Interval [...]``. The point is the statistic of all valid runs pooled.
    Each replicate gives stratum ``t`` its share ``n_t / N`` of the runs, spread over its seeds and its own
    atom; the seed weights are shared by every stratum, so configs trained on one seed rise and fall together,
    as their common random numbers make them, instead of being resampled independently. The atoms are drawn
    per stratum: one shared pseudo-seed would assume that an unseen seed fails in every config at once, and
    would give a pool of many configs on 8 seeds an interval as wide as one config's.

    ``method="expanded"``: the IQM by the expanded percentile bootstrap with the seed as the unit
    (``bootstrap.pooled_expanded_ends``) where at least ``POOL_BOOTSTRAP_MIN_SEEDS`` seeds hold a run and no
    stratum's runs are all one value; the atom's construction elsewhere and for the mean and the median. A
    stratum of equal runs (every seed stuck at MountainCar's -200, or at CartPole's cap) looks the same in every
    resample of seeds, which then cannot show what a seed not drawn could do there (with every stratum so, the
    bootstrap interval would have no width). Chosen for pools of tasks (``summaries.tasks``),
    where the IQM's interval covered 0.934 or more at 8 to 32 seeds on four pools and the atom's 0.97 to 1.00, at
    0.60 to 0.82 of its width at 8 seeds (0.90 at 5 seeds, hence the threshold; the median fell to 0.87 on a pool
    with a gap between two tasks' scores). Pools of configs of one task keep the atom: the bootstrap fell to 0.925
    on one at 8 seeds. ``python -m analysis coverage`` measures both.
    """
    _check(confidence, n_boot)
    if statistic not in ("mean", "median", "iqm"):
        raise ValueError(f"statistic must be one of mean, median, iqm, got {statistic!r}")
    if method not in ("atom", "expanded"):
        raise ValueError(f"method must be atom or expanded, got {method!r}")
    x = np.asarray(scores, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"scores must have shape [..., seeds, strata], got shape {x.shape}")
    lo, hi = _check_bounds(x, bounds)
    shape, (s, t) = x.shape[:-2], x.shape[-2:]
    groups = np.swapaxes(x.reshape(-1, s, t), 1, 2)  # [G, T, S]
    valid = ~np.isnan(groups)
    n_t = valid.sum(axis=-1)  # [G, T]
    n = n_t.sum(axis=-1)  # [G]
    share = n_t / np.maximum(n, 1)[:, None]
    draws = seed_draws(s + t - 1, n_boot, seed)  # S seeds, then one atom per stratum
    atoms = np.broadcast_to(draws[None, :, s:].transpose(0, 2, 1), (groups.shape[0], t, n_boot))  # [G, T, B]

    boot = np.zeros(groups.shape[0], dtype=bool)  # the groups the expanded bootstrap takes
    if method == "expanded" and statistic == "iqm":
        seeds = np.sum(valid.any(axis=1), axis=-1)  # [G] seeds with a run
        top = np.where(valid, groups, -np.inf).max(axis=-1)  # [G, T]; a stratum without runs: -inf, +inf
        bottom = np.where(valid, groups, np.inf).min(axis=-1)
        constant = np.any(top == bottom, axis=-1)  # a stratum whose runs are all one value
        boot = (seeds >= POOL_BOOTSTRAP_MIN_SEEDS) & ~constant

    def ends(rows: np.ndarray):
        g, v = groups[rows], valid[rows]
        w, atom = _normalised(draws[:, :s], atoms[rows].reshape(-1, n_boot), v.reshape(-1, s))  # [g*T, B, S]
        sh = share[rows].reshape(-1)[:, None].astype(np.float32)
        w = (w * sh[..., None]).reshape(g.shape[0], t, n_boot, s)
        w = np.moveaxis(w, 2, 1).reshape(g.shape[0], n_boot, t * s)
        atom = (atom * sh).reshape(g.shape[0], t, n_boot).sum(axis=1)
        d, ws = _prepared(g.reshape(g.shape[0], t * s), w, hi, statistic != "mean")
        return _ends(statistic, d, ws, atom, lo, hi, confidence)

    low, high = np.full(groups.shape[0], np.nan), np.full(groups.shape[0], np.nan)
    by_atom = np.flatnonzero(~boot)  # each group's ends depend on its own scores only
    if by_atom.size:
        found = _by_chunks(by_atom.size, n_boot * (s * t + 1), lambda sl: {0: ends(by_atom[sl])})
        low[by_atom], high[by_atom] = found[0]
    if np.any(boot):
        low[boot], high[boot] = bootstrap.pooled_expanded_ends(
            groups[boot], [statistic], n_boot=n_boot, confidence=confidence, seed=seed
        )[statistic]
    return _finish(_POINT[statistic](groups.reshape(groups.shape[0], t * s)), low, high, n, shape)


def proportion_interval(successes, trials, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson interval of a share: ``(low, high)`` for ``successes`` out of ``trials`` (arrays).

    What the worst-case atom gives for scores that are 0 or 1, computed exactly from beta quantiles (as
    ``scipy.stats.binomtest(...).proportion_ci(method="exact")``). NaN where ``trials < 2``. With every trial
    a success the upper end is 1 and the lower end says how many failures the data cannot rule out.
    """
    check_confidence(confidence)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    a = (1.0 - confidence) / 2.0
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, sps.beta.ppf(a, np.maximum(k, 1e-300), n - k + 1), 0.0)
        high = np.where(k < n, sps.beta.ppf(1.0 - a, k + 1, np.maximum(n - k, 1e-300)), 1.0)
    ok = n >= MIN_SEEDS
    return np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def profile_interval(scores: np.ndarray, taus: Sequence[float] | np.ndarray, *, confidence: float = 0.95) -> Interval:
    """Performance profile ``[..., runs] -> [..., k]``: share of valid runs scoring >= each tau, with the
    Clopper-Pearson interval of each share (``stats.performance_profile``; pointwise, not a joint band)."""
    x = np.asarray(scores, dtype=np.float64)
    t = np.asarray(taus, dtype=np.float64)
    n = np.sum(~np.isnan(x), axis=-1)[..., None]
    k = np.sum(x[..., None, :] >= t[:, None], axis=-1)
    low, high = proportion_interval(k, np.broadcast_to(n, k.shape), confidence=confidence)
    return Interval(stats.performance_profile(x, t), low, high)
