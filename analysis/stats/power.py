"""Power of the package's P(X > Y) interval against standard tests: ``python -m analysis coverage --part power``
(``coverage.main`` prints these tables; its error rates over many comparisons are ``multiple``'s).

**Power** (``power_study``). Pairs of populations (``PAIRS``, from ``populations``) with known differences: the
rows of the issue (75% of seeds at 500 against 12% and against 40%, at rho 0 and 0.5), solved shares, a shift of
the unsolved runs, collapse rates, continuous returns, every seed at the cap, an Acrobot-like pair; exchangeable
nulls (the two configs' runs have one distribution, point masses at the cap and ties included); and "P = 1/2,
unequal", whose distributions differ while P(X > Y) is exactly 1/2 (a test of "same distribution" may rightly
reject it; the package's interval should cover 1/2). In each cell (pair and seed count) the package's interval
(``improvement.improvement``) gets its coverage of the true P(X > Y) and its rejection rate (the interval
excludes 1/2), and each reference (``references``) its rejection rate. A reference is *valid* where it rejects
at most ``ALPHA`` + 2 Monte-Carlo standard errors on every exchangeable null pair at ``VALID_FROM`` or more seeds;
the power ratio is the package's rejection rate over the best valid reference's, at 8 and 16 seeds. The tests of
P(X > Y) = 1/2 itself (Mann-Whitney, Brunner-Munzel) are also *size-adjusted* (``size_adjusted``): held to the
same limit on every null of that hypothesis, the "P = 1/2, unequal" ones too, as the interval is. The
``CANDIDATES`` (``compared``: Munzel's t interval without the transform, its studentised permutation version, the
package's interval before it took the unpaired variance, a studentised bootstrap and BCa) get coverage, rejection
rate and power ratios at those seed counts too, so that the choice between coverage and power can be read off one
table.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy import stats as sps

from analysis.stats import compared
from analysis.stats import references as refs
from analysis.stats.improvement import improvement
from analysis.stats.populations import (
    POPULATIONS,
    Quantile,
    acrobot,
    cartpole,
    draw,
    mixture,
    point_mass,
    tabulated,
    true_improvement,
    uniform,
)

ALPHA = 0.05
TARGET = 0.93  # the issue's target coverage for nominal 95% intervals at 8 or more seeds
SEED_COUNTS = (5, 8, 10, 16, 32)  # by default: below 5 seeds no test at 5% decides much
VALID_FROM = 8  # references are judged valid on the null pairs from this many seeds on
RATIO_SEEDS = (8, 16)  # seed counts of the power ratios
PACKAGE = "package (Munzel asin)"
REFERENCES = ("Mann-Whitney U", "Wilcoxon signed-rank", "paired permutation (mean)", "Brunner-Munzel",
              "rliable percentile bootstrap")  # fmt: skip
# Candidate intervals for P(X > Y), measured for coverage and power beside the package's at CANDIDATE_SEEDS only
# (the permutation and bootstrap ones cost a thousand Munzel statistics a sweep); never references.
CANDIDATES = ("Munzel t, no transform", "Munzel studentised permutation", "package before (paired variance only)",
              "bootstrap-t (arcsine)", "BCa")  # fmt: skip
CANDIDATE_BOOT = 999  # the bootstrap candidates' resamples
CANDIDATE_SEEDS = RATIO_SEEDS
# The references that test P(X > Y) = 1/2 itself; the paired ones test a shift of the paired differences.
PXY_REFERENCES = ("Mann-Whitney U", "Brunner-Munzel", "rliable percentile bootstrap")
CHUNK = 250  # simulated sweeps handled at once


class Pair(NamedTuple):
    """Two populations compared on the same seeds."""

    label: str
    x: Quantile
    y: Quantile
    rho: float  # correlation of one seed's runs (Gaussian copula)
    kind: str  # "alt": they differ (power); "null": exchangeable (size); "half": P = 1/2, unequal


_ISSUE = "75% at 500 + U(150, 450) vs {}% at 500 + U(200, 450)"
_BETA = POPULATIONS["500 x Beta(5, 1.5)"]
_RARE = POPULATIONS["95% at 500, 5% U(9, 30)"]


def _collapse(share: float) -> Quantile:
    """A share collapsed to U(9, 30); of the rest, 2/3 at 500 and 1/3 U(150, 450)."""
    rest = 1.0 - share
    return mixture((share, uniform(9, 30)), (rest / 3, uniform(150, 450)), (2 * rest / 3, point_mass(500.0)))


PAIRS: tuple[Pair, ...] = (
    *(Pair(_ISSUE.format(s), cartpole(0.75, (150, 450)), cartpole(s / 100, (200, 450)), rho, "alt")
      for s in (12, 40) for rho in (0.0, 0.5)),
    Pair("solved 80% vs 50% at 500, rest U(100, 400)", cartpole(0.8, (100, 400)), cartpole(0.5, (100, 400)), 0.5,
         "alt"),
    Pair("unsolved shift: 50% at 500 + U(200, 450) vs + U(50, 300)", cartpole(0.5, (200, 450)),
         cartpole(0.5, (50, 300)), 0.5, "alt"),
    Pair("collapse 10% vs 40% to U(9, 30)", _collapse(0.1), _collapse(0.4), 0.5, "alt"),
    Pair("continuous: 500 Beta(5, 1.5) vs 500 Beta(3, 2)", _BETA, tabulated(lambda u: 500.0 * sps.beta.ppf(u, 3, 2)),
         0.5, "alt"),
    Pair("all at 500 vs 70% at 500 + U(100, 400)", point_mass(500.0), cartpole(0.7, (100, 400)), 0.5, "alt"),
    Pair("Acrobot-like: 5% vs 25% stuck at -500", acrobot(0.05), acrobot(0.25), 0.5, "alt"),
    *(Pair("null: both 60% at 500 + U(100, 400)", cartpole(0.6, (100, 400)), cartpole(0.6, (100, 400)), rho, "null")
      for rho in (0.0, 0.5, 0.95)),
    Pair("null: both 500 Beta(5, 1.5)", _BETA, _BETA, 0.5, "null"),
    Pair("null: both 95% at 500 + 5% U(9, 30)", _RARE, _RARE, 0.5, "null"),
    Pair("null: both all at 500", point_mass(500.0), point_mass(500.0), 0.5, "null"),
    Pair("P = 1/2, unequal: 50% at 500 + 50% U(0, 100) vs U(200, 450)",
         mixture((0.5, uniform(0, 100)), (0.5, point_mass(500.0))), uniform(200, 450), 0.5, "half"),
    Pair("P = 1/2, unequal spread: N(250, 30) vs U(50, 450)",  # clipped to [0, 500]: only the table's end cells
         tabulated(lambda u: np.clip(sps.norm.ppf(u, 250.0, 30.0), 0.0, 500.0)), uniform(50, 450), 0.5, "half"),
)  # fmt: skip


def rejections(x: np.ndarray, y: np.ndarray, *, n_boot: int, rng: np.random.Generator, swaps_rng=None):
    """``({method: (low, high)}, {method: rejects [r]}, {test: p-values [r]})`` for sweeps ``x, y [r, n]``: the
    intervals (the package's, and the ``CANDIDATES`` where ``swaps_rng`` is given: it draws the permutation
    candidate's swaps and the bootstrap candidates' resamples), whether each interval and each reference rejects
    "no difference" at ``ALPHA``, and the p-values of the ``SIZE_ADJUSTED`` tests."""
    mine = improvement(x, y, confidence=1.0 - ALPHA)
    ends = {PACKAGE: (mine.low, mine.high)}
    if swaps_rng is not None:
        ends[CANDIDATES[0]] = compared.plain_munzel(x, y, ALPHA)
        ends[CANDIDATES[1]] = compared.permutation_munzel(x, y, swaps_rng, ALPHA)
        ends[CANDIDATES[2]] = compared.paired_munzel(x, y, ALPHA)
        ends |= compared.bootstrap_munzel(x, y, swaps_rng, CANDIDATE_BOOT, ALPHA)
    low, high = refs.percentile_bootstrap(x, y, n_boot=n_boot, rng=rng, alpha=ALPHA)
    out = {m: (lo > 0.5) | (hi < 0.5) for m, (lo, hi) in ends.items()}
    pvalues = {"Mann-Whitney U": refs.mann_whitney_p(x, y), "Brunner-Munzel": refs.brunner_munzel_p(x, y)}  # no rng
    out |= {
        "Mann-Whitney U": pvalues["Mann-Whitney U"] <= ALPHA,
        "Wilcoxon signed-rank": refs.wilcoxon_p(x, y, rng) <= ALPHA,
        "paired permutation (mean)": refs.paired_permutation_p(x, y, rng) <= ALPHA,
        "Brunner-Munzel": pvalues["Brunner-Munzel"] <= ALPHA,
        "rliable percentile bootstrap": (low > 0.5) | (high < 0.5),
    }
    return ends, out, pvalues


def _cell(pair: Pair, n: int, reps: int, n_boot: int, rng: np.random.Generator) -> list[dict]:
    """One pair at ``n`` seeds: a row per method with its rejection rate, the intervals' with their coverage of
    the true P(X > Y) and mean width."""
    truth = true_improvement(pair.x, pair.y)
    x, y = draw([pair.x, pair.y], pair.rho, reps, n, rng)
    swaps = rng.spawn(1)[0] if n in CANDIDATE_SEEDS else None  # its own stream: the references' draws as before
    parts = [rejections(x[s : s + CHUNK], y[s : s + CHUNK], n_boot=n_boot, rng=rng, swaps_rng=swaps)
             for s in range(0, reps, CHUNK)]  # fmt: skip
    cell = dict(pair=pair.label, rho=pair.rho, kind=pair.kind, truth=truth, seeds=n)
    rows = []
    for method in parts[0][1]:
        row = dict(cell, method=method, reject=float(np.mean(np.concatenate([p[1][method] for p in parts]))))
        row["coverage"] = row["width"] = np.nan
        if method in parts[0][2]:
            row["reject_at"] = rejection_curve(np.concatenate([p[2][method] for p in parts]))
        if method in parts[0][0]:
            low, high = (np.concatenate([p[0][method][j] for p in parts]) for j in (0, 1))
            row["coverage"] = float(np.mean((low <= truth + 1e-9) & (truth - 1e-9 <= high)))
            row["width"] = float(np.mean(high - low))
        rows.append(row)
    return rows


def power_study(
    *, reps: int, seed_counts: Sequence[int], n_boot: int, seed: int = 0, pairs: Sequence[Pair] = PAIRS
) -> list[dict]:
    """Every cell of ``pairs`` x ``seed_counts``: ``{pair, rho, kind, truth, seeds, method, reject, coverage,
    width}`` rows (coverage and width for the intervals, NaN for the tests). ``n_boot``: the rliable
    bootstrap's replicates. A cell's draws depend on ``seed``, the pair and the seed count only."""
    return [row for pair in pairs for n in seed_counts for row in _cell(pair, n, reps, n_boot, cell_rng(pair, n, seed))]


def cell_rng(pair: Pair, n: int, seed: int) -> np.random.Generator:
    """The random stream of one cell (pair and seed count): its first draw is the cell's sweeps."""
    return np.random.default_rng([seed, 3, zlib.crc32(f"{pair.label} {pair.rho}".encode()), n])


def validity_limit(reps: int) -> float:
    """The highest rejection rate on a null at which a test still counts as holding ``ALPHA``: ``ALPHA`` + 2
    Monte-Carlo standard errors of a rate of ``ALPHA`` over ``reps`` sweeps."""
    return ALPHA + 2.0 * np.sqrt(ALPHA * (1.0 - ALPHA) / reps)


def valid_references(rows: Sequence[dict], reps: int, methods: Sequence[str] = REFERENCES) -> list[str]:
    """The ``methods`` measured in ``rows`` whose rejection rate is at most ``ALPHA`` + 2 Monte-Carlo SE on every
    exchangeable null pair at ``VALID_FROM`` or more seeds."""
    limit = validity_limit(reps)
    worst = {m: 0.0 for m in methods}
    for r in rows:
        if r["kind"] == "null" and r["seeds"] >= VALID_FROM and r["method"] in worst:
            worst[r["method"]] = max(worst[r["method"]], r["reject"])
    measured = {r["method"] for r in rows}
    return [m for m in methods if worst[m] <= limit and m in measured]


# The tests of P(X > Y) = 1/2 whose level is adjusted (``size_adjusted``), at these p-value thresholds.
SIZE_ADJUSTED = ("Mann-Whitney U", "Brunner-Munzel")
LEVELS = np.round(np.arange(1, 101) * ALPHA / 100, 6)


def rejection_curve(pvalues: np.ndarray) -> tuple[float, ...]:
    """The share of ``pvalues`` at or below each of ``LEVELS``."""
    return tuple(float(v) for v in np.mean(pvalues[:, None] <= LEVELS[None, :], axis=0))


def size_adjusted(rows: Sequence[dict], reps: int, tests: Sequence[str] = SIZE_ADJUSTED) -> dict:
    """``{(test, seeds): (level, rejection rates by (pair, rho))}``: each test of P(X > Y) = 1/2 at the largest of
    ``LEVELS`` where it rejects at most ``ALPHA`` + 2 Monte-Carlo SE on every null of that hypothesis at that
    seed count, the exchangeable ones and the "P = 1/2, unequal" ones alike (the rule ``valid_references``
    applies to the exchangeable nulls alone), and its rejection rate on every pair there. An interval for
    P(X > Y) must hold its level on both kinds, so this is the reference it can be held to; rows without
    ``reject_at`` are skipped."""
    limit = validity_limit(reps)
    out = {}
    for test in tests:
        for n in sorted({r["seeds"] for r in rows if r["method"] == test and "reject_at" in r}):
            at = [r for r in rows if r["method"] == test and r["seeds"] == n and "reject_at" in r]
            worst = np.max([r["reject_at"] for r in at if r["kind"] in ("null", "half")] or [[0.0]], axis=0)
            ok = np.flatnonzero(worst <= limit)
            i = int(ok.max()) if ok.size else 0
            level = float(LEVELS[i]) if ok.size else 0.0
            out[test, n] = level, {(r["pair"], r["rho"]): (r["reject_at"][i] if ok.size else 0.0) for r in at}
    return out


def _adjusted_best(adjusted: dict, label: str, rho: float, n: int) -> tuple[str | None, float]:
    """The size-adjusted test of P(X > Y) = 1/2 that rejects pair ``(label, rho)`` most often at ``n`` seeds."""
    found = [(v[1][label, rho], t) for (t, m), v in adjusted.items() if m == n and (label, rho) in v[1]]
    rate, test = max(found, default=(np.nan, None))
    return test, rate


def power_ratios(rows: Sequence[dict], reps: int) -> list[dict]:
    """Per alternative pair at each of ``RATIO_SEEDS``: the package's rejection rate, the best valid reference,
    the best valid one that tests P(X > Y) itself, and the best size-adjusted test of P(X > Y) = 1/2
    (``size_adjusted``), and the package's ratio to each."""
    valid = valid_references(rows, reps)
    adjusted = size_adjusted(rows, reps)
    rate = {(r["pair"], r["rho"], r["seeds"], r["method"]): r["reject"] for r in rows}
    out = []
    for label, rho in dict.fromkeys((r["pair"], r["rho"]) for r in rows if r["kind"] == "alt"):
        for n in [n for n in RATIO_SEEDS if (label, rho, n, PACKAGE) in rate]:
            mine = rate[label, rho, n, PACKAGE]
            row = dict(pair=label, rho=rho, seeds=n, package=mine)
            for key, pool in (("best", valid), ("best_pxy", [m for m in valid if m in PXY_REFERENCES])):
                best = max(pool, key=lambda m: rate[label, rho, n, m], default=None)
                b = rate[label, rho, n, best] if best else np.nan
                row[key] = best
                row[key + "_rate"] = b
                row[key + "_ratio"] = mine / b if b > 0 else np.nan
            row["adjusted"], b = _adjusted_best(adjusted, label, rho, n)
            row["adjusted_rate"], row["adjusted_ratio"] = b, mine / b if b > 0 else np.nan
            out.append(row)
    return out


# --- negative correlation -------------------------------------------------------------------------------------

NEGATIVE_RHOS = (-0.3, -0.6)  # outside what common random numbers give: a seed good for one config, poor for the other


def negative_study(*, reps: int, pairs: Sequence[Pair], seed_counts: Sequence[int] = RATIO_SEEDS, seed: int = 0):
    """Coverage of the package's P(X > Y) interval and of the package's before (paired variance only) where the
    two configs' runs on a seed are negatively correlated (``NEGATIVE_RHOS``), on ``pairs`` (their own rho
    replaced): ``{rho, seeds, method, pair, coverage}`` rows. The unpaired variance the package takes where it is
    shorter leaves out the pairing's covariance, which is negative here: this measures what that costs."""
    rows = []
    for rho in NEGATIVE_RHOS:
        for pair in pairs:
            for n in seed_counts:
                rng = cell_rng(pair._replace(rho=rho), n, seed)
                x, y = draw([pair.x, pair.y], rho, reps, n, rng)
                truth = true_improvement(pair.x, pair.y)
                mine = improvement(x, y, confidence=1.0 - ALPHA)
                for method, (low, high) in ((PACKAGE, (mine.low, mine.high)),
                                            (CANDIDATES[2], compared.paired_munzel(x, y, ALPHA))):  # fmt: skip
                    covered = (low <= truth + 1e-9) & (truth - 1e-9 <= high)
                    rows.append(
                        dict(rho=rho, seeds=n, method=method, pair=pair.label, coverage=float(np.mean(covered)))
                    )
    return rows


def negative_table(rows: Sequence[dict], reps: int) -> str:
    """The lowest coverage per rho, seed count and interval (``negative_study``), as Markdown."""
    keys = list(dict.fromkeys((r["rho"], r["seeds"]) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    body = []
    for rho, n in keys:
        cells = []
        for m in methods:
            low = min(
                (r for r in rows if (r["rho"], r["seeds"], r["method"]) == (rho, n, m)), key=lambda r: r["coverage"]
            )
            cells.append(f"{low['coverage']:.3f} ({low['pair']})")
        body.append([f"{rho:g}", str(n), *cells])
    return (f"\n## P(X > Y) where a seed's two runs are negatively correlated ({reps} sweeps per cell)\n\nLowest "
            "coverage over the pairs (each with this rho instead of its own):\n\n"
            + _md(["rho", "seeds", *(f"{m}: lowest coverage" for m in methods)], body))  # fmt: skip


# --- tables ---------------------------------------------------------------------------------------------------


def _md(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A Markdown table, the first column left-aligned and the others right."""
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in body]) + "\n"


def _summary(ratios: Sequence[dict], key: str) -> str:
    """``min / median`` of the ratios at each of ``RATIO_SEEDS``."""
    out = []
    for n in RATIO_SEEDS:
        v = np.array([r[key] for r in ratios if r["seeds"] == n], dtype=np.float64)
        v = v[~np.isnan(v)]
        out.append(f"{n} seeds {v.min():.2f} / {np.median(v):.2f}" if v.size else f"{n} seeds: none")
    return ", ".join(out)


def power_tables(rows: Sequence[dict], reps: int) -> str:
    """The power study as Markdown: validity of the references, the package's coverage and rejection rate per
    pair, every method's rejection rate, and the power ratios."""
    seeds = sorted({r["seeds"] for r in rows})
    cell = {(r["pair"], r["rho"], r["seeds"], r["method"]): r for r in rows}
    pairs = list(dict.fromkeys((r["pair"], r["rho"], r["kind"], r["truth"]) for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    valid = valid_references(rows, reps)
    limit = validity_limit(reps)
    mine = [r for r in rows if r["method"] == PACKAGE]
    lowest = ", ".join(f"{n} seeds {min(r['coverage'] for r in mine if r['seeds'] == n):.3f}" for n in seeds)
    out = [f"\n## P(X > Y): power against standard tests ({reps} sweeps per cell)\n\nLowest coverage of the "
           f"package's interval over every pair: {lowest}.\n\nValid references (rejection rate <= {limit:.3f} on "
           f"every exchangeable null at {VALID_FROM}+ seeds): {', '.join(valid) or 'none'}.\n\n"
           "Highest rejection rate over the exchangeable nulls (size):\n\n"]  # fmt: skip

    def worst(m: str, n: int) -> str:
        rates = [cell[p, rho, n, m]["reject"] for p, rho, k, _ in pairs if k == "null" and (p, rho, n, m) in cell]
        return f"{max(rates):.3f}" if rates else "-"

    size = [[m] + [worst(m, n) for n in seeds] for m in methods]
    out.append(_md(["method", *(f"{n} seeds" for n in seeds)], size))
    out.append("\nThe package's interval per pair: coverage of the true P(X > Y) / rejection rate (mean width):\n\n")
    body = [[f"{p}, rho {rho} ({k}, P = {t:.3f})"]
            + [f"{cell[p, rho, n, PACKAGE]['coverage']:.3f} / {cell[p, rho, n, PACKAGE]['reject']:.3f} "
               f"({cell[p, rho, n, PACKAGE]['width']:.2f})" for n in seeds] for p, rho, k, t in pairs]  # fmt: skip
    out.append(_md(["pair", *(f"{n} seeds" for n in seeds)], body))
    out.append("\nRejection rate of every method (alternatives: power; nulls: size):\n\n")
    body = [[f"{p}, rho {rho}", str(n)]
            + [f"{cell[p, rho, n, m]['reject']:.3f}" if (p, rho, n, m) in cell else "-" for m in methods]
            for p, rho, _, _ in pairs for n in seeds]  # fmt: skip
    out.append(_md(["pair", "seeds", *methods], body))
    ratios = power_ratios(rows, reps)
    out.append("\nPower ratio: the package's rejection rate over the best valid reference's (and over the best "
               "valid one testing P(X > Y) = 1/2 itself):\n\n")  # fmt: skip
    body = [[f"{r['pair']}, rho {r['rho']}", str(r["seeds"]), f"{r['package']:.3f}",
             f"{r['best']} {r['best_rate']:.3f}", f"{r['best_ratio']:.2f}",
             f"{r['best_pxy']} {r['best_pxy_rate']:.3f}", f"{r['best_pxy_ratio']:.2f}"] for r in ratios]  # fmt: skip
    out.append(_md(["pair", "seeds", "package", "best valid", "ratio", "best valid P(X>Y) test", "ratio"], body))
    out.append(f"\nPower ratio, min / median over the alternatives: against the best valid reference "
               f"{_summary(ratios, 'best_ratio')}; against the best valid P(X > Y) test "
               f"{_summary(ratios, 'best_pxy_ratio')}; against the best size-adjusted P(X > Y) test "
               f"{_summary(ratios, 'adjusted_ratio')}.\n")  # fmt: skip
    out.append(_adjusted_tables(rows, reps, ratios))
    out.append(_choice(rows, reps))
    return "".join(out)


def _adjusted_tables(rows: Sequence[dict], reps: int, ratios: Sequence[dict]) -> str:
    """The size-adjusted tests' levels and worst nulls, and the package's power against them per pair."""
    adjusted = size_adjusted(rows, reps)
    if not adjusted:
        return ""
    body = []
    for (test, n), (level, _) in sorted(adjusted.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        at = [r for r in rows if r["method"] == test and r["seeds"] == n and r["kind"] in ("null", "half")]
        worst = max(at, key=lambda r: r["reject"], default=None)
        where = f"{worst['reject']:.3f} ({worst['pair']}, rho {worst['rho']})" if worst else "-"
        body.append([test, str(n), where, f"{level:.4f}"])
    text = ("\nSize-adjusted tests of P(X > Y) = 1/2: the nominal 5% test's highest rejection rate over every null "
            "of that hypothesis (exchangeable and \"P = 1/2, unequal\"), and the p-value threshold at which it "
            "rejects at most the validity limit on all of them:\n\n"
            + _md(["test", "seeds", "highest rejection on a null at 5%", "adjusted level"], body))  # fmt: skip
    body = [[f"{r['pair']}, rho {r['rho']}", str(r["seeds"]), f"{r['package']:.3f}",
             f"{r['adjusted']} {r['adjusted_rate']:.3f}", f"{r['adjusted_ratio']:.2f}"]
            for r in ratios if r["adjusted"] is not None]  # fmt: skip
    return text + ("\nThe package against the best size-adjusted test:\n\n"
                   + _md(["pair", "seeds", "package", "best size-adjusted P(X>Y) test", "ratio"], body))  # fmt: skip


def interval_choice(rows: Sequence[dict], reps: int) -> list[dict]:
    """Per interval (the package's and the ``CANDIDATES``) at each seed count where all were measured: its lowest
    coverage over every pair (and where), and the min / median of its power ratio against the best valid
    reference, the best valid P(X > Y) test and the best size-adjusted P(X > Y) test over the alternatives."""
    valid = valid_references(rows, reps)
    adjusted = size_adjusted(rows, reps)
    rate = {(r["pair"], r["rho"], r["seeds"], r["method"]): r["reject"] for r in rows}
    out = []
    for n in sorted({r["seeds"] for r in rows if r["method"] == CANDIDATES[0]}):
        for m in (PACKAGE, *CANDIDATES):
            mine = [r for r in rows if r["method"] == m and r["seeds"] == n]
            low = min(mine, key=lambda r: r["coverage"])
            ratios = {"best": [], "best_pxy": [], "adjusted": []}
            for r in (r for r in mine if r["kind"] == "alt"):
                for key, pool in (("best", valid), ("best_pxy", [v for v in valid if v in PXY_REFERENCES])):
                    b = max((rate[r["pair"], r["rho"], n, v] for v in pool), default=0.0)
                    if b > 0:
                        ratios[key].append(r["reject"] / b)
                b = _adjusted_best(adjusted, r["pair"], r["rho"], n)[1]
                if b > 0:
                    ratios["adjusted"].append(r["reject"] / b)
            out.append(dict(method=m, seeds=n, coverage=low["coverage"], where=f"{low['pair']}, rho {low['rho']}",
                            **{f"{k}_{f.__name__}": float(f(v)) if v else np.nan
                               for k, v in ratios.items() for f in (np.min, np.median)}))  # fmt: skip
    return out


def _choice(rows: Sequence[dict], reps: int) -> str:
    choice = interval_choice(rows, reps)
    if not choice:
        return ""
    body = [[r["method"], str(r["seeds"]), f"{r['coverage']:.3f} ({r['where']})",
             f"{r['best_min']:.2f} / {r['best_median']:.2f}", f"{r['best_pxy_min']:.2f} / {r['best_pxy_median']:.2f}",
             f"{r['adjusted_min']:.2f} / {r['adjusted_median']:.2f}"] for r in choice]  # fmt: skip
    head = ["interval", "seeds", "lowest coverage", "vs best valid", "vs best valid P(X>Y) test",
            "vs best size-adjusted P(X>Y) test"]  # fmt: skip
    return ("\nThe intervals side by side: lowest coverage over every pair (where), and the power ratio min / median "
            "over the alternatives:\n\n" + _md(head, body))  # fmt: skip
