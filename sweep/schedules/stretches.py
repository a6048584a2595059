"""Schedules in stretches: every run still going trains to the next boundary (group by group, wave by wave), its
state parked (``sweep.store.parked``), then the schedule decides what happens next from the records (and, for
population-based training, changes the parked states), then the next stretch. Successive halving
(``sweep.schedules.halving``) stops the worse configs at each boundary; population-based training
(``sweep.schedules.pbt``) copies and perturbs members.

Every decision is a pure function of the records and the parked states, which every process of a cluster holds
whole, with its randomness seeded by the sweep's settings: every process makes the same one, and a resumed sweep
makes the same one again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats.point import Scale
from analysis.stats.summary import run_auc
from core.envs import describe
from sweep.plan import Group, Plan, Wave, cut_group
from sweep.schedules.base import Chunk
from sweep.spec.fields import GridError

METRICS = ("auc", "final")  # what ranks configs at a boundary (see run_scores)


def parse_metric(table: Mapping[str, Any], where: str) -> str:
    """``metric`` of ``[search]`` (default "auc"), or GridError."""
    metric = table.get("metric", "auc")
    if metric not in METRICS:
        raise GridError(f"metric in [search] of {where} must be one of {', '.join(METRICS)}, got {metric!r}")
    return metric


def one_total_steps(configs: list[dict[str, Any]], title: str) -> int:
    """The ``total_steps`` every config shares (a stretch schedule's last boundary), or GridError; GridError too
    for configs of several environments, whose returns a schedule could not rank against each other."""
    envs = sorted({c["env"] for c in configs})
    if len(envs) > 1:
        raise GridError(
            f"{title} ranks configs by their returns, which are on different scales on {', '.join(envs)}; search "
            "one env per sweep (a grid without a schedule can sweep env as an axis)"
        )
    steps = sorted({c["total_steps"] for c in configs})
    if len(steps) > 1:
        raise GridError(f"{title} needs one total_steps for every config, got {', '.join(map(str, steps))}")
    return steps[0]


def run_scores(
    evals: dict[str, np.ndarray], plan: Plan, configs: list[int], start: int, step: int, metric: str
) -> np.ndarray:
    """[len(configs), seeds] each run's metric from its evaluations in ``(start, step]`` (``evals`` as
    ``Records.evals`` gives them): its last one's return ("final"), or its normalised area under the evaluation
    curve over that span ("auc", as ``analysis.stats.summary.run_auc`` with the span's steps counted from ``start``).
    NaN for a run without an evaluation there."""
    runs = plan.runs_of(configs)
    keep = (evals["step"] > start) & (evals["step"] <= step) & np.isin(evals["run"], runs)
    ev = pd.DataFrame(
        {
            "config": plan.config_of(evals["run"][keep]),
            "seed": plan.seed_of(evals["run"][keep]),
            "step": evals["step"][keep] - start,
            "eval_return": evals["eval_return"][keep],
        }
    )
    table = pd.DataFrame({"config": plan.config_of(runs), "seed": plan.seed_of(runs)})
    if metric == "auc":  # on the task's scale, as the analysis computes it
        first = plan.configs[configs[0]] if configs else {"env": "CartPole-v1", "episode_limit": 0}
        scale = Scale(**describe(first["env"], first["episode_limit"]).task.record())
        values = run_auc(table, ev, scale)
    else:
        last = ev.sort_values(["config", "seed", "step"]).groupby(["config", "seed"])["eval_return"].last()
        values = last.reindex(pd.MultiIndex.from_frame(table)).to_numpy(np.float64)
    return np.asarray(values, np.float64).reshape(len(configs), plan.grid.seeds)


def waves_for(plan: Plan, layout) -> Callable[[int, list[int]], list[Wave]]:
    """``waves_for(g, runs)``: group g's given runs cut into waves of the group's wave size (``layout``, a
    ``sweep.compute.layout.Layout``, decides it when the group is first reached)."""
    return lambda g, runs: cut_group(g, Group(plan.groups[g].static, runs), layout.program(g).wave_size)


def stretch_env_steps(bounds: list[int], n_configs: Callable[[int], int], seeds: int) -> int:
    """Env steps of stretches ending at ``bounds``, stretch k training ``n_configs(k)`` configs of ``seeds`` runs."""
    done, start = 0, 0
    for k, bound in enumerate(bounds):
        done += n_configs(k) * seeds * (bound - start)
        start = bound
    return done


class StretchSchedule:
    """Stretches ending at ``bounds`` (the last at ``total_steps``); subclasses decide at each boundary."""

    kind = "stretch"  # what a stretch is called in the progress bar

    def __init__(
        self,
        plan: Plan,
        bounds: list[int],
        waves_for: Callable[[int, list[int]], list[Wave]],
        chunk_steps: int,
        position: dict[str, Any] | None = None,
    ):
        """``waves_for(g, runs)``: group g's given runs cut into waves. ``position``: a checkpoint's, or None."""
        self.plan, self.bounds, self.waves_for, self.chunk_steps = plan, list(bounds), waves_for, chunk_steps
        self.config_group = np.empty(len(plan.configs), np.int64)
        for g, group in enumerate(plan.groups):
            self.config_group[plan.config_of(np.asarray(group.runs))] = g
        if position is None:
            alive = list(range(len(plan.configs)))
            position = {"stretch": 0, "alive": alive, "group": self._first_group(alive), "wave": 0, "steps_done": 0}
            position["history"] = []
        self.stretch, self.alive = int(position["stretch"]), [int(c) for c in position["alive"]]
        self.group, self.wave, self._steps = int(position["group"]), int(position["wave"]), int(position["steps_done"])
        self.history: list[dict[str, Any]] = list(position["history"])
        self._waves: dict[int, list[Wave]] = {}
        self._done: tuple[int, int, bool] | None = None  # the wave the last chunk finished, and whether it goes on
        self._due = False  # a stretch has ended: at_boundary decides

    def stage(self) -> str:
        """``rung 2/4 (to 15,000 steps)``: the stretch in progress, for the progress bar."""
        k = min(self.stretch, len(self.bounds) - 1)
        return f"{self.kind} {k + 1}/{len(self.bounds)} (to {self.bounds[k]:,} steps)"

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
        if self._due:
            raise RuntimeError("at_boundary must be called before the next chunk")
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
        self._due = True  # every run still going stands at the boundary

    def at_boundary(self, parked) -> None:
        """Called after each wave's end (its state parked): when a stretch has ended, decides and moves on."""
        if not self._due:
            return
        self._due = False
        self.decide(self.bounds[self.stretch], parked, last=self.stretch == len(self.bounds) - 1)
        self.stretch += 1
        self._waves = {}
        self.group = self._first_group(self.alive)

    def decide(self, step: int, parked, last: bool = False) -> None:
        """What happens at the boundary ``step`` (subclasses); ``last``: the end of the sweep, where nothing goes
        on (a schedule may still record what it saw)."""

    def wave_done(self, group: int, wave: int) -> bool:
        return self._done is not None and self._done[:2] == (group, wave)

    def keeps_state(self, group: int, wave: int) -> bool:
        return self._done is not None and self._done[:2] == (group, wave) and self._done[2]

    def position(self) -> dict[str, Any]:
        return {"stretch": self.stretch, "alive": self.alive, "group": self.group, "wave": self.wave,
                "steps_done": self._steps, "history": self.history}  # fmt: skip

    def alive_runs(self) -> set[int]:
        return {int(r) for r in self.plan.runs_of(self.alive)}

    def steps_done(self) -> int:
        seeds = self.plan.grid.seeds
        if self.stretch >= len(self.bounds):
            return self.planned_steps()
        done = sum(self._planned_configs(k) * seeds * (self.bounds[k] - (self.bounds[k - 1] if k else 0))
                   for k in range(self.stretch))  # fmt: skip
        if self.group < len(self.plan.groups):
            span = self.bounds[self.stretch] - self._start()
            # Earlier groups' runs are counted, not cut into waves: that would compile their programs on resume.
            done += int(sum(self.config_group[c] < self.group for c in self.alive)) * seeds * span
            waves = self.waves(self.group)
            done += sum(len(w.runs) for w in waves[: self.wave]) * span
            if self._steps:
                done += len(waves[self.wave].runs) * (self._steps - self._start())
        else:  # the stretch is trained, its decision not made yet
            done += len(self.alive) * seeds * (self.bounds[self.stretch] - self._start())
        return done

    def planned_steps(self) -> int:
        return stretch_env_steps(self.bounds, self._planned_configs, self.plan.grid.seeds)

    def _planned_configs(self, k: int) -> int:
        """How many configs stretch k trains (subclasses that stop configs say fewer)."""
        return len(self.plan.configs)

    def stopped_at(self) -> dict[int, int] | None:
        return None

    def results(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        return {}, {}
