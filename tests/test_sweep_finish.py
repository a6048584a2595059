"""A signal that lands once a sweep has finished (its DONE marker written, the moment a user hits Ctrl-C because
the output looks finished) changes nothing: exit 0, the results named, no traceback, no checkpoint left behind."""

import signal
import subprocess
import sys

import pytest
from sweep_runs import ROOT, cpu_env

GRID = """
seeds = 2
[config]
total_steps = 300
buffer_capacity = 200
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 300
eval_episodes = 1
"""
# Runs the command line with a signal sent to itself at one point after the DONE marker is written.
CODE = """
import atexit, os, signal, sys
from sweep import cli, engine
from sweep.store import run_folder

sig, where = getattr(signal, sys.argv[1]), sys.argv[2]
kill = lambda *_: os.kill(os.getpid(), sig)

def then_kill(fn):
    def wrapped(*a, **kw):
        out = fn(*a, **kw)
        kill()
        return out
    return wrapped

if where == "with the marker":  # inside the end of the sweep: the marker written, the checkpoint not yet removed
    run_folder.mark_done = then_kill(run_folder.mark_done)
elif where == "after the sweep returned":
    engine.run_sweep = then_kill(engine.run_sweep)
else:  # at exit, before the exit handlers of JAX and the rest
    atexit.register(kill)
sys.exit(cli.main(sys.argv[3:]))
"""


@pytest.mark.parametrize(
    ("signame", "where"),
    [("SIGINT", "with the marker"), ("SIGTERM", "with the marker"), ("SIGINT", "after the sweep returned"),
     ("SIGTERM", "at exit")],
)  # fmt: skip
def test_a_signal_after_done_leaves_a_finished_sweep(tmp_path, signame, where):
    grid = tmp_path / "g.toml"
    grid.write_text(GRID)
    args = ["run", str(grid), "--out", str(tmp_path), "--run-id", "r", "--no-report", "--no-progress"]
    proc = subprocess.run(
        [sys.executable, "-c", CODE, signame, where, *args], env=cpu_env(), cwd=ROOT, capture_output=True, text=True,
        timeout=300, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    run_dir = tmp_path / "g" / "r"
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "interrupted" not in proc.stderr, proc.stderr[-2000:]
    assert f"results: {run_dir}" in proc.stdout
    assert (run_dir / "DONE").is_file() and (run_dir / "runs.parquet").is_file()
    assert not [p.name for p in run_dir.iterdir() if "checkpoint" in p.name]
