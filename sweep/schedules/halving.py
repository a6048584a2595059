"""Successive halving (Jamieson & Talwalkar, 2016; Li et al., 2018's inner loop) as a schedule of the engine's loop.

```toml
[search]
scheduler = "halving"
min_steps = 10_000        # first rung
eta = 3                   # keep the best 1/eta at each rung
metric = "auc"            # what ranks configs at a rung: "auc" (area under the eval curve so far) or "final"
```

Rungs stand at ``min_steps * eta^k`` below ``total_steps``, and the last stretch ends at ``total_steps``. Every
config still running trains to the next rung (group by group, wave by wave: the stretch), then every one is
ranked by the IQM over its seeds of the metric so far, and the best ``ceil(n / eta)`` go on; a config's seeds
live or stop together. Survivors go on from their exact state, repacked into new waves of the same per-device
shape, so every row a survivor writes is bitwise the row the same config writes in the full grid; a stopped
config keeps its rows up to its rung.

The decision is a pure function of the records (which every process of a cluster holds whole) and breaks ties by
config number, so every process makes the same one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from analysis.stats import point as stats
from sweep.plan import Plan, Wave
from sweep.schedules.stretches import (
    StretchSchedule,
    one_total_steps,
    parse_metric,
    run_scores,
    stretch_env_steps,
    waves_for,
)
from sweep.spec.fields import GridError, integer


@dataclasses.dataclass(frozen=True)
class HalvingSettings:
    """``[search]`` of successive halving, checked (``sweep.spec.search.SchedulerSettings``)."""

    name: ClassVar[str] = "halving"
    title: ClassVar[str] = "successive halving"
    keys: ClassVar[tuple[str, ...]] = ("min_steps", "eta", "metric")

    min_steps: int
    eta: int = 3
    metric: str = "auc"

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, *, sampled: bool) -> HalvingSettings:
        here = f"[search] of {where}"
        return cls(integer(table, "min_steps", here), integer(table, "eta", here, default=3, low=2),
                   parse_metric(table, where))  # fmt: skip

    @property
    def samples(self) -> None:
        return None

    def record(self) -> dict[str, Any]:
        return {"min_steps": self.min_steps, "eta": self.eta, "metric": self.metric}

    def check_space(self, space: Mapping[str, Any], where: str, fixed: tuple[str, ...] = ()) -> None:
        pass  # any field, static or traced, may vary between the configs it compares

    def check(self, configs: list[dict[str, Any]]) -> None:
        if len(configs) < 2:
            raise GridError(
                f"{self.title} compares configs, and this sweep has one; give [grid] axes or a [space] to search"
            )
        steps = one_total_steps(configs, self.title)
        every = max(c["eval_every"] for c in configs)
        if self.min_steps < every:
            raise GridError(
                f"min_steps ({self.min_steps:,}) must be at least eval_every ({every:,}): configs are ranked on "
                "their evaluations at the first rung"
            )
        if self.min_steps >= steps:
            raise GridError(
                f"min_steps ({self.min_steps:,}) must be below total_steps ({steps:,}): the first rung comes "
                "before the end"
            )

    def planned_env_steps(self, plan: Plan) -> int:
        """Every config to the first rung, then the survivors of each rung to the next (what ``list``, ``show``
        and the size line at the start of ``run`` state; the schedule's own ``planned_steps``)."""
        bounds = rung_steps(self.min_steps, self.eta, plan.groups[0].static.total_steps)
        return stretch_env_steps(bounds, lambda k: configs_at(len(plan.configs), self.eta, k), plan.grid.seeds)

    def schedule(self, plan: Plan, layout, records, chunk_steps: int, position) -> HalvingSchedule:
        scores = lambda configs, step: rung_scores(records.evals(), plan, configs, step, self.metric)  # noqa: E731
        return HalvingSchedule(plan, self, waves_for(plan, layout), scores, chunk_steps, position)


def rung_steps(min_steps: int, eta: int, total_steps: int) -> list[int]:
    """The env steps at which the stretches end: ``min_steps * eta^k`` below ``total_steps``, then it."""
    rungs, step = [], min_steps
    while step < total_steps:
        rungs.append(step)
        step *= eta
    return [*rungs, total_steps]


def survivors(n: int, eta: int) -> int:
    """How many of ``n`` configs go on from a rung."""
    return math.ceil(n / eta)


def configs_at(n: int, eta: int, k: int) -> int:
    """How many of ``n`` configs train in stretch ``k`` (0: all of them)."""
    for _ in range(k):
        n = survivors(n, eta)
    return n


def rung_scores(evals: dict[str, np.ndarray], plan: Plan, configs: list[int], step: int, metric: str) -> np.ndarray:
    """[len(configs), seeds] each run's metric from its evaluations up to the rung ``step`` (``run_scores``)."""
    return run_scores(evals, plan, configs, 0, step, metric)


class HalvingSchedule(StretchSchedule):
    """The stretches of successive halving (see the module docstring)."""

    kind = "rung"

    def __init__(
        self,
        plan: Plan,
        settings: HalvingSettings,
        waves_for: Callable[[int, list[int]], list[Wave]],
        scores: Callable[[list[int], int], np.ndarray],
        chunk_steps: int,
        position: dict[str, Any] | None = None,
    ):
        """``scores(configs, step)``: the configs' [configs, seeds] metric at ``step`` (``rung_scores``)."""
        self.eta, self.scores = settings.eta, scores
        bounds = rung_steps(settings.min_steps, self.eta, plan.groups[0].static.total_steps)
        super().__init__(plan, bounds, waves_for, chunk_steps, position)

    def decide(self, step: int, parked, last: bool = False) -> None:
        if last:
            return
        scores = self.scores(self.alive, step)
        values = stats.iqm(scores)
        ranked = sorted(range(len(self.alive)), key=lambda i: (-np.nan_to_num(values[i], nan=-np.inf), self.alive[i]))
        kept = sorted(self.alive[i] for i in ranked[: survivors(len(self.alive), self.eta)])
        self.history.append(
            {
                "rung": self.stretch,
                "step": step,
                "configs": list(self.alive),
                "iqm": [float(v) for v in values],
                "scores": [[float(x) for x in row] for row in scores],
                "kept": kept,
            }
        )
        self.alive = kept
        parked.keep_only(self.alive_runs())  # the stopped configs' states are no longer needed

    def _planned_configs(self, k: int) -> int:
        return configs_at(len(self.plan.configs), self.eta, k)

    def stopped_at(self) -> dict[int, int]:
        out = {}
        for h in self.history:
            for c in set(h["configs"]) - set(h["kept"]):
                out[c] = h["step"]
        return out

    def results(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        steps = {"env_steps": self.planned_steps(), "full_grid_env_steps": self.plan.full_env_steps}
        entry = {"rungs": self.bounds, **steps}
        return {"halving": entry}, {"rungs.parquet": self.rungs_frame()}

    def rungs_frame(self) -> pd.DataFrame:
        """One row per run and rung it reached: ``rung, step, config, seed, score`` (the run's metric there),
        ``iqm`` (its config's IQM over seeds, which ranked it) and ``kept`` (the config went on)."""
        rows = []
        for h in self.history:
            kept = set(h["kept"])
            for c, v, scores in zip(h["configs"], h["iqm"], h["scores"], strict=True):
                for seed, x in enumerate(scores):
                    rows.append({"rung": h["rung"], "step": h["step"], "config": c, "seed": seed, "score": x,
                                 "iqm": v, "kept": c in kept})  # fmt: skip
        return pd.DataFrame(rows, columns=["rung", "step", "config", "seed", "score", "iqm", "kept"])
