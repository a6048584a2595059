"""Schedules: what the engine's loop trains next. The loop asks a schedule for the next chunk (which wave of
which static group, from which env step, for how many steps), runs it, and tells the schedule it is done; the
loop never knows why a wave goes on or stops. A schedule's position is JSON-able, so a checkpoint can record it
and a resume restore it.

``GridSchedule`` is the Cartesian grid's: every group's waves, one after another, each trained to its last step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import pandas as pd

from sweep.plan import Wave


class Chunk(NamedTuple):
    """A piece of training: wave ``wave`` of static group ``group``, from env step ``start`` for ``n_steps``."""

    group: int
    wave: int
    start: int
    n_steps: int


class Schedule(Protocol):
    def next(self) -> Chunk | None:
        """The chunk to train next, or None when the sweep is done."""

    def waves(self, group: int) -> list[Wave]:
        """The waves of ``group`` that the chunks in progress refer to (by index)."""

    def finished(self, chunk: Chunk) -> None:
        """Told once ``chunk`` (the one ``next`` returned) has been trained and recorded."""

    def wave_done(self, group: int, wave: int) -> bool:
        """True once the wave will get no more chunks in this stretch: its state can be judged and dropped."""

    def keeps_state(self, group: int, wave: int) -> bool:
        """True when a done wave's runs may train on in a later stretch, so their states must be kept."""

    def position(self) -> dict[str, Any]:
        """Where the schedule stands, JSON-able (a checkpoint stores it)."""

    def steps_done(self) -> int:
        """Env steps trained so far, over every real run (for the progress bar)."""

    def planned_steps(self) -> int:
        """Env steps the whole sweep trains, over every real run."""

    def stopped_at(self) -> dict[int, int] | None:
        """Configs stopped before their last step: config -> the env step they stopped at; None for a schedule
        that never stops one (``runs.parquet`` then has no ``stopped_at`` column)."""

    def stage(self) -> str:
        """The part of the schedule in progress, for the progress bar (``rung 2/4 (to 15,000 steps)``), or ""."""

    def at_boundary(self, parked) -> None:
        """Called after each wave's end (its state parked where ``keeps_state``): where a schedule decides."""

    def results(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        """What the run folder gets beside the grid's tables: manifest entries, and tables by file name."""


class GridSchedule:
    """Every group's waves in order, each from step 0 to the group's ``total_steps`` in chunks of at most
    ``chunk_steps``. A group's waves are asked for (``waves_of(group)``) only once the group has started, so
    the engine may cut a group's waves when it reaches it."""

    def __init__(
        self,
        group_steps: list[int],
        group_runs: list[int],
        waves_of: Callable[[int], list[Wave]],
        chunk_steps: int,
        position: dict[str, Any] | None = None,
    ):
        """``group_steps[g]``: group g's total env steps; ``group_runs[g]`` its run count. ``position``: where a
        checkpoint left off (from ``position()``), or None to start at the beginning."""
        self.group_steps, self.group_runs = list(group_steps), list(group_runs)
        self.waves_of = waves_of
        self.chunk_steps = chunk_steps
        position = position or {"group": 0, "wave": 0, "steps_done": 0}
        self.group, self.wave, self._steps = (int(position[k]) for k in ("group", "wave", "steps_done"))

    def next(self) -> Chunk | None:
        if self.group >= len(self.group_steps):
            return None
        n = min(self.chunk_steps, self.group_steps[self.group] - self._steps)
        return Chunk(self.group, self.wave, self._steps, n)

    def waves(self, group: int) -> list[Wave]:
        return self.waves_of(group)

    def finished(self, chunk: Chunk) -> None:
        self._steps = chunk.start + chunk.n_steps
        if self._steps >= self.group_steps[chunk.group]:
            self.wave, self._steps = chunk.wave + 1, 0
            if self.wave >= len(self.waves_of(chunk.group)):
                self.group, self.wave = chunk.group + 1, 0

    def wave_done(self, group: int, wave: int) -> bool:
        return (group, wave) < (self.group, self.wave)

    def keeps_state(self, group: int, wave: int) -> bool:
        return False

    def position(self) -> dict[str, Any]:
        return {"group": self.group, "wave": self.wave, "steps_done": self._steps}

    def steps_done(self) -> int:
        done = sum(n * s for n, s in zip(self.group_runs[: self.group], self.group_steps, strict=False))
        if self.group < len(self.group_steps):
            waves = self.waves_of(self.group)
            done += sum(len(w.runs) for w in waves[: self.wave]) * self.group_steps[self.group]
            done += len(waves[self.wave].runs) * self._steps if self._steps else 0
        return done

    def planned_steps(self) -> int:
        return sum(n * s for n, s in zip(self.group_runs, self.group_steps, strict=True))

    def stopped_at(self) -> dict[int, int] | None:
        return None

    def stage(self) -> str:
        return ""

    def at_boundary(self, parked) -> None:
        pass

    def results(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        return {}, {}
