"""A grid file's ``[search]`` table: how configs are chosen (the Cartesian ``grid``, or ``sobol`` / ``random``
draws from a ``[space]``) and which scheduler, if any, decides how far each one trains.

```toml
[search]
method = "sobol"          # "grid" (the default without [space]), "sobol" (the default with it) or "random"
samples = 64              # configs drawn from [space]
seed = 0                  # the sampler's seed (not the runs' seeds)
scheduler = "halving"     # optional: a name from the registry of schedulers (sweep.schedules.SCHEDULERS)
min_steps = 10_000        # ... and that scheduler's own keys
```

The spec knows schedulers only through the ``SchedulerSettings`` protocol below: each scheduler module
(``sweep.schedules.halving``, ``sweep.schedules.pbt``) defines a settings class that parses its keys and checks
the configs, and the registry that maps names to those classes is handed in by the caller (``parse_search``'s
``schedulers``). So the spec, the lowest layer of ``sweep``, imports no scheduler, and a new scheduler is one
module and one registry entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from sweep.spec.fields import GridError, integer, is_int, suggest
from sweep.spec.space import MAX_SAMPLES

METHODS = ("grid", "sobol", "random")
SAMPLING_KEYS = ("method", "samples", "seed")


class SchedulerSettings(Protocol):
    """A scheduler's checked settings (one frozen dataclass per scheduler module).

    ``name`` is the value of ``scheduler`` in ``[search]`` and ``keys`` the other keys it reads there. The spec
    calls ``parse`` with the whole ``[search]`` table, and the rest as it builds and overrides a grid; the plan
    and the engine call ``planned_env_steps`` and ``schedule`` (see ``sweep.schedules``).
    """

    name: ClassVar[str]
    title: ClassVar[str]  # in words, for messages: "successive halving"
    keys: ClassVar[tuple[str, ...]]

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, *, sampled: bool) -> SchedulerSettings:
        """The settings from the whole ``[search]`` table; GridError (one sentence) for a bad value."""

    @property
    def samples(self) -> int | None:
        """How many configs a ``[space]`` must draw when the scheduler fixes it (PBT: its population), or None."""

    def record(self) -> dict[str, Any]:
        """Its keys and values, JSON-able; ``parse`` of them (with ``scheduler``) gives the same settings."""

    def check_space(self, space: Mapping[str, Any], where: str, fixed: tuple[str, ...] = ()) -> None:
        """GridError unless the scheduler can work with the fields of ``[space]`` left after ``fixed`` ones were
        fixed by overrides."""

    def check(self, configs: list[dict[str, Any]]) -> None:
        """GridError unless the scheduler fits the resolved configs (their steps, evaluation periods)."""

    def planned_env_steps(self, plan: Any) -> int:
        """The env steps the sweep of ``plan`` trains under this scheduler."""

    def schedule(self, plan: Any, layout: Any, records: Any, chunk_steps: int, position: Any) -> Any:
        """The engine's ``Schedule`` for ``plan`` (see ``sweep.schedules.base.Schedule``)."""


Schedulers = Mapping[str, type[SchedulerSettings]]


@dataclasses.dataclass(frozen=True)
class Search:
    """``[search]`` checked: the sampling method (``samples`` and ``seed`` for a sampled space) and the
    scheduler's settings (None: every config trains to its end)."""

    method: str = "grid"
    samples: int | None = None
    seed: int | None = None
    scheduler: SchedulerSettings | None = None

    def record(self) -> dict[str, Any]:
        """As stored in ``sweep.json``, the manifest and ``show``: ``{"method", ["samples", "seed"], ["scheduler",
        its keys]}``."""
        out: dict[str, Any] = {"method": self.method}
        if self.method != "grid":
            out.update(samples=self.samples, seed=self.seed)
        if self.scheduler is not None:
            out.update(scheduler=self.scheduler.name, **self.scheduler.record())
        return out

    def scheduler_record(self) -> dict[str, Any] | None:
        """The scheduler's name and settings (what changes results: part of the grid's fingerprint), or None."""
        if self.scheduler is None:
            return None
        return {"scheduler": self.scheduler.name, **self.scheduler.record()}

    def as_grid(self) -> Search:
        """The same scheduler over a Cartesian grid (a sampled space whose every field was fixed)."""
        return dataclasses.replace(self, method="grid", samples=None, seed=None)


def parse_search(table: Any, where: str, *, sampled: bool, schedulers: Schedulers) -> Search:
    """``[search]`` checked and completed: ``method`` ("grid" without ``[space]``, else "sobol" by default),
    ``samples`` and ``seed`` (0) for a sampled space, the scheduler's settings (``schedulers`` maps each known
    name to its settings class)."""
    if not isinstance(table, dict):
        raise GridError(f"[search] in {where} must be a table")
    owners: dict[str, list[str]] = {}  # each scheduler key -> the schedulers that read it
    for name, cls in schedulers.items():
        for key in cls.keys:
            owners.setdefault(key, []).append(name)
    name = table.get("scheduler")  # first: an unknown scheduler's keys are unknown too
    if name is not None and name not in schedulers:
        raise GridError(
            f"unknown scheduler {name!r} in [search] of {where}{suggest(str(name), schedulers)}; known schedulers: "
            f"{', '.join(schedulers)}"
        )
    allowed = (*SAMPLING_KEYS, "scheduler", *owners)
    for key in table:
        if key not in allowed:
            raise GridError(
                f"unknown key '{key}' in [search] of {where}{suggest(key, allowed)}; allowed: {', '.join(allowed)}"
            )
    for key in table:
        if key in owners and name not in owners[key]:
            need = (
                f'scheduler = "{owners[key][0]}"'
                if len(owners[key]) == 1
                else f"a scheduler ({' or '.join(owners[key])})"
            )
            raise GridError(f"{key} in [search] of {where} needs {need}")
    settings = None if name is None else schedulers[name].parse(table, where, sampled=sampled)
    if settings is not None and settings.samples is not None:
        table = {**table, "samples": settings.samples}
    method = table.get("method", "sobol" if sampled else "grid")
    if method not in METHODS:
        raise GridError(f"method in [search] of {where} must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "grid":
        if sampled:
            raise GridError(
                f"method 'grid' in [search] of {where} takes [grid] axes, not a [space]; use sobol or random"
            )
        extra = [k for k in ("samples", "seed") if k in table]
        if extra:
            raise GridError(f"{extra[0]} in [search] of {where} applies to a sampled [space] only")
        return Search("grid", None, None, settings)
    if not sampled:
        raise GridError(f"method {method!r} in [search] of {where} samples a [space], and the file has none")
    samples = integer(table, "samples", f"[search] of {where}")
    if samples > MAX_SAMPLES:  # refused before drawing: a mistyped count would take minutes to draw and check
        raise GridError(f"samples in [search] of {where} must be at most {MAX_SAMPLES:,}, got {samples:,}")
    seed = table.get("seed", 0)
    if not is_int(seed) or not 0 <= seed < 2**63:
        raise GridError(f"seed in [search] of {where} must be a non-negative integer, got {seed!r}")
    return Search(method, samples, seed, settings)
