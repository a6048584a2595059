"""Simulated populations of final returns, for the coverage and power studies (``coverage``, ``power``).

A population is a quantile function ``Q(u)`` on ``[0, 1]``: a sample is ``Q`` of uniform draws, a true value an
integral of ``Q`` (the IQM is ``2 * integral of Q over [1/4, 3/4]``). Runs of one seed in different configs are
correlated through a Gaussian copula with correlation ``rho`` (common random numbers: every config of a sweep
trains seed ``s`` from the same key). ``POPULATIONS`` holds the single-config shapes and ``BOUNDS`` the lowest and
highest possible score of each (the intervals' worst cases); an upper bound of ``inf`` means the task has none,
and a sweep's intervals then use the bounds the package would widen to, ``(low, highest observed score)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as sps

from analysis.stats import point as stats

Quantile = Callable[[np.ndarray], np.ndarray]

CARTPOLE = stats.RETURN_RANGE  # CartPole-v1: 0 to 500
ACROBOT = (-500.0, 0.0)  # Acrobot-v1: -1 per step, 500 steps at most
MOUNTAIN_CAR = (-200.0, 0.0)  # MountainCar-v0: -1 per step, 200 steps at most
UNBOUNDED = (0.0, np.inf)  # MinAtar-like: no upper bound


def mixture(*parts: tuple[float, Quantile]) -> Quantile:
    """The quantile function of a mixture whose components sit one above the other (weights sum to 1)."""
    edges = np.concatenate([[0.0], np.cumsum([w for w, _ in parts])])

    def q(u: np.ndarray) -> np.ndarray:
        out = np.empty_like(u)
        i = np.clip(np.searchsorted(edges, u, side="right") - 1, 0, len(parts) - 1)
        for k, (w, f) in enumerate(parts):
            m = i == k
            out[m] = f(np.clip((u[m] - edges[k]) / w, 0.0, 1.0))
        return out

    return q


def uniform(a: float, b: float) -> Quantile:
    """U(a, b)."""
    return lambda v: a + (b - a) * v


def point_mass(a: float) -> Quantile:
    """Every run at ``a`` (a cap, or runs stuck at the worst score)."""
    return lambda v: np.full_like(v, a)


def tabulated(f: Quantile, size: int = 1 << 16) -> Quantile:
    """``f`` (a scipy quantile function, slow) read off a table by linear interpolation: error below 0.01."""
    u = np.linspace(0.0, 1.0, size + 1)
    table = f(u)
    return lambda v: np.interp(v, u, table)


def normalised(q: Quantile, random: float, reference: float) -> Quantile:
    """The quantile function of ``(X - random) / (reference - random)`` for ``X`` of ``q`` (``reference > random``):
    a task's normalised score, 0 for a random policy and 1 at its reference return."""
    return lambda u: (q(u) - random) / (reference - random)


def lognormal(median: float, sigma: float) -> Quantile:
    """Lognormal with the given median and log-scale standard deviation."""
    return lambda v: median * np.exp(sigma * sps.norm.ppf(np.clip(v, 1e-12, 1.0 - 1e-12)))


def cartpole(solved: float, rest: tuple[float, float]) -> Quantile:
    """A share ``solved`` of runs at 500, the rest uniform on ``rest``."""
    if solved >= 1.0:
        return point_mass(500.0)
    return mixture((1.0 - solved, uniform(*rest)), (solved, point_mass(500.0)))


def acrobot(stuck: float) -> Quantile:
    """Acrobot-like: a share ``stuck`` at -500 (never swung up), 5% U(-300, -110), the rest U(-110, -80)."""
    return mixture((stuck, point_mass(-500.0)), (0.05, uniform(-300, -110)), (0.95 - stuck, uniform(-110, -80)))


_C = CARTPOLE
# name: (quantile function, bounds). The CartPole-like shapes first, then the other tasks'.
_TABLE: dict[str, tuple[Quantile, tuple[float, float]]] = {
    "80% at 500, 20% U(100, 400)": (cartpole(0.8, (100, 400)), _C),
    "70% at 500, 10% U(9, 30), 20% U(150, 450)": (
        mixture((0.1, uniform(9, 30)), (0.2, uniform(150, 450)), (0.7, point_mass(500))),
        _C,
    ),
    "60% at 500, 40% U(100, 400)": (cartpole(0.6, (100, 400)), _C),
    "500 x Beta(5, 1.5)": (tabulated(lambda u: 500.0 * sps.beta.ppf(u, 5, 1.5)), _C),
    "all at 500": (point_mass(500), _C),
    "95% at 500, 5% U(9, 30)": (mixture((0.05, uniform(9, 30)), (0.95, point_mass(500))), _C),
    "45% at 500, 15% U(9, 30), 40% U(100, 450)": (
        mixture((0.15, uniform(9, 30)), (0.4, uniform(100, 450)), (0.45, point_mass(500))),
        _C,
    ),
    "N(250, 100) clipped to [0, 500]": (tabulated(lambda u: np.clip(sps.norm.ppf(u, 250, 100), 0, 500)), _C),
    "70% at 500, 30% U(9, 30)": (mixture((0.3, uniform(9, 30)), (0.7, point_mass(500))), _C),
    "Acrobot-like: 10% at -500, 5% U(-300, -110), 85% U(-110, -80)": (acrobot(0.10), ACROBOT),
    "MountainCar-like: 20% at -200, 80% U(-160, -100)": (
        mixture((0.2, point_mass(-200)), (0.8, uniform(-160, -100))),
        MOUNTAIN_CAR,
    ),
    "MinAtar-like: 10% U(0, 3), 90% lognormal(median 40, sigma 0.6)": (
        mixture((0.1, uniform(0, 3)), (0.9, lognormal(40.0, 0.6))),
        UNBOUNDED,
    ),
}
POPULATIONS: dict[str, Quantile] = {name: q for name, (q, _) in _TABLE.items()}
BOUNDS: dict[str, tuple[float, float]] = {name: b for name, (_, b) in _TABLE.items()}  # the intervals' worst cases

_GRID = (np.arange(100_000) + 0.5) / 100_000  # quantile levels for the true values


def true_value(q: Quantile, statistic: str) -> float:
    """The population value of ``statistic`` (mean, median, iqm, shortfall, or a threshold for the share of runs
    at or above it, as a string)."""
    v = q(_GRID)
    if statistic == "mean":
        return float(v.mean())
    if statistic == "median":
        return float(q(np.array([0.5]))[0])
    if statistic == "iqm":
        return float(v[(_GRID > 0.25) & (_GRID < 0.75)].mean())
    if statistic == "shortfall":
        return float(np.maximum(stats.SOLVED_RETURN - v, 0.0).mean())
    return float(np.mean(v >= float(statistic)))


def true_improvement(qx: Quantile, qy: Quantile) -> float:
    """P(X > Y) + P(X = Y) / 2 for INDEPENDENT runs of the two populations, whatever the copula between them."""
    g = _GRID[::20]
    x, y = np.sort(qx(g)), np.sort(qy(g))
    below = np.searchsorted(y, x, side="left")
    at = np.searchsorted(y, x, side="right") - below
    return float(np.mean(below + 0.5 * at) / y.size)


def true_pooled_iqm(qs: Sequence[Quantile]) -> float:
    """The IQM of the equal mixture of the populations ``qs`` (the runs of several configs pooled)."""
    v = np.sort(np.concatenate([q(_GRID[::10]) for q in qs]))
    return float(v[v.size // 4 : v.size - v.size // 4].mean())


def draw(qs: Sequence[Quantile], rho: float, reps: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``[len(qs), reps, n]`` returns: ``reps`` sweeps of ``n`` seeds; on one seed, two configs' normal scores
    (before ``Q``) have correlation ``rho``: a shared part ``sqrt(rho) z`` and an own part ``sqrt(1 - rho) e``.
    A negative ``rho`` (two configs only) gives the second config ``-sqrt(-rho) z``."""
    if rho < 0 and len(qs) != 2:
        raise ValueError(f"a negative correlation needs exactly two configs, got {len(qs)}")
    z = rng.standard_normal((1, reps, n))
    e = rng.standard_normal((len(qs), reps, n))
    sign = np.where(np.arange(len(qs)) == 1, np.sign(rho), 1.0)[:, None, None] if rho < 0 else 1.0
    u = sps.norm.cdf(sign * np.sqrt(abs(rho)) * z + np.sqrt(1.0 - abs(rho)) * e)
    return np.stack([q(u[i]) for i, q in enumerate(qs)])


def sweep_scale(x: np.ndarray, bounds: tuple[float, float]) -> tuple[np.ndarray, tuple[float, float]]:
    """``(scale [reps], bounds)`` for sweeps ``x [reps, n]``: with a finite upper bound, ones and ``bounds``;
    without one, each sweep's highest score and ``(0, 1)``, so that ``x / scale[:, None]`` on ``(0, 1)`` stands
    for each sweep on ``intervals.widened((0, 0), sweep)`` (what the package would use). Every interval here
    scales with its bounds, so its ends times ``scale`` are that sweep's ends."""
    if np.isfinite(bounds[1]):
        return np.ones(x.shape[0]), bounds
    if bounds[0] != 0.0:
        raise ValueError(f"an unbounded population must have lower bound 0, got {bounds!r}")
    return np.maximum(np.max(x, axis=-1), np.finfo(np.float64).tiny), (0.0, 1.0)
