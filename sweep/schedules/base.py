"""Schedules: what the engine's loop trains next. The loop asks a schedule for the next chunk (which wave of
which static group, from which env step, for how many steps), runs it, and tells the schedule it is done; the
loop never knows why a wave goes on or stops. A schedule's position is JSON-able, so a checkpoint can record it
and a resume restore it.

The schedules, lowest first: ``grid`` (every config to its end), ``stretches`` (training to boundaries where a
scheduler decides), then one module per scheduler (``halving``, ``pbt``), registered in ``sweep.schedules``.
"""

from __future__ import annotations

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
