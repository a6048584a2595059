"""Error rates of the package's P(X > Y) verdicts over many comparisons: ``python -m analysis coverage --part
multi`` (``coverage.main`` prints the tables).

**Many comparisons** (``multi_study``), 16 configs on the same seeds (rho 0.5), p-values from
``improvement(...).pvalue``: (a) 15 configs against a fixed reference, 7 equal to it and 8 worse: the family-wise
error rate, false discovery rate and power (share of the worse configs found) of per-comparison, Holm and
Benjamini-Hochberg decisions; (b) 16 equal configs, the best by IQM of final scores against the other 15: how
often at least one of them is marked "clearly worse", with each rule (and Bonferroni over all 120 pairs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from analysis.stats import point as stats
from analysis.stats.improvement import benjamini_hochberg, holm, improvement
from analysis.stats.populations import cartpole, draw
from analysis.stats.power import ALPHA, _md

REFERENCE = cartpole(0.6, (100, 400))
# 15 others: 7 equal to the reference, 8 worse (solved share 45% down to 0%, the rest U(100, 400)).
OTHERS = (REFERENCE,) * 7 + tuple(cartpole(s, (100, 400)) for s in (0.45, 0.4, 0.3, 0.25, 0.2, 0.1, 0.05, 0.0))
WORSE = np.array([False] * 7 + [True] * 8)
MULTI_RHO = 0.5
RULES = {
    "per comparison": lambda p: np.nan_to_num(p, nan=1.0) <= ALPHA,
    "Holm": lambda p: holm(p, ALPHA),
    "Benjamini-Hochberg": lambda p: benjamini_hochberg(p, ALPHA),
}


def _against_reference(n: int, reps: int, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Design (a): ``{rule: {fwer, fdr, power}}`` over ``reps`` tables of 15 configs against a reference."""
    d = draw((REFERENCE, *OTHERS), MULTI_RHO, reps, n, rng)  # [16, reps, n]
    found = improvement(d[0][:, None, :], np.moveaxis(d[1:], 0, 1))  # [reps, 15]
    ahead = found.point > 0.5  # the reference ahead: the right direction for the worse configs
    out = {}
    for rule, decide in RULES.items():
        rej = decide(found.pvalue)
        false = rej & (~WORSE | ~ahead)  # an equal config, or a worse one judged better
        out[rule] = dict(
            fwer=float(np.mean(np.any(rej & ~WORSE, axis=-1))),
            fdr=float(np.mean(false.sum(-1) / np.maximum(rej.sum(-1), 1))),
            power=float(np.mean((rej & WORSE & ahead).sum(-1) / WORSE.sum())),
        )
    return out


def _best_against_others(n: int, reps: int, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Design (b): ``{rule: {any_false, false_per_table}}``: 16 equal configs, the best by IQM (ties by mean)
    against the other 15; every "clearly worse" mark is false."""
    d = draw((REFERENCE,) * 16, MULTI_RHO, reps, n, rng)  # [16, reps, n]
    best = np.lexsort((stats.mean(d), stats.iqm(d)), axis=0)[-1]  # [reps]
    others = np.array([np.delete(np.arange(16), b) for b in best])  # [reps, 15]
    x = d[best, np.arange(reps)][:, None, :]  # [reps, 1, n]
    y = d[others, np.arange(reps)[:, None]]  # [reps, 15, n]
    found = improvement(x, y)
    rules = dict(RULES, **{"Bonferroni over all 120 pairs": lambda p: np.nan_to_num(p, nan=1.0) <= ALPHA / 120})
    out = {}
    for rule, decide in rules.items():
        marks = decide(found.pvalue) & (found.point > 0.5)
        out[rule] = dict(any_false=float(np.mean(marks.any(-1))), false_per_table=float(np.mean(marks.sum(-1))))
    return out


def multi_study(*, reps: int, seed_counts: Sequence[int], seed: int = 0) -> list[dict]:
    """``{design, seeds, rule, ...rates}`` rows of both designs at each seed count."""
    rows = []
    for n in seed_counts:
        rng = np.random.default_rng([seed, 4, n])
        for design, fn in (("vs reference", _against_reference), ("best vs others", _best_against_others)):
            for rule, rates in fn(n, reps, rng).items():
                rows.append(dict(design=design, seeds=n, rule=rule, **rates))
    return rows


def multi_tables(rows: Sequence[dict], reps: int) -> str:
    """The multiple-comparison study as Markdown, one table per design."""
    a = [[str(r["seeds"]), r["rule"], f"{r['fwer']:.3f}", f"{r['fdr']:.3f}", f"{r['power']:.3f}"]
         for r in rows if r["design"] == "vs reference"]  # fmt: skip
    b = [[str(r["seeds"]), r["rule"], f"{r['any_false']:.3f}", f"{r['false_per_table']:.2f}"]
         for r in rows if r["design"] == "best vs others"]  # fmt: skip
    return (
        f"\n## Many comparisons: 16 configs on the same seeds, rho {MULTI_RHO}, P(X > Y) p-values ({reps} tables)\n\n"
        "(a) 15 configs against a fixed reference (60% at 500, rest U(100, 400)): 7 equal to it, 8 worse (solved "
        "45% down to 0%). Family-wise error (any equal config rejected), false discovery rate, power (share of "
        "the worse configs found):\n\n" + _md(["seeds", "rule", "FWER", "FDR", "power"], a)
        + "\n(b) 16 equal configs; the best by IQM of final scores against the other 15: share of tables with at "
        "least one false \"clearly worse\" mark, and false marks per table:\n\n"
        + _md(["seeds", "rule", "P(>= 1 false mark)", "false marks / table"], b)
    )  # fmt: skip
