"""Reading one Parquet table of a run folder and checking its columns, shared by ``tables`` (the tables every
sweep writes) and ``schedules`` (those of successive halving and population-based training)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from common.errors import UserError


class RunDirError(UserError):
    """A path that is not a usable run folder: missing, not a sweep's output, unreadable or malformed."""


# What a required column must hold: integers and numbers (never booleans), or booleans.
KINDS = {
    "integer": pd.api.types.is_integer_dtype,
    "numeric": pd.api.types.is_numeric_dtype,
    "boolean": pd.api.types.is_bool_dtype,
}


def read_table(path: Path) -> tuple[pd.DataFrame, dict[bytes, bytes]]:
    """A Parquet file as a DataFrame and its schema metadata; ``RunDirError`` if it cannot be read."""
    try:
        table = pq.read_table(path)
        return table.to_pandas(), dict(table.schema.metadata or {})
    except (OSError, pa.ArrowException) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RunDirError(f"cannot read {str(path)!r}: {reason}") from None


def check_columns(path: Path, df: pd.DataFrame, required: Mapping[str, str]) -> None:
    """``RunDirError`` unless ``df`` has each ``required`` column, holding values of its kind (``KINDS``; an
    integer or numeric column must not hold booleans)."""
    for c, kind in required.items():
        if c not in df.columns:
            raise RunDirError(f"{str(path)!r} has no column {c!r}; it was not written by this package")
        is_bool = pd.api.types.is_bool_dtype(df[c].dtype)
        if not KINDS[kind](df[c].dtype) or (is_bool and kind != "boolean"):
            raise RunDirError(f"{str(path)!r} column {c!r} holds {df[c].dtype} values; it must hold {kind} values")
