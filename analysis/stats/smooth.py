"""A smoothed trend of per-config statistics against a continuous hyperparameter, with a resampling band.

Pure numpy functions over 1-D arrays, in the axis's own scale (the caller passes ``log10`` of a log-scaled
value). The trend is a local-linear regression with a Gaussian kernel (Fan and Gijbels, "Local Polynomial
Modelling and Its Applications", 1996): at each point ``g`` it fits a line to the ``(x_i, y_i)`` by least
squares weighted by ``K((x_i - g) / h)`` and takes the line's value at ``g``. Unlike a kernel average it
reproduces a straight line exactly, at the edges of the data too, where a kernel average bends towards the
inside. The bandwidth ``h`` is chosen by leave-one-out cross-validation (with a one-standard-error rule) among
multiples of Silverman's rule of thumb, which sets its scale from the spread of the ``x`` (``choose_bandwidth``).
The band is pointwise, from a Bayesian bootstrap over the points (Rubin, 1981): each replicate weighs the
points with Dirichlet(1, ..., 1) weights (multiplying the kernel's) and refits, with ``h`` held fixed; the
band's ends are quantiles of the replicates, widened if need be to contain the trend. Replicates come from
``numpy.random.default_rng(seed)``: the same points give the same band. The band is the uncertainty of the
smoothed trend: where the true curve bends sharply within a bandwidth (a narrow peak), smoothing flattens it by
more than the band shows.
"""

from __future__ import annotations

import numpy as np

from analysis.stats.intervals import Interval

N_BOOT = 1000  # replicates for a trend band (as for learning-curve bands)
MIN_POINTS = 3  # distinct x values a trend needs
BANDWIDTH_FACTORS = (0.25, 0.35, 0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0, 5.66, 8.0)  # multiples of Silverman's rule
CV_POINTS = 1000  # points the bandwidth's cross-validation uses at most (points^2: ~0.1 s per bandwidth at 1,000)
# Elements (replicates x points) handled per chunk of replicates; bounds memory at tens of MB.
_CHUNK_ELEMENTS = 1 << 21


def bandwidth(x: np.ndarray) -> float:
    """Silverman's rule of thumb, ``1.06 * min(sd, IQR / 1.34) * n ** (-1/5)``, of the finite ``x [n]``.

    The spread is the smaller of the standard deviation (``ddof=1``) and the interquartile range over 1.34,
    or the standard deviation alone where the quartiles coincide. ``nan`` for fewer than 2 distinct values.
    (Silverman, "Density Estimation for Statistics and Data Analysis", 1986, eq. 3.31: a rule for densities,
    which here sets the width of a regression kernel; for 40 to 64 uniformly spread ``x`` it is about a
    seventh of their range, wide enough to average a few noisy neighbours, narrow enough to follow a peak.)
    """
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    if np.unique(x).size < 2:
        return float("nan")
    sd = float(np.std(x, ddof=1))
    q1, q3 = np.percentile(x, [25, 75])
    spread = min(sd, (q3 - q1) / 1.34) if q3 > q1 else sd
    return 1.06 * spread * x.size ** (-0.2)


def cv_errors(x: np.ndarray, y: np.ndarray, h: float) -> np.ndarray:
    """Leave-one-out errors ``[n]`` of ``local_linear`` at bandwidth ``h``: ``((y_i - fit_i) / (1 - L_ii))^2``,
    ``fit_i`` the fit at ``x_i`` from all points and ``L_ii`` the weight it gives ``y_i`` (for a linear smoother
    this is exactly the squared error of the fit at ``x_i`` without point i; Hastie and Tibshirani, "Generalized
    Additive Models", 1990, sec. 3.4). ``inf`` where a point alone decides its fit (``L_ii`` near 1)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    u = (x[None, :] - x[:, None]) / h  # [n, n]: row i the offsets from x_i
    k = np.exp(-0.5 * u * u)
    ku = k * u
    s0, s1, s2 = k.sum(axis=1), ku.sum(axis=1), (ku * u).sum(axis=1)
    t0, t1 = k @ y, ku @ y
    det = s0 * s2 - s1 * s1
    flat = det <= 1e-9 * s0 * s0
    with np.errstate(invalid="ignore", divide="ignore"):
        fit = np.where(flat, t0 / s0, (s2 * t0 - s1 * t1) / det)
        own = np.where(flat, 1.0 / s0, s2 / det)  # K(0) = 1 and the offset of x_i from itself is 0
        return np.where(1.0 - own < 1e-6, np.inf, ((y - fit) / (1.0 - own)) ** 2)


def choose_bandwidth(x: np.ndarray, y: np.ndarray) -> float:
    """The bandwidth of a trend, by leave-one-out cross-validation with a one-standard-error rule: among
    ``BANDWIDTH_FACTORS`` times ``bandwidth(x)``, the widest whose mean ``cv_errors`` exceeds the smallest mean
    by at most one standard error of the per-point difference between the two (Breiman et al., "Classification
    and Regression Trees", 1984, sec. 3.4.3, with the errors paired by point): the smoothest trend the points
    do not argue against.

    Silverman's rule sees only the spread of ``x``; cross-validation also sees how the ``y`` vary, so a peak
    gets a narrow kernel while an axis without effect gets a wide one and a nearly straight trend. Plain
    cross-validation (the smallest mean) chases the noise of many such axes and draws wiggles; the rule rarely
    does, at the cost of flattening a peak a little more (smoothing's bias, which the band does not show).
    Above ``CV_POINTS`` points the errors are computed on ``CV_POINTS`` of them, evenly spaced in order of
    ``x``. ``nan`` for fewer than 2 distinct ``x``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    h0 = bandwidth(x)
    if not np.isfinite(h0):
        return h0
    if x.size > CV_POINTS:
        keep = np.argsort(x, kind="stable")[:: -(-x.size // CV_POINTS)]
        x, y = x[keep], y[keep]
    candidates = h0 * np.asarray(BANDWIDTH_FACTORS)
    errors = np.stack([cv_errors(x, y, h) for h in candidates])  # [candidates, n]
    finite = np.all(np.isfinite(errors), axis=1)
    if not finite.any():
        return float(candidates[-1])
    candidates, errors = candidates[finite], errors[finite]
    diff = errors - errors[np.argmin(errors.mean(axis=1))]  # [candidates, n], paired by point
    se = diff.std(axis=1, ddof=1) / np.sqrt(x.size)
    # The tolerance's last term lets the exact fits of a noiseless line tie (choosing the widest).
    ok = diff.mean(axis=1) <= se + 1e-12 * (1.0 + float(np.var(y)))
    return float(candidates[ok].max())


def _fits(x: np.ndarray, y: np.ndarray, grid: np.ndarray, h: float, weights: np.ndarray) -> np.ndarray:
    """Local-linear fits ``[B, G]`` at ``grid [G]`` of ``(x, y) [n]`` with point weights ``weights [B, n]``."""
    u = (x[None, :] - grid[:, None]) / h  # [G, n] offsets in bandwidths
    k = np.exp(-0.5 * u * u)
    ku, kuu = k * u, k * u * u
    wy = weights * y[None, :]
    s0, s1, s2 = weights @ k.T, weights @ ku.T, weights @ kuu.T  # [B, G]
    t0, t1 = wy @ k.T, wy @ ku.T
    det = s0 * s2 - s1 * s1
    with np.errstate(invalid="ignore", divide="ignore"):
        line = (s2 * t0 - s1 * t1) / det
        # Where the weighted offsets have (almost) no spread the line is undetermined: the kernel average.
        flat = det <= 1e-9 * s0 * s0
        return np.where(flat, t0 / s0, line)


def local_linear(
    x: np.ndarray, y: np.ndarray, grid: np.ndarray, h: float, *, weights: np.ndarray | None = None
) -> np.ndarray:
    """The Gaussian-kernel local-linear regression of ``y`` on ``x`` at each point of ``grid``.

    Args:
      x, y: ``[n]`` points (finite).
      grid: ``[G]`` where to evaluate the trend.
      h: the kernel's standard deviation, in units of ``x``.
      weights: ``[n]`` or ``[B, n]`` non-negative point weights (default: all 1); they multiply the kernel's.

    Returns ``[G]`` (or ``[B, G]`` for 2-D ``weights``): at ``g``, the value at ``g`` of the line fitted by
    least squares with weights ``w_i * exp(-((x_i - g) / h)^2 / 2)``; the weighted mean where those weights
    leave the offsets without spread; NaN where they are all zero.
    """
    x, y, grid = (np.asarray(a, np.float64) for a in (x, y, grid))
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D arrays of one length, got shapes {x.shape} and {y.shape}")
    if not h > 0:
        raise ValueError(f"bandwidth h must be positive, got {h!r}")
    w = np.ones_like(x) if weights is None else np.asarray(weights, np.float64)
    out = _fits(x, y, grid, h, np.atleast_2d(w))
    return out if w.ndim == 2 else out[0]


def trend_band(
    x: np.ndarray,
    y: np.ndarray,
    grid: np.ndarray,
    *,
    h: float | None = None,
    bounds: tuple[float, float] | None = None,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """The trend of ``y`` on ``x`` at ``grid`` (``local_linear``) with its pointwise bootstrap band.

    Args:
      x, y: ``[n]`` points; pairs with a NaN are left out.
      grid: ``[G]`` where to evaluate.
      h: bandwidth (default: ``choose_bandwidth(x, y)``), kept for every replicate.
      bounds: ``(low, high)`` the statistic cannot leave (e.g. returns 0 to 500): trend and band are clipped
        to it, since a line extrapolated within a kernel's reach can overshoot a bound the points respect.
      n_boot, confidence, seed: replicates, the band's intended coverage and the replicates' seed.

    Returns ``Interval(point, low, high)``, each ``[G]``; all NaN with fewer than ``MIN_POINTS`` distinct ``x``
    values. Each replicate reweighs the points with Dirichlet(1, ..., 1) weights (standard exponential draws;
    the fit does not depend on their scale), so it resamples points, not residuals: the band reflects both the
    points' scatter about the trend and how few points inform it. Points that are not independent (configs
    trained on shared seeds) make it somewhat narrow.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    x, y, grid = (np.asarray(a, np.float64) for a in (x, y, grid))
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    nan = np.full(grid.shape, np.nan)
    if np.unique(x).size < MIN_POINTS:
        return Interval(nan, nan.copy(), nan.copy())
    h = choose_bandwidth(x, y) if h is None else float(h)
    point = local_linear(x, y, grid, h)
    draws = np.random.default_rng(seed).standard_exponential((n_boot, x.size))
    step = max(1, _CHUNK_ELEMENTS // max(x.size, grid.size))
    reps = np.concatenate([_fits(x, y, grid, h, draws[s : s + step]) for s in range(0, n_boot, step)])
    a = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(reps, [a, 1.0 - a], axis=0)
    low, high = np.minimum(low, point), np.maximum(high, point)
    if bounds is not None:
        point, low, high = (np.clip(v, bounds[0], bounds[1]) for v in (point, low, high))
    return Interval(point, low, high)
