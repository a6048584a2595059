"""Which compiled program and which waves each static group gets, decided when the sweep first reaches the group.

A group's runs per device are ``--runs-per-device``, or the platform's default (``sweep.plan``) shrunk until the
compiled program fits the tightest device's memory. Deciding it only when the group starts means a sweep of many
static groups compiles one group at a time, trains it and checkpoints it, instead of compiling every group
before anything trains; the decisions are recorded in each checkpoint, so a resumed sweep cuts the same waves.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

from jax.sharding import Mesh

from sweep.compute.devices import wave_budget_bytes
from sweep.compute.program import GroupProgram, bytes_per_run
from sweep.plan import Plan, Wave, cut_group, default_runs_per_device


class Layout:
    """Each group's program and waves, made on first use."""

    def __init__(
        self,
        plan: Plan,
        mesh: Mesh,
        chunk_steps: int,
        runs_per_device: int | None,
        decided: list[int | None] | None = None,
        on_compile: Callable[[int], None] | None = None,
        budget: Callable[[], int] = wave_budget_bytes,
        platform: str | None = None,
    ):
        """``decided``: each group's runs per device as a checkpoint recorded them (None where not yet decided).
        ``on_compile(g)`` is told before group g's program is first built; ``budget()`` gives the bytes a
        wave may use on the tightest device; ``platform`` chooses the default wave size (default: the mesh's)."""
        self.plan, self.mesh, self.chunk_steps, self.runs_per_device = plan, mesh, chunk_steps, runs_per_device
        self.per_device: list[int | None] = list(decided) if decided is not None else [None] * len(plan.groups)
        self.on_compile, self.budget = on_compile, budget
        self.platform = platform or mesh.devices.flat[0].platform
        self._programs: dict[int, GroupProgram] = {}
        self._waves: dict[int, list[Wave]] = {}

    def program(self, g: int) -> GroupProgram:
        """Group g's program (built, sized and compiled for its first chunk length on first use)."""
        if g not in self._programs:
            if self.on_compile is not None:
                self.on_compile(g)
            self._programs[g] = self._build(g)
            self.per_device[g] = self._programs[g].runs_per_device
        return self._programs[g]

    def _build(self, g: int) -> GroupProgram:
        group, n_dev = self.plan.groups[g], self.mesh.size
        if self.per_device[g] is not None:  # decided before (a resumed sweep)
            return GroupProgram(group.static, self.mesh, n_dev * self.per_device[g])
        per_device = self.runs_per_device or default_runs_per_device(len(group.runs), n_dev, self.platform)
        program = GroupProgram(group.static, self.mesh, n_dev * per_device)
        if self.runs_per_device is None:
            need = bytes_per_run(program.compiled(min(self.chunk_steps, group.static.total_steps)), per_device)
            budget = self.budget()
            if math.isfinite(need) and need * per_device > budget:
                per_device = max(1, int(budget // need))
                program = GroupProgram(group.static, self.mesh, n_dev * per_device)
        return program

    def waves(self, g: int) -> list[Wave]:
        """Group g's runs cut into waves of its program's wave size, the last one padded."""
        if g not in self._waves:
            self._waves[g] = cut_group(g, self.plan.groups[g], self.program(g).wave_size)
        return self._waves[g]

    def wave_size(self, g: int) -> int | None:
        """Group g's wave size, None where not yet decided."""
        return None if self.per_device[g] is None else self.mesh.size * self.per_device[g]

    def compile_seconds(self) -> float:
        return sum(p.compile_seconds for p in self._programs.values())

    def record(self) -> list[list[Any]]:
        """Each group's runs per device (None: not yet decided), run-length encoded: ``[[count, value], ...]``."""
        return [[len(list(same)), value] for value, same in itertools.groupby(self.per_device)]

    @staticmethod
    def decoded(record: list[list[Any]]) -> list[int | None]:
        return [value for count, value in record for _ in range(count)]
