"""Checkpoints: after each chunk, the records so far and the live wave's state, written atomically to
``<run-dir>/checkpoint/`` (an ``.npz`` archive, then ``latest.json`` naming it), so a killed sweep loses at most
its current chunk. A checkpoint also records the waves it was cut into: a resume must cut the same ones.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import UserError, option
from analysis.io import atomic_write, atomic_write_text, to_json
from sweep.plan import wave_sizes_for
from sweep.records import Records

CHECKPOINT = "checkpoint"
LATEST = "latest.json"
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


def save(run_dir: Path, meta: dict[str, Any], records: Records, state_leaves: list[np.ndarray] | None) -> None:
    """Writes the records and (when a wave is live) its state's host leaves, then ``latest.json`` with ``meta``
    (JSON-able: the schedule's position, the wave layout, timings, and ``seq``, the checkpoint's number within
    the sweep, which names the archive); the previous archive is removed after. Numbers only grow, so the
    archive ``latest.json`` names is never overwritten."""
    ckpt = run_dir / CHECKPOINT
    ckpt.mkdir(exist_ok=True)
    for stray in ckpt.glob(".*.tmp"):  # left by a process killed while writing
        stray.unlink(missing_ok=True)
    name = f"ckpt-{meta['seq']:06d}.npz"
    arrays = records.to_arrays()
    if state_leaves is not None:
        arrays.update({f"state_{i:03d}": x for i, x in enumerate(state_leaves)})
    atomic_write(ckpt / name, lambda f: np.savez(f, **arrays))
    atomic_write_text(ckpt / LATEST, to_json({**meta, "file": name}))
    for old in ckpt.glob("ckpt-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)


def load(run_dir: Path, n_runs: int) -> tuple[dict[str, Any], Records, list[np.ndarray] | None] | None:
    """``(meta, records, state leaves or None)`` from the last checkpoint, None when there is none, and a
    CheckpointError (one sentence) when it cannot be read."""
    ckpt = run_dir / CHECKPOINT
    if not (ckpt / LATEST).is_file():
        return None
    try:
        meta = json.loads((ckpt / LATEST).read_text())
        with np.load(ckpt / meta["file"]) as data:
            arrays = {k: data[k] for k in data.files}
        records = Records.from_arrays(arrays, n_runs)
    except _READ_ERRORS as err:
        raise CheckpointError(_damaged(ckpt, err)) from None
    state_keys = sorted(k for k in arrays if k.startswith("state_"))
    return meta, records, ([arrays[k] for k in state_keys] if state_keys else None)


def peek(run_dir: Path) -> None:
    """CheckpointError unless the last checkpoint's record and the file it names can be opened (a cheap check
    that reads the archive's index, not its arrays)."""
    ckpt = run_dir / CHECKPOINT
    try:
        meta = json.loads((ckpt / LATEST).read_text())
        with np.load(ckpt / meta["file"]) as data:
            missing = [k for k in ("ep_run", "ev_run", "diverged") if k not in data.files]
        if missing:
            raise KeyError(f"{meta['file']} lacks {', '.join(missing)}")
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


def clear_removed(run_dir: Path) -> None:
    """Deletes the checkpoints ``remove`` set aside in ``run_dir`` (a kill during the deletion leaves one; the next
    sweep in the grid's folder, or a resume of the finished folder, clears it)."""
    for old in run_dir.glob(f".{CHECKPOINT}-removed-*"):
        shutil.rmtree(old, ignore_errors=True)


def _sizes_text(sizes: list[int]) -> str:
    """[8, 8, 8, 4] -> '3 x 8, 4'."""
    parts = []
    for size, same in itertools.groupby(sizes):
        count = len(list(same))
        parts.append(f"{count} x {size}" if count > 1 else str(size))
    return ", ".join(parts)


def layout_error(
    meta: dict[str, Any], where: str, wave_sizes: list[int], n_dev: int, group_runs: list[int], platform: str = "cpu"
) -> str | None:
    """None when a checkpoint's waves (``meta``) are the waves this sweep would cut now; otherwise one sentence
    that says how to resume it."""
    then = list(meta.get("wave_sizes") or [])
    if then == list(wave_sizes):
        return None
    k, m = meta.get("n_devices"), meta.get("runs_per_device")
    fix = None
    for per_device in sorted({t // n_dev for t in then if t % n_dev == 0}):  # a value that cuts the same waves here
        if wave_sizes_for(group_runs, n_dev, per_device, platform) == then:
            fix = f"{option('runs_per_device')} {per_device}"
            break
    if fix is None and k is not None and k != n_dev:
        fix = f"{k} devices" + (f" and {option('runs_per_device')} {m}" if m else "")
    return (
        f"{where} was checkpointed on {k} devices in waves of {_sizes_text(then)} runs, but {n_dev} devices here "
        f"cut waves of {_sizes_text(wave_sizes)}; "
        + (f"resume it with {fix}" if fix else "resume it on the machine it was started on, or start a new run")
    )
