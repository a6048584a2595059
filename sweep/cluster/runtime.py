"""The processes of a multi-host sweep: joining the cluster, agreeing on the sweep, stopping together, and
failing in one sentence.

JAX's multi-controller runtime (``jax.distributed``) does the distributed work; this module keeps its failure
modes from reaching the user as hangs and C++ stack traces:

* **Supervision** (``sweep.cluster.supervisor``). On the command line, a multi-process sweep runs as a worker child of a
  small supervising process that does not import JAX and turns the worker's native failures into one sentence.
* **Agreement.** Before anything is written or trained, every process states what it is about to do (the grid
  as resolved, its seeds and steps, the options, the code and versions, its devices); any difference is the
  same one sentence on every process, naming the first difference (``agree``).
* **Stopping together.** A signal does not interrupt a worker mid-chunk (the other processes would wait for it
  in a collective); it is noted, and after every chunk's checkpoint the processes share their notes, so they all
  stop after the same chunk (``stop_requested``).
* **Timeouts.** ``--cluster-timeout`` bounds both the wait for every process to join and how long a process may
  stop answering before the others give up (JAX's ``initialization_timeout`` and ``heartbeat_timeout_seconds``).
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from common.errors import UserError, option
from sweep.cluster.supervisor import report_status, resume_hint

DEFAULT_TIMEOUT_SECONDS = 60  # --cluster-timeout: joining the cluster, and a process that stops answering
_PROJECT_DIRS = ("common", "core", "sweep", "analysis")


class ClusterError(UserError):
    """The processes of a cluster cannot form it, disagree, or lost one of them; one sentence."""


# ---------------------------------------------------------------------------------------------------------
# Joining
# ---------------------------------------------------------------------------------------------------------
def check_coordinator(address: str) -> None:
    """ClusterError unless ``address`` is HOST:PORT with a host name that resolves and a port in 1..65535."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ClusterError(f"--coordinator must be HOST:PORT with a port in 1..65535, got {address!r}")
    try:
        socket.getaddrinfo(host.strip("[]"), int(port))
    except OSError:
        raise ClusterError(f"--coordinator host {host!r} cannot be resolved") from None


def initialize(coordinator: str | None, num_processes: int | None, process_id: int | None, timeout: int) -> None:
    """Joins the cluster with ``jax.distributed.initialize``; ``timeout`` seconds bound the wait for every
    process and a process's silence afterwards. ``coordinator`` None: JAX detects the cluster (e.g. SLURM)."""
    import jax

    if coordinator is not None:
        check_coordinator(coordinator)
    try:  # JAX's preemption notifier would take SIGTERM over from the worker's own handler
        jax.config.update("jax_enable_preemption_service", False)
    except (AttributeError, KeyError):
        pass
    report_status("connecting")
    try:
        jax.distributed.initialize(
            coordinator,
            num_processes,
            process_id,
            initialization_timeout=timeout,
            heartbeat_timeout_seconds=timeout,
            shutdown_timeout_seconds=timeout,
        )
    except (ValueError, RuntimeError) as err:  # no cluster detected, or one that refused us
        what = "found no cluster to join" if coordinator is None else f"could not join the cluster at {coordinator}"
        raise ClusterError(f"{what} ({' '.join(str(err).split())[:200]})") from None
    report_status("connected")


# ---------------------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------------------
def code_fingerprint() -> str:
    """A short hash of the project's Python sources, so that processes running other code are caught."""
    root = Path(__file__).resolve().parents[2]
    h = hashlib.sha256()
    for folder in _PROJECT_DIRS:
        for path in sorted((root / folder).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    return [(prefix, value)]


def first_difference(intents: list[dict[str, Any]]) -> str | None:
    """None when every process's intent equals process 0's; else one sentence naming the first difference."""
    ref = _flatten(intents[0])
    ref_map = dict(ref)
    for p, intent in enumerate(intents[1:], start=1):
        mine = dict(_flatten(intent))
        for key in [k for k, _ in ref] + [k for k in mine if k not in ref_map]:
            a, b = _shown(ref_map, key), _shown(mine, key)
            if a != b:
                return (
                    f"the processes disagree on what to run: {_label(key)} is {b} on process {p} but {a} on process "
                    "0; start every process with the same command, files and code"
                )
    return None


def _label(key: str) -> str:
    """A readable name for a path of the intent (``grid.config.gamma`` -> ``gamma``)."""
    head, _, rest = key.partition(".")
    if head == "grid" and rest.startswith("config."):
        return rest.removeprefix("config.")
    if head == "grid" and rest.startswith("axes."):
        return f"the axis {rest.removeprefix('axes.')}"
    if head == "grid" and rest.startswith("points."):
        _, i, field = rest.split(".", 2)
        return f"sample {i}'s {field}"
    if head == "grid" and rest.startswith("search."):
        return f"[search] {rest.removeprefix('search.')}"
    if head == "grid" and rest.startswith("space."):
        field, _, part = rest.removeprefix("space.").partition(".")
        return f"the space of {field} ({part})"
    if head == "grid":
        return {"name": "the grid", "seeds": "seeds"}.get(rest, rest)
    if head == "options":
        return option(rest)
    if head == "code":
        return "the project's code (a hash of its sources)"
    if head == "versions":
        return f"{rest}'s version"
    if head == "devices":
        return {"platform": "the platform", "kind": "the device kind", "local": "the local device count"}[rest]
    return key


def _shown(values: dict[str, Any], key: str) -> str:
    return json.dumps(values[key]) if key in values else "not set"


def agree(intent: dict[str, Any]) -> None:
    """Every process's JSON-able ``intent`` is gathered; ClusterError (the same sentence on every process) unless
    they are all equal. A no-op on one process."""
    import jax

    if jax.process_count() == 1:
        return
    intents = [json.loads(blob) for blob in allgather_bytes(json.dumps(intent, sort_keys=False).encode())]
    problem = first_difference(intents)
    if problem:
        raise ClusterError(problem)


def allgather_bytes(data: bytes) -> list[bytes]:
    """Every process's ``data``, in process order."""
    import numpy as np
    from jax.experimental import multihost_utils

    sizes = np.asarray(multihost_utils.process_allgather(np.int32(len(data)))).reshape(-1)
    buf = np.zeros(int(sizes.max()), np.uint8)
    buf[: len(data)] = np.frombuffer(data, np.uint8)
    rows = np.asarray(multihost_utils.process_allgather(buf)).reshape(len(sizes), -1)
    return [bytes(rows[p, : sizes[p]]) for p in range(len(sizes))]


# ---------------------------------------------------------------------------------------------------------
# Stopping together
# ---------------------------------------------------------------------------------------------------------
_stop_signal: str | None = None


def install_stop_handlers() -> None:
    """SIGINT and SIGTERM note a stop request instead of interrupting (the worker of a multi-process sweep)."""

    def note(signum, _frame):
        global _stop_signal
        if _stop_signal is None:
            _stop_signal = signal.Signals(signum).name
            print(f"\n{signal.Signals(signum).name}: stopping every process after the current chunk", file=sys.stderr)

    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)


def stop_requested() -> tuple[int, str] | None:
    """``(process, signal name)`` of the first process that was asked to stop, the same on every process, or None.
    A collective: every process calls it at the same point (after each chunk's checkpoint)."""
    import jax

    if jax.process_count() == 1:
        return None if _stop_signal is None else (0, _stop_signal)
    import numpy as np
    from jax.experimental import multihost_utils

    code = 0 if _stop_signal is None else int(getattr(signal, _stop_signal))
    codes = np.asarray(multihost_utils.process_allgather(np.int32(code))).reshape(-1)
    hit = np.flatnonzero(codes)
    if len(hit) == 0:
        return None
    return int(hit[0]), signal.Signals(int(codes[hit[0]])).name


class Stopped(Exception):
    """A sweep stopped before its end: by Ctrl-C or SIGTERM on one process, or, on several, after the chunk at which
    one of them was asked to stop (every process stops there)."""

    def __init__(self, why: str, run_dir: Path | None, checkpointed: bool):
        super().__init__(why)
        self.why, self.run_dir, self.checkpointed = why, run_dir, checkpointed

    def describe(self, prog: str, grid: str) -> str:
        if self.run_dir is None:
            return f"{self.why} before anything was kept; nothing was written"
        if not self.checkpointed:
            return (
                f"{self.why} before the first checkpoint; continue with {prog} run {grid} --resume {self.run_dir} "
                "(it trains from the start)"
            )
        return f"{self.why}; {resume_hint(prog, grid, self.run_dir, cluster=_in_cluster())}"


def _in_cluster() -> bool:
    import jax

    return jax.process_count() > 1


def lost_peer(err: BaseException) -> bool:
    """True for the error a collective raises when another process of the cluster is gone."""
    import jax

    return jax.process_count() > 1 and isinstance(err, jax.errors.JaxRuntimeError)


def describe_lost(err: BaseException, prog: str, grid: str) -> str:
    reason = " ".join(str(err).split())
    reason = re.sub(r"\[external/[^\]]*\] ?", "", reason)[:160]
    hint = "nothing was checkpointed yet" if _run_dir is None else resume_hint(prog, grid, _run_dir, cluster=True)
    return f"another process of the cluster stopped or became unreachable ({reason}); {hint}"


# ---------------------------------------------------------------------------------------------------------
# This process's run folder (for the messages of a stop, and for the supervisor)
# ---------------------------------------------------------------------------------------------------------
_run_dir: Path | None = None


_done_marker: str | None = None


def note_run_dir(run_dir: Path, done_marker: str | None = None) -> None:
    """The run folder this process trains in, for the messages of a stop (and for the supervisor's), and the
    name of the file that marks it finished."""
    global _run_dir, _done_marker
    _run_dir, _done_marker = Path(run_dir), done_marker
    report_status(f"run_dir {run_dir}")


def finished() -> bool:
    """True once this process's run folder (``note_run_dir``) holds its finished marker: the sweep has finished,
    and a signal can no longer stop anything."""
    return _run_dir is not None and _done_marker is not None and (_run_dir / _done_marker).is_file()
