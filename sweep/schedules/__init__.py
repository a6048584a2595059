"""What the engine trains next, and the registry of schedulers.

Modules, lowest first: ``base`` (``Chunk`` and the ``Schedule`` protocol the engine's loop talks to), ``grid``
(every config to its end), ``stretches`` (training to boundaries where a scheduler decides), then one module per
scheduler: ``halving`` (successive halving) and ``pbt`` (population-based training).

A scheduler is one module and one entry in ``SCHEDULERS``: its settings class parses its keys of ``[search]``,
checks the configs (``sweep.spec.search.SchedulerSettings``) and makes its ``Schedule``. Nothing else compares a
scheduler's name. The spec (``sweep.spec``) sits below this package and is handed the registry: ``load_grid``,
``parse_grid`` and ``grid_from_record`` are the spec's readers with ``SCHEDULERS`` given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweep.compute.layout import Layout
from sweep.plan import Plan
from sweep.schedules.base import Chunk, Schedule
from sweep.schedules.grid import GridSchedule
from sweep.schedules.halving import HalvingSettings
from sweep.schedules.pbt import PBTSettings
from sweep.spec import grid as spec
from sweep.spec.search import SchedulerSettings
from sweep.store.records import Records

SCHEDULERS: dict[str, type[SchedulerSettings]] = {
    HalvingSettings.name: HalvingSettings,
    PBTSettings.name: PBTSettings,
}


def make_schedule(
    plan: Plan, layout: Layout, records: Records, chunk_steps: int, position: dict[str, Any] | None
) -> Schedule:
    """The schedule ``plan.grid.search`` asks for, at ``position`` (a checkpoint's) or at the start."""
    scheduler = plan.grid.search.scheduler
    if scheduler is not None:
        return scheduler.schedule(plan, layout, records, chunk_steps, position)
    steps = [g.static.total_steps for g in plan.groups]
    runs = [len(g.runs) for g in plan.groups]
    return GridSchedule(steps, runs, layout.waves, chunk_steps, position)


def load_grid(name_or_path: str) -> spec.Grid:
    """A grid file by name or path, parsed and checked (``sweep.spec.grid.load``) with the known schedulers."""
    return spec.load(name_or_path, schedulers=SCHEDULERS)


def parse_grid(data: dict[str, Any], **kw: Any) -> spec.Grid:
    """``sweep.spec.grid.parse`` with the known schedulers."""
    return spec.parse(data, schedulers=SCHEDULERS, **kw)


def grid_from_record(record: Mapping[str, Any]) -> spec.Grid:
    """The grid of a stored ``Grid.to_record()`` (``sweep.json``), with the known schedulers."""
    return spec.Grid.from_record(record, schedulers=SCHEDULERS)


__all__ = [
    "SCHEDULERS",
    "Chunk",
    "Schedule",
    "grid_from_record",
    "load_grid",
    "make_schedule",
    "parse_grid",
]
