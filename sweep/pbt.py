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

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sweep.parked import Parked
from sweep.plan import Plan, Wave
from sweep.search import snap, value_at
from sweep.stretches import StretchSchedule, run_scores

DECISIONS = 0x50425421  # the last seed word of every decision's random stream (see the module docstring)
COPIED = ("params", "target_params", "opt_state", "diverged")  # exploit's copy; "buffer" too with copy_buffer


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
        settings: dict[str, Any],
        space: dict[str, dict[str, Any]],
        waves_for: Callable[[int, list[int]], list[Wave]],
        scores: Callable[[int, int], np.ndarray],
        leaf_fields: Callable[[], list[str]],
        chunk_steps: int,
        position: dict[str, Any] | None = None,
    ):
        """``scores(start, step)``: [members, populations] metric over the interval (``member_scores``);
        ``leaf_fields()``: the state field of each leaf (``GroupProgram.leaf_fields``)."""
        self.settings, self.space, self.scores = settings, space, scores
        self.leaf_fields = leaf_fields
        bounds = interval_steps(settings["interval"], plan.groups[0].static.total_steps)
        super().__init__(plan, bounds, waves_for, chunk_steps, position)
        # Each explored hyperparameter's value per population and member ([population][member]) in the interval
        # in progress: at first the drawn configs', then what the last decision set.
        drawn = {name: [plan.configs[m][name] for m in range(len(plan.configs))] for name in space}
        first = {name: [list(values) for _ in range(plan.grid.seeds)] for name, values in drawn.items()}
        self.current = self.history[-1]["next"] if self.history else first

    def decide(self, step: int, parked: Parked, last: bool = False) -> None:
        start = self.bounds[self.stretch - 1] if self.stretch else 0
        scores = self.scores(start, step)  # [members, populations]
        members, populations = scores.shape
        parents = np.tile(np.arange(members)[:, None], (1, populations))
        new = {name: [list(v) for v in values] for name, values in self.current.items()}
        if not last:
            n_q = max(1, math.floor(members * self.settings["quantile"]))
            for p in range(populations):
                rng = decision_rng(self.settings["seed"], self.stretch, p)
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
        if rng.random() < self.settings["resample_probability"]:
            return value_at(name, spec, float(rng.random()))
        if spec["dist"] == "choice":
            return value
        factor = self.settings["perturb"][int(rng.integers(len(self.settings["perturb"])))]
        x = min(max(value * factor, spec["low"]), spec["high"])
        if spec["integer"]:
            x = min(max(round(x), math.ceil(spec["low"])), math.floor(spec["high"]))
            return int(x) if isinstance(value, int) else float(x)
        return snap(x, spec["low"], spec["high"])

    def _exploit(self, parked: Parked, parents: np.ndarray, new: dict[str, list[list[Any]]]) -> None:
        """The parked states of every replaced member: its parent's copied fields, its own others, its new
        hyperparameters; written as one parked file."""
        seeds = self.plan.grid.seeds
        children = [(m, p) for p in range(parents.shape[1]) for m in range(parents.shape[0]) if parents[m, p] != m]
        if not children:
            return
        fields = self.leaf_fields()
        batched = [f != "step" for f in fields]
        copied = {*COPIED, *(("buffer",) if self.settings["copy_buffer"] else ())}
        own = parked.take(np.asarray([m * seeds + p for m, p in children]), batched)
        theirs = parked.take(np.asarray([int(parents[m, p]) * seeds + p for m, p in children]), batched)
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
        parked.park(name, [m * seeds + p for m, p in children], leaves, batched)

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
