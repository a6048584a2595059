"""A scheduler is one module and one registry entry: a scheduler defined here, registered in
``sweep.schedules.SCHEDULERS`` and nowhere else, is parsed from ``[search]``, checked, sized and trained by the
engine end to end, and the spec names it among the known schedulers."""

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import pandas as pd
import pytest

from sweep import engine
from sweep.plan import Plan, make_plan, size
from sweep.schedules import SCHEDULERS, parse_grid
from sweep.schedules.stretches import StretchSchedule, one_total_steps, waves_for
from sweep.spec.fields import GridError, integer


class KeepFirstSchedule(StretchSchedule):
    """Trains every config to half its steps, then only the first ``keep`` configs to the end."""

    kind = "half"

    def __init__(self, plan: Plan, keep: int, waves, chunk_steps: int, position):
        self.keep = keep
        total = plan.groups[0].static.total_steps
        super().__init__(plan, [total // 2, total], waves, chunk_steps, position)

    def decide(self, step: int, parked, last: bool = False) -> None:
        if not last:
            self.alive = self.alive[: self.keep]
            parked.keep_only(self.alive_runs())

    def _planned_configs(self, k: int) -> int:
        return len(self.plan.configs) if k == 0 else self.keep

    def stopped_at(self) -> dict[int, int]:
        half = self.bounds[0]
        return {c: half for c in range(self.keep, len(self.plan.configs))}


@dataclasses.dataclass(frozen=True)
class KeepFirstSettings:
    name: ClassVar[str] = "keep_first"
    title: ClassVar[str] = "keep-first"
    keys: ClassVar[tuple[str, ...]] = ("keep",)

    keep: int

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, *, sampled: bool) -> "KeepFirstSettings":
        return cls(integer(table, "keep", f"[search] of {where}"))

    @property
    def samples(self) -> None:
        return None

    def record(self) -> dict[str, Any]:
        return {"keep": self.keep}

    def check_space(self, space, where, fixed=()) -> None:
        pass

    def check(self, configs) -> None:
        one_total_steps(configs, self.title)
        if self.keep >= len(configs):
            raise GridError(f"keep ({self.keep}) must be below the number of configs ({len(configs)})")

    def planned_env_steps(self, plan: Plan) -> int:
        total, seeds = plan.groups[0].static.total_steps, plan.grid.seeds
        return len(plan.configs) * seeds * (total // 2) + self.keep * seeds * (total - total // 2)

    def schedule(self, plan, layout, records, chunk_steps, position):
        return KeepFirstSchedule(plan, self.keep, waves_for(plan, layout), chunk_steps, position)


GRID = """
seeds = 2
[config]
total_steps = 400
buffer_capacity = 200
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 200
eval_episodes = 1
[grid]
lr = [1e-3, 2e-3, 3e-3]
[search]
scheduler = "keep_first"
keep = 1
"""


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setitem(SCHEDULERS, KeepFirstSettings.name, KeepFirstSettings)


def test_an_unregistered_scheduler_is_named_among_the_known_ones():
    import tomllib

    with pytest.raises(GridError) as err:
        parse_grid(tomllib.loads(GRID), name="toy")
    assert "unknown scheduler 'keep_first'" in str(err.value) and "halving, pbt" in str(err.value)


def test_a_registered_scheduler_parses_checks_sizes_and_trains(registered, tmp_path):
    import tomllib

    grid = parse_grid(tomllib.loads(GRID), name="toy")
    assert grid.search.record() == {"method": "grid", "scheduler": "keep_first", "keep": 1}
    with pytest.raises(GridError, match="keep"):
        parse_grid(tomllib.loads(GRID.replace("keep = 1", "keep = 3")), name="toy")
    plan = make_plan(grid)
    assert size(plan, 1, "cpu", None).env_steps == 3 * 2 * 200 + 1 * 2 * 200
    options = engine.Options(out=tmp_path, run_id="r", chunk_steps=200, progress=False, report=False)
    run_dir = engine.run_sweep(grid, options)
    runs = pd.read_parquet(run_dir / "runs.parquet")
    assert runs.groupby("config")["stopped_at"].first().tolist() == [400, 200, 200]
    evals = pd.read_parquet(run_dir / "evals.parquet")
    assert evals.groupby("config")["step"].max().tolist() == [400, 200, 200]
