"""What the runs produce, gathered on the host: completed episodes and evaluations of every run so far, and
which runs diverged. The tables are made from these (``analysis.write_tables``); checkpoints store them as flat
arrays, each checkpoint only what came since the one before (``new_arrays``)."""

from __future__ import annotations

import numpy as np

from core import StepOutputs


class Records:
    """Completed episodes and evaluations of every run so far, as flat numpy arrays."""

    EP = ("run", "end_step", "episode_return", "episode_length")
    EV = ("run", "step", "eval_return")
    DTYPES = {"run": np.int64, "end_step": np.int64, "episode_return": np.float32, "episode_length": np.int32,
              "step": np.int64, "eval_return": np.float32}  # fmt: skip

    def __init__(self, n_runs: int):
        self.ep: dict[str, list[np.ndarray]] = {k: [] for k in self.EP}
        self.ev: dict[str, list[np.ndarray]] = {k: [] for k in self.EV}
        self.diverged = np.zeros(n_runs, bool)
        self._dv: list[np.ndarray] = []  # runs marked diverged, one array per wave
        self._saved = (0, 0, 0)  # how many of the ep, ev and dv arrays a checkpoint holds already

    def mark_diverged(self, runs: np.ndarray, flags: np.ndarray) -> None:
        """Records which of a finished wave's real ``runs`` diverged (``flags``, one per run)."""
        runs = np.asarray(runs, np.int64)[np.asarray(flags, bool)]
        self.diverged[runs] = True
        self._dv.append(runs)

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
        return {k: (np.concatenate(v) if v else np.zeros(0, Records.DTYPES[k])) for k, v in d.items()}

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
        """Every record as flat named arrays, as a checkpoint stores them (``from_arrays`` reads them back)."""
        return self._arrays((0, 0, 0))

    def new_arrays(self) -> dict[str, np.ndarray]:
        """The records added since the last call (or since ``from_arrays``), as ``to_arrays`` names them; from then
        on they count as saved."""
        out = self._arrays(self._saved)
        self._saved = (len(self.ep["run"]), len(self.ev["run"]), len(self._dv))
        return out

    def _arrays(self, start: tuple[int, int, int]) -> dict[str, np.ndarray]:
        ep = self._cat({k: v[start[0] :] for k, v in self.ep.items()})
        ev = self._cat({k: v[start[1] :] for k, v in self.ev.items()})
        out = {f"ep_{k}": v for k, v in ep.items()}
        out.update({f"ev_{k}": v for k, v in ev.items()})
        out["dv_run"] = np.concatenate(self._dv[start[2] :]) if self._dv[start[2] :] else np.zeros(0, np.int64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_runs: int) -> Records:
        """Records from ``to_arrays``' (or several ``new_arrays``' concatenated) arrays, all counted as saved."""
        rec = cls(n_runs)
        rec.ep = {k: [arrays[f"ep_{k}"]] for k in cls.EP}
        rec.ev = {k: [arrays[f"ev_{k}"]] for k in cls.EV}
        runs = np.asarray(arrays["dv_run"], np.int64)
        rec.mark_diverged(runs, np.ones(len(runs), bool))
        rec._saved = (1, 1, 1)
        return rec
