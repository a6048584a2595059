"""Files and JSON, shared by the engine and the analysis.

* Every file is written whole: to a temporary file in the same folder, flushed to disk (``os.fsync``) and moved
  into place with ``os.replace``, so a reader never sees half a file and a crash leaves the old file or the new
  one (``atomic_write``).
* JSON is strict (RFC 8259), so that any reader (a browser's ``JSON.parse``, ``jq``) accepts it: tuples become
  lists, numpy scalars and arrays plain numbers and lists, paths strings, an infinite number the string
  ``"inf"`` or ``"-inf"`` (as TOML writes it, e.g. ``max_grad_norm``) and NaN ``null`` (``to_json``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from common.errors import UserError


class WriteError(UserError):
    """An output file or folder that cannot be written (e.g. a read-only results folder)."""


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp's files are private (0600)


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Calls ``write(f)`` on a temporary binary file next to ``path``, fsyncs it, then moves it onto ``path``.

    Raises ``WriteError`` (one sentence naming ``path``) when the folder or the file cannot be written; the
    file at ``path``, if any, is then left as it was, and no temporary file is left behind.
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
        if isinstance(e, OSError):
            raise WriteError(f"cannot write {str(path)!r}: {e.strerror or e}") from e
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""
    data = text.encode("utf-8")
    atomic_write(path, lambda f: f.write(data))


def make_dir(path: str | os.PathLike) -> Path:
    """Creates the folder ``path`` and its parents if needed; ``WriteError`` (one sentence) if it cannot."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise WriteError(f"cannot create the folder {str(path)!r}: {e.strerror or e}") from e
    return path


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (see the module docstring); TypeError for anything else."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "__array__"):  # e.g. a jax.Array
        return jsonable(np.asarray(value))
    raise TypeError(f"{value!r} of type {type(value).__name__} is not JSON-serialisable")


def to_json(value: Any, *, indent: int | None = None) -> str:
    """Strict JSON text of ``value`` (see ``jsonable``)."""
    return json.dumps(jsonable(value), indent=indent, allow_nan=False)
