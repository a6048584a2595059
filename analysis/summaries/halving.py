"""Statistics of a successive-halving sweep (Jamieson & Talwalkar, 2016): each run's metric at each rung it
reached, each config's IQM over seeds there with its 95% CI, and the env steps spent against the full grid's.

The tables are described in ``schedules``. A config's seeds live or stop together; a stopped config's
evaluations end at its rung, so its summary statistics stand at that step (``summary``'s ``stopped_at``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.stats import intervals
from analysis.stats import point as stats
from analysis.stats.summary import AUC_RANGE, N_BOOT, SEED, run_auc, seed_matrix, stopped_steps
from analysis.tables.format import manifest_number, steps_formatter
from analysis.tables.run import RunTables
from analysis.tables.search import settings

SCORE_COLUMNS = ["rung", "step", "config", "seed", "score", "kept"]


class Budget(NamedTuple):
    """What the sweep trained against what the full grid would have."""

    env_steps: int  # env steps the sweep trained, all runs together
    full_grid_env_steps: int  # what training every config to its end would have taken

    @property
    def share(self) -> float:
        return self.env_steps / self.full_grid_env_steps if self.full_grid_env_steps else float("nan")


def is_halving(t: RunTables) -> bool:
    """Whether ``t`` is a successive-halving sweep: its runs say where each config stopped."""
    return "stopped_at" in t.runs.columns


def metric(t: RunTables) -> str:
    """The metric that ranked configs at a rung: ``"auc"`` (the default) or ``"final"``."""
    return "final" if settings(t.manifest).get("metric") == "final" else "auc"


def metric_bounds(name: str, scale: stats.Scale = stats.CARTPOLE) -> tuple[float, float]:
    """The lowest and highest possible value of a rung metric (the intervals' worst cases) on a task's ``scale``."""
    return AUC_RANGE if name == "auc" else scale.bounds()


def rung_steps(t: RunTables) -> list[int]:
    """The rungs' env steps, then the runs' ``total_steps``: ``manifest["halving"]["rungs"]``, or (without it) the
    steps of ``rungs.parquet`` and the largest ``stopped_at``."""
    listed = (t.manifest.get("halving") or {}).get("rungs") if isinstance(t.manifest.get("halving"), dict) else None
    if isinstance(listed, list) and listed and all(isinstance(manifest_number(s), int) for s in listed):
        return [int(s) for s in listed]
    steps = set() if t.rungs is None else {int(s) for s in t.rungs["step"]}
    return sorted(steps | {int(t.runs["stopped_at"].max())})


def score_at(
    runs: pd.DataFrame, evals: pd.DataFrame, step: int, name: str, scale: stats.Scale = stats.CARTPOLE
) -> np.ndarray:
    """``[runs]`` each run's metric from its evaluations up to ``step``: its normalised AUC so far
    (``summary.run_auc``) for ``"auc"``, its last eval return for ``"final"``; NaN before any evaluation. The
    engine ranks rungs with the same definition."""
    ev = evals[evals["step"] <= step]
    if name == "auc":
        return run_auc(runs, ev, scale)
    last = ev.sort_values(["config", "seed", "step"]).groupby(["config", "seed"])["eval_return"].last()
    return last.reindex(pd.MultiIndex.from_frame(runs[["config", "seed"]])).to_numpy(np.float64)


def rung_scores(t: RunTables) -> pd.DataFrame:
    """One row per run and step it reached among ``rung_steps``: ``rung, step, config, seed, score, kept``.

    At a rung ``score`` is ``rungs.parquet``'s (what ranked the run), or the run's metric from its evaluations
    where the file has one row per config; ``kept`` says whether its config went on. At the last step
    (``total_steps``, rung number ``len(rungs)``) the rows are the runs that trained to the end, their metric
    there, ``kept`` True.
    """
    name, steps = metric(t), rung_steps(t)
    parts = []
    decided = t.rungs if t.rungs is not None else pd.DataFrame(columns=["rung", "step", "config", "kept"])
    for k, step in enumerate(steps):
        at = decided[decided["step"] == step]
        last = k == len(steps) - 1
        if last:
            configs = stopped_steps(t.runs)
            configs = configs.index[configs >= step].to_numpy()
            kept = pd.Series(True, index=configs)
        else:
            configs = np.unique(at["config"].to_numpy())
            kept = at.groupby("config")["kept"].first()
        runs = t.runs.loc[t.runs["config"].isin(configs), ["config", "seed"]].sort_values(["config", "seed"])
        if not last and "score" in at.columns:
            runs = at[["config", "seed", "score"]].sort_values(["config", "seed"])
        else:
            runs = runs.assign(score=score_at(runs, t.evals, step, name, t.scale))
        runs = runs.assign(rung=k, step=step, kept=runs["config"].map(kept).astype(bool).to_numpy())
        parts.append(runs[SCORE_COLUMNS])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SCORE_COLUMNS)
    return out.astype({"rung": np.int64, "step": np.int64, "config": np.int64, "seed": np.int64})


def rung_intervals(
    scores: pd.DataFrame,
    name: str,
    *,
    n_boot: int = N_BOOT,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
) -> pd.DataFrame:
    """Each config's IQM over seeds of ``scores`` (``rung_scores``) at each rung, with its 95% CI.

    Returns ``rung, step, config, n_seeds, iqm, ci_low, ci_high, kept``, sorted by rung, then IQM (best first),
    then config. The configs of a rung share each replicate's seed weights (their seeds share random numbers,
    as in ``summary``); the worst cases are the metric's bounds (``metric_bounds``), widened to hold the scores.
    """
    cols = ["rung", "step", "config", "n_seeds", "iqm", "ci_low", "ci_high", "kept"]
    parts = []
    for (k, step), d in scores.groupby(["rung", "step"], sort=True):
        mat, configs = seed_matrix(d, "score")
        bounds = intervals.widened(metric_bounds(name, scale), mat)
        iv = intervals.interval(mat, "iqm", bounds=bounds, n_boot=n_boot, seed=seed)
        kept = d.groupby("config")["kept"].first().reindex(configs).to_numpy(bool)
        parts.append(
            pd.DataFrame(
                {
                    "rung": k,
                    "step": step,
                    "config": configs,
                    "n_seeds": np.sum(~np.isnan(mat), axis=1),
                    "iqm": iv.point,
                    "ci_low": iv.low,
                    "ci_high": iv.high,
                    "kept": kept,
                }
            )
        )
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    order = np.lexsort((out["config"], -np.nan_to_num(out["iqm"].to_numpy(np.float64), nan=-np.inf), out["rung"]))
    return out.iloc[order].reset_index(drop=True)[cols]


def budget(t: RunTables) -> Budget:
    """The env steps trained and those of the full grid: ``manifest["halving"]``'s, or (without them) the sums
    over runs of ``stopped_at`` and of ``total_steps`` (the last rung where the runs lack it)."""
    m = t.manifest.get("halving") if isinstance(t.manifest.get("halving"), dict) else {}
    spent, full = manifest_number(m.get("env_steps")), manifest_number(m.get("full_grid_env_steps"))
    if spent is None:
        spent = int(t.runs["stopped_at"].sum())
    if full is None:
        total = t.runs["total_steps"] if "total_steps" in t.runs.columns else rung_steps(t)[-1]
        full = int(np.sum(np.broadcast_to(total, len(t.runs))))
    return Budget(int(spent), int(full))


def alive(t: RunTables) -> pd.DataFrame:
    """The configs training in each stretch: ``start, end, n_configs`` (env steps ``(start, end]``)."""
    stop = stopped_steps(t.runs)
    steps = rung_steps(t)
    starts = [0, *steps[:-1]]
    return pd.DataFrame(
        {"start": starts, "end": steps, "n_configs": [int((stop >= s).sum()) for s in steps]}, dtype=np.int64
    )


def stop_label(step: int, total: int) -> str:
    """A config's label suffix: ``""`` where it trained to the end, ``"stopped at 5k"`` where not."""
    return "" if step >= total else f"stopped at {steps_formatter(step)}"
