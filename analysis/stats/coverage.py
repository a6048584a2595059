"""Coverage of the intervals the analysis prints, on simulated returns: ``python -m analysis coverage``.

``python -m analysis coverage [--part coverage|power|multi|frontier|all] [--reps 1000] [--seeds 2 3 5 8 10 16 32]
[--boot 2000] [--seed 0] [--fast]`` draws ``reps`` sweeps of each seed count from the populations of ``populations``
(CartPole-like final returns capped at 500, many seeds exactly at 500, some collapsed runs, a point mass at 500,
continuous ones; Acrobot-like and MountainCar-like returns with runs stuck at the lowest score; MinAtar-like ones
without an upper bound) and prints, for every statistic the summary, report and compare print, how often the nominal
95% interval held the population's true value, and its mean width. Each population's intervals use its bounds
(``BOUNDS``; with no upper bound, each sweep's own widened ones). The intervals are the package's own
(``intervals``, ``improvement``); beside them, for comparison (``compared``), the percentile bootstrap the package
used before and BCa (Efron, 1987), Wilson's interval for shares, and for P(X > Y) the package's previous interval (a
Bayesian bootstrap with a worst-case atom) and rliable's percentile bootstrap. ``--part power`` and ``--part multi``
add the power of the P(X > Y) interval against standard tests (``power``) and its error rates over many comparisons
(``multiple``),
``--part frontier`` what coverage costs in power between the package's P(X > Y) interval and the plain t
(``frontier``).

Runs of one seed in different configs are correlated through a Gaussian copula with correlation ``rho`` (common
random numbers). The AUC columns use the same intervals on ``[0, 1]``; the methods scale with the range, and
``auc_check`` measures them on AUC-shaped populations too. A learning curve's band at each point is the IQM
interval of that point's runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as sps

from analysis.stats import compared, frontier, intervals, multiple, power, seeds
from analysis.stats import point as stats
from analysis.stats import references as refs
from analysis.stats.improvement import improvement, improvement_across
from analysis.stats.intervals import CURVE_BOOT
from analysis.stats.populations import (
    ACROBOT,
    BOUNDS,
    CARTPOLE,
    MOUNTAIN_CAR,
    POPULATIONS,
    Quantile,
    acrobot,
    draw,
    mixture,
    normalised,
    point_mass,
    sweep_scale,
    tabulated,
    true_improvement,
    true_pooled_iqm,
    true_value,
    uniform,
)
from common.errors import UserError, print_error

SEED_COUNTS = (2, 3, 5, 8, 10, 16, 32)  # the power parts start at 5 (power.SEED_COUNTS)
TARGET = power.TARGET
PARTS = ("coverage", "power", "multi", "frontier")

_P = list(POPULATIONS)
# P(X > Y) between two configs, their runs on one seed correlated by rho (more pairs: ``power.PAIRS``).
PAIRS = ((_P[0], _P[2], 0.5), (_P[3], _P[7], 0.5), (_P[4], _P[5], 0.5), (_P[1], _P[1], 0.8), (_P[6], _P[2], 0.0))
# IQM pooled over 4 configs (the heatmap and sensitivity cells), their runs on one seed correlated by rho.
POOLS = (((_P[0], _P[1], _P[2], _P[6]), 0.5), ((_P[5],) * 4, 0.9), ((_P[3], _P[7], _P[3], _P[7]), 0.5))
STATISTICS = ("mean", "median", "iqm", "shortfall")  # shortfall below 475: CartPole populations only
CURVE = "curve band (IQM)"
SHARES = {"solved (>= 475)": stats.SOLVED_RETURN, "profile at 250": 250.0, "profile at 500": 500.0}


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


def _single(name: str, n: int, reps: int, n_boot: int, rng: np.random.Generator, rows: list[dict]) -> None:
    """One population at ``n`` seeds: every single-config statistic and share, by every method, on its bounds."""
    q, cartpole = POPULATIONS[name], BOUNDS[name] == CARTPOLE
    x = draw([q], 0.0, reps, n, rng)[0]
    scale, bounds = sweep_scale(x, BOUNDS[name])  # scale 1 unless the population has no upper bound
    z = x / scale[:, None]
    names = STATISTICS if cartpole else STATISTICS[:3]

    def ends(sl: slice) -> dict:
        k = scale[sl]
        mine = intervals.intervals_of(z[sl], names, bounds=bounds, n_boot=n_boot, seed=_seed(rng))
        old = compared.percentile_and_bca(z[sl], names, n_boot, rng)
        out = {}
        for s in names:
            out[s, "package"] = mine[s][1:]
            out[s, "percentile"], out[s, "BCa"] = old[s]
        # A learning curve's band at a point: the IQM interval with the curves' fewer replicates.
        out[CURVE, "package"] = intervals.interval(z[sl], "iqm", bounds=bounds, n_boot=CURVE_BOOT, seed=_seed(rng))[1:]
        return {key: (lo * k, hi * k) for key, (lo, hi) in out.items()}

    for (s, method), (lo, hi) in _chunked(reps, ends).items():
        truth = true_value(q, "iqm" if s == CURVE else s)
        rows.append(dict(statistic=s, population=name, seeds=n, method=method, **_res(lo, hi, truth)))
    for label, tau in SHARES.items() if cartpole else ():
        k = np.sum(x >= tau, axis=-1)
        truth = true_value(q, str(tau))
        cp = intervals.proportion_interval(k, np.full(k.shape, n))
        for method, (lo, hi) in (("package", cp), ("Wilson", compared.wilson(k, n))):
            rows.append(dict(statistic=label, population=name, seeds=n, method=method, **_res(lo, hi, truth)))


def _pair(px: str, py: str, rho: float, n: int, reps: int, n_boot: int, rng, rows: list[dict]) -> None:
    """P(X > Y) of two populations at ``n`` seeds, their runs on one seed correlated by ``rho``."""
    x, y = draw([POPULATIONS[px], POPULATIONS[py]], rho, reps, n, rng)
    truth = true_improvement(POPULATIONS[px], POPULATIONS[py])

    def ends(sl: slice) -> dict:
        mine = improvement(x[sl], y[sl])
        return {
            "package": (mine.low, mine.high),
            "previous (atom BB)": compared.previous_improvement(x[sl], y[sl], BOUNDS[px], n_boot, _seed(rng)),
            "rliable percentile": refs.percentile_bootstrap(x[sl], y[sl], n_boot=n_boot, rng=rng),
        }

    label = f"{px}  vs  {py}, rho {rho}"
    for method, (lo, hi) in _chunked(reps, ends).items():
        rows.append(dict(statistic="P(X > Y)", population=label, seeds=n, method=method, **_res(lo, hi, truth)))


def _pool(names: Sequence[str], rho: float, n: int, reps: int, n_boot: int, rng, rows: list[dict]) -> None:
    """The IQM pooled over configs of the populations ``names`` at ``n`` seeds each, correlated by ``rho``."""
    qs = [POPULATIONS[p] for p in names]
    x = draw(qs, rho, reps, n, rng)  # [T, reps, n]
    truth = true_pooled_iqm(qs)

    def ends(sl: slice) -> dict:
        mine = intervals.pooled_interval(np.moveaxis(x[:, sl], 0, -1), n_boot=n_boot, seed=_seed(rng))
        return {"package": mine[1:], "percentile": compared.old_pooled(x[:, sl], "iqm", n_boot, rng)}

    label = f"pool of {' | '.join(dict.fromkeys(names))}, rho {rho}"
    for method, (lo, hi) in _chunked(reps, ends).items():
        rows.append(dict(statistic="pooled IQM", population=label, seeds=n, method=method, **_res(lo, hi, truth)))


# Normalised scores pooled over tasks (``summaries.tasks``), each task's scores as (return - random) / (solved -
# random), independent across tasks (rho 0: a seed means nothing across them). Per pool: (population, random,
# solved, bounds) per task. The first: the CartPole-, Acrobot- and MountainCar-like shapes.
_C, _A, _M = CARTPOLE, ACROBOT, MOUNTAIN_CAR
TASK_POOLS = {
    "CartPole 60% solved + Acrobot 10% stuck + MountainCar 20% stuck": (
        (POPULATIONS[_P[2]], 21.9, 475.0, _C), (acrobot(0.10), -499.2, -100.0, _A),
        (POPULATIONS[_P[10]], -200.0, -110.0, _M)),
    "CartPole 15% collapsed + Acrobot 30% stuck + MountainCar 20% stuck": (
        (POPULATIONS[_P[6]], 21.9, 475.0, _C), (acrobot(0.30), -499.2, -100.0, _A),
        (POPULATIONS[_P[10]], -200.0, -110.0, _M)),
    "CartPole Beta + CartPole N(250, 100) + Acrobot 10% stuck": (
        (POPULATIONS[_P[3]], 21.9, 475.0, _C), (POPULATIONS[_P[7]], 21.9, 475.0, _C),
        (acrobot(0.10), -499.2, -100.0, _A)),
    "CartPole 80% solved + MountainCar 50% stuck (two tasks)": (
        (POPULATIONS[_P[0]], 21.9, 475.0, _C),
        (mixture((0.5, point_mass(-200)), (0.5, uniform(-160, -100))), -200.0, -110.0, _M)),
}  # fmt: skip


def _task_pool(n: int, reps: int, n_boot: int, rng, rows: list[dict]) -> None:
    """The IQM of normalised scores pooled over the tasks of each of ``TASK_POOLS`` at ``n`` seeds each: the
    package's interval (the seed bootstrap from ``intervals.POOL_BOOTSTRAP_MIN_SEEDS`` seeds), the worst-case atom
    it used before, and the percentile bootstrap within tasks."""
    for label, pool in TASK_POOLS.items():
        qs = [normalised(q, rand, ref) for q, rand, ref, _ in pool]
        ends = [((lo - rand) / (ref - rand), (hi - rand) / (ref - rand)) for _, rand, ref, (lo, hi) in pool]
        bounds = (min(e[0] for e in ends), max(e[1] for e in ends))
        x = draw(qs, 0.0, reps, n, rng)
        truth = true_pooled_iqm(qs)

        def ends_of(sl: slice, x=x, bounds=bounds) -> dict:
            scores, seed = np.moveaxis(x[:, sl], 0, -1), _seed(rng)
            kw = dict(bounds=bounds, n_boot=n_boot, seed=seed)
            return {
                "package": intervals.pooled_interval(scores, method="expanded", **kw)[1:],
                "worst-case atom (before)": intervals.pooled_interval(scores, **kw)[1:],
                "percentile": compared.old_pooled(x[:, sl], "iqm", n_boot, rng),
            }

        for method, (lo, hi) in _chunked(reps, ends_of).items():
            rows.append(dict(statistic="pooled IQM over tasks", population=label, seeds=n, method=method,
                             **_res(lo, hi, truth)))  # fmt: skip


# P(X > Y) averaged over tasks (``improvement_across``): a pair of configs on each of three task-like populations,
# independent across tasks, a config's runs on one seed correlated by rho 0.5 within a task.
TASK_PAIRS = (
    (POPULATIONS[_P[0]], POPULATIONS[_P[2]]),  # CartPole-like: 80% vs 60% solved
    (acrobot(0.10), acrobot(0.30)),  # Acrobot-like: 10% vs 30% stuck at -500
    (
        mixture((0.2, point_mass(-200)), (0.8, uniform(-160, -100))),
        mixture((0.2, point_mass(-200)), (0.8, uniform(-170, -110))),
    ),
)


def _task_improvement(n: int, reps: int, rng, rows: list[dict]) -> None:
    """P(X > Y) averaged over the ``TASK_PAIRS`` tasks at ``n`` seeds each."""
    drawn = [draw([qx, qy], 0.5, reps, n, rng) for qx, qy in TASK_PAIRS]  # each [2, reps, n]
    x = np.stack([d[0] for d in drawn], axis=1)  # [reps, tasks, n]
    y = np.stack([d[1] for d in drawn], axis=1)
    truth = float(np.mean([true_improvement(qx, qy) for qx, qy in TASK_PAIRS]))
    mine = improvement_across(x, y)
    label = "CartPole-, Acrobot- and MountainCar-like pairs, rho 0.5 within a task"
    rows.append(dict(statistic="P(X > Y) across tasks", population=label, seeds=n, method="package",
                     **_res(mine.low, mine.high, truth)))  # fmt: skip


def study(
    *, reps: int = 1000, seed_counts: Sequence[int] = SEED_COUNTS, n_boot: int = intervals.N_BOOT, seed: int = 0
) -> list[dict]:
    """Every cell of the study: ``{statistic, population, seeds, method, coverage, width}`` rows."""
    rows: list[dict] = []
    for n in seed_counts:
        rng = np.random.default_rng([seed, n])
        for name in POPULATIONS:
            _single(name, n, reps, n_boot, rng, rows)
        for px, py, rho in PAIRS:
            _pair(px, py, rho, n, reps, n_boot, rng, rows)
        for names, rho in POOLS:
            _pool(names, rho, n, reps, n_boot, rng, rows)
        _task_pool(n, reps, n_boot, rng, rows)
        _task_improvement(n, reps, rng, rows)
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
    low = sorted((r for r in mine if r["seeds"] >= 8 and r["coverage"] < TARGET), key=lambda r: r["coverage"])
    out.append(f"\nThe package's cells below {TARGET} at 8 or more seeds: " + (
        "; ".join(f"{r['statistic']}, {r['population']}, {r['seeds']} seeds: {r['coverage']:.3f}" for r in low)
        or "none") + ".\n")  # fmt: skip
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


# Shapes of the normalised area under a learning curve (the AUC columns, on [0, 1]): continuous, skewed towards
# the top, a slow minority, and a share of runs at the best possible curve.
AUC_POPULATIONS: dict[str, Quantile] = {
    "Beta(8, 3)": tabulated(lambda u: sps.beta.ppf(u, 8, 3)),
    "85% Beta(12, 2), 15% U(0.05, 0.3)": mixture(
        (0.15, uniform(0.05, 0.3)), (0.85, tabulated(lambda u: sps.beta.ppf(u, 12, 2)))
    ),
    "60% U(0.7, 0.95), 40% U(0.2, 0.6)": mixture((0.4, uniform(0.2, 0.6)), (0.6, uniform(0.7, 0.95))),
    "30% at 1, 70% U(0.5, 1)": mixture((0.7, uniform(0.5, 1.0)), (0.3, point_mass(1.0))),
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
        iv = improvement(x, y)
        lines.append(f"| {m} | {np.mean(iv.low > 0.5):.2f} |\n")
    return "".join(lines)


def frontier_pairs() -> tuple[power.Pair, ...]:
    """The pairs of the frontier (``frontier``): the power study's and this study's P(X > Y) pairs (kind "cov":
    coverage only)."""
    mine = (power.Pair(f"{px} vs {py}", POPULATIONS[px], POPULATIONS[py], rho, "cov") for px, py, rho in PAIRS)
    return (*power.PAIRS, *mine)


def parser() -> argparse.ArgumentParser:
    """The command line's parser (``python -m analysis coverage``)."""
    p = argparse.ArgumentParser(prog="python -m analysis coverage", description=__doc__.splitlines()[0])
    p.add_argument("--part", choices=(*PARTS, "all"), default="all",
                   help="coverage of every interval, power of P(X > Y) against standard tests, many comparisons, "
                   "the coverage-power frontier of P(X > Y) intervals, or all four (default: all)")  # fmt: skip
    p.add_argument("--reps", type=int, default=None, help=f"simulated sweeps per cell (default {REPS})")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help=f"seed counts (default {' '.join(map(str, SEED_COUNTS))}; power and multi from 5, frontier "
                   f"{' '.join(map(str, frontier.SEEDS))})")  # fmt: skip
    p.add_argument("--boot", type=int, default=None, help=f"replicates per interval (default {intervals.N_BOOT})")
    p.add_argument("--seed", type=int, default=0, help="seeds the simulation (default 0)")
    p.add_argument("--fast", action="store_true",
                   help=f"a quick rough run: defaults {FAST['reps']} sweeps, {FAST['boot']} replicates, seeds "
                   f"{' '.join(map(str, FAST['seeds']))}")  # fmt: skip
    return p


REPS = 1000  # simulated sweeps per cell by default: Monte-Carlo SE of a coverage near 0.95 is 0.007
FAST = {"reps": 100, "boot": 200, "seeds": (8, 16)}  # --fast


def _settings(args: argparse.Namespace) -> tuple[int, int, dict[str, list[int]]]:
    """``(reps, replicates, {part: seed counts})`` from the command line, or a UserError naming the bad value."""
    reps = (FAST["reps"] if args.fast else REPS) if args.reps is None else args.reps
    boot = (FAST["boot"] if args.fast else intervals.N_BOOT) if args.boot is None else args.boot
    if reps < 1 or boot < 1:
        raise UserError(f"--reps and --boot must be positive integers, got {reps} and {boot}")
    if args.seeds is not None and any(n < 2 for n in args.seeds):
        raise UserError(f"--seeds must be seed counts of 2 or more, got {' '.join(map(str, args.seeds))}")
    given = args.seeds or (FAST["seeds"] if args.fast else None)
    default = {"coverage": SEED_COUNTS, "frontier": frontier.SEEDS}
    counts = {p: list(given or default.get(p, power.SEED_COUNTS)) for p in PARTS}
    return reps, boot, counts


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the chosen parts of the study and prints their tables; returns the exit status (2 for bad arguments)."""
    p = parser()
    args = p.parse_args(argv)
    try:
        reps, boot, counts = _settings(args)
    except UserError as e:
        return print_error(p.prog, e)
    times = []
    for part in PARTS if args.part == "all" else (args.part,):
        t0, n = time.perf_counter(), counts[part]
        if part == "coverage":
            print(tables(study(reps=reps, seed_counts=n, n_boot=boot, seed=args.seed)))
            print(seed_count_check(seed=args.seed))
            print(auc_table(auc_check(reps=reps, seed_counts=n, n_boot=boot, seed=args.seed)))
        elif part == "power":
            print(power.power_tables(power.power_study(reps=reps, seed_counts=n, n_boot=boot, seed=args.seed), reps))
            negative = power.negative_study(reps=reps, pairs=frontier_pairs(), seed=args.seed)
            print(power.negative_table(negative, reps))
        elif part == "multi":
            print(multiple.multi_tables(multiple.multi_study(reps=reps, seed_counts=n, seed=args.seed), reps))
        else:
            rows = frontier.frontier_study(reps=reps, pairs=frontier_pairs(), seed_counts=n, seed=args.seed)
            print(frontier.frontier_table(rows, reps))
        times.append(f"{part} {time.perf_counter() - t0:.0f} s")
        sys.stdout.flush()
    print(f"{reps} sweeps per cell, {boot} replicates per interval; " + ", ".join(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
