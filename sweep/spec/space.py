"""Sampled search spaces: a grid file's ``[space]`` table, and the configs drawn from it.

```toml
[search]
method = "sobol"          # or "random"
samples = 64              # configs drawn
seed = 0                  # the sampler's seed (not the runs' seeds)
[space]
lr = { log_uniform = [1e-4, 1e-2] }
eps_end = { uniform = [0.0, 0.2] }
target_period = { log_uniform = [10, 1000], integer = true }
hidden_sizes = { choice = [[64, 64], [128, 128]] }   # a static field: its values form compiled groups
```

Draws are reproducible from ``seed``: scrambled Sobol points (``scipy.stats.qmc.Sobol``) or numpy's
``default_rng(seed)``, one dimension per field in ``[space]`` order, mapped to each field's distribution and snapped
to what the engine computes with (float32, int32), so that a sampled config is an ordinary config: a grid file
that lists the same values trains bitwise the same runs.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from core import FIELDS
from sweep.spec.fields import GridError, check_key, coerce, suggest

DISTRIBUTIONS = ("uniform", "log_uniform", "choice")
MAX_SAMPLES = 100_000  # configs a space may draw (the run limit a sweep needs --large beyond)


def parse_space(table: Any, where: str, fixed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``[space]`` checked, each field's spec normalised: ``{"dist": "uniform" | "log_uniform", "low", "high",
    "integer"}`` or ``{"dist": "choice", "values": [...]}``, values coerced to the field's type."""
    if not isinstance(table, dict) or not table:
        raise GridError(f"[space] in {where} must be a table of at least one field")
    space = {}
    for name, spec in table.items():
        here = f"[space] of {where}"
        check_key(name, here)
        if name in fixed:
            raise GridError(f"{name} is both fixed in [config] and sampled in [space] of {where}")
        space[name] = _spec(name, spec, here)
    return space


def _spec(name: str, spec: Any, where: str) -> dict[str, Any]:
    keys = ("integer", *DISTRIBUTIONS)
    if not isinstance(spec, dict):
        raise GridError(f"{name} in {where} must be a table such as {{ uniform = [0.0, 1.0] }}, got {spec!r}")
    for key in spec:
        if key not in keys:
            raise GridError(
                f"unknown distribution '{key}' for {name} in {where}{suggest(key, keys)}; allowed: "
                f"{', '.join(DISTRIBUTIONS)} (and integer = true)"
            )
    dists = [d for d in DISTRIBUTIONS if d in spec]
    if len(dists) != 1:
        raise GridError(f"{name} in {where} needs exactly one of {', '.join(DISTRIBUTIONS)}, got {sorted(spec)}")
    dist, args = dists[0], spec[dists[0]]
    kind = FIELDS[name].kind
    if dist == "choice":
        if "integer" in spec:
            raise GridError(f"integer in {where} applies to uniform and log_uniform, not to {name}'s choice")
        if not isinstance(args, list) or not args:
            raise GridError(f"{name}'s choice in {where} must be a non-empty list of values, got {args!r}")
        values = [coerce(name, v, where) for v in args]
        if len(set(values)) != len(values):
            raise GridError(f"{name}'s choice in {where} repeats a value")
        return {"dist": "choice", "values": values}
    if kind not in ("int", "float"):
        what = {"bool": "a true/false", "str": "a named", "ints": "a list-of-integers"}.get(kind, f"a {kind}")
        raise GridError(f"{name} in {where} is {what} field: give its values as {{ choice = [...] }}")
    integer = spec.get("integer", kind == "int")
    if not isinstance(integer, bool):
        raise GridError(f"integer for {name} in {where} must be true or false, got {integer!r}")
    if kind == "int" and not integer:
        raise GridError(f"{name} in {where} is an integer field: it cannot be drawn with integer = false")
    if not (isinstance(args, list) and len(args) == 2) or any(
        isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) for v in args
    ):
        raise GridError(f"{name}'s {dist} in {where} must be [low, high], two finite numbers, got {args!r}")
    low, high = float(args[0]), float(args[1])
    if not low < high:
        raise GridError(f"{name}'s {dist} in {where} needs low < high, got [{args[0]}, {args[1]}]")
    if dist == "log_uniform" and low <= 0:
        raise GridError(f"{name}'s log_uniform in {where} needs positive bounds, got [{args[0]}, {args[1]}]")
    if integer and math.ceil(low) > math.floor(high):
        raise GridError(f"{name}'s {dist} in {where} holds no integer: [{args[0]}, {args[1]}]")
    if integer and math.ceil(low) == math.floor(high):  # every draw the same value: configs that repeat
        raise GridError(
            f"{name}'s {dist} in {where} holds one integer only ({math.ceil(low)}) with integer = true, so every "
            f"draw would repeat it; fix {name} in [config] instead, or widen [{args[0]}, {args[1]}]"
        )
    for bound in (low, high):
        coerce(name, int(bound) if kind == "int" and bound.is_integer() else bound, where)  # range of the type
    # Every value between the bounds must be one the field allows (PBT perturbs within them): its rule holds at
    # both ends of what can be drawn (the rules are ranges).
    field = FIELDS[name]
    ends = (math.ceil(low), math.floor(high)) if integer else (low, high)
    ok = np.all(field.check(np.asarray(ends, np.float64))) if field.traced else all(field.check(int(e)) for e in ends)
    if not ok:
        raise GridError(f"{name}'s {dist} in {where} must lie within what {name} allows ({field.allowed}), got "
                        f"[{args[0]}, {args[1]}]")  # fmt: skip
    return {"dist": dist, "low": low, "high": high, "integer": integer}


def unit_draws(method: str, samples: int, dims: int, seed: int) -> np.ndarray:
    """[samples, dims] points in [0, 1): scrambled Sobol or uniform random, reproducible from ``seed``."""
    if method == "sobol":
        from scipy.stats import qmc

        with warnings.catch_warnings():  # Sobol's balance holds at powers of 2; other counts are still valid draws
            warnings.simplefilter("ignore", UserWarning)
            return qmc.Sobol(d=dims, scramble=True, seed=seed).random(samples)
    return np.random.default_rng(seed).random((samples, dims))


def draw(space: dict[str, dict[str, Any]], method: str, samples: int, seed: int) -> list[dict[str, Any]]:
    """``samples`` configs from ``space`` drawn by ``method`` ("sobol" or "random") from ``seed`` (field ->
    value, snapped to the engine's dtypes)."""
    names = list(space)
    units = unit_draws(method, samples, len(names), seed)
    return [{name: value_at(name, space[name], float(u)) for name, u in zip(names, row, strict=True)} for row in units]


def value_at(name: str, spec: dict[str, Any], u: float) -> Any:
    """The value of field ``name`` at the point ``u`` in [0, 1) of its distribution ``spec``, snapped."""
    if spec["dist"] == "choice":
        values = spec["values"]
        return values[min(int(u * len(values)), len(values) - 1)]
    low, high = spec["low"], spec["high"]
    if spec["dist"] == "log_uniform":
        x = math.exp(math.log(low) + u * (math.log(high) - math.log(low)))
    else:
        x = low + u * (high - low)
    if spec["integer"]:
        x = min(max(round(x), math.ceil(low)), math.floor(high))
        return int(x) if FIELDS[name].kind == "int" else float(x)
    return snap(x, low, high)


def snap(x: float, low: float, high: float) -> float:
    """``x`` as the float32 the engine computes with, nearest within ``[low, high]`` (float32 rounding may step
    over a bound)."""
    y = np.float32(min(max(x, low), high))
    if float(y) > high:  # compared as float64: numpy would compare a Python float to a float32 in float32
        y = np.nextafter(y, np.float32(-np.inf))
    if float(y) < low:
        y = np.nextafter(y, np.float32(np.inf))
    return float(y)
