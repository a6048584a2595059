"""Parked runs: the states of runs that stand at a boundary (a rung of successive halving, an interval of
population-based training) and go on in a later stretch, kept on the host and in the run's checkpoint folder
until their next wave takes them.

Each parked wave (or each set of states PBT's exploit changed) is one ``.npz`` file: its runs' rows of every
batched state leaf, and the shared leaves once. Every process keeps them in memory; the next checkpoint writes
the new ones (``flush``, on process 0, before the ``latest.json`` that names them), so what a checkpoint adds is
proportional to the work since the last one. A file is dropped once none of its runs is parked there any more
(they went on, or stopped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.files import atomic_write, make_dir


class Parked:
    """Run -> its state's host leaves, backed by files in ``folder``."""

    def __init__(self, folder: Path, record: dict[str, list[int]] | None = None):
        """``record``: which runs each file holds the current state of (``record()``, as a checkpoint keeps it; a
        file may also hold older states of runs that were parked again since)."""
        self.folder = folder
        self._where: dict[int, tuple[str, int]] = {}  # run -> (file, row in that file)
        self._cache: dict[str, dict[str, np.ndarray]] = {}
        self._pending: list[str] = []  # parked since the last checkpoint, not written yet
        for name, runs in (record or {}).items():
            rows = {int(r): i for i, r in enumerate(self._load(name)["runs"].tolist())}
            for run in runs:
                self._where[int(run)] = (name, rows[int(run)])

    def _load(self, name: str) -> dict[str, np.ndarray]:
        if name not in self._cache:
            with np.load(self.folder / name) as data:
                self._cache[name] = {k: data[k] for k in data.files}
        return self._cache[name]

    def park(self, name: str, runs: list[int], leaves: list[np.ndarray], batched: list[bool]) -> None:
        """Keeps the states of ``runs`` (the first ``len(runs)`` rows of each batched leaf) as ``name``; the next
        ``flush`` writes it."""
        n = len(runs)
        arrays = {"runs": np.asarray(runs, np.int64)}
        for i, (leaf, b) in enumerate(zip(leaves, batched, strict=True)):
            arrays[f"leaf_{i:03d}"] = np.asarray(leaf)[:n] if b else np.asarray(leaf)
        self._cache[name] = arrays
        self._pending.append(name)
        for i, run in enumerate(runs):
            self._where[int(run)] = (name, i)

    def flush(self) -> None:
        """Writes the files parked since the last flush that still hold a parked run (process 0, in a checkpoint;
        WriteError naming the file if one cannot be written)."""
        live = set(self.files())
        for name in self._pending:
            if name in live:
                make_dir(self.folder)
                arrays = self._cache[name]
                atomic_write(self.folder / name, lambda f, arrays=arrays: np.savez(f, **arrays))
        self._pending = []

    def written(self) -> None:
        """Told by every process once a checkpoint has written the pending files."""
        self._pending = []
        self._drop_unused()  # a pending file no parked run is in any more (all taken back) leaves memory too

    def take(self, runs: np.ndarray, batched: list[bool]) -> list[np.ndarray]:
        """The leaves of a wave made of ``runs`` (padding given as a repeated real run): batched leaves stacked
        in that order, shared leaves as parked."""
        rows = [self._where[int(r)] for r in runs]
        n_leaves = len(batched)
        out = []
        for i in range(n_leaves):
            key = f"leaf_{i:03d}"
            if batched[i]:
                out.append(np.stack([self._load(name)[key][row] for name, row in rows]))
            else:
                out.append(self._load(rows[0][0])[key])
        return out

    def __contains__(self, run: int) -> bool:
        return int(run) in self._where

    def keep_only(self, runs: set[int]) -> None:
        """Forgets every parked run not in ``runs``."""
        for run in [r for r in self._where if r not in runs]:
            del self._where[run]
        self._drop_unused()

    def forget(self, runs) -> None:
        for run in runs:
            self._where.pop(int(run), None)
        self._drop_unused()

    def _drop_unused(self) -> None:
        live = set(self.files())
        for name in [n for n in self._cache if n not in live and n not in self._pending]:
            del self._cache[name]

    def files(self) -> list[str]:
        """The files some parked run is in (a checkpoint keeps these)."""
        return sorted({name for name, _ in self._where.values()})

    def record(self) -> dict[str, list[int]]:
        """Each file and the runs whose current state it holds (JSON-able; ``Parked(folder, record)`` reads it)."""
        out: dict[str, list[int]] = {}
        for run, (name, _) in sorted(self._where.items()):
            out.setdefault(name, []).append(run)
        return out
