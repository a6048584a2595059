"""How many seeds would tell two configs apart: the question every user asks after a sweep.

``seeds_to_separate(x, y)`` simulates sweeps with more seeds by drawing seeds, with replacement, from the
observed ones (each draw keeps a seed's pair of returns, so the pairing of common random numbers survives), and
finds the smallest seed count at which the P(X > Y) interval of ``improvement.improvement`` excludes 0.5 in most
simulated sweeps. It is an estimate from the seeds at hand, which stand in for the populations: with few seeds it
is rough, and it says nothing of differences these seeds do not show.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from analysis.stats.improvement import improvement
from analysis.stats.point import probability_of_improvement

POWER = 0.8  # "clear" in this share of the simulated sweeps
MAX_SEEDS = 1024  # the largest seed count tried
# Seed counts tried: about 25% apart, from 2 to MAX_SEEDS.
GRID = np.unique(np.round(np.geomspace(2, MAX_SEEDS, 29)).astype(np.int64))


class SeedsNeeded(NamedTuple):
    """The answer of ``seeds_to_separate``."""

    seeds: int | None  # seeds per config for a clear difference; None when none up to MAX_SEEDS (or no pairs)
    p: float  # P(X > Y) of the observed paired seeds (0.5: these seeds show no difference)
    clear_now: float  # share of simulated sweeps with as many seeds as observed where it is already clear
    n_pairs: int  # seeds with a return in both configs


def _clear_share(x: np.ndarray, y: np.ndarray, n: int, above: bool, n_sims: int, seed: int) -> float:
    """Share of ``n_sims`` simulated sweeps of ``n`` seeds whose P(X > Y) interval is clear of 0.5."""
    rng = np.random.default_rng([seed, n])  # one stream per seed count: the answer does not depend on the search
    draws = rng.integers(0, x.size, size=(n_sims, n))  # seeds drawn from the observed pairs
    found = improvement(x[draws], y[draws])
    return float(np.mean(found.low > 0.5 if above else found.high < 0.5))


def seeds_to_separate(
    x: np.ndarray, y: np.ndarray, *, power: float = POWER, n_sims: int = 200, seed: int = 0
) -> SeedsNeeded:
    """Seeds per config at which P(X > Y)'s 95% interval would exclude 0.5 in ``power`` of sweeps like this one.

    Args:
      x, y: ``[seeds]`` final returns of the two configs, the same seed in the same position (NaN = missing);
        only seeds with both returns are used.
      power: the share of simulated sweeps that must be clear. n_sims: simulated sweeps per seed count.
      seed: seeds the simulation (the same data give the same answer).

    Returns:
      ``SeedsNeeded``: the smallest seed count in ``GRID`` that reaches ``power`` (searched by bisection, the
      share growing with the seed count), or None when even ``MAX_SEEDS`` does not, when the observed P is
      exactly 0.5, or when fewer than 2 seeds have both returns.
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"x and y must be [seeds] arrays of one shape, got {a.shape} and {b.shape}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    if a.size < 2:
        return SeedsNeeded(None, float("nan"), float("nan"), int(a.size))
    p = float(probability_of_improvement(a, b))
    if p == 0.5:
        return SeedsNeeded(None, p, 0.0, a.size)

    def share(n: int) -> float:
        return _clear_share(a, b, int(n), p > 0.5, n_sims, seed)

    now = share(a.size)
    if share(GRID[-1]) < power:
        return SeedsNeeded(None, p, now, a.size)
    i, j = 0, len(GRID) - 1  # invariant: GRID[j] reaches the power
    while i < j:
        k = (i + j) // 2
        if share(GRID[k]) >= power:
            j = k
        else:
            i = k + 1
    return SeedsNeeded(int(GRID[j]), p, now, a.size)


def sentence(res: SeedsNeeded, *, clear: bool, power: float = POWER) -> str:
    """One plain sentence saying how many seeds per config would make the difference clear at 95%.

    ``clear``: whether the observed P(X > Y) interval already excludes 0.5.
    """
    share = f"{round(power * 5)} of 5" if round(power * 5) == power * 5 else f"{power:.0%} of the"
    if res.n_pairs < 2:
        return "Too few seeds have a final return in both configs to say how many would tell them apart."
    if res.p == 0.5:
        return (
            f"Their {res.n_pairs} shared seeds show no difference at all (P = 0.50): nothing in them says how many "
            "more seeds would separate the two."
        )
    sims = f"{share} simulated sweeps that draw seeds from these {res.n_pairs}"
    if res.seeds is None:
        return (
            f"Even {MAX_SEEDS:,} seeds per config would not make the difference clear at 95% in {sims}: on these "
            "seeds the two are too alike for a sweep to tell apart."
        )
    if clear:
        return (
            f"The difference is clear at 95% with these {res.n_pairs} seeds; about {res.seeds} seeds per config "
            f"make it clear in {sims}."
        )
    return (
        f"About {res.seeds} seeds per config would make the difference clear at 95% (the P(X > Y) interval clear "
        f"of 0.5 in {sims}; a rough guess, only as good as these {res.n_pairs} seeds)."
    )
