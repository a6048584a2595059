"""The tables of the schedules that do not train every config to its end, read and checked against the runs.

**Successive halving** (``manifest["search"]["scheduler"] == "halving"``) writes ``rungs.parquet``: one row per
run and rung it reached, ``rung`` (0, 1, ...), ``step`` (the rung's env step), ``config``, ``seed``, ``score``
(the run's metric at the rung: its normalised AUC so far for ``metric = "auc"``, its last eval return for
``"final"``; NaN before any evaluation), ``iqm`` (its config's IQM over seeds, which ranked it) and ``kept``
(the config went on). A file with one row per config and rung (no ``seed`` and ``score``) is read too: the
runs' scores are then taken from their evaluations (``halving.rung_scores``). ``runs.parquet`` gains
``stopped_at``: the env step a config stopped at, or its ``total_steps``; ``manifest["halving"]`` holds
``rungs`` (their steps, then ``total_steps``), ``env_steps`` and ``full_grid_env_steps``.

**Population-based training** (``scheduler == "pbt"``) writes ``pbt.parquet``: one row per member, population
and interval, ``population`` (a seed of ``runs``), ``member`` (a config of ``runs``, which holds the member's
initial hyperparameters), ``interval`` (0, 1, ...), ``step`` (the interval's last env step), ``score`` (the
metric that ranked the member there), ``parent`` (the member whose state it continues from in the next
interval: itself if it was not replaced, -1 at the last interval) and one column per explored hyperparameter
(the value it trained with during the interval); ``manifest["pbt"]`` holds ``intervals`` (their last steps).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.tables.read import RunDirError, check_columns, read_table

RUNG_COLUMNS = {"rung": "integer", "step": "integer", "config": "integer", "kept": "boolean"}
RUN_SCORE_COLUMNS = {"seed": "integer", "score": "numeric"}  # per-run rows (the spec); absent in per-config ones
PBT_COLUMNS = {
    "population": "integer",
    "member": "integer",
    "interval": "integer",
    "step": "integer",
    "score": "numeric",
    "parent": "integer",
}
PBT_TABLE = "pbt.parquet"
RUNGS_TABLE = "rungs.parquet"


def scheduler(manifest: Mapping[str, Any]) -> str | None:
    """The manifest's ``search.scheduler`` (``"halving"``, ``"pbt"``), ``None`` for a sweep that trains every
    config to its end."""
    search = manifest.get("search")
    value = search.get("scheduler") if isinstance(search, Mapping) else None
    return value if isinstance(value, str) else None


def settings(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's ``search`` settings (``{}`` without them)."""
    search = manifest.get("search")
    return dict(search) if isinstance(search, Mapping) else {}


def _duplicate(path: Path, df: pd.DataFrame, keys: list[str]) -> None:
    dup = df.duplicated(keys)
    if dup.any():
        row = ", ".join(f"{k} {v}" for k, v in zip(keys, df.loc[dup, keys].iloc[0], strict=True))
        raise RunDirError(f"{str(path)!r} lists {row} more than once; each must appear once")


def _subset(path: Path, column: str, values: np.ndarray, allowed: np.ndarray, what: str) -> None:
    """``RunDirError`` unless every value is ``allowed``; ``what`` says what it should have been."""
    bad = np.setdiff1d(values, allowed)
    if bad.size:
        raise RunDirError(f"{str(path)!r} column {column!r} holds {bad[0]}, which is {what}")


def read_rungs(run_dir: Path, runs: pd.DataFrame) -> pd.DataFrame | None:
    """``rungs.parquet`` of a halving sweep, checked against ``runs``; ``None`` without the file.

    ``RunDirError`` (one sentence) for an unreadable file, a missing or mistyped column, a (rung, config[,
    seed]) listed twice, a config or run that ``runs`` lacks, or ``runs`` without an integer ``stopped_at``.
    """
    path = run_dir / RUNGS_TABLE
    if not path.is_file():
        return None
    df, _ = read_table(path)
    check_columns(path, df, RUNG_COLUMNS)
    per_run = "seed" in df.columns or "score" in df.columns
    if per_run:
        check_columns(path, df, RUN_SCORE_COLUMNS)
    check_columns(run_dir / "runs.parquet", runs, {"stopped_at": "integer"})
    _duplicate(path, df, ["rung", "config", "seed"] if per_run else ["rung", "config"])
    _subset(path, "config", df["config"].to_numpy(), runs["config"].to_numpy(), "no config of runs.parquet")
    if per_run:
        known = pd.MultiIndex.from_frame(runs[["config", "seed"]])
        missing = ~pd.MultiIndex.from_frame(df[["config", "seed"]]).isin(known)
        if missing.any():
            c, s = df.loc[missing, ["config", "seed"]].iloc[0]
            raise RunDirError(f"{str(path)!r} lists config {c}, seed {s}, which is no run of runs.parquet")
    return df


def read_pbt(run_dir: Path, runs: pd.DataFrame) -> pd.DataFrame | None:
    """``pbt.parquet`` of a population-based-training sweep, checked against ``runs``; ``None`` without it.

    ``RunDirError`` (one sentence) for an unreadable file, a missing or mistyped column, a (population, member,
    interval) listed twice, a population that is no seed of ``runs`` or a member that is no config, or a parent
    that is neither -1 nor a member.
    """
    path = run_dir / PBT_TABLE
    if not path.is_file():
        return None
    df, _ = read_table(path)
    check_columns(path, df, PBT_COLUMNS)
    _duplicate(path, df, ["population", "member", "interval"])
    _subset(path, "population", df["population"].to_numpy(), runs["seed"].to_numpy(), "no seed of runs.parquet")
    _subset(path, "member", df["member"].to_numpy(), runs["config"].to_numpy(), "no config of runs.parquet")
    members = np.append(df["member"].unique(), -1)
    _subset(path, "parent", df["parent"].to_numpy(), members, "neither a member nor -1 (the last interval)")
    return df
