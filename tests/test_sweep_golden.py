"""Every run's rows stay bitwise what they were: a sweep at the default network, batch and buffer sizes, on two CPU
devices, must write exactly the rows recorded in ``tests/data/golden_rows.json``.

The first record was made by the engine before it was split into modules, and guards every later change to the
engine, the core or the tables against a silent change of results. XLA's CPU code depends on the processor's vector
instructions and on jaxlib's version, so the file holds one record per machine (jaxlib version and vector
instruction sets) and the comparison is made only where a record matches; anywhere else the test is skipped and
says why. A record for another machine is added from an unchanged checkout
(``python tests/test_sweep_golden.py --write [CHECKOUT]``, which replaces only that machine's record); a change that
is meant to alter results must regenerate every record and say so in its commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sweep.store.manifest import cpu

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).parent / "data" / "golden_rows.json"
# The default config (64x64 MLP, batch 64, 10,000-slot buffer) for 3,000 steps: 2 learning rates x 2 seeds.
GRID = """
description = "bitwise guard at the default sizes"
seeds = 2
[config]
total_steps = 3_000
eval_every = 1_000
eval_episodes = 2
[grid]
lr = [1e-3, 3e-3]
"""


def _machine() -> dict:
    return {"jaxlib": metadata.version("jaxlib"), "cpu_flags": cpu()["simd"]}


def _frame_digest(df: pd.DataFrame) -> str:
    """sha256 over every column's name, dtype and raw values, in order."""
    h = hashlib.sha256()
    for name in df.columns:
        values = np.ascontiguousarray(df[name].to_numpy())
        h.update(f"{name}:{values.dtype}:{len(values)};".encode())
        h.update(values.tobytes() if values.dtype != object else "\x00".join(map(str, values)).encode())
    return h.hexdigest()


def sweep_digest(root: Path = ROOT, runs_columns: list[str] | None = None) -> dict:
    """Runs the golden grid with the checkout at ``root`` on two CPU devices; the digest of its rows. The runs
    table is digested over ``runs_columns`` (default: all of them), so that a record stays valid when a new
    hyperparameter adds a column (its rows are checked over the columns they had)."""
    with tempfile.TemporaryDirectory() as tmp:
        grid = Path(tmp) / "golden.toml"
        grid.write_text(GRID)
        env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(root))
        env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
        cmd = [sys.executable, "-m", "sweep", "run", str(grid), "--out", tmp, "--run-id", "g", "--no-report",
               "--no-progress"]  # fmt: skip
        proc = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        run_dir = Path(tmp) / "golden" / "g"
        tables = {t: pd.read_parquet(run_dir / f"{t}.parquet") for t in ("episodes", "evals", "runs")}
    ep, ev = tables["episodes"], tables["evals"]
    runs_columns = runs_columns or list(tables["runs"].columns)
    return {
        "episodes_sha256": _frame_digest(ep),
        "evals_sha256": _frame_digest(ev),
        "runs_columns": runs_columns,
        "runs_sha256": _frame_digest(tables["runs"][runs_columns]),
        # Readable figures, to see how far a mismatch goes.
        "episodes_per_run": ep.groupby(["config", "seed"]).size().tolist(),
        "eval_returns": ev["eval_return"].tolist(),
    }


@pytest.mark.slow
def test_rows_are_bitwise_the_recorded_ones():
    records = json.loads(GOLDEN.read_text())["records"]
    golden = next((r for r in records if r["machine"] == _machine()), None)
    if golden is None:
        pytest.skip(f"no record was made on this machine ({_machine()}); records: {[r['machine'] for r in records]}")
    got = sweep_digest(runs_columns=golden["runs_columns"])
    expected = {k: v for k, v in golden.items() if k != "machine"}
    assert got["episodes_per_run"] == expected["episodes_per_run"]
    assert got["eval_returns"] == expected["eval_returns"]
    assert got == expected


if __name__ == "__main__":
    # python tests/test_sweep_golden.py --write [CHECKOUT]: records the rows of the checkout (default: this one).
    if len(sys.argv) < 2 or sys.argv[1] != "--write":
        sys.exit("usage: python tests/test_sweep_golden.py --write [CHECKOUT]")
    root = Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else ROOT
    GOLDEN.parent.mkdir(exist_ok=True)
    records = json.loads(GOLDEN.read_text())["records"] if GOLDEN.is_file() else []
    records = [r for r in records if r["machine"] != _machine()] + [{"machine": _machine(), **sweep_digest(root)}]
    GOLDEN.write_text(json.dumps({"records": records}, indent=1) + "\n")
    print(f"wrote {GOLDEN}: {len(records)} records")
