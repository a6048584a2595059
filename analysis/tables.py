"""Parquet tables of a sweep: the writer the engine calls, the loader, and the per-config summary.

A run folder holds ``episodes.parquet``, ``evals.parquet``, ``runs.parquet``, ``summary.parquet`` and
``manifest.json``; each Parquet file also carries the manifest JSON in its schema metadata under ``manifest``.
Every file is written to a temporary file in the same folder, flushed to disk (``os.fsync``) and moved into
place with ``os.replace``, so a reader never sees half a file and a crash leaves the old file or the new one.
"""

from __future__ import annotations

import json
import os
import reprlib
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import stats

EPISODE_COLUMNS = ("episode", "episode_return", "episode_length", "end_step")
EVAL_COLUMNS = ("step", "eval_return")
TABLES = ("episodes", "evals", "runs")
N_BOOT = 2000  # bootstrap replicates for the summary's intervals
SEED = 0  # the summary's bootstrap seed: the same tables always give the same numbers
# Stored in summary.parquet's metadata; a summary with another value is recomputed, not trusted. Bump it when a
# column changes meaning.
SUMMARY_FORMAT = "2"  # 2: step-weighted AUC; frac_solved counts runs without evaluation


class RunDirError(ValueError):
    """A path that is not a usable run folder: missing, not a sweep's output, unreadable or malformed."""


class WriteError(OSError):
    """An output file or folder that cannot be written (e.g. a read-only results folder)."""


class RunTables(NamedTuple):
    """The tables of one sweep, as written by ``write_tables`` (see the module docstring)."""

    path: Path  # the run folder (symlinks resolved)
    episodes: pd.DataFrame  # one row per completed training episode
    evals: pd.DataFrame  # one row per greedy evaluation
    runs: pd.DataFrame  # one row per run (config x seed), with final_eval_return and episodes
    summary: pd.DataFrame  # one row per config: statistics over seeds with 95% CIs (see ``summarise``)
    manifest: dict[str, Any]  # what the engine recorded: grid, axes, versions, devices, timings
    axes: list[str]  # the swept hyperparameters, in grid order


# ----------------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------------


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"manifest value {o!r} of type {type(o).__name__} is not JSON-serialisable")


def manifest_json(manifest: Mapping[str, Any], *, indent: int | None = None) -> str:
    """The manifest as JSON; numpy scalars and arrays are converted, anything else unknown is an error."""
    return json.dumps(dict(manifest), indent=indent, default=_json_default, allow_nan=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp's files are private (0600)


def _atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Calls ``write(f)`` on a temporary binary file next to ``path``, fsyncs it, then moves it onto ``path``.

    Raises ``WriteError`` (one sentence naming ``path``) when the folder or the file cannot be written; the
    file at ``path``, if any, is then left as it was.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteError(f"cannot write {str(path)!r}: {e.strerror or e}") from e
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _FILE_MODE)
            write(f)
            f.flush()
            os.fsync(f.fileno())  # the data reaches the disk before the rename makes it visible
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(f"cannot write {str(path)!r}: {e.strerror or e}") from e
        raise


def make_dir(path: Path) -> Path:
    """Creates the folder ``path`` and its parents if needed; ``WriteError`` (one sentence) if it cannot."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"cannot create the folder {str(path)!r}: {e.strerror or e}") from e
    return path


def atomic_write_text(path: Path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    _atomic_write(Path(path), lambda f: f.write(data))


def write_parquet(
    path: Path,
    df: pd.DataFrame,
    manifest: Mapping[str, Any] | str,
    *,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Writes ``df`` to ``path`` atomically, zstd-compressed, the manifest JSON in the schema metadata.

    ``metadata`` adds further ``{key: text}`` entries to the schema metadata.
    """
    table = pa.Table.from_pandas(df, preserve_index=False)
    text = manifest if isinstance(manifest, str) else manifest_json(manifest)
    extra = {k.encode(): v.encode() for k, v in (metadata or {}).items()}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"manifest": text.encode(), **extra})
    _atomic_write(Path(path), lambda f: pq.write_table(table, f, compression="zstd"))


def _compact_int(a: np.ndarray) -> np.ndarray:
    """Integers as int32 when every value fits, else int64."""
    a = np.asarray(a)
    if a.size and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
        return a.astype(np.int64)
    return a.astype(np.int32)


def _columns(name: str, arrays: Mapping[str, np.ndarray], required: Sequence[str]) -> dict[str, np.ndarray]:
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
      manifest: JSON-serialisable description of the sweep, stored as ``manifest.json`` and in each file's
        schema metadata.

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
    text = manifest_json(manifest)
    n_runs = len(runs)

    ep = _columns("episodes", episodes, ("run", *EPISODE_COLUMNS))
    run = ep["run"].astype(np.int64)
    ep_df = pd.DataFrame(
        {
            **_per_run(runs, axes, run, "episodes"),
            "episode": _compact_int(ep["episode"]),
            "episode_return": ep["episode_return"].astype(np.float32),
            "episode_length": _compact_int(ep["episode_length"]),
            "end_step": _compact_int(ep["end_step"]),
        }
    )
    n_episodes = np.bincount(run, minlength=n_runs)[:n_runs]

    ev = _columns("evals", evals, ("run", *EVAL_COLUMNS))
    erun = ev["run"].astype(np.int64)
    ev_df = pd.DataFrame(
        {
            **_per_run(runs, axes, erun, "evals"),
            "step": _compact_int(ev["step"]),
            "eval_return": ev["eval_return"].astype(np.float32),
        }
    )
    # The return at each run's largest step: sort by (run, step) and keep each run's last row.
    final = np.full(n_runs, np.nan, dtype=np.float32)
    if erun.size:
        order = np.lexsort((ev["step"], erun))
        last = order[np.r_[erun[order][1:] != erun[order][:-1], True]]
        final[erun[last]] = ev["eval_return"][last]

    runs_df = runs.reset_index(drop=True).copy()
    runs_df["final_eval_return"] = final
    runs_df["episodes"] = _compact_int(n_episodes)
    runs_df = runs_df[["config", "seed", *[c for c in runs_df.columns if c not in ("config", "seed")]]]

    write_parquet(run_dir / "episodes.parquet", ep_df, text)
    write_parquet(run_dir / "evals.parquet", ev_df, text)
    write_parquet(run_dir / "runs.parquet", runs_df, text)
    atomic_write_text(run_dir / "manifest.json", manifest_json(manifest, indent=2) + "\n")


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
_KINDS = {"integer": pd.api.types.is_integer_dtype, "numeric": pd.api.types.is_numeric_dtype}


def _read_table(path: Path) -> tuple[pd.DataFrame, dict[bytes, bytes]]:
    """A Parquet file as a DataFrame and its schema metadata; ``RunDirError`` if it cannot be read."""
    try:
        table = pq.read_table(path)
        return table.to_pandas(), dict(table.schema.metadata or {})
    except (OSError, pa.ArrowException) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RunDirError(f"cannot read {str(path)!r}: {reason}") from None


def _embedded_manifest(meta: Mapping[bytes, bytes]) -> dict[str, Any] | None:
    """The manifest a table carries in its schema metadata, if it is a JSON object."""
    try:
        m = json.loads(meta[b"manifest"])
    except (KeyError, ValueError):
        return None
    return m if isinstance(m, dict) else None


def _check_columns(path: Path, df: pd.DataFrame, required: Mapping[str, str]) -> None:
    for c, kind in required.items():
        if c not in df.columns:
            raise RunDirError(f"{str(path)!r} has no column {c!r}; it was not written by this package")
        if not _KINDS[kind](df[c].dtype) or pd.api.types.is_bool_dtype(df[c].dtype):
            raise RunDirError(f"{str(path)!r} column {c!r} holds {df[c].dtype} values; it must hold {kind} values")


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def read_manifest(run_dir: Path) -> dict[str, Any]:
    """``manifest.json`` of a run folder, or ``{}`` without one; ``RunDirError`` unless it is a JSON object."""
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


def _check_runs(path: Path, runs: pd.DataFrame) -> None:
    if len(runs) == 0:
        raise RunDirError(f"{str(path)!r} holds no runs; there is nothing to analyse")
    dup = runs.duplicated(["config", "seed"])
    if dup.any():
        c, s = runs.loc[dup, ["config", "seed"]].iloc[0]
        raise RunDirError(f"{str(path)!r} lists config {c}, seed {s} more than once; each run must appear once")


def read_summary(path: Path, runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame | None:
    """``summary.parquet`` if it can be trusted for these ``runs``, else ``None`` (so the caller recomputes it).

    Trusted when it is readable, was written by ``write_summary`` with the current ``SUMMARY_FORMAT``, has
    every column of ``summary_columns(axes)`` and one row per config of ``runs``.
    """
    if not path.is_file():
        return None
    try:
        df, meta = _read_table(path)
    except RunDirError:
        return None
    if meta.get(b"summary_format") != SUMMARY_FORMAT.encode():
        return None
    if not set(summary_columns(axes)) <= set(df.columns):
        return None
    configs = df["config"].to_numpy()
    if len(configs) != len(set(configs)) or set(configs) != set(runs["config"].to_numpy()):
        return None
    return df


def load(run_dir: str | os.PathLike, *, summary: bool = True) -> RunTables:
    """Reads and checks a run folder's tables.

    ``summary.parquet`` is used when ``read_summary`` trusts it; otherwise (missing, unreadable, written by an
    older version, not matching the runs) the summary is computed from the tables (not written).

    Raises ``RunDirError`` (one sentence) for a missing folder, a folder that is not a run folder, an
    unreadable file, a manifest that is not a JSON object or whose axes are not columns of ``runs``, a table
    lacking a column this package needs, or no runs at all.
    """
    path = resolve_run_dir(run_dir)
    frames, embedded = {}, None
    for t in TABLES:
        file = path / f"{t}.parquet"
        frames[t], meta = _read_table(file)
        _check_columns(file, frames[t], REQUIRED_COLUMNS[t])
        embedded = embedded or _embedded_manifest(meta)
    runs = frames["runs"]
    _check_runs(path / "runs.parquet", runs)
    manifest = read_manifest(path)
    source = repr(str(path / "manifest.json"))
    if not manifest and embedded:
        manifest, source = embedded, "the manifest in runs.parquet"
    axes = infer_axes(manifest, runs, source=source)
    summ = None
    if summary:
        summ = read_summary(path / "summary.parquet", runs, axes)
        if summ is None:
            summ = summarise(runs, frames["evals"], axes)
    return RunTables(path, frames["episodes"], frames["evals"], runs, summ, manifest, axes)


# ----------------------------------------------------------------------------------------------------
# Summary
# ----------------------------------------------------------------------------------------------------


def config_table(runs: pd.DataFrame, axes: Sequence[str]) -> pd.DataFrame:
    """One row per config (sorted by config id): ``config``, its axes values and ``n_seeds``."""
    g = runs.groupby("config", sort=True)
    out = g[list(axes)].first() if axes else pd.DataFrame(index=g.size().index)
    out["n_seeds"] = g.size().astype(np.int32)
    return out.reset_index()


def seed_matrix(runs: pd.DataFrame, values: np.ndarray | str) -> tuple[np.ndarray, np.ndarray]:
    """Per-run values as ``[configs, max_seeds]`` (configs sorted, seeds increasing; NaN pads).

    Returns ``(matrix, configs)``. ``values`` is a column name of ``runs`` or a ``[runs]`` array in row order.
    """
    v = runs[values].to_numpy(np.float64) if isinstance(values, str) else np.asarray(values, np.float64)
    configs, ci = np.unique(runs["config"].to_numpy(), return_inverse=True)
    order = np.lexsort((runs["seed"].to_numpy(), ci))
    counts = np.bincount(ci, minlength=len(configs))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(len(order)) - starts[ci[order]]
    out = np.full((len(configs), counts.max() if len(counts) else 0), np.nan)
    out[ci[order], col] = v[order]
    return out, configs


def run_auc(runs: pd.DataFrame, evals: pd.DataFrame) -> np.ndarray:
    """Normalised area under each run's evaluation curve, in ``[0, 1]``. ``[runs]`` in the row order of ``runs``.

    A run's evaluations at steps ``s_1 < ... < s_k`` with returns ``r_1 .. r_k`` define a step function worth
    ``r_i`` over the training steps ``(s_(i-1), s_i]`` since the previous evaluation (``s_0 = 0``). The AUC is
    its area divided by that of a perfect agent (return 500) over the same span::

        AUC = sum_i (s_i - s_(i-1)) * r_i / (500 * s_k)

    so each evaluation weighs as many steps as it stands for, and uneven spacing counts correctly; with
    evaluations every ``eval_every`` steps from step ``eval_every`` on it is the mean eval return / 500. An
    evaluation at step 0 covers no training and gets no weight, unless it is the run's only one (then the AUC is
    its return / 500); several evaluations at one step count as their mean. NaN for a run with no evaluation.
    """
    key = runs.set_index(["config", "seed"]).index
    if len(evals) == 0:
        return np.full(len(runs), np.nan)
    per = evals.groupby(["config", "seed", "step"], sort=True)["eval_return"].mean().reset_index()
    run = [per["config"], per["seed"]]
    step = per["step"].astype(np.float64)
    weight = (step - step.groupby(run).shift(1, fill_value=0.0)).clip(lower=0.0)
    ret = per["eval_return"].astype(np.float64)
    area = (weight * ret).groupby(run).sum()
    span = weight.groupby(run).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = pd.Series(np.where(span > 0, area / span, ret.groupby(run).mean()), index=area.index)
    return auc.reindex(key).to_numpy(np.float64) / stats.MAX_RETURN


SUMMARY_STATISTICS = {"final": ("mean", "median", "iqm", "optimality_gap"), "auc": ("mean", "median", "iqm")}


def summary_columns(axes: Sequence[str]) -> list[str]:
    """The columns of ``summarise``'s table, in order."""
    cols = ["config", *axes, "n_seeds"]
    for prefix, names in SUMMARY_STATISTICS.items():
        for m in names:
            cols += [f"{prefix}_{m}", f"{prefix}_{m}_ci_low", f"{prefix}_{m}_ci_high"]
    return [*cols, "frac_solved", "n_diverged", "rank"]


def write_summary(path: Path, summary: pd.DataFrame, manifest: Mapping[str, Any]) -> None:
    """Writes ``summarise``'s table to ``path`` (``summary.parquet``), marked with ``SUMMARY_FORMAT``."""
    write_parquet(path, summary, manifest, metadata={"summary_format": SUMMARY_FORMAT})


def summarise(
    runs: pd.DataFrame,
    evals: pd.DataFrame,
    axes: Sequence[str],
    *,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    seed: int = SEED,
) -> pd.DataFrame:
    """One row per config: its axes, ``n_seeds`` and statistics over seeds with percentile bootstrap CIs.

    Columns, for ``m`` in ``mean, median, iqm`` (each with ``_ci_low`` / ``_ci_high``, 95% by default):
      ``final_m``: of ``final_eval_return`` (the greedy eval return at each run's last evaluation);
      ``final_optimality_gap``: mean shortfall below 475 (Agarwal et al., 2021), lower is better;
      ``auc_m``: of the normalised area under the eval curve (``run_auc``: step-weighted, in [0, 1]);
      ``frac_solved``: fraction of the config's ``n_seeds`` runs whose final eval return reached 475; a run
        with no evaluation counts as not solved (the return and AUC statistics leave it out);
      ``n_diverged``: runs flagged ``diverged``;
      ``rank``: 1 for the best config by ``final_iqm``, ties broken by ``final_mean``, then ``auc_iqm``.
    Intervals come from ``stats.stratified_bootstrap_cis`` with a fixed seed, so they are reproducible.
    """
    axes = list(axes)
    out = config_table(runs, axes)
    final, _ = seed_matrix(runs, "final_eval_return")
    auc, _ = seed_matrix(runs, run_auc(runs, evals))
    kw = dict(n_boot=n_boot, confidence=confidence, seed=seed)
    for prefix, mat in (("final", final), ("auc", auc)):
        cis = stats.stratified_bootstrap_cis(mat[..., None], SUMMARY_STATISTICS[prefix], **kw)
        for m, iv in cis.items():
            out[f"{prefix}_{m}"] = iv.point
            out[f"{prefix}_{m}_ci_low"] = iv.low
            out[f"{prefix}_{m}_ci_high"] = iv.high
    # NaN >= 475 is False: a run without a final evaluation is a run not solved, out of n_seeds.
    solved = (runs["final_eval_return"].to_numpy(np.float64) >= stats.SOLVED_RETURN).astype(np.float64)
    out["frac_solved"] = stats.mean(seed_matrix(runs, solved)[0])
    if "diverged" in runs.columns:
        div, _ = seed_matrix(runs, runs["diverged"].astype(np.float64).to_numpy())
        out["n_diverged"] = np.nansum(div, axis=1).astype(np.int32)
    else:
        out["n_diverged"] = np.zeros(len(out), np.int32)
    # The IQM often saturates at 500 for several configs: among those, the mean (which sees the failing seeds)
    # decides, then the area under the eval curve.
    key = np.lexsort(
        tuple(-np.nan_to_num(out[c].to_numpy(), nan=-np.inf) for c in ("auc_iqm", "final_mean", "final_iqm"))
    )
    rank = np.empty(len(out), np.int32)
    rank[key] = np.arange(1, len(out) + 1)
    out["rank"] = rank
    return out
