"""Standard tests of two configs' runs, the references the power study (``power``) measures the package against.

Every function takes rows ``x, y [r, n]`` of finite scores (row ``i`` one simulated sweep, column ``j`` one seed:
the runs of a column share their seed) and returns ``[r]``; no seed may be missing (the simulations have none).
Two-sided at level ``alpha``; a p-value ``<= alpha`` rejects "no difference".

* ``mann_whitney_p``: Mann-Whitney U (Mann and Whitney, 1947), unpaired; the normal approximation with the tie
  correction of the variance and a continuity correction, as ``scipy.stats.mannwhitneyu(method="asymptotic")``.
* ``wilcoxon_p``: Wilcoxon signed-rank test of the paired differences, Pratt's treatment of zero differences
  (ranked with the others, then given sign 0) and mid-ranks for ties; the p-value is the sign-flip permutation
  one, over all ``2^n`` flips up to ``EXACT_MAX`` seeds, else ``N_FLIPS`` random flips with the identity: exact
  (conditional on the ranks) with any number of ties and zeros, where the normal approximation is not.
* ``paired_permutation_p``: permutation test of the mean paired difference, the same flips.
* ``brunner_munzel_p``: Brunner and Munzel (2000), unpaired, t with Welch-Satterthwaite degrees of freedom, as
  ``scipy.stats.brunnermunzel``; where its variance estimate is zero (complete separation, or every run tied),
  which scipy leaves undefined, the p-value of the permutation test its authors advise for small samples
  (Neubert and Brunner, 2007): ``2 / C(2n, n)`` at complete separation, 1 when every run ties.
* ``percentile_bootstrap``: rliable's interval of P(X > Y) (Agarwal et al., 2021): the runs of each config
  resampled independently, percentile ends; "rejects" where the interval excludes 1/2.
"""

from __future__ import annotations

from math import comb

import numpy as np
from scipy import stats as sps

EXACT_MAX = 12  # enumerate every sign flip up to this many seeds (4,096 flips)
N_FLIPS = 2000  # random sign flips above it (the identity among them)
_CHUNK_ELEMENTS = 1 << 22  # rows x replicates x seeds handled at once by the bootstrap


def _rows(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"x and y must be [rows, seeds] arrays of one shape, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("scores must be finite: the reference tests take no missing seeds")
    return a, b


def wins(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``[r, n, n]``: 1 where ``x_i > y_j``, 1/2 where equal, 0 below."""
    d = x[:, :, None] - y[:, None, :]
    return (d > 0) + 0.5 * (d == 0)


def mann_whitney_p(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Two-sided Mann-Whitney U p-value of each row (normal approximation, tie and continuity corrections).

    ``U`` is the rank sum of ``x`` in the pooled row less ``n (n + 1) / 2``; its variance under the null is
    ``n m / 12 ((N + 1) - sum(t^3 - t) / (N (N - 1)))`` over the groups of ``t`` tied values (Lehmann, 1975). A
    row whose runs all tie has no variance and gets 1."""
    a, b = _rows(x, y)
    n = m = a.shape[-1]
    pooled = np.concatenate([a, b], axis=-1)
    big = n + m
    u = sps.rankdata(pooled, axis=-1)[:, :n].sum(axis=-1) - n * (n + 1) / 2.0
    tied = np.sum(pooled[:, :, None] == pooled[:, None, :], axis=-1)  # size of each value's tie group
    ties = np.sum(tied.astype(np.float64) ** 2 - 1.0, axis=-1)  # sum over groups of t^3 - t
    s = np.sqrt(n * m / 12.0 * ((big + 1) - ties / (big * (big - 1))))
    dev = np.abs(u - n * m / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = 2.0 * sps.norm.sf((dev - 0.5) / s)
    return np.where(s > 0, np.minimum(p, 1.0), 1.0)


def sign_flips(n: int, rng: np.random.Generator, exact_max: int = EXACT_MAX, n_flips: int = N_FLIPS) -> np.ndarray:
    """``[F, n]`` signs +-1: all ``2^n`` for ``n <= exact_max``, else the identity and ``n_flips - 1`` random
    ones. Row 0 is the identity."""
    if n <= exact_max:
        bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    else:
        bits = rng.integers(0, 2, (n_flips, n))
        bits[0] = 0
    return 1.0 - 2.0 * bits


def _flip_p(v: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """The sign-flip p-value of ``|sum_i v_i|`` for each row of ``v [r, n]``: the share of flips whose statistic
    is at least the observed one (the identity, row 0 of ``flips``, included)."""
    t = np.abs(v @ flips.T)  # [r, F]
    tol = 1e-9 * np.maximum(np.abs(v).sum(axis=-1, keepdims=True), 1e-300)  # equal sums, whatever the rounding
    return np.mean(t >= t[:, :1] - tol, axis=-1)


def wilcoxon_p(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two-sided Wilcoxon signed-rank p-value of the paired differences ``x - y`` (Pratt zeros, sign flips)."""
    a, b = _rows(x, y)
    d = a - b
    signed = np.sign(d) * sps.rankdata(np.abs(d), axis=-1)
    return _flip_p(signed, sign_flips(a.shape[-1], rng))


def paired_permutation_p(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two-sided permutation p-value of the mean paired difference (sign flips of ``x - y``)."""
    a, b = _rows(x, y)
    return _flip_p(a - b, sign_flips(a.shape[-1], rng))


def brunner_munzel_p(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Two-sided Brunner-Munzel p-value of each row (t, Welch df), the permutation value where it has no variance.

    With ``P_i`` the share of ``y``'s below ``x_i`` and ``Q_j`` the share of ``x``'s above ``y_j`` (ties 1/2),
    ``p = mean(P)``, ``var(p) ~ var(P) / n + var(Q) / m`` and ``T = (p - 1/2) / sqrt(var(p))``.
    """
    a, b = _rows(x, y)
    n = a.shape[-1]
    w = wins(a, b)
    px, qy = w.mean(axis=-1), w.mean(axis=-2)  # [r, n] each
    p = px.mean(axis=-1)
    vx, vy = px.var(axis=-1, ddof=1) / n, qy.var(axis=-1, ddof=1) / n
    se2 = vx + vy
    flat = se2 <= 1e-12 / n
    with np.errstate(invalid="ignore", divide="ignore"):
        df = se2**2 / (vx**2 / (n - 1) + vy**2 / (n - 1))
        pv = 2.0 * sps.t.sf(np.abs(p - 0.5) / np.sqrt(se2), np.where(flat, 1.0, df))
    separated = 2.0 / comb(2 * n, n)
    return np.where(flat, np.where(np.abs(p - 0.5) >= 0.5, separated, 1.0), pv)


def _counts(r: int, n_boot: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``[r, B, n]`` how often a resample (with replacement) of ``n`` runs holds each."""
    idx = rng.integers(0, n, (r, n_boot, n)) + n * np.arange(r * n_boot).reshape(r, n_boot, 1)
    return np.bincount(idx.ravel(), minlength=r * n_boot * n).reshape(r, n_boot, n).astype(np.float64)


def percentile_bootstrap(
    x: np.ndarray, y: np.ndarray, *, n_boot: int, rng: np.random.Generator, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """rliable's ``(low, high)`` of P(X > Y) for each row: ``x`` and ``y`` resampled independently (the pairing
    ignored), P of each resample ``c_x' W c_y / n^2`` with ``W = wins(x, y)``, percentile ends."""
    a, b = _rows(x, y)
    r, n = a.shape
    step = max(1, _CHUNK_ELEMENTS // (n_boot * n))
    low, high = np.empty(r), np.empty(r)
    for s in range(0, r, step):
        sl = slice(s, min(s + step, r))
        k = sl.stop - sl.start
        cx, cy = _counts(k, n_boot, n, rng), _counts(k, n_boot, n, rng)
        # einsum, not matmul: a stack of small BLAS products stalls when its threads compete for busy cores.
        reps = np.sum(np.einsum("rbi,rij->rbj", cx, wins(a[sl], b[sl])) * cy, axis=-1) / n**2  # [k, B]
        low[sl], high[sl] = np.quantile(reps, [alpha / 2, 1.0 - alpha / 2], axis=-1)
    return low, high
