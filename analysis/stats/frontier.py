"""What coverage costs in power for P(X > Y) at few seeds, measured: ``python -m analysis coverage --part
frontier`` (``coverage.main`` prints the table).

The power study (``power``) found the package's interval short of the power target at 8 seeds and Munzel's t
interval without the transform short of the coverage target. Two one-parameter families of intervals run between
them, and each member is measured for both:

- ``kappa``: the package's interval (Munzel's paired t interval on the arcsine-square-root scale) with its t
  multiplier scaled by ``kappa`` (``KAPPAS``; 1 is the package, a smaller one a narrower interval nested in it;
  ``compared.scaled_munzel``);
- ``lambda``: the ends ``lambda * package + (1 - lambda) * plain`` (``BLENDS``; 0 is Munzel's t interval without
  the transform, ``compared.plain_munzel``).

On every pair of the power study and the P(X > Y) pairs of the coverage study (``pairs``), at ``SEEDS``: each
member's lowest coverage of the true P(X > Y) (and where), and its power ratio, min / median over the alternatives,
against the best valid test of P(X > Y) = 1/2 (Mann-Whitney U or Brunner-Munzel, valid as in ``power``: at most
``ALPHA`` + 2 Monte-Carlo standard errors on every exchangeable null at ``power.VALID_FROM`` seeds or more), and
against the best of them size-adjusted (``power.size_adjusted``: held to that limit on every null of P(X > Y) =
1/2). A member meets the issue's targets where its coverage is at least ``power.TARGET`` at every seed count and
its power ratio at least ``POWER_TARGET`` on every alternative (``meets``; ``meets_adjusted`` with the
size-adjusted ratio). A cell's draws are the power study's for the same
pair, seed count and ``seed`` (so kappa 1 reproduces its package rows).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.stats import compared
from analysis.stats import references as refs
from analysis.stats.populations import draw, true_improvement
from analysis.stats.power import (
    ALPHA,
    TARGET,
    Pair,
    _adjusted_best,
    _md,
    cell_rng,
    rejection_curve,
    size_adjusted,
    valid_references,
)

SEEDS = (8, 16)
KAPPAS = (0.8, 0.85, 0.9, 0.95, 1.0)
BLENDS = (0.0, 0.25, 0.5, 0.75)  # lambda 1 is kappa 1
POWER_TARGET = 0.9  # of the best valid test of P(X > Y) = 1/2
TESTS = ("Mann-Whitney U", "Brunner-Munzel")


def members() -> list[tuple[str, float]]:
    """``(family, parameter)`` of every interval measured."""
    return [("kappa", k) for k in KAPPAS] + [("lambda", b) for b in BLENDS]


def _ends(family: str, value: float, x: np.ndarray, y: np.ndarray, package, plain):
    if family == "kappa":
        return package if value == 1.0 else compared.scaled_munzel(x, y, value, ALPHA)
    return value * package[0] + (1.0 - value) * plain[0], value * package[1] + (1.0 - value) * plain[1]


def _cell(pair: Pair, n: int, reps: int, seed: int) -> list[dict]:
    """One pair at ``n`` seeds: a row per member (coverage, rejection rate) and per test (rejection rate)."""
    x, y = draw([pair.x, pair.y], pair.rho, reps, n, cell_rng(pair, n, seed))
    truth = true_improvement(pair.x, pair.y)
    package = compared.scaled_munzel(x, y, 1.0, ALPHA)
    plain = compared.plain_munzel(x, y, ALPHA)
    cell = dict(pair=pair.label, rho=pair.rho, kind=pair.kind, seeds=n)
    rows = []
    for family, value in members():
        low, high = _ends(family, value, x, y, package, plain)
        rows.append(dict(cell, method=(family, value), reject=float(np.mean((low > 0.5) | (high < 0.5))),
                         coverage=float(np.mean((low <= truth + 1e-9) & (truth - 1e-9 <= high)))))  # fmt: skip
    for name, p in zip(TESTS, (refs.mann_whitney_p(x, y), refs.brunner_munzel_p(x, y)), strict=True):
        rows.append(dict(cell, method=name, reject=float(np.mean(p <= ALPHA)), coverage=np.nan,
                         reject_at=rejection_curve(p)))  # fmt: skip
    return rows


def frontier_study(*, reps: int, pairs: Sequence[Pair], seed_counts: Sequence[int] = SEEDS, seed: int = 0):
    """Every cell of ``pairs`` x ``seed_counts``: ``{pair, rho, kind, seeds, method, reject, coverage}`` rows,
    ``method`` a ``(family, parameter)`` member or the name of a test (coverage NaN)."""
    return [row for pair in pairs for n in seed_counts for row in _cell(pair, n, reps, seed)]


def choice(rows: Sequence[dict], reps: int) -> list[dict]:
    """Per member: ``{family, value, coverage: {seeds: (lowest, where)}, ratio: {seeds: (min, median)},
    adjusted: {seeds: (min, median)}, meets, meets_adjusted}``; ``adjusted`` the power ratio against the best
    size-adjusted test (``power.size_adjusted``)."""
    valid = valid_references(rows, reps, TESTS)
    adjusted_tests = size_adjusted(rows, reps, TESTS)
    rate = {(r["pair"], r["rho"], r["seeds"], r["method"]): r["reject"] for r in rows}
    seeds = sorted({r["seeds"] for r in rows})
    out = []
    for member in members():
        mine = [r for r in rows if r["method"] == member]
        cov, ratio, adjusted, meets, meets_adjusted = {}, {}, {}, True, True
        for n in seeds:
            at = [r for r in mine if r["seeds"] == n]
            low = min(at, key=lambda r: r["coverage"])
            cov[n] = (low["coverage"], f"{low['pair']}, rho {low['rho']}")
            alts = [r for r in at if r["kind"] == "alt"]
            raw = [max((rate[r["pair"], r["rho"], n, t] for t in valid), default=0.0) for r in alts]
            adj = [_adjusted_best(adjusted_tests, r["pair"], r["rho"], n)[1] for r in alts]
            for found, bests in ((ratio, raw), (adjusted, adj)):
                v = np.array([r["reject"] / b for r, b in zip(alts, bests, strict=True) if b > 0])
                found[n] = (float(v.min()), float(np.median(v))) if v.size else (np.nan, np.nan)
            covers = low["coverage"] >= TARGET
            meets &= covers and ratio[n][0] >= POWER_TARGET
            meets_adjusted &= covers and adjusted[n][0] >= POWER_TARGET
        out.append(dict(family=member[0], value=member[1], coverage=cov, ratio=ratio, adjusted=adjusted,
                        meets=meets, meets_adjusted=meets_adjusted))  # fmt: skip
    return out


def frontier_table(rows: Sequence[dict], reps: int) -> str:
    """The frontier as Markdown: per member, lowest coverage and power ratio at each seed count."""
    found = choice(rows, reps)
    seeds = sorted({r["seeds"] for r in rows})
    names = {"kappa": "package, t multiplier x {}", "lambda": "{} x package + (1 - {}) x plain t"}
    names_at = {("kappa", 1.0): "package (Munzel, arcsine scale)", ("lambda", 0.0): "Munzel t, no transform"}
    body = []
    for m in found:
        name = names_at.get((m["family"], m["value"])) or names[m["family"]].format(*(f"{m['value']:g}",) * 2)
        cells = [f"{m['coverage'][n][0]:.3f} ({m['coverage'][n][1]})" for n in seeds]
        cells += [f"{m['ratio'][n][0]:.2f} / {m['ratio'][n][1]:.2f}" for n in seeds]
        cells += [f"{m['adjusted'][n][0]:.2f} / {m['adjusted'][n][1]:.2f}" for n in seeds]
        body.append([name, *cells, "yes" if m["meets"] else "no", "yes" if m["meets_adjusted"] else "no"])
    head = ["interval", *(f"lowest coverage, {n} seeds" for n in seeds),
            *(f"power ratio min / median, {n} seeds" for n in seeds),
            *(f"vs size-adjusted, {n} seeds" for n in seeds), "meets both", "meets both (size-adjusted)"]  # fmt: skip
    n_pairs = len({(r["pair"], r["rho"]) for r in rows})
    return (f"\n## P(X > Y): coverage against power between the package's interval and the plain t ({reps} sweeps "
            f"per cell, {n_pairs} pairs)\n\nPower ratio: rejection rate over the best valid test of P(X > Y) = 1/2 "
            f"({' or '.join(TESTS)}), and over the best of them size-adjusted (``power.size_adjusted``: valid on every "
            f"null of P(X > Y) = 1/2). Targets: coverage >= {TARGET} at every seed count, ratio >= "
            f"{POWER_TARGET} on every alternative.\n\n" + _md(head, body))  # fmt: skip
