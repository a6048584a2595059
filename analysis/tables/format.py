"""Numbers and values as people read them: in labels, tables, tick marks and the report's text."""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def format_value(v) -> str:
    """A hyperparameter value for a label: floats to 4 significant digits (``0.001``, ``1e-05``), on/off."""
    if isinstance(v, bool | np.bool_):
        return "on" if v else "off"
    if isinstance(v, float | np.floating):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return f"{float(v):.4g}"
    return str(v)


def manifest_number(value: Any) -> int | float | None:
    """A number read from a manifest: ints and floats as they are, ``"inf"`` / ``"-inf"`` (how strict JSON
    holds an infinite number, ``common.files.to_json``) as floats, ``None`` for anything else (booleans included)."""
    if isinstance(value, str) and value in ("inf", "-inf"):
        return float(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return None


def steps_formatter(x: float, _pos: Any = None) -> str:
    """A step count as a tick label: ``50k``, ``1.5M``."""
    if abs(x) >= 1e6:
        return f"{x / 1e6:g}M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:g}k"
    return f"{x:g}"
