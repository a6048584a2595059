"""Running ``python -m sweep run`` in a subprocess on two CPU devices, for the tests of the schedules and layouts
(a helper module, not a test module)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("episodes", "evals", "runs")  # a run folder's tables of rows


def read_tables(run_dir) -> dict:
    """``{table: DataFrame}`` of ``TABLES`` in ``run_dir``."""
    import pandas as pd

    return {t: pd.read_parquet(Path(run_dir) / f"{t}.parquet") for t in TABLES}


def cpu_env(devices: int = 2, **extra) -> dict[str, str]:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), **extra)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def run_sweep(grid_file, out, run_id, *args, chunk: str, **env) -> subprocess.CompletedProcess:
    """The sweep of ``grid_file`` in chunks of ``chunk`` steps, no report or progress bar; ``out`` None leaves out
    ``--out`` and ``--run-id`` (for a ``--resume`` in ``args``); ``env`` adds environment variables."""
    cmd = [sys.executable, "-m", "sweep", "run", str(grid_file), "--no-report", "--no-progress", "--chunk-steps",
           chunk, *(["--out", str(out), "--run-id", run_id] if out else []), *args]  # fmt: skip
    return subprocess.run(cmd, env=cpu_env(**env), cwd=ROOT, capture_output=True, text=True, timeout=300)
