"""The layout: a group's program and waves are made when the sweep reaches the group, sized to the device memory
budget (a simulated one here, as a small GPU or a shared device would give), and recorded for a resume."""

import json

import jax
import pandas as pd
import pytest
from sweep_runs import run_sweep

from sweep.compute.devices import MEMORY_ENV, make_mesh
from sweep.compute.layout import Layout
from sweep.compute.program import bytes_per_run
from sweep.plan import make_plan
from sweep.schedules import parse_grid
from sweep.store import checkpoint

TINY = {
    "seeds": 4,
    "config": {"total_steps": 400, "buffer_capacity": 100, "hidden_sizes": [8], "learning_starts": 50,
               "eval_every": 200, "eval_episodes": 1},
    "grid": {"lr": [1e-3, 3e-3], "batch_size": [8, 16]},
}  # fmt: skip


@pytest.fixture(scope="module")
def plan():
    return make_plan(parse_grid(TINY, name="tiny"))  # two static groups of 8 runs


def _need(plan, per_device):
    """Bytes one run of group 0 needs at ``per_device`` runs per device (from the compiled chunk program)."""
    layout = Layout(plan, make_mesh(), 200, per_device)
    return bytes_per_run(layout.program(0).compiled(200), per_device)


def test_groups_are_built_when_first_reached_and_recorded(plan):
    compiled = []
    layout = Layout(plan, make_mesh(), 200, None, on_compile=compiled.append, budget=lambda: 2**40)
    assert compiled == [] and layout.record() == [[2, None]]
    assert [w.size for w in layout.waves(0)] == [8]  # 8 runs per CPU device, one device here
    assert compiled == [0] and layout.wave_size(1) is None
    layout.waves(0), layout.program(0)
    assert compiled == [0]  # once
    assert layout.record() == [[1, 8], [1, None]]
    again = Layout(plan, make_mesh(), 200, None, Layout.decoded(layout.record()), budget=lambda: 1)
    assert again.program(0).wave_size == 8  # a recorded decision is kept, whatever the budget says now


def test_a_wave_shrinks_to_the_memory_budget_and_the_last_wave_is_padded(plan):
    need = _need(plan, 3)
    assert need > 0
    layout = Layout(plan, make_mesh(), 200, None, budget=lambda: int(3.5 * need))
    waves = layout.waves(0)
    assert [w.size for w in waves] == [3, 3, 3] and [len(w.runs) for w in waves] == [3, 3, 2]
    assert list(waves[-1].padded_runs()[-1:]) == [-1]
    # With the GPU policy (every run of a group at once) the same budget cuts the same waves; a budget for all
    # of them keeps one wave.
    gpu = Layout(plan, make_mesh(), 200, None, budget=lambda: int(3.5 * need), platform="gpu")
    assert [w.size for w in gpu.waves(0)] == [3, 3, 3]
    roomy = Layout(plan, make_mesh(), 200, None, budget=lambda: 2**40, platform="gpu")
    assert [w.size for w in roomy.waves(1)] == [8]


def _run(grid_file, out, run_id, *args, **env):
    return run_sweep(grid_file, out, run_id, *args, chunk="200", **env)


@pytest.mark.slow
def test_a_sweep_under_a_small_budget_runs_many_waves_and_resumes_across_them(plan, tmp_path):
    grid_file = tmp_path / "tiny.toml"
    grid_file.write_text(
        "seeds = 4\n[config]\ntotal_steps = 400\nbuffer_capacity = 100\nhidden_sizes = [8]\n"
        "learning_starts = 50\neval_every = 200\neval_episodes = 1\n[grid]\nlr = [1e-3, 3e-3]\nbatch_size = [8, 16]\n"
    )
    with jax.default_device(jax.devices()[0]):
        need = _need(plan, 2)
    budget = {MEMORY_ENV: str(int(2.5 * need))}  # 2 runs per device on 2 devices: waves of 4, 2 a group
    straight = _run(grid_file, tmp_path, "straight", **budget)
    assert straight.returncode == 0, straight.stderr[-3000:]
    manifest = json.loads((tmp_path / "tiny" / "straight" / "manifest.json").read_text())
    assert [g["wave_size"] for g in manifest["static_groups"]] == [4, 4], manifest["static_groups"]

    # Killed after its 3rd checkpoint (wave 2 of group 0, halfway), then resumed under the same budget.
    killed = _run(grid_file, tmp_path, "killed", **budget, **{checkpoint.FAULT_ENV: "3"})
    assert killed.returncode == -9
    meta = json.loads((tmp_path / "tiny" / "killed" / "checkpoint" / "latest.json").read_text())
    assert meta["schedule"] == {"group": 0, "wave": 1, "steps_done": 200}
    assert meta["group_runs_per_device"] == [[1, 2], [1, None]]
    # Resumed and killed again after its first checkpoint: the end of group 0, before group 1 is compiled.
    resume = ("--resume", str(tmp_path / "tiny" / "killed"))
    assert _run(grid_file, None, None, *resume, **budget, **{checkpoint.FAULT_ENV: "1"}).returncode == -9
    meta = json.loads((tmp_path / "tiny" / "killed" / "checkpoint" / "latest.json").read_text())
    assert meta["schedule"] == {"group": 1, "wave": 0, "steps_done": 0} and meta["state"] is None
    assert meta["group_runs_per_device"] == [[1, 2], [1, None]]
    resumed = _run(grid_file, None, None, *resume, **budget)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    for t in ("episodes", "evals", "runs"):
        a = pd.read_parquet(tmp_path / "tiny" / "straight" / f"{t}.parquet")
        b = pd.read_parquet(tmp_path / "tiny" / "killed" / f"{t}.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_a_bad_budget_is_one_line(tmp_path):
    proc = _run("smoke", tmp_path, "r", **{MEMORY_ENV: "lots"})
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "python -m sweep: error: SWEEP_DEVICE_MEMORY must be a size such as 2GiB or 512MiB, got 'lots'"
    ]
    assert list(tmp_path.iterdir()) == []
