"""Sweeps on several processes (a JAX cluster on 127.0.0.1): they run the same sweep or none does, they stop
together, and a lost or missing process is one sentence, with a bounded wait, on every process that is left.

Every multi-process run here is bounded by a timeout; a test that hangs fails instead of hanging the suite."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_runs import TABLES, read_tables

from sweep import cli, cluster
from sweep.cluster import supervisor
from sweep.store import checkpoint
from sweep.store import run_folder as folders

ROOT = Path(__file__).resolve().parent.parent
# 20 chunks of 150 steps: long enough for a stop to land mid-sweep.
GRID = """
description = "tiny grid for cluster tests"
seeds = 3
[config]
total_steps = 3000
buffer_capacity = 200
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 600
eval_episodes = 2
[grid]
lr = [1e-3, 3e-3]
"""
TIMEOUT = 240  # seconds for any one process; the stops below must come far sooner
NATIVE_TRACE = ("Check failure stack trace", "Traceback", "F1201", "absl::")


def _env(**extra):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT), **extra)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    return env


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(grid_file, out, pid, port, *args, env=None, n=2):
    """One process of an ``n``-process sweep; ``out`` None for a resume (``args`` then hold --resume)."""
    cmd = [sys.executable, "-m", "sweep", "run", str(grid_file)]
    cmd += [] if out is None else ["--out", str(out), "--run-id", "c"]
    cmd += ["--no-report", "--no-progress", "--chunk-steps", "150", "--coordinator", f"127.0.0.1:{port}",
            "--num-processes", str(n), "--process-id", str(pid), "--cluster-timeout", "20", *args]  # fmt: skip
    return subprocess.Popen(cmd, env=_env(**(env or {})), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip


def _finish(procs):
    """[(exit status, stderr, seconds)] of each process, waiting at most TIMEOUT for all."""
    t0 = time.monotonic()
    results = []
    for p in procs:
        try:
            _, err = p.communicate(timeout=max(1.0, TIMEOUT - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise
        results.append((p.returncode, err, time.monotonic() - t0))
    return results


def _cluster(grid_file, out, *args, per_process=None, n=2):
    port = _free_port()
    per_process = per_process or [{} for _ in range(n)]
    procs = [
        _start(grid_file, out, pid, port, *args, *per_process[pid].get("args", []), env=per_process[pid].get("env"))
        for pid in range(n)
    ]
    return _finish(procs)


def _one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err[-3000:]
    assert not any(t in err for t in NATIVE_TRACE), err[-3000:]
    return lines[0]


def _last_line(err):
    """A stop in the middle of a sweep: its last line, after the sweep's own notes (size, speed, the signal)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert not any(t in err for t in NATIVE_TRACE), err[-3000:]
    notes = ("devices: ", "tiny: ", "training: ", "SIGTERM: ", "SIGINT: ")
    assert all(line.startswith(notes) for line in lines[:-1]), err[-3000:]
    return lines[-1]


@pytest.fixture(scope="module")
def grid_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("grid") / "tiny.toml"
    path.write_text(GRID)
    return path


@pytest.fixture(scope="module")
def reference(grid_file, tmp_path_factory):
    """The sweep on one process of two devices."""
    out = tmp_path_factory.mktemp("ref")
    cmd = [sys.executable, "-m", "sweep", "run", str(grid_file), "--out", str(out), "--run-id", "ref", "--no-report",
           "--no-progress"]  # fmt: skip
    proc = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return read_tables(out / "tiny" / "ref")


# ---------------------------------------------------------------------------------------------------------
# Agreement, in words (no processes)
# ---------------------------------------------------------------------------------------------------------
def test_first_difference_names_the_field_and_both_values():
    a = {"grid": {"name": "g", "seeds": 3, "config": {"total_steps": 3000}}, "options": {"chunk_steps": 150}}
    b = json.loads(json.dumps(a))
    assert cluster.first_difference([a, b, b]) is None
    b["grid"]["config"]["total_steps"] = 2500
    assert "total_steps is 2500 on process 2 but 3000 on process 0" in cluster.first_difference([a, a, b])
    c = json.loads(json.dumps(a))
    c["grid"]["config"]["gamma"] = 0.5  # fixed on one process only
    assert "gamma is 0.5 on process 1 but not set on process 0" in cluster.first_difference([a, c])
    e = json.loads(json.dumps(a))
    a["grid"]["search"], e["grid"]["search"] = {"eta": 3}, {"eta": 2}
    assert "[search] eta is 2 on process 1 but 3 on process 0" in cluster.first_difference([a, e])
    del a["grid"]["search"]
    d = json.loads(json.dumps(a))
    d["options"]["chunk_steps"] = 100
    problem = cluster.first_difference([a, d])
    assert problem.startswith("the processes disagree on what to run: {option:chunk_steps} is 100 on process 1")


@pytest.mark.parametrize(
    "address, fact",
    [("notahost", "HOST:PORT"), ("host:0", "port in 1..65535"), (":1234", "HOST:PORT"),
     ("no-such-host.invalid:1234", "cannot be resolved")],
)  # fmt: skip
def test_bad_coordinator_is_one_line_before_anything_starts(address, fact, tmp_path, capsys):
    argv = ["run", "smoke", "--out", str(tmp_path), "--coordinator", address, "--num-processes", "2",
            "--process-id", "0"]  # fmt: skip
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and fact in _one_line(err) and "--coordinator" in err
    assert list(tmp_path.iterdir()) == []


def test_distributed_without_a_cluster_is_one_line(tmp_path):
    cmd = [sys.executable, "-m", "sweep", "run", "smoke", "--out", str(tmp_path), "--distributed", "--no-progress"]
    env = {k: v for k, v in _env().items() if not k.startswith(("SLURM_", "OMPI_", "JAX_COORDINATOR"))}
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 2
    assert "found no cluster to join" in _one_line(proc.stderr)
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------------------
# Several processes
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fact",
    [(["--set", "gamma=0.5"], "gamma is 0.5 on process 1 but not set on process 0"),
     (["--steps", "2500"], "total_steps is 2500 on process 1 but 3000 on process 0")],
)  # fmt: skip
def test_processes_that_disagree_all_stop_with_the_same_line_and_write_nothing(args, fact, grid_file, tmp_path):
    results = _cluster(grid_file, tmp_path, per_process=[{}, {"args": args}])
    lines = [_one_line(err) for _, err, _ in results]
    assert [rc for rc, _, _ in results] == [2, 2]
    assert lines[0] == lines[1] and fact in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("given", [[0], [0, 0]], ids=["peer never comes", "two processes given --process-id 0"])
def test_a_missing_or_duplicated_peer_is_one_line_within_the_timeout(given, grid_file, tmp_path):
    port = _free_port()
    results = _finish([_start(grid_file, tmp_path, pid, port, "--cluster-timeout", "4") for pid in given])
    for rc, err, seconds in results:
        assert rc == 2 and "the cluster did not form within 4 s" in _one_line(err)
        assert "--process-id" in err and seconds < 60
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_stops_and_a_lost_process_keep_the_checkpoint_and_resume_to_the_same_rows(reference, grid_file, tmp_path):
    run_dir = tmp_path / "tiny" / "c"

    # SIGTERM to process 1 (its supervisor, as a user or a scheduler would send it) after its 2nd checkpoint:
    # every process stops after the same chunk, with status 130 and the same line naming the run folder.
    results = _cluster(grid_file, tmp_path, per_process=[{}, {"env": {checkpoint.FAULT_ENV: "2:SIGTERM"}}])
    lines = [_last_line(err) for _, err, _ in results]
    assert [rc for rc, _, _ in results] == [130, 130], lines
    assert lines[0] == lines[1] and "stopped at the request of process 1 (SIGTERM)" in lines[0]
    assert f"--resume {run_dir}" in lines[0]
    steps_done = json.loads((run_dir / "checkpoint" / "latest.json").read_text())["steps_done"]
    assert 300 <= steps_done < 3000
    assert not (run_dir / "runs.parquet").exists()

    # Resumed; then process 1 is killed outright (SIGKILL to its supervisor, whose worker dies with it) after
    # its 3rd checkpoint: process 0 says so in one line and exits 3 at once, the checkpoint intact.
    resume = ["--resume", str(run_dir)]
    results = _cluster(grid_file, None, *resume, per_process=[{}, {"env": {checkpoint.FAULT_ENV: "3:SIGKILL"}}])
    (rc0, err0, _), (rc1, _, _) = results
    assert rc1 == -signal.SIGKILL
    assert rc0 == supervisor.EXIT_CLUSTER and "another process of the cluster stopped" in _last_line(err0)
    assert f"--resume {run_dir}" in err0
    later = json.loads((run_dir / "checkpoint" / "latest.json").read_text())["steps_done"]
    assert steps_done < later < 3000

    # Resumed again to the end: the rows of one uninterrupted process.
    results = _cluster(grid_file, None, *resume)
    assert [rc for rc, _, _ in results] == [0, 0], [err[-2000:] for _, err, _ in results]
    got = read_tables(run_dir)
    for t in TABLES:
        pd.testing.assert_frame_equal(reference[t], got[t], check_exact=True)
    assert (run_dir / folders.DONE).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])  # Ctrl-C, and a scheduler's stop, to process 0
def test_a_stop_on_process_0_stops_both(grid_file, tmp_path, signame):
    results = _cluster(grid_file, tmp_path, per_process=[{"env": {checkpoint.FAULT_ENV: f"1:{signame}"}}, {}])
    assert [rc for rc, _, _ in results] == [130, 130], [err[-2000:] for _, err, _ in results]
    assert all(f"stopped at the request of process 0 ({signame})" in _last_line(err) for _, err, _ in results)
    assert all(seconds < 60 for _, _, seconds in results)
    assert checkpoint.exists(tmp_path / "tiny" / "c")


@pytest.mark.slow
def test_two_processes_make_the_same_halving_decisions_as_one(grid_file, tmp_path):
    # Successive halving decides from the records, which every process holds whole: two processes stop the same
    # configs at the same rungs and write the rows and rungs of one process.
    halving = tmp_path / "halving.toml"
    halving.write_text(GRID.replace('lr = [1e-3, 3e-3]', 'lr = [1e-4, 3e-4, 1e-3, 3e-3]')
                       + '[search]\nscheduler = "halving"\nmin_steps = 600\neta = 2\n')  # fmt: skip
    cmd = [sys.executable, "-m", "sweep", "run", str(halving), "--out", str(tmp_path), "--run-id", "one",
           "--no-report", "--no-progress", "--chunk-steps", "150"]  # fmt: skip
    one = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert one.returncode == 0, one.stderr[-3000:]
    results = _cluster(halving, tmp_path)
    assert [rc for rc, _, _ in results] == [0, 0], [err[-2000:] for _, err, _ in results]
    for t in ("episodes", "evals", "runs", "rungs"):
        a = pd.read_parquet(tmp_path / "halving" / "one" / f"{t}.parquet")
        b = pd.read_parquet(tmp_path / "halving" / "c" / f"{t}.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    rungs = pd.read_parquet(tmp_path / "halving" / "c" / "rungs.parquet")
    assert sorted(rungs["step"].unique()) == [600, 1200, 2400] and not rungs["kept"].all()


# Population-based training on two processes. Population 4, 2 seeds: 8 runs (run = member * 2 + population), in
# waves of 2 runs per device (``--runs-per-device 2``, the same per-device shape on both layouts, so the rows
# are bitwise those of one process). One process of 2 devices trains them in 2 waves of 4; two processes of 2
# devices each train them as one wave of 8, device d holding runs 2d and 2d + 1, so process 0 trains members 0
# and 1 of both populations and process 1 members 2 and 3. Every population thus spans both processes: each
# decision ranks scores from both, and with quantile 0.5 the bottom two copy from the top two, a parent on the
# other process at least half the time (the test asserts some copy crossed).
PBT_GRID = """
description = "tiny PBT grid for cluster tests"
seeds = 2
[config]
total_steps = 900
buffer_capacity = 200
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 150
eval_episodes = 1
[search]
scheduler = "pbt"
population = 4
interval = 300
quantile = 0.5
seed = 1
[space]
lr = { log_uniform = [1e-4, 1e-1] }
eps_end = { uniform = [0.0, 0.2] }
"""
PBT_TABLES = (*TABLES, "pbt")


def _process_of(member):
    """The process that trains ``member`` in the two-process layout above."""
    return member // 2


@pytest.mark.slow
def test_two_processes_make_the_same_pbt_decisions_as_one(tmp_path):
    grid_file = tmp_path / "pbt.toml"
    grid_file.write_text(PBT_GRID)
    per_device = ("--runs-per-device", "2")
    cmd = [sys.executable, "-m", "sweep", "run", str(grid_file), "--out", str(tmp_path), "--run-id", "one",
           "--no-report", "--no-progress", "--chunk-steps", "150", *per_device]  # fmt: skip
    one = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT)
    assert one.returncode == 0, one.stderr[-3000:]
    want = {t: pd.read_parquet(tmp_path / "pbt" / "one" / f"{t}.parquet") for t in PBT_TABLES}
    lineage = want["pbt"]
    copied = lineage[(lineage["parent"] >= 0) & (lineage["parent"] != lineage["member"])]
    assert sorted(lineage["step"].unique()) == [300, 600, 900] and len(copied) == 2 * 2 * 2
    assert (copied["member"].map(_process_of) != copied["parent"].map(_process_of)).any()

    results = _cluster(grid_file, tmp_path, *per_device)
    assert [rc for rc, _, _ in results] == [0, 0], [err[-2000:] for _, err, _ in results]
    got = {t: pd.read_parquet(tmp_path / "pbt" / "c" / f"{t}.parquet") for t in PBT_TABLES}
    for t in PBT_TABLES:
        pd.testing.assert_frame_equal(want[t], got[t], check_exact=True)
