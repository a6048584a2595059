"""Parquet tables of a sweep: the writer the engine calls and the checked loader.

A run folder holds ``episodes.parquet``, ``evals.parquet``, ``runs.parquet``, ``summary.parquet`` and
``manifest.json``; each Parquet file also carries the manifest (strict JSON, ``io.to_json``) in its schema
metadata under ``manifest``. Every file is replaced atomically (``io.atomic_write``), so a reader never sees
half a file and a crash leaves the old file or the new one.
"""

from __future__ import annotations

import json
import os
import reprlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.stats.point import Scale
from analysis.stats.summary import SUMMARY_FORMAT, summarise, summary_columns, task_scales
from analysis.tables import search as schedules
from analysis.tables.axes import AxisScale, axis_scales
from analysis.tables.format import manifest_number
from analysis.tables.read import RunDirError, check_columns, read_table
from common.files import atomic_write, atomic_write_text, to_json

EPISODE_COLUMNS = ("episode", "episode_return", "episode_length", "end_step")
EVAL_COLUMNS = ("step", "eval_return")
TABLES = ("episodes", "evals", "runs")


class RunTables(NamedTuple):
    """The tables of one sweep, as written by ``write_tables`` (see the module docstring)."""

    path: Path  # the run folder (symlinks resolved)
    episodes: pd.DataFrame  # one row per completed training episode
    evals: pd.DataFrame  # one row per greedy evaluation
    runs: pd.DataFrame  # one row per run (config x seed), with final_eval_return and episodes
    summary: pd.DataFrame  # one row per config: statistics over seeds with 95% CIs (see ``summarise``)
    manifest: dict[str, Any]  # what the engine recorded: grid, axes, versions, devices, timings
    axes: list[str]  # the swept hyperparameters, in grid order
    scales: dict[str, AxisScale] = {}  # {axis: how it was drawn} (``space.axis_scales``); every axis of a grid discrete
    rungs: pd.DataFrame | None = None  # successive halving: rows per run (or config) and rung (``schedules``)
    pbt: pd.DataFrame | None = None  # population-based training: rows per member, population and interval
    tasks: dict[str, Scale] = {}  # {env: its returns' Scale} from the manifest's ``tasks`` (``scales_of``)

    @property
    def envs(self) -> list[str]:
        """The environments of the sweep's runs, sorted (CartPole-v1 for a folder from before they were a field)."""
        return list(task_scales(self.runs, self.tasks))

    @property
    def scale(self) -> Scale:
        """The scale of the sweep's one environment (its first where it has several: see ``for_env``)."""
        return task_scales(self.runs, self.tasks)[self.envs[0]]

    def for_env(self, env: str) -> RunTables:
        """The tables of ``env``'s configs alone (a sweep with ``env`` as an axis gets a section per task)."""
        if "env" not in self.runs.columns:
            return self
        configs = self.runs.loc[self.runs["env"].astype(str) == env, "config"].unique()

        def keep(df: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if df is None else df[df["config"].isin(configs)].reset_index(drop=True)

        axes = [a for a in self.axes if a != "env"]
        scale = task_scales(self.runs, self.tasks)[env]
        frames = {k: keep(getattr(self, k)) for k in ("episodes", "evals", "runs", "summary")}
        return self._replace(**frames, axes=axes, tasks={env: scale}, rungs=None, pbt=None)


# ----------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------


def write_parquet(
    path: Path,
    df: pd.DataFrame,
    manifest: Mapping[str, Any] | str,
    *,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Writes ``df`` to ``path`` atomically, zstd-compressed, the manifest JSON in the schema metadata.

    ``manifest`` is a mapping or its JSON text; ``metadata`` adds further ``{key: text}`` schema metadata.
    """
    table = pa.Table.from_pandas(df, preserve_index=False)
    text = manifest if isinstance(manifest, str) else to_json(manifest)
    extra = {k.encode(): v.encode() for k, v in (metadata or {}).items()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"manifest": text.encode(), **extra})
    atomic_write(path, lambda f: pq.write_table(table, f, compression="zstd"))


def _compact_int(a: np.ndarray) -> np.ndarray:
    """Integers as int32 when every value fits, else int64."""
    a = np.asarray(a)
    if a.size and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
        return a.astype(np.int64)
    return a.astype(np.int32)


def _columns(name: str, arrays: Mapping[str, np.ndarray], required: Sequence[str]) -> dict[str, np.ndarray]:
    """The ``required`` arrays of ``arrays``; ValueError unless all are there, 1-D and of one length."""
    missing = [c for c in required if c not in arrays]
    if missing:
        raise ValueError(f"{name} is missing the arrays {', '.join(missing)}; it needs {', '.join(required)}")
    out = {c: np.asarray(arrays[c]) for c in required}
    lengths = {c: a.shape for c, a in out.items()}
    if len({s for s in lengths.values()}) != 1 or any(len(s) != 1 for s in lengths.values()):
        raise ValueError(f"{name} arrays must be 1-D and of equal length, got shapes {lengths}")
    return out


def _per_run(runs: pd.DataFrame, axes: Sequence[str], run: np.ndarray, name: str) -> dict[str, np.ndarray]:
    """``config, seed, <axes>`` columns of the rows of ``runs`` indexed by ``run``."""
    if run.size and (run.min() < 0 or run.max() >= len(runs)):
        bad = run[(run < 0) | (run >= len(runs))][0]
        raise ValueError(f"{name}['run'] holds run index {bad}, but runs has {len(runs)} rows")
    out = {
        "config": _compact_int(runs["config"].to_numpy()[run]),
        "seed": _compact_int(runs["seed"].to_numpy()[run]),
    }
    for a in axes:
        out[a] = runs[a].to_numpy()[run]
    return out


def _episodes_frame(runs: pd.DataFrame, axes: Sequence[str], ep: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """``episodes.parquet``'s rows: ``config, seed, <axes>, episode, episode_return, episode_length, end_step``."""
    return pd.DataFrame(
        {
            **_per_run(runs, axes, ep["run"].astype(np.int64), "episodes"),
            "episode": _compact_int(ep["episode"]),
            "episode_return": ep["episode_return"].astype(np.float32),
            "episode_length": _compact_int(ep["episode_length"]),
            "end_step": _compact_int(ep["end_step"]),
        }
    )


def _evals_frame(runs: pd.DataFrame, axes: Sequence[str], ev: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """``evals.parquet``'s rows: ``config, seed, <axes>, step, eval_return``."""
    return pd.DataFrame(
        {
            **_per_run(runs, axes, ev["run"].astype(np.int64), "evals"),
            "step": _compact_int(ev["step"]),
            "eval_return": ev["eval_return"].astype(np.float32),
        }
    )


def _final_returns(n_runs: int, ev: Mapping[str, np.ndarray]) -> np.ndarray:
    """``[n_runs]`` float32: each run's eval return at its largest step, NaN for a run without evaluation."""
    run = ev["run"].astype(np.int64)
    final = np.full(n_runs, np.nan, dtype=np.float32)
    if run.size:  # sort by (run, step) and keep each run's last row
        order = np.lexsort((ev["step"], run))
        last = order[np.r_[run[order][1:] != run[order][:-1], True]]
        final[run[last]] = ev["eval_return"][last]
    return final


def write_tables(
    run_dir: str | os.PathLike,
    *,
    runs: pd.DataFrame,
    axes: Sequence[str],
    episodes: Mapping[str, np.ndarray],
    evals: Mapping[str, np.ndarray],
    manifest: Mapping[str, Any],
) -> None:
    """Writes a sweep's ``episodes``, ``evals``, ``runs`` Parquet tables and ``manifest.json`` to ``run_dir``.

    Args:
      runs: one row per run (row i is run i): ``config``, ``seed``, each resolved hyperparameter,
        ``diverged``.
      axes: the swept hyperparameters (columns of ``runs``), in grid order; may be empty.
      episodes: equal-length 1-D arrays ``run, episode, episode_return, episode_length, end_step``, one
        entry per completed training episode.
      evals: equal-length 1-D arrays ``run, step, eval_return``, one entry per greedy evaluation.
      manifest: description of the sweep, stored as strict JSON (``io.to_json``: an infinite value becomes
        ``"inf"``) in ``manifest.json`` and in each file's schema metadata.

    Written: ``episodes.parquet`` (``config, seed, <axes>, episode, episode_return, episode_length,
    end_step``), ``evals.parquet`` (``config, seed, <axes>, step, eval_return``), ``runs.parquet`` (every
    column of ``runs`` with ``config, seed`` first, plus ``final_eval_return``: the return at the run's last
    evaluation, NaN if it has none, and ``episodes``: its count of completed episodes), ``manifest.json``.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunDirError(f"run folder {str(run_dir)!r} does not exist")
    axes = list(axes)
    missing = [c for c in ["config", "seed", *axes] if c not in runs.columns]
    if missing:
        raise ValueError(f"runs is missing the columns {', '.join(missing)}")
    text = to_json(manifest)
    n_runs = len(runs)
    ep = _columns("episodes", episodes, ("run", *EPISODE_COLUMNS))
    ev = _columns("evals", evals, ("run", *EVAL_COLUMNS))
    ep_df, ev_df = _episodes_frame(runs, axes, ep), _evals_frame(runs, axes, ev)

    runs_df = runs.reset_index(drop=True).copy()
    runs_df["final_eval_return"] = _final_returns(n_runs, ev)
    runs_df["episodes"] = _compact_int(np.bincount(ep["run"].astype(np.int64), minlength=n_runs)[:n_runs])
    runs_df = runs_df[["config", "seed", *[c for c in runs_df.columns if c not in ("config", "seed")]]]

    write_parquet(run_dir / "episodes.parquet", ep_df, text)
    write_parquet(run_dir / "evals.parquet", ev_df, text)
    write_parquet(run_dir / "runs.parquet", runs_df, text)
    atomic_write_text(run_dir / "manifest.json", to_json(manifest, indent=2) + "\n")


def write_summary(path: Path, summary: pd.DataFrame, manifest: Mapping[str, Any]) -> None:
    """Writes ``summarise``'s table to ``path`` (``summary.parquet``), marked with ``SUMMARY_FORMAT``."""
    write_parquet(path, summary, manifest, metadata={"summary_format": SUMMARY_FORMAT})


# ----------------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------------


def resolve_run_dir(run_dir: str | os.PathLike) -> Path:
    """The run folder, symlinks (``results/lr_eps/latest``) resolved; ``RunDirError`` if it is not one."""
    path = Path(run_dir)
    if not path.exists():
        raise RunDirError(f"run folder {str(path)!r} does not exist")
    if not path.is_dir():
        raise RunDirError(f"{str(path)!r} is not a folder")
    path = path.resolve()
    missing = [f"{t}.parquet" for t in TABLES if not (path / f"{t}.parquet").is_file()]
    if missing:
        raise RunDirError(f"{str(run_dir)!r} is not a sweep's run folder: it has no {', '.join(missing)}")
    return path


# Columns every reader relies on, per table, with the kind of values they must hold.
REQUIRED_COLUMNS: Mapping[str, Mapping[str, str]] = {
    "runs": {"config": "integer", "seed": "integer", "final_eval_return": "numeric"},
    "episodes": {
        "config": "integer",
        "seed": "integer",
        "episode": "integer",
        "episode_return": "numeric",
        "episode_length": "integer",
        "end_step": "integer",
    },
    "evals": {"config": "integer", "seed": "integer", "step": "integer", "eval_return": "numeric"},
}


def _embedded_manifest(meta: Mapping[bytes, bytes]) -> dict[str, Any] | None:
    """The manifest a table carries in its schema metadata, if it is a JSON object."""
    try:
        m = json.loads(meta[b"manifest"])
    except (KeyError, ValueError):
        return None
    return m if isinstance(m, dict) else None


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """``manifest.json`` of a run folder, or ``{}`` without one; ``RunDirError`` unless it is a JSON object.

    Infinite numbers stay as written (``"inf"``, ``"-inf"`` strings; older files' ``Infinity`` as floats).
    """
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        return {}
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise RunDirError(f"cannot read {str(path)!r}: {e}") from None
    except OSError as e:
        raise RunDirError(f"cannot read {str(path)!r}: {e.strerror or e}") from None
    if not isinstance(m, dict):
        kind = _JSON_KINDS.get(type(m), "null")
        raise RunDirError(f"{str(path)!r} holds {kind}; a manifest must be a JSON object")
    return m


def infer_axes(manifest: Mapping[str, Any], runs: pd.DataFrame, *, source: str = "the manifest") -> list[str]:
    """The swept hyperparameters: the manifest's ``axes``, each of which must name a column of ``runs``.

    ``RunDirError`` if ``axes`` is not a list of names, names a column ``runs`` lacks, or names a column of
    nested values (lists, dicts), which cannot label a config.
    """
    axes = manifest.get("axes")
    if axes is None:
        return []
    if not isinstance(axes, list) or not all(isinstance(a, str) for a in axes):
        raise RunDirError(f"{source} has 'axes' = {reprlib.repr(axes)}; it must be a list of column names of runs")
    for a in axes:
        if a not in runs.columns:
            raise RunDirError(f"{source} names the axis {a!r}, but runs.parquet has no column {a!r}")
        if runs[a].dtype == object and runs[a].map(lambda v: isinstance(v, list | dict | np.ndarray)).any():
            raise RunDirError(f"runs.parquet column {a!r} (an axis) holds lists; an axis needs one value per run")
    return axes


def check_scales(
    manifest: Mapping[str, Any], runs: pd.DataFrame, axes: Sequence[str], *, source: str = "the manifest"
) -> dict[str, AxisScale]:
    """``space.axis_scales`` of ``axes``, checked against ``runs``: a continuous axis's column must hold finite
    numbers (positive ones where log-scaled). ``RunDirError`` for a malformed space or a column that does not fit.
    """
    try:
        scales = axis_scales(manifest, axes)
    except ValueError as e:
        raise RunDirError(f"{source}: {e}") from None
    for a, s in scales.items():
        if not s.continuous:
            continue
        col = runs[a]
        numeric = pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)
        v = col.to_numpy(np.float64) if numeric else np.array([])
        if not numeric or not np.all(np.isfinite(v)) or (s.log and np.any(v <= 0)):
            kind = "positive finite numbers" if s.log else "finite numbers"
            raise RunDirError(
                f"{source} says the axis {a!r} is drawn continuously, but runs.parquet holds no {kind} there"
            )
    return scales


def _check_runs(path: Path, runs: pd.DataFrame) -> None:
    """``RunDirError`` for a runs table without rows or listing a (config, seed) twice."""
    if len(runs) == 0:
        raise RunDirError(f"{str(path)!r} holds no runs; there is nothing to analyse")
    dup = runs.duplicated(["config", "seed"])
    if dup.any():
        c, s = runs.loc[dup, ["config", "seed"]].iloc[0]
        raise RunDirError(f"{str(path)!r} lists config {c}, seed {s} more than once; each run must appear once")


def read_summary(path: Path, runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame | None:
    """``summary.parquet`` if it can be trusted for these ``runs``, else ``None`` (so the caller recomputes it).

    Trusted when it is readable, was written by ``write_summary`` with the current ``SUMMARY_FORMAT``, has
    every column of ``summary_columns(axes)`` (with ``stopped_at`` where ``runs`` has it) and one row per config
    of ``runs``.
    """
    if not path.is_file():
        return None
    try:
        df, meta = read_table(path)
    except RunDirError:
        return None
    if meta.get(b"summary_format") != SUMMARY_FORMAT.encode():
        return None
    if not set(summary_columns(axes, stopped="stopped_at" in runs.columns)) <= set(df.columns):
        return None
    configs = df["config"].to_numpy()
    if len(configs) != len(set(configs)) or set(configs) != set(runs["config"].to_numpy()):
        return None
    return df


def scales_of(manifest: Mapping[str, Any]) -> dict[str, Scale]:
    """``{env: Scale}`` from the manifest's ``tasks`` (what ``core.envs`` recorded of each environment); empty for
    a manifest from before environments were a field (its runs are CartPole-v1's). A malformed entry is left
    out (its environment's returns are then scaled as CartPole-v1's)."""
    out = {}
    tasks = manifest.get("tasks") if isinstance(manifest, Mapping) else None
    for name, facts in (tasks if isinstance(tasks, Mapping) else {}).items():
        if isinstance(facts, Mapping):
            values = [manifest_number(facts.get(k)) if facts.get(k) is not None else None
                      for k in ("low", "high", "solved", "random")]  # fmt: skip
            out[str(name)] = Scale(*values)
    return out


def load(run_dir: str | os.PathLike, *, summary: bool = True) -> RunTables:
    """Reads and checks a run folder's tables.

    ``summary.parquet`` is used when ``read_summary`` trusts it; otherwise (missing, unreadable, written by an
    older version, not matching the runs) the summary is computed from the tables (not written).

    Raises ``RunDirError`` (one sentence) for a missing folder, a folder that is not a run folder, an
    unreadable file, a manifest that is not a JSON object, whose axes are not columns of ``runs`` or whose
    ``space`` is malformed or does not fit the runs (``check_scales``), a table lacking a column this package
    needs, or no runs at all. A halving sweep's ``rungs.parquet`` and a population-based-training sweep's
    ``pbt.parquet`` are read where they exist and checked against the runs (``schedules``).
    """
    path = resolve_run_dir(run_dir)
    frames, embedded = {}, None
    for t in TABLES:
        file = path / f"{t}.parquet"
        frames[t], meta = read_table(file)
        check_columns(file, frames[t], REQUIRED_COLUMNS[t])
        embedded = embedded or _embedded_manifest(meta)
    runs = frames["runs"]
    _check_runs(path / "runs.parquet", runs)
    manifest = read_manifest(path)
    source = repr(str(path / "manifest.json"))
    if not manifest and embedded:
        manifest, source = embedded, "the manifest in runs.parquet"
    axes = infer_axes(manifest, runs, source=source)
    scales = check_scales(manifest, runs, axes, source=source)
    rungs, pbt = schedules.read_rungs(path, runs), schedules.read_pbt(path, runs)
    summ = None
    if summary:
        summ = read_summary(path / "summary.parquet", runs, axes)
        if summ is None:
            summ = summarise(runs, frames["evals"], axes, scales=scales_of(manifest))
    return RunTables(path, frames["episodes"], frames["evals"], runs, summ, manifest, axes, scales, rungs, pbt,
                     scales_of(manifest))  # fmt: skip
