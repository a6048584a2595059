"""Schedules: what the engine's loop trains next. The loop asks a schedule for the next chunk (which wave, from
which env step, for how many steps), runs it, and tells the schedule it is done; the loop never knows why a
wave goes on or stops. A schedule's position is JSON-able, so a checkpoint can record it and a resume restore it.

``GridSchedule`` is the Cartesian grid's: every wave, one after another, each trained to its last step.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol


class Chunk(NamedTuple):
    """A piece of training: wave ``wave`` from env step ``start`` for ``n_steps`` steps."""

    wave: int
    start: int
    n_steps: int


class Schedule(Protocol):
    def next(self) -> Chunk | None:
        """The chunk to train next, or None when the sweep is done."""

    def finished(self, chunk: Chunk) -> None:
        """Told once ``chunk`` (the one ``next`` returned) has been trained and recorded."""

    def wave_done(self, wave: int) -> bool:
        """True once ``wave`` will get no more chunks: its final state can be judged and dropped."""

    def position(self) -> dict[str, Any]:
        """Where the schedule stands, JSON-able (a checkpoint stores it)."""

    def steps_left(self, wave_runs: list[int]) -> int:
        """Env steps still planned over every wave, ``wave_runs[w]`` real runs in wave w."""


class GridSchedule:
    """Every wave in order, each from step 0 to its ``total_steps`` in chunks of at most ``chunk_steps``."""

    def __init__(self, wave_steps: list[int], chunk_steps: int, position: dict[str, Any] | None = None):
        """``wave_steps[w]``: wave w's total env steps. ``position``: where a checkpoint left off (from
        ``position()``), or None to start at the beginning."""
        self.wave_steps = list(wave_steps)
        self.chunk_steps = chunk_steps
        position = position or {"wave": 0, "steps_done": 0}
        self.wave, self.steps_done = int(position["wave"]), int(position["steps_done"])

    def next(self) -> Chunk | None:
        if self.wave >= len(self.wave_steps):
            return None
        return Chunk(self.wave, self.steps_done, min(self.chunk_steps, self.wave_steps[self.wave] - self.steps_done))

    def finished(self, chunk: Chunk) -> None:
        self.steps_done = chunk.start + chunk.n_steps
        if self.steps_done >= self.wave_steps[chunk.wave]:
            self.wave, self.steps_done = chunk.wave + 1, 0

    def wave_done(self, wave: int) -> bool:
        return wave < self.wave

    def position(self) -> dict[str, Any]:
        return {"wave": self.wave, "steps_done": self.steps_done}

    def steps_left(self, wave_runs: list[int]) -> int:
        """Env steps still to train over every wave, ``wave_runs[w]`` real runs in wave w (for the progress bar)."""
        left = sum(s * n for s, n in zip(self.wave_steps[self.wave :], wave_runs[self.wave :], strict=True))
        if self.wave < len(self.wave_steps):
            left -= self.steps_done * wave_runs[self.wave]
        return left
