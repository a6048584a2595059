"""Statistics of a population-based-training sweep (Jaderberg et al., 2017): the lineage of each population's
best final member, the explored hyperparameters over time, and the populations' final returns.

One population per seed; its members are the configs of ``runs`` (whose hyperparameter columns hold the
members' *initial* values). ``pbt.parquet`` (see ``schedules``) says, per member and interval, the values it
trained with, its score and its ``parent``: the member whose state it continues from in the next interval.

**Best member and lineage.** A population's best member is the one with the highest score at the last interval
(the metric PBT itself ranks by; ties to the lower member number). Its lineage is the chain of (interval,
member) its final state descends from, traced backwards: at the last interval it is the best member, and at
interval ``k`` it is the parent listed at ``k`` by the lineage's member at ``k + 1``. The lineage's run is its
members' evaluations stitched together, interval ``k``'s member's over the env steps ``(end of k - 1, end of
k]``: an exploited member's later evaluations are those of its parent's networks, so this is the evaluation
curve of the final network's history.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.stats import intervals
from analysis.stats import point as stats
from analysis.stats.summary import N_BOOT, SEED
from analysis.tables.run import RunTables
from analysis.tables.search import PBT_COLUMNS

TABLE_COLUMNS = tuple(PBT_COLUMNS)  # the columns of pbt.parquet that are not explored hyperparameters


def is_pbt(t: RunTables) -> bool:
    """Whether ``t`` is a population-based-training sweep (it has ``pbt.parquet``)."""
    return t.pbt is not None


def explored(pbt: pd.DataFrame) -> list[str]:
    """The explored hyperparameters: the columns of ``pbt.parquet`` beyond ``TABLE_COLUMNS``, in file order."""
    return [c for c in pbt.columns if c not in TABLE_COLUMNS]


def _interval_ends(pbt: pd.DataFrame) -> pd.DataFrame:
    """``population, interval, start, end``: the env steps ``(start, end]`` of each interval."""
    ends = pbt.groupby(["population", "interval"], sort=True)["step"].max().reset_index(name="end")
    ends["start"] = ends.groupby("population")["end"].shift(1, fill_value=0)
    return ends[["population", "interval", "start", "end"]]


def best_members(pbt: pd.DataFrame) -> pd.DataFrame:
    """Each population's best member: ``population, member, score`` (highest score at its last interval, ties
    to the lower member number; a NaN score counts as the lowest)."""
    last = pbt[pbt["interval"] == pbt.groupby("population")["interval"].transform("max")]
    key = np.nan_to_num(last["score"].to_numpy(np.float64), nan=-np.inf)
    order = np.lexsort((last["member"].to_numpy(), -key, last["population"].to_numpy()))
    best = last.iloc[order].drop_duplicates("population")
    return best[["population", "member", "score"]].sort_values("population").reset_index(drop=True)


def trace(parents: pd.DataFrame, member: int) -> list[int]:
    """The lineage of ``member`` at the last interval of one population: ``[member at interval 0, ..., member]``.

    ``parents`` has ``interval, member, parent`` for that population; the lineage's member at interval ``k``
    is the parent listed at ``k`` by its member at ``k + 1``. ``ValueError`` where a link is missing.
    """
    table = parents.set_index(["interval", "member"])["parent"]
    last = int(parents["interval"].max())
    chain = [int(member)]
    for k in range(last - 1, -1, -1):
        try:
            chain.append(int(table.loc[(k, chain[-1])]))
        except KeyError:
            raise ValueError(f"pbt.parquet has no row of member {chain[-1]} at interval {k}") from None
    return chain[::-1]


def lineages(pbt: pd.DataFrame) -> pd.DataFrame:
    """Each population's best lineage, one row per interval: ``population, interval, start, end, member,
    score, exploited`` (the lineage changed member at the start of the interval: an exploit) and the explored
    hyperparameters' values it trained with there."""
    best = best_members(pbt)
    ends = _interval_ends(pbt)
    hps = explored(pbt)
    parts = []
    for pop, member in zip(best["population"], best["member"], strict=True):
        d = pbt[pbt["population"] == pop]
        chain = trace(d[["interval", "member", "parent"]], member)
        rows = d.set_index(["interval", "member"]).loc[list(enumerate(chain)), ["score", *hps]].reset_index()
        rows.insert(0, "population", pop)
        rows["exploited"] = np.r_[False, np.diff(chain) != 0]
        parts.append(rows.merge(ends, on=["population", "interval"]))
    cols = ["population", "interval", "start", "end", "member", "score", "exploited", *hps]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def lineage_runs(t: RunTables) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The best lineage of each population as one run: ``(runs, evals)`` in the tables' format, config 0 and
    seed = population; the evaluations are the lineage's members', interval by interval (module docstring),
    and ``final_eval_return`` is the last of them (the best member's final evaluation)."""
    lin = lineages(t.pbt)
    ev = t.evals.merge(lin[["population", "start", "end", "member"]], left_on="seed", right_on="population")
    ev = ev[(ev["config"] == ev["member"]) & (ev["step"] > ev["start"]) & (ev["step"] <= ev["end"])]
    evals = pd.DataFrame(
        {"config": 0, "seed": ev["seed"].to_numpy(), "step": ev["step"].to_numpy(), "eval_return": ev["eval_return"]}
    ).sort_values(["seed", "step"], ignore_index=True)
    pops = np.sort(lin["population"].unique())
    last = evals.groupby("seed")["eval_return"].last().reindex(pops)
    runs = pd.DataFrame({"config": 0, "seed": pops, "final_eval_return": last.to_numpy(np.float64)})
    if "total_steps" in t.runs.columns:
        runs["total_steps"] = int(t.runs["total_steps"].max())
    return runs, evals


def populations(t: RunTables) -> pd.DataFrame:
    """One row per population: ``population, member`` (its best), ``score`` (at the last interval),
    ``final_eval_return`` (the best member's final evaluation, ``runs.parquet``'s), ``exploits`` (how often its
    lineage changed member), ``n_members`` and the explored hyperparameters' values in the last interval."""
    lin = lineages(t.pbt)
    hps = explored(t.pbt)
    last = lin.sort_values("interval").groupby("population").tail(1).set_index("population")
    finals = t.runs.set_index(["config", "seed"])["final_eval_return"]
    out = best_members(t.pbt)
    keys = pd.MultiIndex.from_arrays([out["member"], out["population"]])
    out["final_eval_return"] = finals.reindex(keys).to_numpy(np.float64)
    out["exploits"] = lin.groupby("population")["exploited"].sum().reindex(out["population"]).to_numpy(np.int64)
    out["n_members"] = t.pbt.groupby("population")["member"].nunique().reindex(out["population"]).to_numpy()
    for h in hps:
        out[h] = last.loc[out["population"], h].to_numpy()
    return out


def final_statistics(
    finals: Sequence[float] | np.ndarray,
    *,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
) -> dict[str, intervals.Interval]:
    """IQM and mean over populations of their best members' final returns, with 95% CIs, and the solved share
    (at least ``scale.solved``; NaN without one) with its Clopper-Pearson interval: ``{"iqm", "mean",
    "solved"}``, ``Interval``s of floats."""
    x = np.asarray(finals, np.float64)[None, :]
    bounds = scale.bounds(x)
    cis = intervals.intervals_of(x, ["iqm", "mean"], bounds=bounds, n_boot=n_boot, seed=seed)
    out = {k: intervals.Interval(float(v.point[0]), float(v.low[0]), float(v.high[0])) for k, v in cis.items()}
    n, k = int(np.sum(~np.isnan(x))), int(np.sum(x >= (np.inf if scale.solved is None else scale.solved)))
    lo, hi = intervals.proportion_interval(k, n)
    solvable = n and scale.solved is not None
    nan = float("nan")
    out["solved"] = intervals.Interval(k / n, float(lo), float(hi)) if solvable else intervals.Interval(nan, nan, nan)
    return out
