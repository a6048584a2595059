"""The search space a sampled sweep records in its manifest: which axes are continuous, which log-scaled.

A sampled sweep's manifest holds ``"space": {field: spec}``, one spec per sampled field, each one of
``{"dist": "uniform", "low": a, "high": b, "integer": bool}``, ``{"dist": "log_uniform", "low": a, "high": b,
"integer": bool}`` or ``{"dist": "choice", "values": [...]}``, and ``"search": {"method": "sobol" | "random",
"samples": n, "seed": s}``. An axis drawn from a uniform or log-uniform distribution is *continuous* (integer
draws too): its configs each have their own value, so its figures draw each config as a point rather than
pooling configs per value. A ``choice`` axis, and every axis of a grid (no ``space``, or an empty one), is
*discrete*. Nothing here reads a table; ``tables.load`` checks the space against the runs.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

DISTS = ("uniform", "log_uniform", "choice")


class AxisScale(NamedTuple):
    """How an axis of a sweep was drawn, as far as its figures care."""

    continuous: bool  # drawn from a uniform or log-uniform distribution (integer draws included)
    log: bool  # drawn log-uniformly: a log axis, and the trend is fitted in log10 of the value
    low: float  # the space's bounds for a continuous axis; NaN for a discrete one
    high: float
    integer: bool  # integer draws


DISCRETE = AxisScale(False, False, math.nan, math.nan, False)


def _bound(field: str, spec: Mapping[str, Any], key: str) -> float:
    v = spec.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValueError(f"the space of {field!r} has {key} = {v!r}; it must be a finite number")
    return float(v)


def _scale(field: str, spec: Any) -> AxisScale:
    """The ``AxisScale`` of one spec; ``ValueError`` naming ``field`` for a malformed one."""
    if not isinstance(spec, Mapping) or spec.get("dist") not in DISTS:
        dist = spec.get("dist") if isinstance(spec, Mapping) else spec
        raise ValueError(f"the space of {field!r} has dist {dist!r}; it must be one of {', '.join(DISTS)}")
    if spec["dist"] == "choice":
        return DISCRETE
    low, high = _bound(field, spec, "low"), _bound(field, spec, "high")
    log = spec["dist"] == "log_uniform"
    if not low <= high or (log and low <= 0):
        need = "0 < low <= high" if log else "low <= high"
        raise ValueError(f"the space of {field!r} has low {low:g} and high {high:g}; {spec['dist']} needs {need}")
    return AxisScale(True, log, low, high, bool(spec.get("integer", False)))


def axis_scales(manifest: Mapping[str, Any], axes: Sequence[str]) -> dict[str, AxisScale]:
    """``{axis: AxisScale}`` for each of ``axes``: as the manifest's ``space`` says, ``DISCRETE`` where it says
    nothing (a grid axis). ``ValueError`` (one sentence) for a ``space`` that is not an object or a spec of an
    axis that is malformed (unknown dist, bounds that are not finite numbers, reversed or, for a log-uniform
    draw, not positive). Specs of fields that are not axes are not read."""
    space = manifest.get("space")
    if space is None:
        space = {}
    if not isinstance(space, Mapping):
        raise ValueError(f"'space' = {reprlib.repr(space)}; it must be an object of {{field: spec}}")
    return {a: _scale(a, space[a]) if a in space else DISCRETE for a in axes}


def continuous(scales: Mapping[str, AxisScale]) -> list[str]:
    """The continuous axes of ``scales``, in its order."""
    return [a for a, s in scales.items() if s.continuous]


def discrete(scales: Mapping[str, AxisScale]) -> list[str]:
    """The discrete axes of ``scales`` (grid and choice axes), in its order."""
    return [a for a, s in scales.items() if not s.continuous]


def describe(manifest: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(search, space)`` as text for the report's sweep table: ``"sobol, 64 samples (sampler seed 0)"`` and
    ``"lr log-uniform [0.0001, 0.01]; eps_end uniform [0, 0.2]; hidden_sizes one of 64x64, 128x128"``; ``None``
    for what the manifest does not hold or holds malformed, and for a grid (``"method": "grid"``, no space)."""
    search, space = manifest.get("search"), manifest.get("space")
    s = None
    if isinstance(search, Mapping) and search.get("method") not in (None, "grid"):
        s = str(search["method"])
        if isinstance(search.get("samples"), int):
            s += f", {search['samples']:,} samples"
        if isinstance(search.get("seed"), int):
            s += f" (sampler seed {search['seed']})"
    parts = []
    for field, spec in (space or {}).items() if isinstance(space, Mapping) else ():
        if not isinstance(spec, Mapping):
            continue
        if spec.get("dist") == "choice" and isinstance(spec.get("values"), list):
            values = ", ".join("x".join(map(str, v)) if isinstance(v, list) else str(v) for v in spec["values"])
            parts.append(f"{field} one of {values}")
        elif spec.get("dist") in ("uniform", "log_uniform"):
            integer = " integer" if spec.get("integer") else ""
            dist = spec["dist"].replace("_", "-")
            parts.append(f"{field}{integer} {dist} [{spec.get('low')!s}, {spec.get('high')!s}]")
    return s, "; ".join(parts) or None
