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
from sweep.grid import Grid, split_config

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


@dataclasses.dataclass(frozen=True)
class Plan:
    grid: Grid
    configs: list[dict[str, Any]]  # one resolved config per grid point
    groups: list[Group]  # in order of first appearance

    @property
    def n_runs(self) -> int:
        return len(self.configs) * self.grid.seeds

    def config_of(self, run: int | np.ndarray) -> int | np.ndarray:
        return run // self.grid.seeds

    def seed_of(self, run: int | np.ndarray) -> int | np.ndarray:
        return run % self.grid.seeds


def make_plan(grid: Grid) -> Plan:
    configs = grid.configs()
    groups: dict[StaticConfig, list[int]] = {}
    for c, cfg in enumerate(configs):
        static, _ = split_config(cfg)
        groups.setdefault(static, []).extend(range(c * grid.seeds, (c + 1) * grid.seeds))
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
    beside any neighbours, at any position, on 2, 4 or more devices (see ``sweep.devices.use_cpu_cores``). 8
    is also near where 2 cores reached their best env steps/s (``python -m sweep.bench``). Elsewhere (GPU),
    every run of the group at once, shrunk to fit in memory by the engine.
    """
    return CPU_RUNS_PER_DEVICE if platform == "cpu" else math.ceil(n_runs / n_devices)


def cut_waves(groups: list[Group], wave_sizes: list[int]) -> list[Wave]:
    """Every group's runs cut into waves of its wave size (``wave_sizes[g]``), in plan order."""
    waves = []
    for g, (group, size) in enumerate(zip(groups, wave_sizes, strict=True)):
        for start in range(0, len(group.runs), size):
            waves.append(Wave(g, group.runs[start : start + size], size))
    return waves


def wave_sizes_for(group_runs: list[int], n_devices: int, runs_per_device: int | None, platform: str) -> list[int]:
    """The size of every wave cut for groups of these run counts: every wave of a group holds
    ``n_devices * runs_per_device`` runs (the platform's default where None), the last one padded."""
    sizes = []
    for n in group_runs:
        per_device = runs_per_device or default_runs_per_device(n, n_devices, platform)
        sizes += [n_devices * per_device] * math.ceil(n / (n_devices * per_device))
    return sizes
