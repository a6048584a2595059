"""Checkpoints: after each chunk, written atomically to ``<run-dir>/checkpoint/``: the records since the last
checkpoint as a new part (parts merge 16 at a time), the live wave's state, the parked runs' new files, then
``latest.json`` naming every file the checkpoint stands on, the schedule's position and the layout; files it no
longer names are removed after. A killed sweep loses at most its current chunk, and a resume must run on the
layout it records.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from common.errors import UserError, option
from common.files import atomic_write, atomic_write_text, make_dir, to_json
from sweep.store.parked import Parked
from sweep.store.records import Records

CHECKPOINT = "checkpoint"
LATEST = "latest.json"
FORMAT = 2  # latest.json's layout: records in parts, the state in a file of its own
MERGE = 16  # parts of one level merged into one of the next
# Fault injection for the resume tests: "N" or "N:SIGNAME" makes the process send SIGKILL (or the named signal)
# right after the N-th checkpoint of this invocation, so a kill lands at a known point: to itself, or, in a
# supervised worker of a multi-process sweep, to its supervisor (the process a user would signal).
FAULT_ENV = "SWEEP_FAULT_AFTER_CHECKPOINT"
_READ_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, zipfile.BadZipFile)


class CheckpointError(UserError):
    """A checkpoint that cannot be read, or that was cut into other waves than a resume would cut."""


_checkpoints_written = 0


def fault_hook(supervised: bool = False) -> None:
    """Called by every process after each checkpoint (see ``FAULT_ENV``)."""
    global _checkpoints_written
    _checkpoints_written += 1
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    count, _, name = spec.partition(":")
    if _checkpoints_written == int(count):
        os.kill(os.getppid() if supervised else os.getpid(), getattr(signal, name or "SIGKILL"))


def save(
    run_dir: Path,
    meta: dict[str, Any],
    records: Records,
    state_leaves: list[np.ndarray] | None,
    parked: Parked | None = None,
) -> None:
    """Writes the records added since the last checkpoint as a new part, merges parts (see ``MERGE``), writes the
    live wave's state (if any), then ``latest.json`` with ``meta`` (JSON-able: the schedule's position, the layout,
    timings, and ``seq``, the checkpoint's number within the sweep, which names its files) and the files it
    stands on; files it no longer names are removed after. A kill at any point leaves the previous
    ``latest.json`` and every file it names. What a checkpoint writes is proportional to the work since the
    last one (and, amortised over merges, to that times the number of merge levels). ``parked``: the parked runs,
    whose new files are written here and whose files (and the runs each holds) the checkpoint stands on too."""
    ckpt = make_dir(run_dir / CHECKPOINT)
    for stray in ckpt.glob(".*.tmp"):  # left by a process killed while writing
        stray.unlink(missing_ok=True)
    seq = int(meta["seq"])
    parts = _read_latest(ckpt)["records"] if (ckpt / LATEST).is_file() else []
    name = f"rec-0-{seq:06d}.npz"
    atomic_write(ckpt / name, lambda f: np.savez(f, **records.new_arrays()))
    parts = _merge(ckpt, [*parts, {"file": name, "level": 0}], seq)
    state = None
    if state_leaves is not None:
        state = f"state-{seq:06d}.npz"
        atomic_write(ckpt / state, lambda f: np.savez(f, **{f"state_{i:03d}": x for i, x in enumerate(state_leaves)}))
    held = {}
    if parked is not None:
        parked.flush()
        held = parked.record()
    meta = {**meta, "format": FORMAT, "records": parts, "state": state, "parked": held}
    atomic_write_text(ckpt / LATEST, to_json(meta))
    keep = {LATEST, state, *held, *(part["file"] for part in parts)}
    for old in ckpt.glob("*.npz"):
        if old.name not in keep:
            old.unlink(missing_ok=True)


def _merge(ckpt: Path, parts: list[dict[str, Any]], seq: int) -> list[dict[str, Any]]:
    """Parts with every run of ``MERGE`` parts of one level at the end merged into one part of the next level
    (a counter in base ``MERGE``: at most ``MERGE - 1`` parts per level, each record rewritten once per level)."""
    while len(parts) >= MERGE and len({p["level"] for p in parts[-MERGE:]}) == 1:
        level = parts[-1]["level"] + 1
        name = f"rec-{level}-{seq:06d}.npz"
        merged = _concat([_read_part(ckpt / p["file"]) for p in parts[-MERGE:]])
        atomic_write(ckpt / name, lambda f, merged=merged: np.savez(f, **merged))
        parts = [*parts[:-MERGE], {"file": name, "level": level}]
    return parts


def _read_part(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _read_latest(ckpt: Path) -> dict[str, Any]:
    meta = json.loads((ckpt / LATEST).read_text())
    if meta.get("format") != FORMAT:
        raise CheckpointError(
            f"the checkpoint in {ckpt} was written by an earlier version of the engine and cannot be resumed; remove "
            "that folder to train this sweep again from the start, or start a new run"
        )
    return meta


def load(run_dir: Path, n_runs: int) -> tuple[dict[str, Any], Records, list[np.ndarray] | None] | None:
    """``(meta, records, state leaves or None)`` from the last checkpoint, None when there is none, and a
    CheckpointError (one sentence) when it cannot be read."""
    ckpt = run_dir / CHECKPOINT
    if not (ckpt / LATEST).is_file():
        return None
    try:
        meta = _read_latest(ckpt)
        records = Records.from_arrays(_concat([_read_part(ckpt / p["file"]) for p in meta["records"]]), n_runs)
        leaves = None
        if meta["state"] is not None:
            state = _read_part(ckpt / meta["state"])
            leaves = [state[k] for k in sorted(state)]
    except _READ_ERRORS as err:
        raise CheckpointError(_damaged(ckpt, err)) from None
    return meta, records, leaves


def parked_states(run_dir: Path, record: dict[str, list[int]]) -> Parked:
    """The parked runs a checkpoint stands on (``save``'s ``parked``), or a CheckpointError (one sentence)."""
    ckpt = run_dir / CHECKPOINT
    try:
        return Parked(ckpt, record)
    except _READ_ERRORS as err:
        raise CheckpointError(_damaged(ckpt, err)) from None


def peek(run_dir: Path) -> None:
    """CheckpointError unless the last checkpoint's record and the files it names can be opened (a cheap check
    that reads the archives' indexes, not their arrays)."""
    ckpt = run_dir / CHECKPOINT
    try:
        meta = _read_latest(ckpt)
        for part in meta["records"]:
            with np.load(ckpt / part["file"]) as data:
                missing = [k for k in ("ep_run", "ev_run", "dv_run") if k not in data.files]
            if missing:
                raise KeyError(f"{part['file']} lacks {', '.join(missing)}")
        for name in [meta["state"], *meta["parked"]]:
            if name is not None:
                with np.load(ckpt / name):
                    pass
    except _READ_ERRORS as err:
        raise CheckpointError(_damaged(ckpt, err)) from None


def exists(run_dir: Path) -> bool:
    return (run_dir / CHECKPOINT / LATEST).is_file()


def _damaged(ckpt: Path, err: BaseException) -> str:
    reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return (
        f"the checkpoint in {ckpt} cannot be read ({type(err).__name__}: {reason}); remove that folder to train "
        "this sweep again from the start, or start a new run"
    )


def remove(run_dir: Path) -> None:
    """Removes the checkpoint folder: renamed aside first, so that a kill during the removal never leaves a
    ``latest.json`` without its file."""
    ckpt = run_dir / CHECKPOINT
    if ckpt.exists():
        os.replace(ckpt, run_dir / f".{CHECKPOINT}-removed-{os.getpid()}")
    clear_removed(run_dir)


def clear_removed(run_dir: Path, finished: bool = False) -> None:
    """Deletes the checkpoints ``remove`` set aside in ``run_dir`` (a kill during the deletion leaves one; the next
    sweep in the grid's folder, or a resume of the finished folder, clears it), and, in a ``finished`` folder,
    a checkpoint a kill left between the DONE marker and its removal."""
    if finished and (run_dir / CHECKPOINT).exists():
        try:
            os.replace(run_dir / CHECKPOINT, run_dir / f".{CHECKPOINT}-removed-{os.getpid()}")
        except FileNotFoundError:  # the sweep finishing there removed it first
            pass
    for old in run_dir.glob(f".{CHECKPOINT}-removed-*"):
        shutil.rmtree(old, ignore_errors=True)


def layout_error(meta: dict[str, Any], where: str, n_devices: int, runs_per_device: int | None) -> str | None:
    """None when a checkpoint's layout (``meta``: its device count and ``--runs-per-device``) is this invocation's;
    otherwise one sentence that says how to resume it. The waves of the groups it started were cut for that
    layout, and a run's bits depend on its wave's per-device shape."""
    then_devices, then_per_device = meta.get("n_devices"), meta.get("runs_per_device")
    if then_devices != n_devices:
        return (
            f"{where} was checkpointed on {then_devices} devices, but this machine gives {n_devices}; resume it on "
            f"{then_devices} devices (on a CPU host, {option('cpu_devices')} {then_devices})"
        )
    if then_per_device != runs_per_device:
        flag = option("runs_per_device")
        if then_per_device is None:
            return f"{where} was started without {flag}; resume it without {flag} too"
        return f"{where} was started with {flag} {then_per_device}; resume it with {flag} {then_per_device}"
    return None
