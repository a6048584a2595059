"""The supervisor of a cluster process on the command line: a multi-process sweep runs as a *worker* child of a
small process that does not import JAX. The worker sends JAX's native output (fds 1 and 2: its logs, Gloo's
connection notes, a fatal error's stack trace) to a log file, so its own messages and progress bar stay readable;
the supervisor forwards SIGINT and SIGTERM to it, kills it if it has not stopped ``STOP_GRACE_SECONDS`` after the
signal (its last checkpoint is intact: checkpoints are atomic), and turns a worker that died in native code (a
peer that never came, a lost coordinator) into one sentence.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common.errors import EXIT_USER_ERROR

WORKER_ENV = "SWEEP_CLUSTER_WORKER"  # set in a supervised worker: "<native log path>:<status fd>"
STOP_GRACE_SECONDS = 60.0  # a worker still running this long after a stop signal is killed
EXIT_STOPPED = 130  # stopped by a signal; the last checkpoint is kept
EXIT_CLUSTER = 3  # the cluster lost a process; the last checkpoint is kept

_status_fd: int | None = None


def is_worker() -> bool:
    return WORKER_ENV in os.environ


def setup_worker() -> None:
    """In a supervised worker, before JAX starts: the native runtime's output (fds 1 and 2: its logs, Gloo's
    connection notes, a fatal error's stack trace) to the supervisor's log file, Python's own stdout and stderr
    (messages, the progress bar) to the terminal, and the status pipe to the supervisor."""
    global _status_fd
    log_path, _, fd = os.environ[WORKER_ENV].rpartition(":")
    _status_fd = int(fd)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    for fd_no, name in ((1, "stdout"), (2, "stderr")):
        getattr(sys, name).flush()
        terminal = os.dup(fd_no)
        os.dup2(log, fd_no)
        stream = io.TextIOWrapper(io.FileIO(terminal, "w"), line_buffering=True, errors="backslashreplace")
        setattr(sys, name, stream)
    os.close(log)


def report_status(what: str) -> None:
    """Tells the supervisor (if any) how far the worker got: one line on the status pipe."""
    if _status_fd is None:
        return
    try:
        os.write(_status_fd, (" ".join(what.split()) + "\n").encode())
    except OSError:
        pass


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The worker is killed when its supervisor dies (Linux), so that no orphan holds the cluster."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _diagnose(log_text: str, status: dict[str, str], timeout: int) -> tuple[str, int]:
    """One sentence and an exit status for a worker that died in native code, from its log."""
    if status.get("phase") in (None, "connecting") or re.search(r"RegisterTask|Wait_for_all_tasks", log_text):
        return (
            f"the cluster did not form within {timeout} s: not every process joined (start the same command on "
            "every host, each with its own --process-id, the same --coordinator and --num-processes; "
            "--cluster-timeout waits longer)",
            EXIT_USER_ERROR,
        )
    if re.search(r"heartbeat|unhealthy|UNAVAILABLE|Connection (closed|reset)|Socket closed", log_text):
        why = "another process of the cluster stopped or stopped answering"
    else:
        match = re.search(r"^F\d{4} [^\]]*\] (.*)$", log_text, re.M)
        why = f"the JAX runtime stopped this process ({match[1][:160]})" if match else "this process ended abnormally"
    return why, EXIT_CLUSTER


def supervise(argv: list[str], prog: str, grid: str, process_id: int | None, timeout: int) -> int:
    """Runs ``python -m sweep`` with ``argv`` as a worker child and waits for it (see the module docstring);
    returns the exit status to leave with."""
    log = tempfile.NamedTemporaryFile(prefix="sweep-native-", suffix=".log", delete=False)
    log.close()
    status_r, status_w = os.pipe()
    env = dict(os.environ, **{WORKER_ENV: f"{log.name}:{status_w}"})
    child = subprocess.Popen(
        [sys.executable, "-m", "sweep", *argv],
        env=env,
        pass_fds=(status_w,),
        process_group=0,  # terminal signals reach the supervisor only; it forwards exactly one
        preexec_fn=_die_with_parent,
    )
    os.close(status_w)
    os.set_blocking(status_r, False)
    status: dict[str, str] = {}
    pending = b""
    stop_at: float | None = None
    signals: list[int] = []

    def forward(signum, _frame):
        signals.append(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    who = "this process" if process_id is None else f"process {process_id}"
    try:
        while True:
            try:
                rc = child.wait(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                pass
            try:
                pending += os.read(status_r, 65536)
            except BlockingIOError:
                pass
            *lines, pending = pending.split(b"\n")
            for line in lines:
                key, _, value = line.decode(errors="replace").partition(" ")
                if key in ("connecting", "connected", "training"):
                    status["phase"] = key
                elif key == "run_dir":
                    status["run_dir"] = value
            while signals:
                signum = signals.pop(0)
                if stop_at is None and status.get("phase") == "training":
                    child.send_signal(signum)
                    stop_at = time.monotonic() + STOP_GRACE_SECONDS
                else:  # nothing to save yet, or a second signal: stop at once
                    child.kill()
            if stop_at is not None and time.monotonic() > stop_at and child.poll() is None:
                child.kill()
                child.wait()
                print(
                    f"{prog}: error: {who} had not stopped {STOP_GRACE_SECONDS:.0f} s after the signal and was "
                    f"killed; {_resume_hint(prog, grid, status)}",
                    file=sys.stderr,
                )
                return EXIT_STOPPED
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        os.close(status_r)
    log_text = Path(log.name).read_text(errors="replace") if os.path.exists(log.name) else ""
    if rc >= 0:  # the worker said what happened itself (0, 1, 2, 3, 130)
        Path(log.name).unlink(missing_ok=True)
        return rc
    if rc == -signal.SIGKILL and (signals or stop_at is not None):
        print(f"{prog}: error: {who} was stopped at once; {_resume_hint(prog, grid, status)}", file=sys.stderr)
        return EXIT_STOPPED
    why, code = _diagnose(log_text, status, timeout)
    hint = "" if code == EXIT_USER_ERROR else f"; {_resume_hint(prog, grid, status)}"
    print(f"{prog}: error: {who}: {why}{hint} (JAX's log: {log.name})", file=sys.stderr)
    return code


def _resume_hint(prog: str, grid: str, status: dict[str, str]) -> str:
    run_dir = status.get("run_dir")
    if run_dir is None:
        return "nothing was checkpointed yet"
    return resume_hint(prog, grid, Path(run_dir), cluster=True)


def resume_hint(prog: str, grid: str, run_dir: Path, *, cluster: bool) -> str:
    """How to continue a stopped sweep, in words."""
    where = " on every process, with the same cluster flags" if cluster else ""
    return f"the last checkpoint is kept; continue with {prog} run {grid} --resume {run_dir}{where}"
