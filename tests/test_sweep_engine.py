"""The sweep engine end to end: a run's rows do not depend on device count, waves, chunks, batch neighbours,
interruption or the number of processes."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sweep_runs import TABLES, read_tables

from sweep import cluster, engine, progress
from sweep.schedules import load_grid
from sweep.store import checkpoint
from sweep.store import run_folder as folders

ROOT = Path(__file__).resolve().parent.parent
TINY = """
description = "tiny grid for engine tests"
seeds = 3
[config]
total_steps = 600
buffer_capacity = 200
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 200
eval_episodes = 2
[grid]
lr = [1e-3, 3e-3]
"""


def _env(devices=1, **extra):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), **extra)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def _sweep(grid_file, out, run_id, *args, devices=1, check=True, **env):
    """``python -m sweep run`` in a subprocess; ``out`` None (for ``--resume``) leaves out --out and --run-id."""
    cmd = [sys.executable, "-m", "sweep", "run", str(grid_file)]
    cmd += [] if out is None else ["--out", str(out), "--run-id", run_id]
    cmd += ["--no-report", "--no-progress", *args]
    # SIGINT back to its default in the child: a shell's background job inherits it ignored, and Python then
    # never turns it into KeyboardInterrupt, which the interruption tests rely on.
    proc = subprocess.run(cmd, env=_env(devices, **env), capture_output=True, text=True, timeout=300, cwd=ROOT,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _assert_same_rows(a, b):
    for t in TABLES:
        pd.testing.assert_frame_equal(a[t], b[t], check_exact=True)


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("grid") / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def reference(grid_file, tmp_path_factory):
    """One device, one chunk per run, in this process."""
    out = tmp_path_factory.mktemp("ref")
    g = load_grid(str(grid_file))
    run_dir = engine.run_sweep(g, engine.Options(out=out, run_id="ref", chunk_steps=600, progress=False, report=False))
    return read_tables(run_dir)


def test_reference_tables_are_complete(reference):
    runs, episodes, evals = reference["runs"], reference["episodes"], reference["evals"]
    assert len(runs) == 6 and list(runs[["config", "seed"]].itertuples(index=False, name=None)) == [
        (c, s) for c in range(2) for s in range(3)
    ]
    assert list(episodes.columns) == [
        "config", "seed", "lr", "episode", "episode_return", "episode_length", "end_step"
    ]  # fmt: skip
    assert list(evals.columns) == ["config", "seed", "lr", "step", "eval_return"]
    assert sorted(evals["step"].unique()) == [200, 400, 600]
    assert len(evals) == 6 * 3
    # Every env step of a run is in a completed episode or the one still running at the end.
    per_run = episodes.groupby(["config", "seed"])["episode_length"].sum()
    assert (per_run <= 600).all() and (per_run > 500).all()
    assert not runs["diverged"].any()
    # Seeds differ; configs with the same seed share their random numbers but not their learning.
    first = episodes[episodes.episode == 0].set_index(["config", "seed"])["episode_return"]
    assert first.loc[0].nunique() > 1


def test_four_devices_waves_and_chunks_give_identical_rows(reference, grid_file, tmp_path):
    # 4 devices, 6 runs padded to 8, one run per device per wave (two waves), chunks of 150 and 250 steps.
    for i, (chunk, per_device) in enumerate([("150", "1"), ("250", "2")]):
        _sweep(grid_file, tmp_path, f"d4-{i}", "--chunk-steps", chunk, "--runs-per-device", per_device, devices=4)
        run_dir = tmp_path / "tiny" / f"d4-{i}"
        _assert_same_rows(reference, read_tables(run_dir))
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["num_devices"] == 4
        (only,) = manifest["invocations"]  # one invocation: its times are the sweep's
        assert only["env_steps"] == manifest["env_steps"] and only["cpu"] == manifest["cpu"]


def test_rows_do_not_depend_on_batch_neighbours(reference, grid_file, tmp_path):
    # Run config lr=3e-3 alone (and with fewer seeds): its rows equal those it had beside lr=1e-3.
    g = load_grid(str(grid_file)).with_overrides(seeds=2, fixed={"lr": 3e-3})
    run_dir = engine.run_sweep(g, engine.Options(out=tmp_path, run_id="alone", progress=False, report=False))
    alone = read_tables(run_dir)
    for t in ("episodes", "evals"):
        ref = reference[t][(reference[t].config == 1) & (reference[t].seed < 2)].drop(columns=["config", "lr"])
        got = alone[t].drop(columns=["config"])
        pd.testing.assert_frame_equal(ref.reset_index(drop=True), got.reset_index(drop=True), check_exact=True)


@pytest.mark.parametrize("sig", ["SIGKILL", "SIGINT", "SIGTERM"])
def test_killed_sweep_resumes_to_the_same_rows(reference, grid_file, tmp_path, sig):
    # Killed right after its 3rd checkpoint (chunks of 100 steps: 300 of 600 steps done).
    proc = _sweep(grid_file, tmp_path, "killed", "--chunk-steps", "100", check=False,
                  **{checkpoint.FAULT_ENV: f"3:{sig}"})  # fmt: skip
    run_dir = tmp_path / "tiny" / "killed"
    expected_rc = {"SIGKILL": -9, "SIGINT": 130, "SIGTERM": 130}[sig]
    assert proc.returncode == expected_rc, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    if sig != "SIGKILL":  # the message names the folder to resume
        assert f"continue with python -m sweep run {grid_file} --resume " in proc.stderr
        assert str(tmp_path / "tiny" / "killed") in proc.stderr.replace("\n", "")
    meta = json.loads((run_dir / "checkpoint" / "latest.json").read_text())
    assert meta["steps_done"] == 300
    assert not (run_dir / "runs.parquet").exists()  # nothing half-written, no tables yet
    assert not (tmp_path / "tiny" / "latest").exists()

    resumed = _sweep(grid_file, None, None, "--resume", str(run_dir), "--chunk-steps", "200")
    assert "Traceback" not in resumed.stderr
    _assert_same_rows(reference, read_tables(run_dir))
    assert (run_dir / folders.DONE).is_file()
    assert not (run_dir / "checkpoint").exists()  # removed once the tables are written
    assert (tmp_path / "tiny" / "latest").resolve() == run_dir.resolve()
    # The manifest keeps each invocation's machine, commit and times: the killed one's up to its last checkpoint.
    manifest = json.loads((run_dir / "manifest.json").read_text())
    first, second = manifest["invocations"]
    assert first["env_steps"] == meta["env_steps"] == meta["invocations"][0]["env_steps"] > 0
    assert first["env_steps"] + second["env_steps"] == manifest["env_steps"]
    assert first["run_seconds"] + second["run_seconds"] == pytest.approx(manifest["run_seconds"], abs=0.01)
    assert second["cpu"] == manifest["cpu"] and second["git_commit"] == manifest["git_commit"]
    assert first["started"] <= second["started"] and first["jax"] == manifest["versions"]["jax"]


def test_a_sweep_stopped_while_compiling_exits_130_with_one_line(grid_file, tmp_path):
    # SIGTERM as soon as the sweep has said its size, while its first program compiles: the one line, exit 130,
    # nothing kept. (Leaving through the interpreter's teardown then crashed it at times, exit -11.)
    cmd = [sys.executable, "-m", "sweep", "run", str(grid_file), "--out", str(tmp_path), "--run-id", "c",
           "--no-report", "--no-progress"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=_env(2), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = [proc.stderr.readline() for _ in range(2)]  # devices, then the sweep's size
    assert lines[1].startswith("tiny: "), lines
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("python -m sweep: interrupted (SIGTERM)")
    assert not (tmp_path / "tiny" / "c" / "checkpoint").exists()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster(grid_file, out, run_id):
    """The sweep on two processes of two CPU devices each: [(exit status, stderr)] per process."""
    port = _free_port()
    procs = []
    for pid in range(2):
        cmd = [sys.executable, "-m", "sweep", "run", str(grid_file), "--out", str(out), "--run-id", run_id,
               "--no-report", "--no-progress", "--chunk-steps", "200", "--coordinator", f"127.0.0.1:{port}",
               "--num-processes", "2", "--process-id", str(pid)]  # fmt: skip
        procs.append(subprocess.Popen(cmd, env=_env(2), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))  # fmt: skip
    results = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        results.append((p.returncode, err))
    return results


def test_two_process_cluster_writes_the_same_rows(reference, grid_file, tmp_path):
    results = _cluster(grid_file, tmp_path, "cluster")
    for rc, err in results:
        assert rc == 0, err[-3000:]
    run_dir = tmp_path / "tiny" / "cluster"
    _assert_same_rows(reference, read_tables(run_dir))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["num_processes"] == 2 and manifest["num_devices"] == 4


def test_two_process_cluster_refuses_an_existing_folder_on_every_process(grid_file, tmp_path):
    # Process 0 alone checks the folder and tells the other, so both stop with the same line (none hangs).
    run_dir = tmp_path / "tiny" / "cluster"
    run_dir.mkdir(parents=True)
    (run_dir / "runs.parquet").write_bytes(b"earlier results")
    results = _cluster(grid_file, tmp_path, "cluster")
    for rc, err in results:
        assert rc == 2 and "Traceback" not in err, err[-3000:]
    assert results[0][1] == results[1][1] and "already exists" in results[0][1]
    assert sorted(p.name for p in run_dir.iterdir()) == ["runs.parquet"]
    assert (run_dir / "runs.parquet").read_bytes() == b"earlier results"


def test_stopped_before_its_marker_resumes_and_cleanup_kill_leaves_a_finished_folder(
    reference, grid_file, tmp_path, monkeypatch
):
    g = load_grid(str(grid_file))

    def stop(*_args, **_kwargs):
        raise KeyboardInterrupt("stopped")

    # Stopped after the tables, before `latest` and the DONE marker: not finished, resumed from its checkpoint.
    monkeypatch.setattr(folders, "update_latest", stop)
    with pytest.raises(cluster.Stopped):
        engine.run_sweep(g, engine.Options(out=tmp_path, run_id="r", chunk_steps=300, progress=False, report=False))
    run_dir = tmp_path / "tiny" / "r"
    assert (run_dir / "runs.parquet").is_file() and not (run_dir / folders.DONE).exists()
    assert folders.status(run_dir) == "checkpoint"
    monkeypatch.undo()

    # Resumed, and stopped again while it removes its checkpoint, after the marker: finished (the run returns as
    # such), and no latest.json is left without its file.
    monkeypatch.setattr(shutil, "rmtree", stop)
    assert engine.run_sweep(g, engine.Options(resume=run_dir, chunk_steps=300, progress=False, report=False)) == run_dir
    monkeypatch.undo()
    _assert_same_rows(reference, read_tables(run_dir))
    assert (run_dir / folders.DONE).is_file() and not (run_dir / checkpoint.CHECKPOINT).exists()
    assert folders.status(run_dir) == "finished"
    assert (tmp_path / "tiny" / "latest").resolve() == run_dir.resolve()
    with pytest.raises(folders.RunFolderError, match="already finished"):
        engine.run_sweep(g, engine.Options(resume=run_dir, progress=False, report=False))


def test_a_later_static_group_that_trains_at_another_speed_says_its_own_estimate():
    # 3 static groups: the first says the time left; the same group again and the second, as fast as the first
    # (within a quarter), say nothing; the third, 10 times slower, says it again at its speed.
    estimates = progress.Estimates(n_groups=3)
    lines = [
        estimates.line(0, 1_000_000, 10_000, 1.0, uncompiled=2),
        estimates.line(0, 1_000_000, 10_000, 5.0, uncompiled=2),
        estimates.line(1, 1_000_000, 10_000, 1.1, uncompiled=1),
        estimates.line(2, 1_000_000, 10_000, 10.0, uncompiled=0),
    ]
    assert lines == [
        "training (static group 1/3): 10,000 env steps/s; about 1 min 40 s of training left, plus compiling 2 more "
        "static groups",
        None,
        None,
        "training (static group 3/3, at its speed): 1,000 env steps/s; about 16 min 40 s of training left",
    ]


def test_an_estimate_says_nothing_with_less_than_a_second_left_and_words_durations_as_people_read_them():
    assert progress.Estimates(n_groups=1).line(0, 500, 1_000, 1.0, uncompiled=0) is None
    assert progress.Estimates(n_groups=1).line(0, 7_200_000, 1_000, 1.0, uncompiled=1) == (
        "training: 1,000 env steps/s; about 2 h 0 min of training left, plus compiling 1 more static group"
    )
    assert [progress.duration(s) for s in (12.4, 250, 12_000)] == ["12 s", "4 min 10 s", "3 h 20 min"]
