"""The plan of a sweep: its configs, runs, static groups, keys and waves.

A run is (config, seed), numbered ``config * seeds + seed``. Runs whose configs share every static field form a
group, trained by one compiled program; a group's runs are trained in waves of a fixed size (the last wave
padded), each wave one batch on the device mesh.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from core import TRACED_FIELDS, HParams, StaticConfig, hparams_as_arrays
from sweep.spec.grid import Grid, split_config

# Runs per CPU device in every wave: see ``default_runs_per_device``.
CPU_RUNS_PER_DEVICE = 8


class Group(NamedTuple):
    """Runs whose configs share every static field: one compiled program trains them all."""

    static: StaticConfig
    runs: list[int]  # run indices, ascending


class Wave(NamedTuple):
    """One batch of a group's runs, trained together from the first env step to the last."""

    group: int  # index into Plan.groups
    runs: list[int]  # the real runs; the batch holds ``size`` (padding after these)
    size: int  # the batch's size: devices x runs per device

    def padded_runs(self) -> np.ndarray:
        """[size] run indices, -1 for padding."""
        out = np.full(self.size, -1, np.int64)
        out[: len(self.runs)] = self.runs
        return out


def run_number(config, seed, seeds: int):
    """Run ``(config, seed)``'s number among ``seeds`` seeds a config: ``config * seeds + seed`` (the one place
    this is written; ``Plan.run_of``, ``config_of`` and ``seed_of`` use it)."""
    return config * seeds + seed


@dataclasses.dataclass(frozen=True)
class Plan:
    grid: Grid
    configs: list[dict[str, Any]]  # one resolved config per grid point
    groups: list[Group]  # in order of first appearance

    @property
    def n_runs(self) -> int:
        return len(self.configs) * self.grid.seeds

    @property
    def full_env_steps(self) -> int:
        """Env steps of every run trained to its ``total_steps`` (what a search that stops runs early saves on)."""
        return sum(len(g.runs) * g.static.total_steps for g in self.groups)

    def run_of(self, config: int | np.ndarray, seed: int | np.ndarray) -> int | np.ndarray:
        """The run number of ``(config, seed)`` (``run_number``)."""
        return run_number(config, seed, self.grid.seeds)

    def runs_of(self, configs) -> np.ndarray:
        """[len(configs) * seeds] the runs of ``configs``, config by config, seeds in order."""
        c = np.asarray(configs, np.int64)
        return self.run_of(c[:, None], np.arange(self.grid.seeds)[None, :]).ravel()

    def config_of(self, run: int | np.ndarray) -> int | np.ndarray:
        return run // self.grid.seeds

    def seed_of(self, run: int | np.ndarray) -> int | np.ndarray:
        return run % self.grid.seeds


def make_plan(grid: Grid) -> Plan:
    configs = grid.configs()
    groups: dict[StaticConfig, list[int]] = {}
    for c, cfg in enumerate(configs):
        static, _ = split_config(cfg)
        groups.setdefault(static, []).extend(run_number(c, s, grid.seeds) for s in range(grid.seeds))
    return Plan(grid, configs, [Group(static, runs) for static, runs in groups.items()])


def run_keys(seeds: np.ndarray, base_seed: int) -> np.ndarray:
    """Raw key data [n, 2] uint32 for each seed: ``fold_in(key(base_seed), seed)``."""
    root = jax.random.key(base_seed)
    keys = jax.vmap(lambda s: jax.random.fold_in(root, s))(jnp.asarray(seeds, jnp.uint32))
    return np.asarray(jax.random.key_data(keys))


def hparams_batch(configs: list[dict[str, Any]]) -> HParams:
    """Each traced hyperparameter as a [len(configs)] host array of its field's dtype (int32 or float32). The
    grid checked that every value fits its dtype."""
    return hparams_as_arrays(HParams(**{name: [cfg[name] for cfg in configs] for name in TRACED_FIELDS}), np)


def default_runs_per_device(n_runs: int, n_devices: int, platform: str) -> int:
    """Runs per device in each wave of a group of ``n_runs`` when none is chosen.

    On CPU, always ``CPU_RUNS_PER_DEVICE``: XLA's CPU code for a reduction or a fused multiply-add depends on
    the batch's shape (a sum over a run's 64 samples differs in its last bit between 4 and 32 vmapped runs),
    so only a per-device shape that never changes keeps a run's outputs bitwise the same in every sweep,
    beside any neighbours, at any position, on 2, 4 or more devices (see ``sweep.compute.devices.use_cpu_cores``). 8
    is also near where 2 cores reached their best env steps/s (``python -m sweep.bench``). Elsewhere (GPU),
    every run of the group at once, shrunk to fit in memory by the engine.
    """
    return CPU_RUNS_PER_DEVICE if platform == "cpu" else math.ceil(n_runs / n_devices)


def cut_group(group_index: int, group: Group, wave_size: int) -> list[Wave]:
    """A group's runs cut into waves of ``wave_size``, in order, the last one padded."""
    return [
        Wave(group_index, group.runs[start : start + wave_size], wave_size)
        for start in range(0, len(group.runs), wave_size)
    ]


class Size(NamedTuple):
    """What a sweep costs before it runs."""

    configs: int
    seeds: int
    runs: int
    groups: int  # static groups: one compiled program each
    waves: int  # at the platform's default wave size (a GPU may cut more to fit); halving: its first rung's
    env_steps: int  # what the sweep trains (successive halving: to its rungs, not the full grid's)

    def describe(self, n_devices: int) -> str:
        waves = f"{self.waves:,} wave{'s' if self.waves != 1 else ''} on {n_devices} device{'s' * (n_devices > 1)}"
        return (
            f"{self.configs:,} config{'s' * (self.configs != 1)} x {self.seeds:,} seed{'s' * (self.seeds != 1)} = "
            f"{self.runs:,} runs in {self.groups:,} "
            f"static group{'s' * (self.groups != 1)} ({waves}), {self.env_steps:,} env steps"
        )


def size(plan: Plan, n_devices: int, platform: str, runs_per_device: int | None) -> Size:
    """The sweep's size on ``n_devices`` devices of ``platform`` (waves as ``default_runs_per_device`` or
    ``runs_per_device`` cuts them)."""
    waves = 0
    for group in plan.groups:
        per_device = runs_per_device or default_runs_per_device(len(group.runs), n_devices, platform)
        waves += math.ceil(len(group.runs) / (n_devices * per_device))
    scheduler = plan.grid.search.scheduler  # one that stops configs early trains fewer steps than the full grid
    env_steps = plan.full_env_steps if scheduler is None else scheduler.planned_env_steps(plan)
    return Size(len(plan.configs), plan.grid.seeds, plan.n_runs, len(plan.groups), waves, env_steps)


# Above any of these a sweep runs only when asked to (``--large``): far beyond what this project's grids need,
# and where a mistyped seed count or axis would cost hours before anyone noticed (about a day of a 2-core CPU at
# 10^9 env steps; 2,000 static groups compile for 5 to 7 hours on it before the last one trains).
LARGE = {"runs": 100_000, "groups": 2_000, "env_steps": 10**9}


def too_large(s: Size) -> str | None:
    """None, or which of ``LARGE``'s limits the sweep passes, in words."""
    names = {"runs": "runs", "groups": "static groups", "env_steps": "env steps"}
    over = [f"{getattr(s, k):,} {names[k]} (more than {v:,})" for k, v in LARGE.items() if getattr(s, k) > v]
    return " and ".join(over) or None
