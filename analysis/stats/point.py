"""Point statistics of scores over seeds: small pure numpy functions (their intervals are in ``intervals``).

After Agarwal, Schwarzer, Castro, Courville, Bellemare, "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", NeurIPS 2021 (the ``rliable`` library), for one task at a time: its ``Scale`` says where
its returns lie and what counts as solved (CartPole-v1's by default).

Scores are float arrays whose **last axis holds runs** (seeds); leading axes are batch axes (configs, evaluation
points) and everything is vectorised over them. ``NaN`` marks a missing run and is ignored, so configs with
unequal seed counts share one NaN-padded array.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np


class Scale(NamedTuple):
    """A task's returns as the statistics need them: the lowest and highest possible return (the intervals' worst
    cases; None where there is no bound, as MinAtar's scores have no top), the return that counts as solved (None:
    no such threshold) and a random policy's return (None: unknown). The engine records each task's in the
    manifest (``tasks``); ``tables.task`` reads them."""

    low: float | None
    high: float | None
    solved: float | None
    random: float | None = None

    def bounds(self, values: np.ndarray | None = None) -> tuple[float, float]:
        """``(low, high)``, an unknown end taken from ``values`` (their min or max), widened to hold them."""
        v = np.asarray([] if values is None else values, dtype=np.float64)
        seen = v[~np.isnan(v)]
        lo = self.low if self.low is not None else (float(seen.min()) if seen.size else 0.0)
        hi = self.high if self.high is not None else (float(seen.max()) if seen.size else lo + 1.0)
        if seen.size:
            lo, hi = min(lo, float(seen.min())), max(hi, float(seen.max()))
        return lo, hi if hi > lo else lo + 1.0


CARTPOLE = Scale(low=0.0, high=500.0, solved=475.0, random=21.9)  # CartPole-v1: what a manifest without tasks means
SOLVED_RETURN = CARTPOLE.solved  # CartPole-v1 is "solved" at an average return of 475 (gymnasium's reward_threshold)
MAX_RETURN = CARTPOLE.high  # CartPole-v1 truncates episodes at 500 steps, reward 1 per step
RETURN_RANGE = (CARTPOLE.low, MAX_RETURN)  # every CartPole-v1 return lies here: the intervals' worst cases


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
    """Median over the last axis, i.e. over seeds, ignoring NaN (mean of the middle two if even).

    ``[..., n] -> [...]``. Not rliable's ``aggregate_median``, which is a median over tasks of per-task means
    (for one task, the mean): this is the median seed.
    """
    x, n = _valid_sorted(scores)
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
    x, n = _valid_sorted(scores)
    g = n // 4
    # Sum of x[g : n - g] per row; NaN sort last (positions >= n), so the mask never keeps one.
    j = np.arange(x.shape[-1])
    keep = (j >= g[..., None]) & (j < (n - g)[..., None])
    kept = n - 2 * g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(kept > 0, np.sum(x, axis=-1, where=keep) / kept, np.nan)


def shortfall(scores: np.ndarray, threshold: float = SOLVED_RETURN) -> np.ndarray:
    """Mean shortfall below ``threshold``: mean of ``max(threshold - score, 0)`` ignoring NaN. ``[..., n] -> [...]``.

    How far runs fall short of the solved return (default 475); lower is better. rliable's *optimality gap*
    (Agarwal et al., 2021, sec. 4) is this with the threshold at the best possible score; for returns capped
    at 500 that would be just ``500 - mean``, so the solved return is the threshold here.
    """
    x = np.asarray(scores, dtype=np.float64)
    return mean(np.where(np.isnan(x), np.nan, np.maximum(threshold - x, 0.0)))


def fraction_above(scores: np.ndarray, threshold: float = SOLVED_RETURN) -> np.ndarray:
    """Fraction of valid runs whose score is at least ``threshold``. ``[..., n] -> [...]``."""
    x = np.asarray(scores, dtype=np.float64)
    return mean(np.where(np.isnan(x), np.nan, (x >= threshold).astype(np.float64)))


def performance_profile(scores: np.ndarray, taus: Sequence[float] | np.ndarray) -> np.ndarray:
    """Run-score distribution: fraction of valid runs with score >= tau, per tau. ``[..., n] -> [..., k]``.

    The empirical tail distribution of Agarwal et al. (2021, sec. 5), over runs. rliable counts scores
    strictly above tau; for continuous scores that is the same, but CartPole's returns pile up at 500, where
    "above" is always 0 and "at least" is the share of runs that reached the cap.
    """
    x = np.asarray(scores, dtype=np.float64)[..., None, :]
    t = np.asarray(taus, dtype=np.float64)[:, None]
    return mean(np.where(np.isnan(x), np.nan, (x >= t).astype(np.float64)))


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y): the probability that a random run of X beats a random run of Y, ties counting 1/2.

    Args:
      x: ``[..., n]`` runs of config X; y: ``[..., m]`` runs of Y (broadcast over leading axes); NaN = missing.

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
