"""Coverage of the intervals the analysis prints, on simulated CartPole-like returns: ``python -m analysis coverage``.

``python -m analysis coverage [--reps 1000] [--seeds 2 3 5 10 16 32] [--boot 2000] [--seed 0]`` (about 4
minutes on 2 cores) draws ``reps`` sweeps of each seed count from populations shaped like CartPole's final
returns (capped at 500, many seeds exactly at 500, some collapsed runs; a point mass at 500; continuous ones)
and prints, for every statistic the summary, report and compare print, how often the nominal 95% interval held
the population's true value, and its mean width. The intervals are the package's own (``intervals``); beside
them, for comparison, the percentile bootstrap the package used before and BCa (Efron, 1987).

Populations are quantile functions ``Q(u)`` on ``[0, 1]``: a sample is ``Q`` of uniform draws, a true value an
integral of ``Q`` (the IQM is ``2 * integral of Q over [1/4, 3/4]``). Runs of one seed in different configs are
correlated through a Gaussian copula with correlation ``rho`` (common random numbers). The AUC columns use the
same intervals on ``[0, 1]``; the methods scale with the range, and ``auc_check`` measures them on AUC-shaped
populations too. A learning curve's band at each point is the IQM interval of that point's runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as sps

from analysis.stats import intervals, seeds
from analysis.stats import point as stats
from analysis.stats.intervals import CURVE_BOOT
from common.errors import UserError, print_error

Quantile = Callable[[np.ndarray], np.ndarray]
SEED_COUNTS = (2, 3, 5, 10, 16, 32)
TARGET = 0.93  # the target coverage for nominal 95% intervals at 10 or more seeds


def _mix(*parts: tuple[float, Quantile]) -> Quantile:
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


def _uniform(a: float, b: float) -> Quantile:
    return lambda v: a + (b - a) * v


def _at(a: float) -> Quantile:
    return lambda v: np.full_like(v, a)


def _tabulated(f: Quantile, size: int = 1 << 16) -> Quantile:
    """``f`` (a scipy quantile function, slow) read off a table by linear interpolation: error below 0.01."""
    u = np.linspace(0.0, 1.0, size + 1)
    table = f(u)
    return lambda v: np.interp(v, u, table)


POPULATIONS: dict[str, Quantile] = {
    "80% at 500, 20% U(100, 400)": _mix((0.2, _uniform(100, 400)), (0.8, _at(500))),
    "70% at 500, 10% U(9, 30), 20% U(150, 450)": _mix(
        (0.1, _uniform(9, 30)), (0.2, _uniform(150, 450)), (0.7, _at(500))
    ),
    "60% at 500, 40% U(100, 400)": _mix((0.4, _uniform(100, 400)), (0.6, _at(500))),
    "500 x Beta(5, 1.5)": _tabulated(lambda u: 500.0 * sps.beta.ppf(u, 5, 1.5)),
    "all at 500": _at(500),
    "95% at 500, 5% U(9, 30)": _mix((0.05, _uniform(9, 30)), (0.95, _at(500))),
    "45% at 500, 15% U(9, 30), 40% U(100, 450)": _mix(
        (0.15, _uniform(9, 30)), (0.4, _uniform(100, 450)), (0.45, _at(500))
    ),
    "N(250, 100) clipped to [0, 500]": _tabulated(lambda u: np.clip(sps.norm.ppf(u, 250, 100), 0, 500)),
    "70% at 500, 30% U(9, 30)": _mix((0.3, _uniform(9, 30)), (0.7, _at(500))),
}
_P = list(POPULATIONS)
# P(X > Y) between two configs, their runs on one seed correlated by rho.
PAIRS = ((_P[0], _P[2], 0.5), (_P[3], _P[7], 0.5), (_P[4], _P[5], 0.5), (_P[1], _P[1], 0.8), (_P[6], _P[2], 0.0))
# IQM pooled over 4 configs (the heatmap and sensitivity cells), their runs on one seed correlated by rho.
POOLS = (((_P[0], _P[1], _P[2], _P[6]), 0.5), ((_P[5],) * 4, 0.9), ((_P[3], _P[7], _P[3], _P[7]), 0.5))
STATISTICS = ("mean", "median", "iqm", "shortfall")
CURVE = "curve band (IQM)"
SHARES = {"solved (>= 475)": stats.SOLVED_RETURN, "profile at 250": 250.0, "profile at 500": 500.0}

_GRID = (np.arange(100_000) + 0.5) / 100_000  # quantile levels for the true values


def true_value(q: Quantile, statistic: str) -> float:
    """The population value of ``statistic`` (``STATISTICS``, or a threshold for a share at or above it)."""
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
    """P(X > Y) + P(X = Y) / 2 for independent runs of the two populations."""
    g = _GRID[::20]
    x, y = np.sort(qx(g)), np.sort(qy(g))
    below = np.searchsorted(y, x, side="left")
    at = np.searchsorted(y, x, side="right") - below
    return float(np.mean(below + 0.5 * at) / y.size)


def draw(qs: Sequence[Quantile], rho: float, reps: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``[len(qs), reps, n]`` returns: ``reps`` sweeps of ``n`` seeds; on one seed, two configs' normal scores
    (before ``Q``) have correlation ``rho``: a shared part ``sqrt(rho) z`` and an own part ``sqrt(1 - rho) e``."""
    z = rng.standard_normal((1, reps, n))
    e = rng.standard_normal((len(qs), reps, n))
    u = sps.norm.cdf(np.sqrt(rho) * z + np.sqrt(1.0 - rho) * e)
    return np.stack([q(u[i]) for i, q in enumerate(qs)])


# --- the methods compared with the package's: the percentile bootstrap it used before, and BCa -------------


def _resampled(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``[..., n_boot, n]``: each row of ``x [..., n]`` resampled with replacement."""
    n = x.shape[-1]
    rows = x.reshape(-1, n)
    idx = rng.integers(0, n, (rows.shape[0], n_boot, n), dtype=np.int32) + (np.arange(rows.shape[0]) * n)[:, None, None]
    return rows.ravel()[idx].reshape(x.shape[:-1] + (n_boot, n))


_POINT = {"mean": stats.mean, "median": stats.median, "iqm": stats.iqm, "shortfall": stats.shortfall}


def percentile_and_bca(x: np.ndarray, statistic: str, n_boot: int, rng: np.random.Generator):
    """``((low, high), (low, high))``: percentile and BCa 95% intervals of each row of ``x [reps, n]``."""
    f = _POINT[statistic]
    point = f(x)
    reps = np.sort(f(_resampled(x, n_boot, rng)), axis=-1)
    pct = tuple(np.quantile(reps, [0.025, 0.975], axis=-1))
    frac = (np.sum(reps < point[:, None], -1) + 0.5 * np.sum(reps == point[:, None], -1)) / n_boot
    z0 = sps.norm.ppf(np.clip(frac, 0.5 / n_boot, 1 - 0.5 / n_boot))
    jack = np.stack([f(np.delete(x, i, axis=-1)) for i in range(x.shape[-1])], axis=-1)
    d = jack.mean(axis=-1, keepdims=True) - jack
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.nan_to_num(np.sum(d**3, -1) / (6.0 * np.sum(d**2, -1) ** 1.5))
    ends = []
    for zq in sps.norm.ppf([0.025, 0.975]):
        level = sps.norm.cdf(z0 + (z0 + zq) / (1 - acc * (z0 + zq)))
        k = np.clip(np.floor(level * n_boot).astype(np.int64), 0, n_boot - 1)
        ends.append(np.take_along_axis(reps, k[:, None], axis=-1)[:, 0])
    return pct, tuple(ends)


def _counts(x: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``[reps, n_boot, n]`` how often a resample of each row of ``x [reps, n]`` holds each of its runs."""
    r, n = x.shape
    idx = rng.integers(0, n, (r, n_boot, n)) + (np.arange(r * n_boot) * n).reshape(r, n_boot, 1)
    return np.bincount(idx.ravel(), minlength=r * n_boot * n).reshape(r, n_boot, n).astype(np.float64)


def _old_improvement(x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator):
    """The package's former P(X > Y) interval: X and Y resampled independently, percentile ends."""
    n = x.shape[-1]
    cx, cy = _counts(x, n_boot, rng) / n, _counts(y, n_boot, rng) / n  # a resample as weights on the runs
    p = intervals._improvement(x, y, cx, cy)
    return tuple(np.quantile(p, [0.025, 0.975], axis=-1))


def _old_pooled(x: np.ndarray, statistic: str, n_boot: int, rng: np.random.Generator):
    """The former pooled interval: ``x [T, reps, n]`` resampled within each stratum independently."""
    r = _resampled(x, n_boot, rng)  # [T, reps, B, n]
    pooled = np.moveaxis(r, 0, -2).reshape(x.shape[1], n_boot, -1)
    return tuple(np.quantile(_POINT[statistic](pooled), [0.025, 0.975], axis=-1))


def _wilson(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    z = sps.norm.ppf(0.975)
    c = (k + z * z / 2) / (n + z * z)
    h = z * np.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return c - h, c + h


# --- the study ------------------------------------------------------------------------------------------


def _cell(low, high, truth: float) -> tuple[float, float]:
    """Coverage and mean width of intervals ``low, high [reps]`` for ``truth`` (NaN ends never cover)."""
    tol = 1e-9 * max(1.0, abs(truth))
    covered = (low <= truth + tol) & (truth - tol <= high)
    return float(np.mean(covered)), float(np.nanmean(high - low)) if np.any(~np.isnan(high)) else float("nan")


CHUNK = 50  # simulated sweeps handled at once (bounds memory: 50 x 2,000 replicates x 32 seeds)


def _chunked(reps: int, fn: Callable[[slice], dict]) -> dict:
    """``fn(sweeps)`` over chunks of ``CHUNK`` sweeps; each of its ``{key: (low, high)}`` concatenated."""
    parts = [fn(slice(i, min(i + CHUNK, reps))) for i in range(0, reps, CHUNK)]
    return {k: tuple(np.concatenate([p[k][j] for p in parts]) for j in (0, 1)) for k in parts[0]}


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31))


def _single(q: Quantile, n: int, reps: int, n_boot: int, rng: np.random.Generator, rows: list[dict]) -> None:
    """One population at ``n`` seeds: every single-config statistic and share, by every method."""
    name = next(k for k, v in POPULATIONS.items() if v is q)
    x = draw([q], 0.0, reps, n, rng)[0]

    def ends(sl: slice) -> dict:
        mine = intervals.intervals_of(x[sl], STATISTICS, n_boot=n_boot, seed=_seed(rng))
        out = {}
        for s in STATISTICS:
            out[s, "package"] = mine[s][1:]
            out[s, "percentile"], out[s, "BCa"] = percentile_and_bca(x[sl], s, n_boot, rng)
        # A learning curve's band at a point: the IQM interval with the curves' fewer replicates.
        out[CURVE, "package"] = intervals.interval(x[sl], "iqm", n_boot=CURVE_BOOT, seed=_seed(rng))[1:]
        return out

    for (s, method), (lo, hi) in _chunked(reps, ends).items():
        truth = true_value(q, "iqm" if s == CURVE else s)
        rows.append(dict(statistic=s, population=name, seeds=n, method=method, **_res(lo, hi, truth)))
    for label, tau in SHARES.items():
        k = np.sum(x >= tau, axis=-1)
        truth = true_value(q, str(tau))
        cp = intervals.proportion_interval(k, np.full(k.shape, n))
        for method, (lo, hi) in (("package", cp), ("Wilson", _wilson(k, n))):
            rows.append(dict(statistic=label, population=name, seeds=n, method=method, **_res(lo, hi, truth)))


def _pair(px: str, py: str, rho: float, n: int, reps: int, n_boot: int, rng, rows: list[dict]) -> None:
    """P(X > Y) of two populations at ``n`` seeds, their runs on one seed correlated by ``rho``."""
    x, y = draw([POPULATIONS[px], POPULATIONS[py]], rho, reps, n, rng)
    truth = true_improvement(POPULATIONS[px], POPULATIONS[py])

    def ends(sl: slice) -> dict:
        mine = intervals.improvement_interval(x[sl], y[sl], n_boot=n_boot, seed=_seed(rng))
        return {"package": mine[1:], "percentile": _old_improvement(x[sl], y[sl], n_boot, rng)}

    label = f"{px}  vs  {py}, rho {rho}"
    for method, (lo, hi) in _chunked(reps, ends).items():
        rows.append(dict(statistic="P(X > Y)", population=label, seeds=n, method=method, **_res(lo, hi, truth)))


def _pool(names: Sequence[str], rho: float, n: int, reps: int, n_boot: int, rng, rows: list[dict]) -> None:
    """The IQM pooled over configs of the populations ``names`` at ``n`` seeds each, correlated by ``rho``."""
    qs = [POPULATIONS[p] for p in names]
    x = draw(qs, rho, reps, n, rng)  # [T, reps, n]
    v = np.sort(np.concatenate([q(_GRID[::10]) for q in qs]))  # the equal mixture's quantiles
    truth = float(v[v.size // 4 : v.size - v.size // 4].mean())

    def ends(sl: slice) -> dict:
        mine = intervals.pooled_interval(np.moveaxis(x[:, sl], 0, -1), n_boot=n_boot, seed=_seed(rng))
        return {"package": mine[1:], "percentile": _old_pooled(x[:, sl], "iqm", n_boot, rng)}

    label = f"pool of {' | '.join(dict.fromkeys(names))}, rho {rho}"
    for method, (lo, hi) in _chunked(reps, ends).items():
        rows.append(dict(statistic="pooled IQM", population=label, seeds=n, method=method, **_res(lo, hi, truth)))


def study(
    *, reps: int = 1000, seed_counts: Sequence[int] = SEED_COUNTS, n_boot: int = intervals.N_BOOT, seed: int = 0
) -> list[dict]:
    """Every cell of the study: ``{statistic, population, seeds, method, coverage, width}`` rows."""
    rows: list[dict] = []
    for n in seed_counts:
        rng = np.random.default_rng([seed, n])
        for q in POPULATIONS.values():
            _single(q, n, reps, n_boot, rng, rows)
        for px, py, rho in PAIRS:
            _pair(px, py, rho, n, reps, n_boot, rng, rows)
        for names, rho in POOLS:
            _pool(names, rho, n, reps, n_boot, rng, rows)
    return rows


def _res(lo, hi, truth) -> dict:
    c, w = _cell(np.asarray(lo, np.float64), np.asarray(hi, np.float64), truth)
    return {"coverage": c, "width": w}


def tables(rows: Sequence[dict]) -> str:
    """The study as Markdown: the lowest coverage per statistic and seed count, then every cell."""
    seeds = sorted({r["seeds"] for r in rows})
    head = "| | " + " | ".join(f"{n} seeds" for n in seeds) + " |\n|---|" + "---:|" * len(seeds) + "\n"
    order = list(dict.fromkeys(r["statistic"] for r in rows))
    mine = [r for r in rows if r["method"] == "package"]
    out = ["Lowest coverage over every population, the package's nominal 95% intervals:\n", head]
    for s in order:
        cells = []
        for n in seeds:
            cov = [r["coverage"] for r in mine if r["statistic"] == s and r["seeds"] == n]
            cells.append(f"{min(cov):.3f}")
        out.append(f"| {s} | " + " | ".join(cells) + " |\n")
    cells = [f"{min(r['coverage'] for r in mine if r['seeds'] == n):.3f}" for n in seeds]
    out.append("| **any interval printed** | " + " | ".join(f"**{c}**" for c in cells) + " |\n")
    out.append("\nLowest coverage over every population, by method:\n\n| | method | ")
    out.append(" | ".join(f"{n} seeds" for n in seeds) + " |\n|---|---|" + "---:|" * len(seeds) + "\n")
    for s in order:
        for m in dict.fromkeys(r["method"] for r in rows if r["statistic"] == s):
            cov = {
                n: [r["coverage"] for r in rows if (r["statistic"], r["method"], r["seeds"]) == (s, m, n)]
                for n in seeds
            }
            out.append(f"| {s} | {m} | " + " | ".join(f"{min(cov[n]):.3f}" for n in seeds) + " |\n")
    out.append("\nEvery cell: coverage (mean width) of each method.\n")
    cell = {(r["statistic"], r["population"], r["seeds"], r["method"]): r for r in rows}
    for s in order:
        out.append(f"\n{s}\n\n| population | method | " + " | ".join(f"{n} seeds" for n in seeds) + " |\n")
        out.append("|---|---|" + "---:|" * len(seeds) + "\n")
        for pop in dict.fromkeys(r["population"] for r in rows if r["statistic"] == s):
            for m in dict.fromkeys(r["method"] for r in rows if r["statistic"] == s):
                cells = []
                for n in seeds:
                    r = cell[s, pop, n, m]
                    cells.append(f"{r['coverage']:.3f} ({r['width']:.3g})")
                out.append(f"| {pop} | {m} | " + " | ".join(cells) + " |\n")
    return "".join(out)


def seed_count_check(*, draws: int = 20, n: int = 16, reps: int = 200, seed: int = 0) -> str:
    """How well ``seeds.seeds_to_separate`` guesses from ``n`` seeds, on one pair of populations (Markdown).

    The pair is the first of ``PAIRS`` (P(X > Y) = 0.6, rho 0.5). Each of ``draws`` sweeps of ``n`` seeds gives
    a guess; ``reps`` sweeps of each seed count near the guesses then show the share whose interval is truly
    clear of 0.5 (the guess aims at 80%).
    """
    px, py, rho = PAIRS[0]
    qs = [POPULATIONS[px], POPULATIONS[py]]
    rng = np.random.default_rng([seed, 1])
    guesses = []
    for _ in range(draws):
        x, y = draw(qs, rho, 1, n, rng)[:, 0]
        guesses.append(seeds.seeds_to_separate(x, y, seed=_seed(rng)).seeds)
    shown = sorted(g for g in guesses if g is not None)
    none = sum(g is None for g in guesses)
    lines = [
        f"\nSeed counts guessed from {n} seeds ({px} vs {py}, rho {rho}; {draws} sweeps): "
        + ", ".join(map(str, shown))
        + (f", and {none} x more than {seeds.MAX_SEEDS}" if none else "")
        + ".\n\n| seeds per config | share of sweeps clear of 0.5 |\n|---:|---:|\n"
    ]
    for m in seeds.GRID[(seeds.GRID >= 30) & (seeds.GRID <= 200)]:
        x, y = draw(qs, rho, reps, int(m), rng)
        iv = intervals.improvement_interval(x, y, n_boot=400, seed=_seed(rng))
        lines.append(f"| {m} | {np.mean(iv.low > 0.5):.2f} |\n")
    return "".join(lines)


# Shapes of the normalised area under a learning curve (the AUC columns, on [0, 1]): continuous, skewed towards
# the top, a slow minority, and a share of runs at the best possible curve.
AUC_POPULATIONS: dict[str, Quantile] = {
    "Beta(8, 3)": _tabulated(lambda u: sps.beta.ppf(u, 8, 3)),
    "85% Beta(12, 2), 15% U(0.05, 0.3)": _mix(
        (0.15, _uniform(0.05, 0.3)), (0.85, _tabulated(lambda u: sps.beta.ppf(u, 12, 2)))
    ),
    "60% U(0.7, 0.95), 40% U(0.2, 0.6)": _mix((0.4, _uniform(0.2, 0.6)), (0.6, _uniform(0.7, 0.95))),
    "30% at 1, 70% U(0.5, 1)": _mix((0.7, _uniform(0.5, 1.0)), (0.3, _at(1.0))),
}


def auc_check(
    *, reps: int = 300, seed_counts: Sequence[int] = (5, 10, 16), n_boot: int = intervals.N_BOOT, seed: int = 0
) -> list[dict]:
    """Coverage of the AUC intervals (bounds (0, 1), as the summary gives them) on ``AUC_POPULATIONS``: one row
    per population, seed count and statistic (``population, seeds, statistic, coverage, width``)."""
    rng, rows = np.random.default_rng([seed, 2]), []
    for n in seed_counts:
        for name, q in AUC_POPULATIONS.items():
            x = draw([q], 0.0, reps, n, rng)[0]

            def ends(sl: slice, x=x) -> dict:
                mine = intervals.intervals_of(
                    x[sl], ("mean", "median", "iqm"), bounds=(0.0, 1.0), n_boot=n_boot, seed=_seed(rng)
                )
                return {s: v[1:] for s, v in mine.items()}

            for s, (lo, hi) in _chunked(reps, ends).items():
                rows.append(dict(population=name, seeds=n, statistic=s, **_res(lo, hi, true_value(q, s))))
    return rows


def auc_table(rows: Sequence[dict]) -> str:
    """``auc_check``'s rows as Markdown: coverage (mean width) per population and statistic, by seed count."""
    counts = sorted({r["seeds"] for r in rows})
    out = ["\nAUC intervals on [0, 1], coverage (mean width):\n\n| population | statistic | "
           + " | ".join(f"{n} seeds" for n in counts) + " |\n|---|---|" + "---:|" * len(counts) + "\n"]  # fmt: skip
    cell = {(r["population"], r["statistic"], r["seeds"]): r for r in rows}
    for pop in AUC_POPULATIONS:
        for s in ("mean", "median", "iqm"):
            if (pop, s, counts[0]) in cell:
                vals = [f"{cell[pop, s, n]['coverage']:.3f} ({cell[pop, s, n]['width']:.2f})" for n in counts]
                out.append(f"| {pop} | {s} | " + " | ".join(vals) + " |\n")
    return "".join(out)


def parser() -> argparse.ArgumentParser:
    """The command line's parser (``python -m analysis coverage``)."""
    p = argparse.ArgumentParser(prog="python -m analysis coverage", description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=1000, help="simulated sweeps per cell (default 1000)")
    p.add_argument(
        "--seeds", type=int, nargs="+", default=list(SEED_COUNTS), help="seed counts (default: 2 3 5 10 16 32)"
    )
    p.add_argument("--boot", type=int, default=intervals.N_BOOT, help="replicates per interval (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="seeds the simulation (default 0)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the study and prints its tables; returns the exit status (2 for bad arguments)."""
    p = parser()
    args = p.parse_args(argv)
    try:
        if args.reps < 1 or args.boot < 1:
            raise UserError(f"--reps and --boot must be positive integers, got {args.reps} and {args.boot}")
        if any(n < 2 for n in args.seeds):
            raise UserError(f"--seeds must be seed counts of 2 or more, got {' '.join(map(str, args.seeds))}")
    except UserError as e:
        return print_error(p.prog, e)
    t0 = time.perf_counter()
    rows = study(reps=args.reps, seed_counts=args.seeds, n_boot=args.boot, seed=args.seed)
    print(tables(rows))
    print(seed_count_check(seed=args.seed))
    print(auc_table(auc_check(reps=args.reps, seed_counts=args.seeds, n_boot=args.boot, seed=args.seed)))
    print(f"{args.reps} sweeps per cell, {args.boot} replicates per interval, {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
