"""The HTML sections of a run's report (``analysis.pages.report`` assembles them into its pages): the best config
and the configs it clearly beats, the comparison with the defaults, the summary table, the caveats of few seeds
and the method's words, each computed from a run's tables."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.pages import search as schedule_report
from analysis.pages.markup import ci_text
from analysis.stats import intervals, seeds
from analysis.stats.improvement import holm, improvement
from analysis.stats.intervals import CURVE_BOOT
from analysis.stats.summary import N_BOOT, seed_matrix, task_scales
from analysis.summaries import aggregate, baseline, halving, pbt
from analysis.tables.format import format_value
from analysis.tables.run import RunTables

# Below this many seeds the report quotes the coverage measured at that seed count (see ``caveats``).
FEW_SEEDS = 10


def _finals(t: RunTables, configs: Sequence[int]) -> np.ndarray:
    """``[len(configs), seeds]`` final returns of ``configs``, the same seed in the same column (NaN: none)."""
    mat, confs = seed_matrix(t.runs, "final_eval_return")
    pos = {int(c): i for i, c in enumerate(confs)}
    return mat[[pos[int(c)] for c in configs]]


# The family-wise error rate of the summary table's marks: the best config against every other, Holm's correction.
FWER = 0.05


def _versus_best(t: RunTables, order: Sequence[int]) -> dict[int, str]:
    """``{config: "0.91 [0.78, 0.98] ✓"}``: P(best > config) with its interval, seeds paired, for ``order[1:]``,
    marked where the best clearly beats it: significant under Holm's correction over the comparisons of every
    config of the sweep with the best (family-wise error rate ``FWER``)."""
    if len(order) < 2:
        return {}
    found = improvement(_finals(t, order[:1]), _finals(t, order[1:]))
    marked = holm(np.where(found.point > 0.5, found.pvalue, np.nan), FWER)  # only "the best beats it" is marked
    out = {}
    for c, p, lo, hi, mark in zip(order[1:], found.point, found.low, found.high, marked, strict=True):
        if not np.isfinite(p):
            out[c] = "–"
        elif not (np.isfinite(lo) and np.isfinite(hi)):
            out[c] = f"{p:.2f} (no CI)"
        else:
            out[c] = f"{p:.2f} [{lo:.2f}, {hi:.2f}]" + (" ✓" if mark else "")
    return out


def summary_html(t: RunTables, *, max_rows: int = 50) -> str:
    """The summary as an HTML table, best first, at most ``max_rows`` rows, with P(best > each config)."""
    s = t.summary.sort_values("rank")
    shown = s.head(max_rows)
    versus = _versus_best(t, s["config"].astype(int).tolist())  # every config: the correction counts them all
    stopped = "stopped_at" in s.columns  # a halving sweep: the step each config's statistics stand at
    head = ["rank", *t.axes, "seeds", *(["statistics at env step"] if stopped else [])]
    solved = t.scale.solved
    head += ["final IQM [95% CI]", "final mean", "median seed", f"shortfall below {solved:g}" if solved is not None
             else "shortfall (no solved return)"]  # fmt: skip
    head += ["AUC IQM", "solved [95% CI]", "diverged", "P(best > it) [95% CI]"]
    end = int(s["stopped_at"].max()) if stopped and len(s) else 0
    rows = []
    for r in shown.to_dict("records"):
        cells = [str(r["rank"]), *(format_value(r[a]) for a in t.axes), str(r["n_seeds"])]
        if stopped:
            cells.append(f"{r['stopped_at']:,}" + (" (stopped)" if r["stopped_at"] < end else ""))
        cells += [ci_text(r, "final_iqm"), ci_text(r, "final_mean"), ci_text(r, "final_seed_median")]
        cells += [ci_text(r, "final_shortfall"), ci_text(r, "auc_iqm", ".3f")]
        cells += [ci_text(r, "frac_solved", percent=True), str(r["n_diverged"]), versus.get(int(r["config"]), "")]
        rows.append("".join(f"<td>{html.escape(c)}</td>" for c in cells))
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    more = (
        "<p>✓: the best config clearly beats this one: P(best &gt; it) is above 0.5 with a family-wise error rate "
        f"of {FWER:.0%} over the comparisons of the best with every other config (Holm's correction; the interval "
        "alone holds at 95% for each comparison on its own). The best was picked on these same seeds, which makes "
        "it look better than it is: BENCHMARKS.md measures how often a mark is false when every config is "
        "equal.</p>"
    )
    if len(s) > max_rows:
        more += f"<p>The best {max_rows} of {len(s)} configs; all are in <code>summary.parquet</code>.</p>"
    return f"<table><tr>{th}</tr>" + "".join(f"<tr>{r}</tr>" for r in rows) + f"</table>{more}"


def verdict(p: float, lo: float, hi: float) -> str:
    """Plain-words reading of P(best > runner-up) and its CI (``baseline.verdict_word``'s reading)."""
    return {
        "no CI": "one of them has a single seed with a final return, which gives no interval",
        "better": "the best config beats the runner-up on these seeds (the whole 95% CI is above 0.5)",
        "worse": "the runner-up tends to beat the best-ranked config seed for seed (CI below 0.5)",
        "unclear": "the data cannot tell them apart at 95% confidence (the CI contains 0.5)",
    }[baseline.verdict_word(lo, hi)]


def best_html(t: RunTables, labels: Mapping[int, str]) -> str:
    """The best config with its CIs, P(best > runner-up) with its CI, and the seeds a clear difference needs."""
    s = t.summary.sort_values("rank").to_dict("records")
    if not s:
        return "<p>No configs.</p>"
    b = s[0]
    threshold = t.scale.solved
    solved = (
        f"{html.escape(ci_text(b, 'frac_solved', percent=True))} of {b['n_seeds']} seeds solved (≥ {threshold:g})"
        if threshold is not None
        else f"{b['n_seeds']} seeds"
    )
    text = (
        f"<p><b>Best config</b> (rank 1 by final IQM): <b>{html.escape(labels[int(b['config'])])}</b><br>"
        f"final greedy return IQM {ci_text(b, 'final_iqm')}, mean {ci_text(b, 'final_mean')}, "
        f"AUC IQM {ci_text(b, 'auc_iqm', '.3f')}; {solved}, {b['n_diverged']} diverged.</p>"
    )
    if len(s) >= 2:
        r = s[1]
        pair = [int(b["config"]), int(r["config"])]
        row = aggregate.improvement_matrix(t.runs, pair).iloc[0]
        x, y = _finals(t, pair)
        need = seeds.seeds_to_separate(x, y)
        lo, hi = row["ci_low"], row["ci_high"]
        clear = bool(np.isfinite(lo) and np.isfinite(hi) and (lo > 0.5 or hi < 0.5))
        ci = f"95% CI {lo:.2f}–{hi:.2f}" if np.isfinite(lo) else "no CI"
        text += (
            f"<p><b>Runner-up</b>: {html.escape(labels[int(r['config'])])}, "
            f"final IQM {ci_text(r, 'final_iqm')}.<br>"
            f"P(best &gt; runner-up) = <b>{row['p']:.2f}</b> ({ci}): {verdict(row['p'], lo, hi)}. "
            f"{html.escape(seeds.sentence(need, clear=clear))}</p>"
            "<p>Both were picked as the best of many configs on the same seeds, so their numbers are "
            "optimistic; confirm a choice on fresh seeds.</p>"
        )
    return f'<div class="box">{text}</div>'


def p_text(p: float, lo: float, hi: float) -> str:
    """``0.94 [0.57, 0.99]``; ``0.50 (no CI)`` without an interval; ``–`` where P is undefined."""
    if not np.isfinite(p):
        return "–"
    return f"{p:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) and np.isfinite(hi) else f"{p:.2f} (no CI)"


def names_text(names: Sequence[str], most: int = 10) -> str:
    """``a, b and 3 more``: at most ``most`` names."""
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


METRIC_NAMES = {"final": "the final return", "auc": "the AUC"}


def _clear_sentence(v: pd.DataFrame, labels: Mapping[int, str]) -> str:
    """Which configs of ``baseline.versus_default``'s table are clearly better or worse than the defaults."""

    def clearly(word: str, m: str) -> list[str]:
        return [html.escape(labels[int(c)]) for c in v.loc[v[f"{m}_verdict"] == word, "config"]]

    found = {
        w: [f"on {METRIC_NAMES[m]}, {names_text(clearly(w, m))}" for m in baseline.METRICS if clearly(w, m)]
        for w in ("better", "worse")
    }
    if not any(found.values()):
        return (
            "No config is clearly better or worse than the defaults on either measure (at a false discovery rate "
            f"of {baseline.FDR:.0%})."
        )
    out = []
    for word, side in (("better", "above"), ("worse", "below")):
        if found[word]:
            out.append(f"<b>Clearly {word}</b> than the defaults (P {side} 0.5): {'; '.join(found[word])}.")
        else:
            out.append(f"None is clearly {word}.")
    return " ".join(out)


def defaults_html(t: RunTables, *, max_rows: int = 50) -> list[str]:
    """The section "Against the defaults": P(config > default config) on the final return and on the AUC with
    their CIs and verdicts (``baseline.versus_default``), and which configs are clearly better or worse; each
    config named by the axes it changes (``baseline.changes``). None without a default config
    (``baseline.default_config``) or another config to compare with it."""
    d = baseline.default_config(t)
    v = baseline.versus_default(t, d) if d is not None else None
    if v is None or not len(v):
        return []
    rank = t.summary.set_index("config")["rank"]
    labels = baseline.changes(t)
    head = ["changed from the defaults", "rank", "final: P(it > defaults) [95% CI]", "final"]
    head += ["AUC: P(it > defaults) [95% CI]", "AUC"]
    rows = []
    for r in v.head(max_rows).to_dict("records"):
        c = int(r["config"])
        cells = [labels[c], str(rank.get(c, ""))]
        for m in baseline.METRICS:
            cells += [p_text(r[f"{m}_p"], r[f"{m}_ci_low"], r[f"{m}_ci_high"]), r[f"{m}_verdict"]]
        rows.append("".join(f"<td>{html.escape(x)}</td>" for x in cells))
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    stop = ""
    if halving.is_halving(t):
        at = int(t.runs.loc[t.runs["config"] == d, "stopped_at"].max())
        stop = f" Only the configs that stopped where the defaults did, at env step {at:,}, are compared."
    more = f" The first {max_rows} of {len(v)} rows." if len(v) > max_rows else ""
    default = html.escape(aggregate.config_labels(t.summary, t.axes)[d])
    fixed = baseline.fixed_changes(t)
    also = ""
    if fixed:  # the sweep's own settings, which every config shares: "the defaults" are the swept fields' only
        shown = ", ".join(f"{k}={format_value(v)}" for k, v in fixed.items())
        also = f"; like every config of this sweep it has {len(fixed)} other field{'s' * (len(fixed) > 1)} fixed away "
        also += f"from {'their' if len(fixed) > 1 else 'its'} default: {html.escape(shown)}"
    what = "every swept field at its default" + (", the first of the named variants" if "variant" in t.axes else "")
    intro = (
        f"<p>The default config, <b>{default}</b> ({what}{also}), against each other "
        "config: P(it &gt; defaults) is the probability that a run of the config beats a run of the "
        "defaults (ties count half), on the final return and on the AUC (how fast it gets there), with its "
        "interval pairing the runs by seed. <i>better</i> / <i>worse</i>: the difference holds with the false "
        f"discovery rate over the {len(v)} comparisons of each measure kept at {baseline.FDR:.0%} "
        "(Benjamini-Hochberg: of the configs called better or worse, about 1 in 20 at most may not be); "
        "<i>unclear</i>: it does not, even where the interval, which holds at 95% on its own, excludes 0.5. "
        f"Sorted by the final return's P, then the AUC's.{stop}{more}</p>"
    )
    table = f"<table><tr>{th}</tr>" + "".join(f"<tr>{r}</tr>" for r in rows) + "</table>"
    return ["<h2>Against the defaults</h2>", intro, f"<p>{_clear_sentence(v, labels)}</p>", table]


def at_least(share: float) -> str:
    """A measured share as a percentage rounded down to 0.1, so "at least" stays true: 0.975 -> ``97.5%``."""
    return f"{math.floor(share * 1000 + 1e-9) / 10:g}%"


def measured_coverage(n_seeds: int) -> tuple[int, float] | None:
    """``(m, coverage)``: the lowest coverage measured at ``m`` seeds, the largest count studied not above
    ``n_seeds`` (``intervals.MEASURED_MIN_COVERAGE``); None below the smallest count studied."""
    counts = [m for m in sorted(intervals.MEASURED_MIN_COVERAGE) if m <= n_seeds]
    return (counts[-1], intervals.MEASURED_MIN_COVERAGE[counts[-1]]) if counts else None


def caveats(t: RunTables) -> list[str]:
    """Warnings about the data that change how far the numbers can be trusted."""
    out = []
    n_seeds = int(t.summary["n_seeds"].min()) if len(t.summary) else 0
    if 0 < n_seeds < FEW_SEEDS:
        few = f"<p><b>Few seeds:</b> some configs have only {n_seeds} seed{'s' if n_seeds > 1 else ''}. "
        measured = measured_coverage(n_seeds)
        if measured is not None:
            m, cov = measured
            few += (
                f"On simulated bounded returns, every kind of interval in this report covered the true value "
                f"at least {at_least(cov)} of the time at {m} seeds (<code>python -m analysis coverage</code>, "
                "BENCHMARKS.md), but intervals from so few seeds are wide, and few differences will be clear. "
            )
        if n_seeds == 1:
            few += "A config with one seed gets no interval and ranks after every config that has one."
        out.append(few + "</p>")
    unbounded = [env for env, scale in task_scales(t.runs, t.tasks).items() if scale.high is None]
    if unbounded:
        cov = intervals.UNBOUNDED_MEAN_COVERAGE
        out.append(
            f"<p><b>No upper bound:</b> {', '.join(unbounded)} {'has' if len(unbounded) == 1 else 'have'} no "
            "highest return, so the mean's interval takes the largest observed return as its worst case. On "
            f"simulated returns of that kind it covered the true mean {at_least(cov[8])} of the time at 8 seeds and "
            f"{at_least(cov[16])} at 16, less where the tail is heavier: no interval can promise the mean of every "
            "population without an upper bound (Bahadur and Savage, 1956). The IQM's and median's intervals are "
            "not affected; read those.</p>"
        )
    if len(t.evals) == 0:
        out.append("<p><b>No evaluations were recorded:</b> final and AUC statistics are undefined.</p>")
    if len(t.runs) and t.runs["final_eval_return"].isna().any() and len(t.evals):
        n = int(t.runs["final_eval_return"].isna().sum())
        out.append(
            f"<p><b>{n} run{'s' if n > 1 else ''} without any evaluation</b>: left out of the return and AUC "
            "statistics, and counted as not solved.</p>"
        )
    return out


def schedule_sections(t: RunTables, labels: dict[int, str]) -> list[str]:
    """The halving or PBT section of the page (none for a sweep that trains every config to its end)."""
    if pbt.is_pbt(t):
        pops = schedule_report.population_summary(t)
        return [schedule_report.pbt_html(t, pops, pbt.final_statistics(pops["final_eval_return"], scale=t.scale))]
    if halving.is_halving(t):
        return [schedule_report.halving_html(t, schedule_report.rung_summary(t), labels)]
    return []


def _scale_words(t: RunTables) -> dict[str, str]:
    """How the method paragraph names the task's highest and solved returns: CartPole-v1's numbers for a sweep of
    it, words for a sweep of several tasks or one without them."""
    scale = t.scale if len(t.envs) == 1 else None
    if scale is not None and scale.high is not None and scale.low is not None:
        top = f"{scale.high:g}"
        auc = f"divided by that of a return of {scale.high:g} over the same steps, measured from {scale.low:g} (0–1)"
    elif scale is not None:
        top = "the highest return"
        auc = "divided by the steps it spans (the mean eval return: this task's returns have no top to scale by)"
    else:
        top = "the task's highest return"
        auc = (
            "divided by that of the task's highest return over the same steps, measured from its lowest (0–1; a "
            "task without a highest return gets the mean eval return itself)"
        )
    if scale is not None and scale.solved is not None:
        solved = f"reached {scale.solved:g}"
        gap = f"the <i>shortfall below {scale.solved:g}</i> is the mean of max({scale.solved:g} − return, 0)"
    elif scale is not None:
        solved = "reached the solved return (this task has none, so it is left empty)"
        gap = "the <i>shortfall</i> below the solved return is left empty (this task has none)"
    else:
        solved = "reached its task's solved return (none for a task without one)"
        gap = "the <i>shortfall</i> is the mean of max(solved − return, 0)"
    return {"top": top, "auc": auc, "solved": solved, "gap": gap}


def method_html(t: RunTables) -> str:
    """The paragraph that says how every number of the page was computed."""
    w = _scale_words(t)
    return (
        "<p>Statistics over seeds follow Agarwal et al., “Deep Reinforcement Learning at the Edge of the "
        "Statistical Precipice” (NeurIPS 2021): interquartile mean (IQM), probability of improvement and "
        "performance profiles. Their 95% confidence intervals were chosen by measured coverage and power: the "
        "IQM's and the median's are expanded percentile bootstraps over seeds (Hesterberg 2015), the mean's "
        "Bayesian-bootstrap intervals with a worst-case atom (Gaffke's bound, Learned-Miller and Thomas 2019), "
        "and where every seed scored the same bound, the IQM and median get the atom's interval too, which "
        f"allows for seeds that were not drawn (with every seed at {w['top']} the IQM's lower end stays below it "
        "up to 12 seeds). P(X &gt; Y) pairs the two configs' runs by seed: Munzel's (1999) studentised statistic "
        "on the arcsine scale, with Brunner and Munzel's unpaired variance where that gives the shorter interval; "
        "closed form. Shares use the Clopper-Pearson interval. Configs share their seeds' "
        "random numbers, so every comparison and pooled cell weighs a seed the same in every config. In "
        "simulation of CartPole-, Acrobot- and MinAtar-like returns these intervals covered the true value at "
        f"least {at_least(intervals.MEASURED_MIN_COVERAGE[10])} of the time at 10 seeds "
        "(<code>python -m analysis coverage</code>, BENCHMARKS.md). "
        f"Fixed seed; {N_BOOT:,} replicates for the summary, ranking, heatmaps and sensitivity, "
        f"{CURVE_BOOT:,} for learning-curve bands; one seed gives no interval. "
        "<i>Final</i> is the greedy evaluation return at each run's last evaluation; <i>AUC</i> is the area "
        "under a run's evaluation curve (each evaluation's return held over the steps since the previous one, "
        f"from step 0 to the last evaluation; a missing evaluation leaves out its steps) {w['auc']}; <i>solved</i> "
        f"is the share of a config's seeds whose final return {w['solved']}, a seed without any evaluation "
        f"counting as not solved; the <i>median seed</i> is the median over seeds; {w['gap']} (rliable's "
        "optimality gap measures it from the best possible score instead). Ranks go by final IQM, ties to the "
        "higher lower end of the mean's interval, then the mean, then AUC IQM; configs without an interval rank "
        "last.</p>"
    )
