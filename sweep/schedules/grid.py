"""The Cartesian grid's schedule: every group's waves, one after another, each trained to its last step (a sweep
without a scheduler)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from sweep.plan import Wave
from sweep.schedules.base import Chunk


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
