"""What the runs produce, gathered on the host: completed episodes and evaluations of every run so far, and
which runs diverged. The tables are made from these (``analysis.write_tables``); checkpoints store them as flat
arrays."""

from __future__ import annotations

import numpy as np

from core import StepOutputs


class Records:
    """Completed episodes and evaluations of every run so far, as flat numpy arrays."""

    EP = ("run", "end_step", "episode_return", "episode_length")
    EV = ("run", "step", "eval_return")

    def __init__(self, n_runs: int):
        self.ep: dict[str, list[np.ndarray]] = {k: [] for k in self.EP}
        self.ev: dict[str, list[np.ndarray]] = {k: [] for k in self.EV}
        self.diverged = np.zeros(n_runs, bool)

    def add_chunk(self, outputs: StepOutputs, runs: np.ndarray, first_step: int) -> None:
        """Adds one chunk of a wave: ``outputs`` with [wave, n_steps] host leaves, ``runs`` the wave's [wave] run
        indices (-1 for padding, dropped), ``first_step`` the env steps done before the chunk."""
        keep = runs >= 0
        done = np.asarray(outputs.episode_done)[keep]
        r, t = np.nonzero(done)
        self.ep["run"].append(runs[keep][r].astype(np.int64))
        self.ep["end_step"].append((t + first_step + 1).astype(np.int64))
        self.ep["episode_return"].append(np.asarray(outputs.episode_return)[keep][r, t].astype(np.float32))
        self.ep["episode_length"].append(np.asarray(outputs.episode_length)[keep][r, t].astype(np.int32))
        ev = np.asarray(outputs.eval_done)[keep]
        r, t = np.nonzero(ev)
        self.ev["run"].append(runs[keep][r].astype(np.int64))
        self.ev["step"].append((t + first_step + 1).astype(np.int64))
        self.ev["eval_return"].append(np.asarray(outputs.eval_return)[keep][r, t].astype(np.float32))

    @staticmethod
    def _cat(d: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
        return {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in d.items()}

    def episodes(self) -> dict[str, np.ndarray]:
        """``run, end_step, episode_return, episode_length, episode`` (its number within its run), ordered by run
        and end step."""
        ep = self._cat(self.ep)
        order = np.lexsort((ep["end_step"], ep["run"]))
        ep = {k: v[order] for k, v in ep.items()}
        run = ep["run"].astype(np.int64)
        # Episode number within its run: position minus the run's first position.
        starts = np.searchsorted(run, run, side="left")
        ep["episode"] = (np.arange(len(run)) - starts).astype(np.int32)
        ep["run"] = run
        return ep

    def evals(self) -> dict[str, np.ndarray]:
        """``run, step, eval_return``, ordered by run and step."""
        ev = self._cat(self.ev)
        order = np.lexsort((ev["step"], ev["run"]))
        return {k: v[order] for k, v in ev.items()}

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat named arrays, as a checkpoint stores them (``from_arrays`` reads them back)."""
        out = {f"ep_{k}": v for k, v in self._cat(self.ep).items()}
        out.update({f"ev_{k}": v for k, v in self._cat(self.ev).items()})
        out["diverged"] = self.diverged
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_runs: int) -> Records:
        rec = cls(n_runs)
        rec.ep = {k: [arrays[f"ep_{k}"]] for k in cls.EP}
        rec.ev = {k: [arrays[f"ev_{k}"]] for k in cls.EV}
        rec.diverged = np.asarray(arrays["diverged"], bool)
        return rec
