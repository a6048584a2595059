"""CPU devices: one per core by default, unless the count was chosen."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _devices_after_use_cpu_cores(arg, xla_flags=None):
    code = "import jax; from sweep.compute.devices import use_cpu_cores; "
    code += f"use_cpu_cores({arg}); print(len(jax.devices()))"
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    env.pop("XLA_FLAGS", None)
    env.pop("JAX_NUM_CPU_DEVICES", None)
    if xla_flags:
        env["XLA_FLAGS"] = xla_flags
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.split()[-1])


def test_cpu_devices_default_to_one_per_core_unless_chosen():
    assert _devices_after_use_cpu_cores(None) == max(2, len(os.sched_getaffinity(0)))
    assert _devices_after_use_cpu_cores(3) == 3
    # A count chosen in XLA_FLAGS (as the tests above do) is left alone.
    assert _devices_after_use_cpu_cores(None, "--xla_force_host_platform_device_count=5") == 5
