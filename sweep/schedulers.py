"""The schedule a grid file asks for: the Cartesian grid's (``GridSchedule``), successive halving's or
population-based training's, wired to the sweep's layout (the waves of a group's runs) and records (the metric a
decision ranks by)."""

from __future__ import annotations

from typing import Any

from sweep.halving import HalvingSchedule, rung_scores
from sweep.layout import Layout
from sweep.pbt import PBTSchedule, member_scores
from sweep.plan import Group, Plan, cut_group
from sweep.records import Records
from sweep.schedule import GridSchedule, Schedule


def make_schedule(
    plan: Plan, layout: Layout, records: Records, chunk_steps: int, position: dict[str, Any] | None
) -> Schedule:
    """``plan.grid.search``'s schedule, at ``position`` (a checkpoint's) or at the start."""
    settings = plan.grid.search

    def waves_for(g: int, runs: list[int]):
        return cut_group(g, Group(plan.groups[g].static, runs), layout.program(g).wave_size)

    if settings.get("scheduler") == "halving":
        scores = lambda configs, step: rung_scores(records.evals(), plan, configs, step, settings["metric"])  # noqa: E731
        return HalvingSchedule(plan, settings, waves_for, scores, chunk_steps, position)
    if settings.get("scheduler") == "pbt":
        scores = lambda start, step: member_scores(records.evals(), plan, start, step, settings["metric"])  # noqa: E731
        fields = lambda: layout.program(0).leaf_fields()  # noqa: E731
        return PBTSchedule(plan, settings, plan.grid.space, waves_for, scores, fields, chunk_steps, position)
    steps = [g.static.total_steps for g in plan.groups]
    runs = [len(g.runs) for g in plan.groups]
    return GridSchedule(steps, runs, layout.waves, chunk_steps, position)
