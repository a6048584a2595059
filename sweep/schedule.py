"""Schedules: what the engine's loop trains next. The loop asks a schedule for the next chunk (which wave of
which static group, from which env step, for how many steps), runs it, and tells the schedule it is done; the
loop never knows why a wave goes on or stops. A schedule's position is JSON-able, so a checkpoint can record it
and a resume restore it.

``GridSchedule`` is the Cartesian grid's: every group's waves, one after another, each trained to its last step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol


class Chunk(NamedTuple):
    """A piece of training: wave ``wave`` of static group ``group``, from env step ``start`` for ``n_steps``."""

    group: int
    wave: int
    start: int
    n_steps: int


class Schedule(Protocol):
    def next(self) -> Chunk | None:
        """The chunk to train next, or None when the sweep is done."""

    def finished(self, chunk: Chunk) -> None:
        """Told once ``chunk`` (the one ``next`` returned) has been trained and recorded."""

    def wave_done(self, group: int, wave: int) -> bool:
        """True once the wave will get no more chunks: its final state can be judged and dropped."""

    def position(self) -> dict[str, Any]:
        """Where the schedule stands, JSON-able (a checkpoint stores it)."""


class GridSchedule:
    """Every group's waves in order, each from step 0 to the group's ``total_steps`` in chunks of at most
    ``chunk_steps``. A group's wave count is asked for (``n_waves(group)``) only once the group has started, so
    the engine may cut a group's waves when it reaches it."""

    def __init__(
        self,
        group_steps: list[int],
        n_waves: Callable[[int], int],
        chunk_steps: int,
        position: dict[str, Any] | None = None,
    ):
        """``group_steps[g]``: group g's total env steps. ``position``: where a checkpoint left off (from
        ``position()``), or None to start at the beginning."""
        self.group_steps = list(group_steps)
        self.n_waves = n_waves
        self.chunk_steps = chunk_steps
        position = position or {"group": 0, "wave": 0, "steps_done": 0}
        self.group, self.wave, self.steps_done = (int(position[k]) for k in ("group", "wave", "steps_done"))

    def next(self) -> Chunk | None:
        if self.group >= len(self.group_steps):
            return None
        n = min(self.chunk_steps, self.group_steps[self.group] - self.steps_done)
        return Chunk(self.group, self.wave, self.steps_done, n)

    def finished(self, chunk: Chunk) -> None:
        self.steps_done = chunk.start + chunk.n_steps
        if self.steps_done >= self.group_steps[chunk.group]:
            self.wave, self.steps_done = chunk.wave + 1, 0
            if self.wave >= self.n_waves(chunk.group):
                self.group, self.wave = chunk.group + 1, 0

    def wave_done(self, group: int, wave: int) -> bool:
        return (group, wave) < (self.group, self.wave)

    def position(self) -> dict[str, Any]:
        return {"group": self.group, "wave": self.wave, "steps_done": self.steps_done}

    def steps_done_so_far(self, group_runs: list[int], wave_runs: Callable[[int, int], int]) -> int:
        """Env steps trained so far over every wave: ``group_runs[g]`` real runs in group g, ``wave_runs(g, w)`` in
        wave w of the group in progress (for the progress bar)."""
        done = sum(n * s for n, s in zip(group_runs[: self.group], self.group_steps, strict=False))
        if self.group < len(self.group_steps):
            steps = self.group_steps[self.group]
            done += sum(wave_runs(self.group, w) for w in range(self.wave)) * steps
            done += wave_runs(self.group, self.wave) * self.steps_done if self.steps_done else 0
        return done
