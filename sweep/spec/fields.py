"""The values a grid file may give: which keys are hyperparameters, what type each must have, and the limits of
the dtypes the engine computes in. Every message is one sentence that names the key, where it was given and what
is allowed (``GridError``).

Which hyperparameters exist, their kinds, defaults and rules live in one table, ``core.FIELDS``; this module reads
it and adds only what a file's text needs (types coerced from TOML, close matches for a misspelt name).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from common.errors import UserError
from core import FIELDS

ALL_FIELDS = tuple(FIELDS)
# The engine computes in int32 and float32: integers must stay below 2**31, and traced numbers must neither
# overflow to inf nor round to zero (or lose their normal precision) when cast to float32.
INT_LIMIT = 2**31
FLOAT32_MAX = float(np.finfo(np.float32).max)
FLOAT32_TINY = float(np.finfo(np.float32).tiny)


class GridError(UserError):
    """A user-caused problem with a grid or its overrides; the message is one sentence."""


def defaults() -> dict[str, Any]:
    """Every hyperparameter's default, static and traced."""
    return {name: field.default for name, field in FIELDS.items()}


def suggest(name: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options`` to a misspelt ``name``, or ""."""
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_key(name: str, where: str) -> None:
    if name not in ALL_FIELDS:
        raise GridError(f"unknown hyperparameter '{name}' in {where}{suggest(name, ALL_FIELDS)}")


def is_int(value: Any) -> bool:
    """True for a Python integer that is not a bool (what TOML gives for ``4``, never for ``4.0`` or ``true``)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """True for a finite int or float that is not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def integer(
    table: Mapping[str, Any], key: str, where: str, *, default: Any = None, low: int = 1, what: str = ""
) -> int:
    """``table[key]`` (or ``default``) as an integer of at least ``low``, below 2**31; GridError naming ``key``,
    ``where`` and what is allowed (``what`` adds a word on its meaning, e.g. "(env steps)")."""
    value = table.get(key, default)
    allowed = {1: "a positive integer", 0: "a non-negative integer"}.get(low, f"an integer of at least {low}")
    if not is_int(value) or value < low:
        raise GridError(f"{key} in {where} must be {allowed}{f' {what}' if what else ''}, got {value!r}")
    if value >= INT_LIMIT:
        raise GridError(f"{key} in {where} must be an integer below 2**31 = {INT_LIMIT}, got {value!r}")
    return value


def coerce(name: str, value: Any, where: str) -> Any:
    """``value`` as the type of hyperparameter ``name``, or GridError naming both."""
    given = value

    def bad(expected: str) -> GridError:
        return GridError(f"{name} in {where} must be {expected}, got {given!r}")

    kind = FIELDS[name].kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind == "ints":
        if isinstance(value, str):  # "64x64" or "64,64"
            parts = value.replace("x", ",").split(",")
            try:
                value = [int(p) for p in parts]
            except ValueError:
                raise bad("a list of integers such as [64, 64]") from None
        if not isinstance(value, list | tuple) or not all(is_int(v) for v in value):
            raise bad("a list of integers such as [64, 64]")
        if any(abs(v) >= INT_LIMIT for v in value):
            raise bad(f"a list of integers below 2**31 = {INT_LIMIT}")
        return tuple(value)
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not is_int(value):
            raise bad("an integer")
        if abs(value) >= INT_LIMIT:
            raise bad(f"an integer below 2**31 = {INT_LIMIT}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad("a number")
    return float(value)
