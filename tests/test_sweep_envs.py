"""A sweep on an environment beyond CartPole (Acrobot-v1, through gymnax): a run's rows depend only on its config
and seed, not on the device count, and a sweep killed after a checkpoint resumes to the same rows; the manifest
records the task's facts, which the analysis reads."""

import json

import pandas as pd
from sweep_runs import TABLES, read_tables, run_sweep

from sweep.store import checkpoint

GRID = """
description = "tiny Acrobot grid"
seeds = 2
[config]
env = "Acrobot-v1"
total_steps = 600
buffer_capacity = 300
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 300
eval_episodes = 1
[grid]
lr = [1e-3, 3e-3]
"""


def test_rows_do_not_depend_on_devices_or_a_kill(tmp_path):
    grid = tmp_path / "acro.toml"
    grid.write_text(GRID)
    straight = run_sweep(grid, tmp_path, "d2", chunk="300", devices=2)
    assert straight.returncode == 0, straight.stderr[-3000:]
    reference = read_tables(tmp_path / "acro" / "d2")
    # Four devices, killed after its second checkpoint (200 of 600 steps), resumed.
    killed = run_sweep(grid, tmp_path, "d4", chunk="100", devices=4, **{checkpoint.FAULT_ENV: "2:SIGKILL"})
    assert killed.returncode == -9, killed.stderr[-3000:]
    run_dir = tmp_path / "acro" / "d4"
    assert json.loads((run_dir / "checkpoint" / "latest.json").read_text())["steps_done"] == 200
    resumed = run_sweep(grid, None, None, "--resume", str(run_dir), chunk="100", devices=4)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = read_tables(run_dir)
    for t in TABLES:
        pd.testing.assert_frame_equal(reference[t], got[t], check_exact=True)
    episodes = reference["episodes"]
    assert (episodes["episode_return"] <= 0).all() and (episodes["episode_return"] >= -500).all()
    assert set(reference["runs"]["env"]) == {"Acrobot-v1"}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["tasks"] == {"Acrobot-v1": {"low": -500.0, "high": 0.0, "solved": -100.0, "random": -499.2}}
