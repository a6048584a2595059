"""A static group's compiled program: memory per run, and the same run bitwise in any block position, beside any
neighbours, on 2 or 4 devices at the default sizes."""

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from sweep.compute.program import bytes_per_run

ROOT = Path(__file__).resolve().parent.parent


def test_bytes_per_run_divides_one_devices_bytes_by_its_runs():
    class Memory:  # memory_analysis() counts one device's bytes
        argument_size_in_bytes, output_size_in_bytes, temp_size_in_bytes, alias_size_in_bytes = 600, 500, 300, 400

    class Compiled:
        def memory_analysis(self):
            return Memory

    assert bytes_per_run(Compiled(), runs_per_device=2) == 500.0


def test_bytes_per_run_counts_donated_state_once():
    mem = SimpleNamespace(
        argument_size_in_bytes=100, output_size_in_bytes=120, temp_size_in_bytes=30, alias_size_in_bytes=100
    )
    compiled = SimpleNamespace(memory_analysis=lambda: mem)
    assert bytes_per_run(compiled, 10) == (100 + 120 + 30 - 100) / 10


_BLOCKS = """
import jax
jax.config.update("jax_num_cpu_devices", 4)
import numpy as np
from jax.sharding import Mesh
from core import HParams, StaticConfig
from sweep.compute.devices import AXIS
from sweep.plan import CPU_RUNS_PER_DEVICE, hparams_batch, run_keys
from sweep.compute.program import GroupProgram

# The default network and batch sizes, where XLA's CPU code for a reduction depends on the batch's shape.
static = StaticConfig(total_steps=300, learning_starts=50, eval_every=300, eval_episodes=1)

def final_params(n_devices, seeds, lrs):
    mesh = Mesh(np.asarray(jax.devices()[:n_devices]), (AXIS,))
    group = GroupProgram(static, mesh, wave_size=len(seeds))
    hps = hparams_batch([dict(HParams()._asdict(), lr=lr) for lr in lrs])
    states = group.init(run_keys(np.asarray(seeds), 0), hps)
    states, _ = group.compiled(300)(states)
    return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(states.params))]

per_device = CPU_RUNS_PER_DEVICE
# Seed 7 first on 2 devices, then last on 4 devices beside other seeds and learning rates.
a = final_params(2, [7] + list(range(100, 100 + 2 * per_device - 1)), [1e-3] * (2 * per_device))
b = final_params(4, list(range(200, 200 + 4 * per_device - 1)) + [7], [3e-3] * (4 * per_device - 1) + [1e-3])
print(all(np.array_equal(x[0], y[-1]) for x, y in zip(a, b)))
"""


def test_default_sizes_give_the_same_run_in_any_block_position_neighbours_and_device_count():
    # The engine's fixed per-device block on CPU, over 2 or more devices, is what makes this hold at realistic
    # sizes: with 32 runs vmapped instead of 4, or on one device instead of several, the same run's parameters
    # differ in their last bits after one update.
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-c", _BLOCKS], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split()[-1] == "True"
