"""The report's sections on the schedules that do not train every config to its end: the rungs of successive
halving (``halving_html``) and population-based training's populations (``pbt_html``), and the small tables
``report`` writes beside ``summary.parquet`` (``rung_summary``, ``population_summary``). The numbers come from
``halving`` and ``pbt``; this module only formats them."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats.intervals import Interval
from analysis.summaries import halving, pbt
from analysis.tables.format import format_value, steps_formatter
from analysis.tables.run import RunTables
from analysis.tables.search import scheduler, settings

MAX_ROWS = 50  # configs listed in the rungs table
METRIC_TEXT = {
    "auc": "normalised area under its evaluation curve so far",
    "final": "last evaluation return",
}


def _ci(p: float, lo: float, hi: float, fmt: str) -> str:
    """``p [lo, hi]``; ``p (no CI)`` without an interval; ``–`` where ``p`` is undefined."""
    if not np.isfinite(p):
        return "–"
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{p:{fmt}} (no CI)"
    return f"{p:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], left: int = 0) -> str:
    """An HTML table; the first ``left`` columns aligned left."""
    cls = lambda j: ' class="l"' if j < left else ""  # noqa: E731
    th = "".join(f"<th{cls(j)}>{html.escape(h)}</th>" for j, h in enumerate(head))
    body = "".join(
        "<tr>" + "".join(f"<td{cls(j)}>{html.escape(c)}</td>" for j, c in enumerate(r)) + "</tr>" for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def rung_summary(t: RunTables) -> pd.DataFrame:
    """One row per config and rung it reached (``halving.rung_intervals``), the file ``rung_summary.parquet``."""
    return halving.rung_intervals(halving.rung_scores(t), halving.metric(t), scale=t.scale)


def population_summary(t: RunTables) -> pd.DataFrame:
    """One row per population (``pbt.populations``), the file ``populations.parquet``."""
    return pbt.populations(t)


def halving_html(t: RunTables, ivs: pd.DataFrame, labels: Mapping[int, str]) -> str:
    """The halving section: the rungs and how many went on, the env steps against the full grid's, how stopped
    configs are ranked and drawn, a table per rung and one of every config that went past the first rung."""
    name, fmt = halving.metric(t), ".3f" if halving.metric(t) == "auc" else ".1f"
    steps, b = halving.rung_steps(t), halving.budget(t)
    s = settings(t.manifest)
    counts = ivs.groupby("rung")["config"].nunique()
    funnel = " → ".join(f"{counts.get(k, 0)}" for k in range(len(steps)))
    rungs = ", ".join(steps_formatter(x) for x in steps[:-1])
    eta = f"the best 1/{s['eta']} (rounded up)" if isinstance(s.get("eta"), int) else "the best"
    fewer = f" ({b.full_grid_env_steps / b.env_steps:.1f}× fewer)" if b.env_steps else ""
    text = [
        "<h2>Successive halving</h2>",
        f"<p>Rungs at {rungs} env steps, then the end of training at {steps_formatter(steps[-1])}. At each rung "
        f"every config still training was ranked by the IQM over its seeds of its {METRIC_TEXT[name]} "
        f"(metric <code>{name}</code>), and {eta} went on: {funnel} configs. <b>The sweep trained "
        f"{b.env_steps:,} env steps, {b.share:.0%} of the {b.full_grid_env_steps:,} the full grid would have"
        f"{fewer}.</b></p>",
        "<p>A config stopped at a rung has its statistics at that step: its evaluations end there, so its "
        "<i>final</i> return is its last one, at the rung. The summary's <code>stopped_at</code> column and "
        "“stopped at …” after its label say which step; it ranks after every config that trained further "
        f"(within a step, by the usual rule below).{_figures_sentence(t)} Intervals at a rung pair the configs' "
        "runs by seed; a cut decided on point estimates from few seeds is often not clear.</p>",
    ]
    if t.rungs is None:
        text.append("<p><b>rungs.parquet is missing</b>: the rungs cannot be shown.</p>")
        return "\n".join(text)
    rows = []
    for k, step in enumerate(steps):
        d = ivs[ivs["rung"] == k]
        if not len(d):
            continue
        kept, cut = d[d["kept"]], d[~d["kept"]]
        last = k == len(steps) - 1
        best = d.iloc[0]
        low = kept.iloc[-1] if len(kept) and not last else None
        high = cut.iloc[0] if len(cut) else None
        rows.append(
            [
                "end" if last else str(k),
                f"{step:,}",
                str(len(d)),
                "–" if last else str(len(kept)),
                labels[int(best["config"])],
                _ci(best["iqm"], best["ci_low"], best["ci_high"], fmt),
                "–" if low is None else _ci(low["iqm"], low["ci_low"], low["ci_high"], fmt),
                "–" if high is None else _ci(high["iqm"], high["ci_low"], high["ci_high"], fmt),
            ]
        )
    head = ["rung", "env steps", "configs", "went on", "best there", f"its {name} IQM [95% CI]"]
    head += ["lowest kept", "highest stopped"]
    text.append(_table(head, rows))
    text.append(_configs_table(t, ivs, labels, steps, fmt))
    return "\n".join(text)


def _figures_sentence(t: RunTables) -> str:
    """How the figures of sampled or grid axes treat the configs stopped at a rung (``run_figures``)."""
    continuous = [a for a in t.axes if t.scales.get(a) is not None and t.scales[a].continuous]
    out = ""
    if continuous:
        out += (
            " The response figure shows only the configs that trained to the end (a tick along its bottom marks "
            "each stopped one)"
        )
        out += ", the pair plots draw stopped configs grey." if len(continuous) >= 2 else "."
    if len(continuous) < len(t.axes):
        out += " The heatmaps and sensitivity panels, which pool configs' final returns, are not drawn."
    return out


def _configs_table(t: RunTables, ivs: pd.DataFrame, labels: Mapping[int, str], steps: list[int], fmt: str) -> str:
    """Every config that went past the first rung, best first: its metric IQM [95% CI] at each rung it reached,
    ✓ where it went on, ✗ where it stopped."""
    reached = ivs.groupby("config")["rung"].max()
    order = t.summary.sort_values("rank")["config"].astype(int).tolist()
    shown = [c for c in order if reached.get(c, 0) >= 1]
    cells = ivs.set_index(["config", "rung"])
    rows = []
    for c in shown[:MAX_ROWS]:
        row = [str(order.index(c) + 1), labels[c]]
        for k in range(len(steps)):
            if (c, k) not in cells.index:
                row.append("")
                continue
            r = cells.loc[(c, k)]
            mark = "" if k == len(steps) - 1 else (" ✓" if r["kept"] else " ✗")
            row.append(_ci(r["iqm"], r["ci_low"], r["ci_high"], fmt) + mark)
        rows.append(row)
    n0 = int((reached == 0).sum())
    head = ["rank", "config", *[f"{steps_formatter(s)}" for s in steps[:-1]], f"end ({steps_formatter(steps[-1])})"]
    more = f" (the best {MAX_ROWS} of {len(shown)})" if len(shown) > MAX_ROWS else ""
    return (
        f"<p>The configs that went past the first rung{more}, best first: the metric's IQM over seeds [95% CI] "
        f"at each rung they reached; ✓ went on, ✗ stopped there. The other {n0} stopped at the first rung; "
        "every config's numbers are in <code>rung_summary.parquet</code>.</p>" + _table(head, rows, left=2)
    )


def _settings_sentence(t: RunTables, n_pops: int, n_members: int, n_intervals: int, hps: Sequence[str]) -> str:
    """What the PBT sweep did, from its manifest's settings (those it records)."""
    s = settings(t.manifest)
    interval = s.get("interval")
    every = f"every {interval:,} env steps" if isinstance(interval, int) else "at each interval's end"
    q = s.get("quantile")
    bottom, top = ("the bottom {0:.0%}", "its top {0:.0%}") if isinstance(q, float) else ("the bottom", "its top")
    bottom, top = bottom.format(q), top.format(q)
    perturb, p = s.get("perturb"), s.get("resample_probability")
    how = "perturbed"
    if isinstance(perturb, list) and perturb:
        how = "multiplied by " + " or ".join(f"{f:g}" for f in perturb)
    if isinstance(p, int | float) and not isinstance(p, bool) and p > 0:
        how += f" or, with probability {p:g}, drawn afresh from the space"
    explored = ", ".join(hps) or "none"
    copied = "networks, optimiser state and replay buffer" if s.get("copy_buffer") else "networks and optimiser state"
    metric = {"auc": "auc, over the interval just ended", "final": "final, the last eval return"}
    metric = metric.get(s.get("metric"), str(s.get("metric", "score")))
    return (
        f"<p>{n_pops} population{'s' if n_pops != 1 else ''} (one per seed) of {n_members} members, "
        f"{n_intervals} intervals: {every} each member of {bottom} of its population took the {copied} of a "
        f"member of {top} (exploit), and its explored hyperparameters "
        f"({html.escape(explored)}) were {html.escape(how)} (explore). A population's "
        "<b>best member</b> is the one with the highest score at the last interval (the metric PBT ranks by, "
        f"{html.escape(metric)}; ties to the lower member number); its "
        "<b>lineage</b> is the chain of members its final networks descend from, traced back interval by "
        "interval through the parents.</p>"
    )


def pbt_html(t: RunTables, pops: pd.DataFrame, finals: Mapping[str, Interval]) -> str:
    """The PBT section: what ran, the populations' best members' final returns (IQM over populations with its
    CI, mean, solved share) and one row per population."""
    hps = pbt.explored(t.pbt)
    n_int = int(t.pbt["interval"].max()) + 1 if len(t.pbt) else 0
    n_members = int(pops["n_members"].max()) if len(pops) else 0
    iqm, mean, solved = finals["iqm"], finals["mean"], finals["solved"]
    solved_text = ""  # a task without a solved return (MinAtar's) says nothing of it
    if np.isfinite(solved.point) and t.scale.solved is not None:
        ci = f" [{solved.low:.0%}–{solved.high:.0%}]" if np.isfinite(solved.low) else ""
        solved_text = f"; {solved.point:.0%}{ci} solved (≥ {t.scale.solved:g})"
    box = (
        f"<div class='box'><p><b>Populations' final return</b> (each population's best member's final greedy "
        f"eval return, over {len(pops)} population{'s' if len(pops) != 1 else ''}): IQM "
        f"<b>{_ci(iqm.point, iqm.low, iqm.high, '.1f')}</b>, mean {_ci(mean.point, mean.low, mean.high, '.1f')}"
        f"{solved_text}. The best member is picked on the same runs it is scored on, as a "
        "grid's best config is, so the numbers are optimistic. <code>python -m analysis compare</code> sets "
        "them beside another sweep's best config, and <code>populations.parquet</code> holds the rows "
        "below.</p></div>"
    )
    rows = []
    for r in pops.to_dict("records"):
        row = [str(r["population"]), str(r["member"]), _score(r["score"]), _score(r["final_eval_return"], ".1f")]
        row += [str(r["exploits"]), *(format_value(r[h]) for h in hps)]
        rows.append(row)
    head = ["population", "best member", "its score at the last interval", "its final eval return"]
    head += ["exploits in its lineage", *[f"{h} (last interval)" for h in hps]]
    return "\n".join(
        [
            "<h2>Population-based training</h2>",
            _settings_sentence(t, len(pops), n_members, n_int, hps),
            box,
            _table(head, rows),
            "<p>The summary below lists the members over populations, labelled by their initial hyperparameters: "
            "a member's values changed as it trained, so its row says which slot it was, not which "
            "hyperparameters earned its return.</p>",
        ]
    )


def _score(v: Any, fmt: str = ".4g") -> str:
    return f"{v:{fmt}}" if isinstance(v, int | float) and np.isfinite(v) else "–"


def missing_tables(t: RunTables) -> list[str]:
    """Caveats for a manifest whose scheduler's table is missing from the run folder."""
    kind = scheduler(t.manifest)
    if kind == "halving" and t.rungs is None:
        return ["<p><b>The manifest says successive halving, but rungs.parquet is missing</b>.</p>"]
    if kind == "pbt" and t.pbt is None:
        return [
            "<p><b>The manifest says population-based training, but pbt.parquet is missing</b>: the members are "
            "reported as configs.</p>"
        ]
    return []
