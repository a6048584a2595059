"""The run folder, ``<out>/<grid>/<run-id>/``: made new or found for a resume, its sweep record
(``sweep.json``), the ``latest`` link and the ``DONE`` marker written last.

Process 0 alone checks and creates the folder (``sweep.compute.devices.on_lead``); every process then gets its answer,
so all raise the same error or all go on together.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from common.errors import UserError, option
from common.files import atomic_write_text, to_json
from sweep.spec.grid import Grid
from sweep.spec.search import Schedulers
from sweep.store import checkpoint

# Written last, after the tables, the report and the ``latest`` link: a folder is finished when it has one.
DONE = "DONE"
SWEEP_FILE = "sweep.json"
TABLE_FILES = ("runs.parquet", "episodes.parquet", "evals.parquet")

Status = Literal["finished", "checkpoint", "tables", "fresh"]


class RunFolderError(UserError):
    """A run folder that cannot be made, written, or resumed; one sentence."""


# A run id is a folder name: short enough for every file system (255 bytes, less room for the temporary names
# written inside it) and plain text, so that it prints, sorts and types as it looks.
MAX_RUN_ID = 200


def check_run_id(run_id: str) -> None:
    """RunFolderError unless ``run_id`` is a plain folder name of at most ``MAX_RUN_ID`` characters."""
    if (
        not run_id
        or run_id in (".", "..", "latest")
        or run_id.startswith(".")
        or any(c in run_id for c in "/\\")
        or not run_id.isprintable()
    ):
        raise RunFolderError(
            f"{option('run_id')} must be a plain folder name (printable, no '/', not starting with '.', not "
            f"'latest'), got {run_id!r}"
        )
    if len(run_id.encode()) > MAX_RUN_ID:
        raise RunFolderError(f"{option('run_id')} must be at most {MAX_RUN_ID} bytes long, got {len(run_id.encode())}")


def new_run_id(grid: Grid) -> str:
    """UTC time and the grid's fingerprint, e.g. ``20261123T101500Z-1a2b3c4d``."""
    return f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}-{grid.fingerprint()}"


def status(run_dir: Path) -> Status:
    """``finished`` (the DONE marker is there), ``checkpoint`` (interrupted after a checkpoint), ``tables``
    (interrupted while writing its results, with no checkpoint left: it is trained again) or ``fresh``
    (interrupted before its first checkpoint)."""
    if (run_dir / DONE).is_file():
        return "finished"
    if checkpoint.exists(run_dir):
        return "checkpoint"
    if any((run_dir / name).exists() for name in TABLE_FILES):
        return "tables"
    return "fresh"


def check_writable(folder: Path) -> None:
    """Makes ``folder`` (and its parents) and writes a probe file in it; RunFolderError if either fails."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise RunFolderError(f"cannot write to output folder {folder}: {err.strerror or err}") from None


# ---------------------------------------------------------------------------------------------------------
# A new run folder
# ---------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class NewFolder:
    """A new run folder, and what this invocation made on process 0, so that a failure before anything worth
    keeping was written can undo it."""

    run_dir: Path
    existed: bool  # run_dir was there (empty) before
    top: Path | None  # the highest of run_dir and its parents that did not exist before
    created: bool = False  # run_dir was made by this invocation
    wrote_info: bool = False
    kept: bool = False  # a checkpoint or the tables were written: the folder stays from then on

    @classmethod
    def check(cls, grid: Grid, out: Path, run_id: str | None) -> dict[str, Any]:
        """Process 0: the new folder's description (JSON-able, for ``from_check``), or RunFolderError. Creates at
        most the grid's output folder."""
        run_id = new_run_id(grid) if run_id is None else run_id
        check_run_id(run_id)
        grid_dir = Path(out) / grid.name
        run_dir = grid_dir / run_id
        if run_dir.exists() and not (run_dir.is_dir() and not any(run_dir.iterdir())):
            raise RunFolderError(
                f"run folder {run_dir} already exists; use {option('resume')} {run_dir} or another {option('run_id')}"
            )
        top = None
        for folder in (run_dir, *run_dir.parents):
            if folder.exists():
                break
            top = folder
        check_writable(grid_dir)
        for finished in grid_dir.glob(f"*/{DONE}"):  # removed checkpoints a kill left in finished folders
            checkpoint.clear_removed(finished.parent, finished=True)
        return {"run_dir": str(run_dir), "existed": run_dir.exists(), "top": None if top is None else str(top)}

    @classmethod
    def from_check(cls, found: dict[str, Any]) -> NewFolder:
        top = None if found["top"] is None else Path(found["top"])
        return cls(Path(found["run_dir"]), found["existed"], top)

    def create(self, grid: Grid, file_grid: Grid) -> None:
        """Process 0: makes the run folder (empty or new) and writes its sweep record."""
        try:
            self.run_dir.mkdir(exist_ok=self.existed)
        except FileExistsError:
            raise RunFolderError(f"run folder {self.run_dir} already exists; use another {option('run_id')}") from None
        except OSError as err:
            raise RunFolderError(f"cannot create run folder {self.run_dir}: {err.strerror or err}") from None
        self.created = not self.existed
        if any(self.run_dir.iterdir()):  # someone else began writing here since the check
            raise RunFolderError(f"run folder {self.run_dir} already exists; use another {option('run_id')}")
        self.wrote_info = True
        write_sweep_info(self.run_dir, grid, file_grid)

    def undo(self) -> None:
        """Removes what this invocation made, unless a checkpoint or the tables were written."""
        if self.kept:
            return
        if self.created:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self.wrote_info:
            (self.run_dir / SWEEP_FILE).unlink(missing_ok=True)
        if self.top is not None and self.top != self.run_dir:
            folder = self.run_dir.parent
            while True:  # the parents this invocation made, while they are empty
                try:
                    folder.rmdir()
                except OSError:
                    break
                if folder == self.top:
                    break
                folder = folder.parent


def write_sweep_info(run_dir: Path, grid: Grid, file_grid: Grid) -> None:
    """``sweep.json``: the grid as run (for a resume) and the fingerprints a resume must match."""
    info = {
        **grid.to_record(),
        "fingerprint": grid.fingerprint(),
        "grid_file_fingerprint": file_grid.fingerprint(),
    }
    atomic_write_text(run_dir / SWEEP_FILE, to_json(info, indent=1))


# ---------------------------------------------------------------------------------------------------------
# A folder to resume
# ---------------------------------------------------------------------------------------------------------
class ResumeFolder(NamedTuple):
    run_dir: Path  # resolved
    grid: Grid  # the grid as it was run (from sweep.json), with the grid file's current description
    status: Status
    description_changed: bool = False  # the grid file's description differs from the one the sweep started with


def check_resume(grid: Grid, given: Path, schedulers: Schedulers) -> dict[str, Any]:
    """Process 0: the folder to resume, its sweep record and status (JSON-able, for ``resume_from_check``), or
    RunFolderError. ``schedulers``: the known schedulers (``sweep.schedules.SCHEDULERS``), to read the record."""
    info_path = given / SWEEP_FILE
    if not info_path.is_file():
        raise RunFolderError(f"{given} is not a sweep run folder (no {SWEEP_FILE})")
    try:
        info = json.loads(info_path.read_text())
        stored = Grid.from_record(info, schedulers=schedulers)
        stored_fingerprints = (info["fingerprint"], info["grid_file_fingerprint"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise RunFolderError(f"{info_path} is damaged or not a sweep record; start a new run") from None
    if stored.name != grid.name:
        raise RunFolderError(f"{given} belongs to grid '{stored.name}', not '{grid.name}'")
    if stored.fingerprint() != stored_fingerprints[0]:
        raise RunFolderError(
            f"{given}/{SWEEP_FILE} does not match its own fingerprint: it is damaged, or was written by an earlier "
            "version of the engine that resumes no longer; start a new run"
        )
    if grid.fingerprint() not in stored_fingerprints:
        raise RunFolderError(
            f"{given} was started with other settings than these (the grid file or its overrides changed); "
            "resume without overrides, or start a new run"
        )
    found = status(given)
    if found == "finished":
        checkpoint.clear_removed(given, finished=True)
        raise RunFolderError(f"{given} has already finished; nothing to resume")
    if found == "checkpoint":
        checkpoint.peek(given)
    check_writable(given)
    # The description changes no result (it is not in the fingerprint): the grid file's current text is recorded,
    # so that the tables and the report the resumed sweep writes carry it.
    described = info.get("description") != grid.description
    if described:
        info["description"] = grid.description
        atomic_write_text(info_path, to_json(info, indent=1))
    return {"run_dir": str(given.resolve()), "info": info, "status": found, "description_changed": described}


def resume_from_check(found: dict[str, Any], schedulers: Schedulers) -> ResumeFolder:
    grid = Grid.from_record(found["info"], schedulers=schedulers)
    return ResumeFolder(Path(found["run_dir"]), grid, found["status"], found.get("description_changed", False))


# ---------------------------------------------------------------------------------------------------------
# The end of a sweep
# ---------------------------------------------------------------------------------------------------------
def update_latest(run_dir: Path) -> None:
    """Points ``<grid>/latest`` at ``run_dir``; a file system without symbolic links gets a warning, since the
    results are written by then."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest-{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(run_dir.name, tmp)
        os.replace(tmp, link)
    except OSError as err:
        print(f"warning: could not point {link} at {run_dir.name}: {err.strerror or err}", file=sys.stderr)


def mark_done(run_dir: Path) -> None:
    """Writes the DONE marker: the sweep finished and every result file is complete."""
    atomic_write_text(run_dir / DONE, f"finished {datetime.now(UTC).isoformat(timespec='seconds')}\n")
