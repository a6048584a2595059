"""Population-based training (Jaderberg et al., 2017) as a schedule of the engine's loop, inside the vmapped batch.

```toml
seeds = 4                 # populations: one per seed
[search]
scheduler = "pbt"
population = 16           # members per population: the configs drawn from [space] (samples = population)
interval = 5_000          # env steps between exploit/explore
quantile = 0.25           # the bottom quarter copies the top quarter
perturb = [0.8, 1.25]     # multiplicative perturbation of traced hyperparameters ...
resample_probability = 0.25   # ... or a fresh draw from [space]
metric = "auc"            # what ranks members: "auc" over the interval just ended, or "final" (its last eval)
copy_buffer = true        # exploit copies the replay buffer with the networks
[space]
lr = { log_uniform = [1e-4, 1e-2] }
eps_end = { uniform = [0.0, 0.2] }
```

Every ``interval`` env steps the members of each population (the configs with one seed) are ranked by the
metric; each member in the bottom ``quantile`` copies (exploit) a member of the top ``quantile`` chosen at random:
its online and target networks, its optimiser state, its divergence flag and (``copy_buffer``) its replay buffer,
keeping its own environment, episode in progress and random key; then (explore) each of its ``[space]``
hyperparameters is, with ``resample_probability``, drawn afresh from the space, or else multiplied by one of the
``perturb`` factors chosen at random, clipped into the space's bounds and snapped to the engine's dtypes. Only
traced hyperparameters can be explored: they live in each run's state, so a member changes them without a new
program.

The randomness of each decision comes from ``numpy.random.default_rng([seed, interval, population, DECISIONS])``
(``seed`` the [search] seed): the same sweep makes the same lineage on every process and after any resume. The
last word tells these streams apart from the sampler's ``default_rng(seed)``: numpy ignores trailing zero words,
so ``[seed, 0, 0]`` alone would replay the draws of the first interval's members as population 0's first decision.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from core import TRACED_FIELDS
from sweep.plan import Plan, Wave
from sweep.schedules.stretches import StretchSchedule, one_total_steps, parse_metric, run_scores, waves_for
from sweep.spec.fields import GridError, integer, is_number
from sweep.spec.space import MAX_SAMPLES, snap, value_at
from sweep.store.parked import Parked

DECISIONS = 0x50425421  # the last seed word of every decision's random stream (see the module docstring)
COPIED = ("params", "target_params", "opt_state", "diverged")  # exploit's copy; "buffer" too with copy_buffer


@dataclasses.dataclass(frozen=True)
class PBTSettings:
    """``[search]`` of population-based training, checked (``sweep.spec.search.SchedulerSettings``)."""

    name: ClassVar[str] = "pbt"
    title: ClassVar[str] = "population-based training"
    keys: ClassVar[tuple[str, ...]] = (
        "population", "interval", "quantile", "perturb", "resample_probability", "copy_buffer", "metric"
    )  # fmt: skip

    population: int
    interval: int
    quantile: float = 0.25
    perturb: tuple[float, ...] = (0.8, 1.25)
    resample_probability: float = 0.25
    copy_buffer: bool = True
    metric: str = "auc"

    @classmethod
    def parse(cls, table: Mapping[str, Any], where: str, *, sampled: bool) -> PBTSettings:
        here = f"in [search] of {where}"
        if not sampled:
            raise GridError(f"scheduler 'pbt' {here} explores a [space]: give its hyperparameters there")
        population = integer(table, "population", f"[search] of {where}", low=2, what="(members)")
        if population > MAX_SAMPLES:
            raise GridError(f"population {here} must be at most {MAX_SAMPLES:,} members, got {population:,}")
        interval = integer(table, "interval", f"[search] of {where}", what="(env steps)")
        quantile, perturb = table.get("quantile", 0.25), table.get("perturb", [0.8, 1.25])
        resample, copy_buffer = table.get("resample_probability", 0.25), table.get("copy_buffer", True)
        if not is_number(quantile) or not 0 < quantile <= 0.5:
            raise GridError(f"quantile {here} must be a number in (0, 0.5], got {quantile!r}")
        if population * quantile < 1:
            raise GridError(
                f"population ({population}) {here} must be at least 1 / quantile ({1 / quantile:g}), or no member "
                "is ever replaced"
            )
        if not (isinstance(perturb, list | tuple) and perturb and all(is_number(f) and f > 0 for f in perturb)):
            raise GridError(f"perturb {here} must be a list of positive factors such as [0.8, 1.25], got {perturb!r}")
        if not is_number(resample) or not 0 <= resample <= 1:
            raise GridError(f"resample_probability {here} must be a number in [0, 1], got {resample!r}")
        if not isinstance(copy_buffer, bool):
            raise GridError(f"copy_buffer {here} must be true or false, got {copy_buffer!r}")
        given = table.get("samples", population)
        if given != population:
            raise GridError(
                f"samples ({given!r}) {here} must equal population ({population}): the members are the configs drawn"
            )
        return cls(population, interval, float(quantile), tuple(float(f) for f in perturb), float(resample),
                   copy_buffer, parse_metric(table, where))  # fmt: skip

    @property
    def samples(self) -> int:
        return self.population

    def record(self) -> dict[str, Any]:
        return {"metric": self.metric, "population": self.population, "interval": self.interval,
                "quantile": self.quantile, "perturb": list(self.perturb),
                "resample_probability": self.resample_probability, "copy_buffer": self.copy_buffer}  # fmt: skip

    def check_space(self, space: Mapping[str, Any], where: str, fixed: tuple[str, ...] = ()) -> None:
        if not space:
            raise GridError(
                f"{self.title} explores the fields of [space], and {where} fixes all of them ({', '.join(fixed)}); "
                "leave at least one to explore"
            )
        static = next((name for name in space if name not in TRACED_FIELDS), None)
        if static is not None:
            raise GridError(
                f"{static} in [space] of {where} is a static hyperparameter: {self.title} explores traced ones only "
                f"({', '.join(TRACED_FIELDS)})"
            )

    def check(self, configs: list[dict[str, Any]]) -> None:
        steps = one_total_steps(configs, self.title)
        every = sorted({c["eval_every"] for c in configs})
        if self.interval >= steps:
            raise GridError(f"interval ({self.interval:,}) must be below total_steps ({steps:,})")
        for what, value in (("interval", self.interval), ("total_steps", steps)):
            if any(value % e for e in every):
                raise GridError(
                    f"{what} ({value:,}) must be a multiple of eval_every ({every[0]:,}): members are ranked on "
                    "the evaluations of each interval, the last one too"
                )

    def planned_env_steps(self, plan: Plan) -> int:
        return plan.full_env_steps  # every member trains to the end

    def schedule(self, plan: Plan, layout, records, chunk_steps: int, position) -> PBTSchedule:
        scores = lambda start, step: member_scores(records.evals(), plan, start, step, self.metric)  # noqa: E731
        program = lambda: layout.program(0)  # noqa: E731
        return PBTSchedule(plan, self, waves_for(plan, layout), scores, program, chunk_steps, position)


def interval_steps(interval: int, total_steps: int) -> list[int]:
    """The ends of the intervals: every ``interval`` env steps below ``total_steps``, then it."""
    return [*range(interval, total_steps, interval), total_steps]


def member_scores(evals: dict[str, np.ndarray], plan: Plan, start: int, step: int, metric: str) -> np.ndarray:
    """[members, populations] each run's metric over the interval ``(start, step]`` (``run_scores``)."""
    return run_scores(evals, plan, list(range(len(plan.configs))), start, step, metric)


def decision_rng(seed: int, interval: int, population: int) -> np.random.Generator:
    """The random stream of one population's decision at the end of ``interval`` (see the module docstring)."""
    return np.random.default_rng([seed, interval, population, DECISIONS])


class PBTSchedule(StretchSchedule):
    """The intervals of population-based training (see the module docstring)."""

    kind = "interval"

    def __init__(
        self,
        plan: Plan,
        settings: PBTSettings,
        waves_for: Callable[[int, list[int]], list[Wave]],
        scores: Callable[[int, int], np.ndarray],
        program: Callable[[], Any],
        chunk_steps: int,
        position: dict[str, Any] | None = None,
    ):
        """``scores(start, step)``: [members, populations] metric over the interval (``member_scores``);
        ``program()``: the group's ``GroupProgram`` (which leaves of a state are which field, which are batched).
        The space explored is the grid's; the decisions' random streams start from its [search] seed."""
        self.settings, self.space, self.scores = settings, plan.grid.space, scores
        self.seed, self.program = plan.grid.search.seed, program
        bounds = interval_steps(settings.interval, plan.groups[0].static.total_steps)
        super().__init__(plan, bounds, waves_for, chunk_steps, position)
        # Each explored hyperparameter's value per population and member ([population][member]) in the interval
        # in progress: at first the drawn configs', then what the last decision set.
        drawn = {name: [plan.configs[m][name] for m in range(len(plan.configs))] for name in self.space}
        first = {name: [list(values) for _ in range(plan.grid.seeds)] for name, values in drawn.items()}
        self.current = self.history[-1]["next"] if self.history else first

    def decide(self, step: int, parked: Parked, last: bool = False) -> None:
        start = self.bounds[self.stretch - 1] if self.stretch else 0
        scores = self.scores(start, step)  # [members, populations]
        members, populations = scores.shape
        parents = np.tile(np.arange(members)[:, None], (1, populations))
        new = {name: [list(v) for v in values] for name, values in self.current.items()}
        if not last:
            n_q = max(1, math.floor(members * self.settings.quantile))
            for p in range(populations):
                rng = decision_rng(self.seed, self.stretch, p)
                order = sorted(range(members), key=lambda m: (-np.nan_to_num(scores[m, p], nan=-np.inf), m))
                top, bottom = order[:n_q], order[members - n_q :]
                for child in bottom:
                    parent = top[int(rng.integers(n_q))]
                    parents[child, p] = parent
                    for name, spec in self.space.items():
                        new[name][p][child] = self._explore(name, spec, self.current[name][p][parent], rng)
            self._exploit(parked, parents, new)
        self.history.append(
            {
                "interval": self.stretch,
                "step": step,
                "scores": scores.tolist(),
                "hparams": self.current,
                "parents": (parents if not last else np.full_like(parents, -1)).tolist(),
                "next": new,
            }  # fmt: skip
        )
        self.current = new

    def _explore(self, name: str, spec: dict[str, Any], value: Any, rng: np.random.Generator) -> Any:
        if rng.random() < self.settings.resample_probability:
            return value_at(name, spec, float(rng.random()))
        if spec["dist"] == "choice":
            return value
        factor = self.settings.perturb[int(rng.integers(len(self.settings.perturb)))]
        x = min(max(value * factor, spec["low"]), spec["high"])
        if spec["integer"]:
            x = min(max(round(x), math.ceil(spec["low"])), math.floor(spec["high"]))
            return int(x) if isinstance(value, int) else float(x)
        return snap(x, spec["low"], spec["high"])

    def _exploit(self, parked: Parked, parents: np.ndarray, new: dict[str, list[list[Any]]]) -> None:
        """The parked states of every replaced member: its parent's copied fields, its own others, its new
        hyperparameters; written as one parked file."""
        run_of = self.plan.run_of  # member m of population p is config m's run of seed p
        children = [(m, p) for p in range(parents.shape[1]) for m in range(parents.shape[0]) if parents[m, p] != m]
        if not children:
            return
        program = self.program()
        fields, batched = program.leaf_fields(), program.batched_leaves()
        copied = {*COPIED, *(("buffer",) if self.settings.copy_buffer else ())}
        own = parked.take(np.asarray([run_of(m, p) for m, p in children]), batched)
        theirs = parked.take(np.asarray([run_of(int(parents[m, p]), p) for m, p in children]), batched)
        leaves = []
        for i, field in enumerate(fields):
            if field in copied:
                leaves.append(theirs[i])
            elif field.startswith("hparams."):
                name = field.removeprefix("hparams.")
                leaf = np.array(own[i])
                if name in new:
                    leaf[:] = [new[name][p][m] for m, p in children]
                leaves.append(leaf)
            else:
                leaves.append(own[i])
        name = f"pbt-{self.stretch:06d}.npz"
        parked.park(name, [run_of(m, p) for m, p in children], leaves, batched)

    def results(self) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
        return {"pbt": {"intervals": self.bounds}}, {"pbt.parquet": self.pbt_frame()}

    def pbt_frame(self) -> pd.DataFrame:
        """One row per member, population and interval: ``population, member, interval, step, score, parent``
        and each explored hyperparameter's value during the interval."""
        rows = []
        for h in self.history:
            scores, parents = np.asarray(h["scores"]), np.asarray(h["parents"])
            for p in range(scores.shape[1]):
                for m in range(scores.shape[0]):
                    row = {"population": p, "member": m, "interval": h["interval"], "step": h["step"],
                           "score": float(scores[m, p]), "parent": int(parents[m, p])}  # fmt: skip
                    row.update({name: h["hparams"][name][p][m] for name in self.space})
                    rows.append(row)
        columns = ["population", "member", "interval", "step", "score", "parent", *self.space]
        return pd.DataFrame(rows, columns=columns)
