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

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analysis import stats
from analysis.summary import run_auc
from sweep.plan import Plan, Wave
from sweep.schedule import Chunk

METRICS = ("auc", "final")


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


def rung_scores(evals: dict[str, np.ndarray], plan: Plan, configs: list[int], step: int, metric: str) -> np.ndarray:
    """[len(configs), seeds] each run's metric from its evaluations up to ``step`` (``evals`` as
    ``Records.evals`` gives them): its last evaluation's return ("final"), or its normalised area under the
    evaluation curve so far ("auc", as ``analysis.summary.run_auc``). NaN for a run without an evaluation yet."""
    seeds = plan.grid.seeds
    runs = (np.asarray(configs, np.int64)[:, None] * seeds + np.arange(seeds)[None, :]).ravel()
    keep = (evals["step"] <= step) & np.isin(evals["run"], runs)
    ev = pd.DataFrame(
        {
            "config": evals["run"][keep] // seeds,
            "seed": evals["run"][keep] % seeds,
            "step": evals["step"][keep],
            "eval_return": evals["eval_return"][keep],
        }
    )
    table = pd.DataFrame({"config": runs // seeds, "seed": runs % seeds})
    if metric == "auc":
        values = run_auc(table, ev)
    else:
        last = ev.sort_values(["config", "seed", "step"]).groupby(["config", "seed"])["eval_return"].last()
        values = last.reindex(pd.MultiIndex.from_frame(table)).to_numpy(np.float64)
    return np.asarray(values, np.float64).reshape(len(configs), seeds)


class HalvingSchedule:
    """The stretches of successive halving, as chunks (see the module docstring)."""

    def __init__(
        self,
        plan: Plan,
        settings: dict[str, Any],
        waves_for: Callable[[int, list[int]], list[Wave]],
        scores: Callable[[list[int], int], np.ndarray],
        chunk_steps: int,
        position: dict[str, Any] | None = None,
    ):
        """``waves_for(g, runs)``: group g's given runs cut into waves; ``scores(configs, step)``: their
        [configs, seeds] metric at ``step`` (``rung_scores``). ``position``: a checkpoint's, or None."""
        self.plan, self.waves_for, self.scores, self.chunk_steps = plan, waves_for, scores, chunk_steps
        self.eta = settings["eta"]
        total = plan.groups[0].static.total_steps
        self.bounds = rung_steps(settings["min_steps"], self.eta, total)
        self.config_group = np.empty(len(plan.configs), np.int64)
        for g, group in enumerate(plan.groups):
            self.config_group[np.asarray(group.runs) // plan.grid.seeds] = g
        if position is None:
            alive = list(range(len(plan.configs)))
            position = {"stretch": 0, "alive": alive, "group": self._first_group(alive), "wave": 0, "steps_done": 0}
            position["history"] = []
        self.stretch, self.alive = int(position["stretch"]), [int(c) for c in position["alive"]]
        self.group, self.wave, self._steps = int(position["group"]), int(position["wave"]), int(position["steps_done"])
        self.history: list[dict[str, Any]] = list(position["history"])
        self._waves: dict[int, list[Wave]] = {}
        self._done: tuple[int, int, bool] | None = None  # the wave the last chunk finished, and whether it goes on

    def _first_group(self, alive: list[int], after: int = -1) -> int:
        groups = sorted({int(self.config_group[c]) for c in alive if self.config_group[c] > after})
        return groups[0] if groups else len(self.plan.groups)

    def _start(self) -> int:
        return 0 if self.stretch == 0 else self.bounds[self.stretch - 1]

    def waves(self, group: int) -> list[Wave]:
        if group not in self._waves:
            alive = set(self.alive)
            runs = [r for r in self.plan.groups[group].runs if self.plan.config_of(r) in alive]
            self._waves[group] = self.waves_for(group, runs)
        return self._waves[group]

    def next(self) -> Chunk | None:
        if self.stretch >= len(self.bounds):
            return None
        start = max(self._steps, self._start())
        return Chunk(self.group, self.wave, start, min(self.chunk_steps, self.bounds[self.stretch] - start))

    def finished(self, chunk: Chunk) -> None:
        self._steps = chunk.start + chunk.n_steps
        self._done = None
        if self._steps < self.bounds[self.stretch]:
            return
        last = self.stretch == len(self.bounds) - 1
        self._done = (chunk.group, chunk.wave, not last)
        self.wave, self._steps = chunk.wave + 1, 0
        if self.wave < len(self.waves(chunk.group)):
            return
        self.group, self.wave = self._first_group(self.alive, after=chunk.group), 0
        if self.group < len(self.plan.groups):
            return
        if not last:  # every config still running stands at the rung: rank them
            self._decide()
        self.stretch += 1
        self._waves = {}
        self.group = self._first_group(self.alive)

    def _decide(self) -> None:
        step = self.bounds[self.stretch]
        values = stats.iqm(self.scores(self.alive, step))
        ranked = sorted(range(len(self.alive)), key=lambda i: (-np.nan_to_num(values[i], nan=-np.inf), self.alive[i]))
        kept = sorted(self.alive[i] for i in ranked[: survivors(len(self.alive), self.eta)])
        self.history.append(
            {
                "rung": self.stretch,
                "step": step,
                "configs": list(self.alive),
                "iqm": [float(v) for v in values],
                "kept": kept,
            }  # fmt: skip
        )
        self.alive = kept

    def wave_done(self, group: int, wave: int) -> bool:
        return self._done is not None and self._done[:2] == (group, wave)

    def keeps_state(self, group: int, wave: int) -> bool:
        return self._done is not None and self._done[:2] == (group, wave) and self._done[2]

    def position(self) -> dict[str, Any]:
        return {"stretch": self.stretch, "alive": self.alive, "group": self.group, "wave": self.wave,
                "steps_done": self._steps, "history": self.history}  # fmt: skip

    def alive_runs(self) -> set[int]:
        seeds = self.plan.grid.seeds
        return {c * seeds + s for c in self.alive for s in range(seeds)}

    def steps_done(self) -> int:
        seeds = self.plan.grid.seeds
        done = 0
        for k, h in enumerate(self.history):
            done += len(h["configs"]) * seeds * (self.bounds[k] - (self.bounds[k - 1] if k else 0))
        if self.stretch < len(self.bounds) and self.group < len(self.plan.groups):
            span = self.bounds[self.stretch] - self._start()
            for g in range(self.group):
                if g in {int(self.config_group[c]) for c in self.alive}:
                    done += sum(len(w.runs) for w in self.waves(g)) * span
            waves = self.waves(self.group)
            done += sum(len(w.runs) for w in waves[: self.wave]) * span
            if self._steps:
                done += len(waves[self.wave].runs) * (self._steps - self._start())
        elif self.stretch >= len(self.bounds):
            done = self.planned_steps()
        return done

    def planned_steps(self) -> int:
        n, seeds, done, start = len(self.plan.configs), self.plan.grid.seeds, 0, 0
        for bound in self.bounds:
            done += n * seeds * (bound - start)
            n, start = survivors(n, self.eta), bound
        return done

    def stopped_at(self) -> dict[int, int]:
        out = {}
        for h in self.history:
            for c in set(h["configs"]) - set(h["kept"]):
                out[c] = h["step"]
        return out

    def rungs_frame(self) -> pd.DataFrame:
        """One row per config and rung: ``rung, step, config, iqm`` (the metric's IQM over seeds), ``kept``."""
        rows = []
        for h in self.history:
            kept = set(h["kept"])
            for c, v in zip(h["configs"], h["iqm"], strict=True):
                rows.append({"rung": h["rung"], "step": h["step"], "config": c, "iqm": v, "kept": c in kept})
        return pd.DataFrame(rows, columns=["rung", "step", "config", "iqm", "kept"])
