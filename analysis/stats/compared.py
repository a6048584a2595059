"""The interval methods the coverage study (``coverage``) compares the package's with: the percentile bootstrap the
package used before and BCa (Efron, 1987), its former P(X > Y) interval, its former pooled interval, Wilson's
interval for shares, and candidates for P(X > Y) measured for power as well (``power``, ``frontier``): Munzel's
paired t interval without the arcsine transform, its studentised permutation version (Konietschke and Pauly,
2012), the package's interval with a smaller t multiplier, the package's before it took the unpaired variance
where shorter (paired always), and two bootstraps over seeds (studentised on the arcsine scale, and BCa). None of
them is printed by the analysis; they are here to be measured against."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as sps

from analysis.stats import intervals
from analysis.stats import point as stats
from analysis.stats import references as refs
from analysis.stats.improvement import arcsine_interval, improvement, munzel_rows


def _resampled(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``[..., n_boot, n]``: each row of ``x [..., n]`` resampled with replacement."""
    n = x.shape[-1]
    rows = x.reshape(-1, n)
    idx = rng.integers(0, n, (rows.shape[0], n_boot, n), dtype=np.int32) + (np.arange(rows.shape[0]) * n)[:, None, None]
    return rows.ravel()[idx].reshape(x.shape[:-1] + (n_boot, n))


_POINT = {"mean": stats.mean, "median": stats.median, "iqm": stats.iqm, "shortfall": stats.shortfall}


def percentile_and_bca(x: np.ndarray, statistics: Sequence[str], n_boot: int, rng: np.random.Generator) -> dict:
    """``{statistic: ((low, high), (low, high))}``: percentile and BCa 95% intervals of each row of ``x [reps, n]``,
    every statistic from the same resamples."""
    resampled = np.sort(_resampled(x, n_boot, rng), axis=-1)  # sorted once: the median and IQM sort again quickly
    out = {}
    for statistic in statistics:
        f = _POINT[statistic]
        point = f(x)
        reps = np.sort(f(resampled), axis=-1)
        pct = tuple(np.quantile(reps, [0.025, 0.975], axis=-1))
        jack = np.stack([f(np.delete(x, i, axis=-1)) for i in range(x.shape[-1])], axis=-1)
        out[statistic] = pct, _bca(reps, point, jack)
    return out


def _bca(reps: np.ndarray, point: np.ndarray, jack: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """BCa's ``(low, high)`` (Efron, 1987) per row from its sorted replicates ``reps [r, B]``, its estimate
    ``point [r]`` and its leave-one-out estimates ``jack [r, n]`` (the acceleration)."""
    n_boot = reps.shape[-1]
    frac = (np.sum(reps < point[:, None], -1) + 0.5 * np.sum(reps == point[:, None], -1)) / n_boot
    z0 = sps.norm.ppf(np.clip(frac, 0.5 / n_boot, 1 - 0.5 / n_boot))
    d = jack.mean(axis=-1, keepdims=True) - jack
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.nan_to_num(np.sum(d**3, -1) / (6.0 * np.sum(d**2, -1) ** 1.5))
    ends = []
    for zq in sps.norm.ppf([alpha / 2.0, 1.0 - alpha / 2.0]):
        level = sps.norm.cdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq)))
        k = np.clip(np.floor(level * n_boot).astype(np.int64), 0, n_boot - 1)
        ends.append(np.take_along_axis(reps, k[:, None], axis=-1)[:, 0])
    return ends[0], ends[1]


def previous_improvement(x: np.ndarray, y: np.ndarray, bounds: tuple[float, float], n_boot: int, seed: int):
    """The package's P(X > Y) interval before ``improvement``, ``(low, high)`` for ``x, y [r, n]`` (no missing
    seed): a Bayesian bootstrap over seeds whose Dirichlet(1, ..., 1) weights, shared by both configs (the
    pairing), also weigh one pseudo-seed at the worst case, X at the lowest score and Y at the highest for the
    lower end and the reverse for the upper end; percentile ends. A replicate is ``w' W w`` (``W = wins``)."""
    lo, hi = bounds
    g = intervals.seed_draws(x.shape[-1], n_boot, seed).astype(np.float64)
    w = g / g.sum(axis=-1, keepdims=True)  # [B, n + 1]
    ends = []
    for worst_x, worst_y, level in ((lo, hi, 0.025), (hi, lo, 0.975)):
        a = np.concatenate([x, np.full((x.shape[0], 1), worst_x)], axis=-1)
        b = np.concatenate([y, np.full((y.shape[0], 1), worst_y)], axis=-1)
        win = np.moveaxis(refs.wins(a, b), 1, 0).reshape(w.shape[1], -1)  # [n + 1, r (n + 1)]: one product
        reps = np.sum((w @ win).reshape(w.shape[0], x.shape[0], -1) * w[:, None, :], axis=-1).T  # [r, B]
        ends.append(np.quantile(reps, level, axis=-1))
    point = stats.probability_of_improvement(x, y)
    return np.minimum(ends[0], point), np.maximum(ends[1], point)


def old_pooled(x: np.ndarray, statistic: str, n_boot: int, rng: np.random.Generator):
    """The former pooled interval: ``x [T, reps, n]`` resampled within each stratum independently."""
    r = _resampled(x, n_boot, rng)  # [T, reps, B, n]
    pooled = np.moveaxis(r, 0, -2).reshape(x.shape[1], n_boot, -1)
    return tuple(np.quantile(_POINT[statistic](pooled), [0.025, 0.975], axis=-1))


def wilson(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's 95% score interval of a share of ``k`` successes in ``n`` trials (Wilson, 1927)."""
    z = sps.norm.ppf(0.975)
    c = (k + z * z / 2) / (n + z * z)
    h = z * np.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return c - h, c + h


def plain_munzel(x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Munzel's paired interval for P(X > Y) of ``x, y [r, n]`` on the probability scale itself: ``p -+ t se``
    with ``n - 1`` degrees of freedom, clipped to [0, 1]; where the placements carry no variance, the package's
    degenerate rule (``improvement``)."""
    p, se, _, flat = munzel_rows(x, y)
    t = sps.t.ppf(1.0 - alpha / 2.0, x.shape[-1] - 1)
    mine = improvement(x, y, confidence=1.0 - alpha)
    low = np.where(flat, mine.low, np.clip(p - t * se, 0.0, 1.0))
    high = np.where(flat, mine.high, np.clip(p + t * se, 0.0, 1.0))
    return np.minimum(low, p), np.maximum(high, p)


def scaled_munzel(x: np.ndarray, y: np.ndarray, kappa: float, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """The package's interval for P(X > Y) of ``x, y [r, n]`` (no missing seed) with its t multiplier scaled by
    ``kappa`` (1: ``improvement``'s ends; below 1 a narrower interval nested in it), the degenerate rule where
    the placements carry no variance unchanged."""
    p, se, df, flat = munzel_rows(x, y, alpha)
    return _arcsine_ends(p, kappa * se, df, flat, x.shape[-1], alpha)


def paired_munzel(x: np.ndarray, y: np.ndarray, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """The package's interval for P(X > Y) until 2026-12-07: Munzel's paired variance always (``n - 1`` degrees
    of freedom), never the unpaired one; otherwise ``improvement``'s."""
    p, se, df, flat = munzel_rows(x, y)
    return _arcsine_ends(p, se, df, flat, x.shape[-1], alpha)


def _arcsine_ends(p, se, df, flat, n: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """``arcsine_interval``'s ends for rows of ``n`` seeds, widened to hold ``p`` and clipped to [0, 1]."""
    low, high, _ = arcsine_interval(p, se, df, np.full(p.shape, n), flat, alpha)
    return np.clip(np.minimum(low, p), 0.0, 1.0), np.clip(np.maximum(high, p), 0.0, 1.0)


SWAPS_EXACT_MAX = 10  # every within-pair swap up to this many seeds (1,024), else SWAPS random ones
SWAPS = 1000


def _swaps(n: int, rng: np.random.Generator) -> np.ndarray:
    """``[F, n]`` booleans, True where a pair's two scores trade places: the sign flips of
    ``references.sign_flips`` (every pattern for ``n <= SWAPS_EXACT_MAX``, else the identity and ``SWAPS - 1``
    random ones; row 0 the identity)."""
    return refs.sign_flips(n, rng, SWAPS_EXACT_MAX, SWAPS) < 0


def permutation_munzel(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """The studentised permutation interval for P(X > Y) of paired rows ``x, y [r, n]`` (Konietschke and Pauly,
    "A studentized permutation test for the nonparametric Behrens-Fisher problem in paired data", Electronic
    Journal of Statistics 6, 2012): ``p -+ q se``, ``q`` the ``1 - alpha`` quantile of ``|p* - 1/2| / se*`` over
    the swaps of ``x_i`` and ``y_i`` within pairs (``_swaps``: every swap up to ``SWAPS_EXACT_MAX`` seeds, else
    ``SWAPS`` random ones), each swap's estimate and standard error Munzel's (a swap without variance counts as
    infinitely far from 1/2 unless its estimate is 1/2). Exact under exchangeability within pairs, asymptotically
    valid otherwise. Where the observed placements carry no variance, the package's degenerate rule."""
    a, b = np.asarray(x, np.float64), np.asarray(y, np.float64)
    r, n = a.shape
    p, se, _, flat = munzel_rows(a, b)
    swap = _swaps(n, rng)  # [F, n], row 0 the identity
    out_low, out_high = np.empty(r), np.empty(r)
    step = max(1, (1 << 20) // (swap.shape[0] * n))  # rows per block: a million scores at once
    for s in range(0, r, step):
        ab, bb = a[s : s + step, None, :], b[s : s + step, None, :]
        px, sx, _, fx = munzel_rows(np.where(swap, bb, ab).reshape(-1, n), np.where(swap, ab, bb).reshape(-1, n))
        px, sx, fx = (v.reshape(-1, swap.shape[0]) for v in (px, sx, fx))
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = np.where(~fx, np.abs(px - 0.5) / sx, np.where(np.abs(px - 0.5) > 1e-12, np.inf, 0.0))
        q = np.quantile(stat, 1.0 - alpha, axis=-1, method="higher")
        out_low[s : s + step] = p[s : s + step] - q * se[s : s + step]
        out_high[s : s + step] = p[s : s + step] + q * se[s : s + step]
    mine = improvement(a, b, confidence=1.0 - alpha)
    keep = flat | ~np.isfinite(out_low) | ~np.isfinite(out_high)
    low = np.where(keep, mine.low, np.clip(out_low, 0.0, 1.0))
    high = np.where(keep, mine.high, np.clip(out_high, 0.0, 1.0))
    return np.minimum(low, p), np.maximum(high, p)


BOOT_BLOCK = 1 << 18  # resampled rows handled at once


def bootstrap_munzel(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_boot: int = 999, alpha: float = 0.05
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Two bootstrap intervals for P(X > Y) of paired rows ``x, y [r, n]``, the seeds (pairs) resampled with
    replacement ``n_boot`` times: ``"bootstrap-t (arcsine)"``, the studentised bootstrap of the package's statistic
    (``T* = (h(p*) - h(p)) / (se* h'(p*))``, ``h`` the arcsine square root, ``se`` the package's; a resample
    without variance counts as infinitely far unless its estimate is ``p``), and ``"BCa"`` of ``p`` itself (Efron,
    1987; jackknife acceleration). Where the observed placements carry no variance or an end is not finite, the
    package's interval."""
    a, b = np.asarray(x, np.float64), np.asarray(y, np.float64)
    r, n = a.shape
    p, se, _, flat = munzel_rows(a, b, alpha)
    mine = improvement(a, b, confidence=1.0 - alpha)
    q = {"t": np.empty((r, 2)), "bca": np.empty((r, 2))}
    step = max(1, BOOT_BLOCK // n_boot)
    for s in range(0, r, step):
        sl = slice(s, min(s + step, r))
        m = sl.stop - sl.start
        idx = rng.integers(0, n, (m, n_boot, n)) + (np.arange(m) * n)[:, None, None]
        pb, sb, _, fb = munzel_rows(a[sl].ravel()[idx].reshape(-1, n), b[sl].ravel()[idx].reshape(-1, n), alpha)
        pb, sb, fb = (v.reshape(m, n_boot) for v in (pb, sb, fb))
        h, hb = np.arcsin(np.sqrt(p[sl])), np.arcsin(np.sqrt(pb))
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (hb - h[:, None]) / (sb * 0.5 / np.sqrt(pb * (1.0 - pb)))
        far = np.where(np.abs(pb - p[sl, None]) < 1e-12, 0.0, np.copysign(np.inf, pb - p[sl, None]))
        t = np.where(fb | ~np.isfinite(t), far, t)
        with np.errstate(invalid="ignore"):  # infinite statistics: infinite (or NaN) ends, the package's there
            q["t"][sl] = np.quantile(t, [alpha / 2.0, 1.0 - alpha / 2.0], axis=-1).T
        jack = np.stack([munzel_rows(np.delete(a[sl], i, -1), np.delete(b[sl], i, -1))[0] for i in range(n)], -1)
        q["bca"][sl] = np.stack(_bca(np.sort(pb, axis=-1), p[sl], jack, alpha), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        s_h = se * 0.5 / np.sqrt(p * (1.0 - p))
        h = np.arcsin(np.sqrt(p))
        t_low = np.sin(np.clip(h - q["t"][:, 1] * s_h, 0.0, np.pi / 2)) ** 2
        t_high = np.sin(np.clip(h - q["t"][:, 0] * s_h, 0.0, np.pi / 2)) ** 2
    out = {}
    for name, (low, high) in (("bootstrap-t (arcsine)", (t_low, t_high)), ("BCa", (q["bca"][:, 0], q["bca"][:, 1]))):
        keep = flat | ~np.isfinite(low) | ~np.isfinite(high)
        low, high = np.where(keep, mine.low, np.clip(low, 0, 1)), np.where(keep, mine.high, np.clip(high, 0, 1))
        out[name] = np.minimum(low, p), np.maximum(high, p)
    return out
