"""Sampled search spaces: a grid file's ``[space]`` and ``[search]`` tables, and the configs drawn from them.

```toml
seeds = 4
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
from sweep.grid import GridError, _suggest, check_key, coerce
from sweep.stretches import METRICS

DISTRIBUTIONS = ("uniform", "log_uniform", "choice")
METHODS = ("grid", "sobol", "random")
SCHEDULERS = ("halving", "pbt")
SAMPLING_KEYS = ("method", "samples", "seed")
HALVING_KEYS = ("min_steps", "eta")
PBT_KEYS = ("population", "interval", "quantile", "perturb", "resample_probability", "copy_buffer")
SEARCH_KEYS = (*SAMPLING_KEYS, "scheduler", *HALVING_KEYS, "metric", *PBT_KEYS)
MAX_SAMPLES = 100_000  # configs a space may draw (the run limit a sweep needs --large beyond)


def parse_search(table: Any, where: str, *, sampled: bool) -> dict[str, Any]:
    """``[search]`` checked and completed: ``method`` ("grid" without ``[space]``, else "sobol" by default),
    ``samples`` and ``seed`` (0) for a sampled space."""
    if not isinstance(table, dict):
        raise GridError(f"[search] in {where} must be a table")
    for key in table:
        if key not in SEARCH_KEYS:
            raise GridError(
                f"unknown key '{key}' in [search] of {where}{_suggest(key, SEARCH_KEYS)}; allowed: "
                f"{', '.join(SEARCH_KEYS)}"
            )
    scheduling = _parse_scheduler(table, where)
    if scheduling.get("scheduler") == "pbt":
        if not sampled:
            raise GridError(
                f"scheduler 'pbt' in [search] of {where} explores a [space]: give its hyperparameters there"
            )
        given = table.get("samples", scheduling["population"])
        if given != scheduling["population"]:
            raise GridError(
                f"samples ({given!r}) in [search] of {where} must equal population ({scheduling['population']}): "
                "the members are the configs drawn"
            )
        table = {**table, "samples": scheduling["population"]}
    method = table.get("method", "sobol" if sampled else "grid")
    if method not in METHODS:
        raise GridError(f"method in [search] of {where} must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "grid":
        if sampled:
            raise GridError(
                f"method 'grid' in [search] of {where} takes [grid] axes, not a [space]; use sobol or random"
            )
        extra = [k for k in ("samples", "seed") if k in table]
        if extra:
            raise GridError(f"{extra[0]} in [search] of {where} applies to a sampled [space] only")
        return {"method": "grid", **scheduling}
    if not sampled:
        raise GridError(f"method {method!r} in [search] of {where} samples a [space], and the file has none")
    samples = table.get("samples")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples:
        raise GridError(f"samples in [search] of {where} must be a positive integer, got {samples!r}")
    if samples > MAX_SAMPLES:  # refused before drawing: a mistyped count would take minutes to draw and check
        raise GridError(f"samples in [search] of {where} must be at most {MAX_SAMPLES:,}, got {samples:,}")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise GridError(f"seed in [search] of {where} must be a non-negative integer, got {seed!r}")
    return {"method": method, "samples": samples, "seed": seed, **scheduling}


def _parse_scheduler(table: dict[str, Any], where: str) -> dict[str, Any]:
    """The scheduler's settings (none: every config trains to its end)."""
    scheduler = table.get("scheduler")
    for keys, name in ((HALVING_KEYS, "halving"), (PBT_KEYS, "pbt")):
        given = [k for k in keys if k in table]
        if given and scheduler != name:
            raise GridError(f'{given[0]} in [search] of {where} needs scheduler = "{name}"')
    if scheduler is None:
        if "metric" in table:
            raise GridError(f"metric in [search] of {where} needs a scheduler (halving or pbt)")
        return {}
    if scheduler not in SCHEDULERS:
        raise GridError(f"scheduler in [search] of {where} must be one of {', '.join(SCHEDULERS)}, got {scheduler!r}")
    metric = table.get("metric", "auc")
    if metric not in METRICS:
        raise GridError(f"metric in [search] of {where} must be one of {', '.join(METRICS)}, got {metric!r}")
    if scheduler == "pbt":
        return {"scheduler": "pbt", "metric": metric, **_parse_pbt(table, where)}
    min_steps, eta = table.get("min_steps"), table.get("eta", 3)
    if isinstance(min_steps, bool) or not isinstance(min_steps, int) or min_steps < 1:
        raise GridError(f"min_steps in [search] of {where} must be a positive integer, got {min_steps!r}")
    if isinstance(eta, bool) or not isinstance(eta, int) or eta < 2:
        raise GridError(f"eta in [search] of {where} must be an integer of at least 2, got {eta!r}")
    return {"scheduler": scheduler, "min_steps": min_steps, "eta": eta, "metric": metric}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _parse_pbt(table: dict[str, Any], where: str) -> dict[str, Any]:
    here = f"in [search] of {where}"
    population, interval = table.get("population"), table.get("interval")
    quantile, perturb = table.get("quantile", 0.25), table.get("perturb", [0.8, 1.25])
    resample, copy_buffer = table.get("resample_probability", 0.25), table.get("copy_buffer", True)
    if isinstance(population, bool) or not isinstance(population, int) or population < 2:
        raise GridError(f"population {here} must be an integer of at least 2 (members), got {population!r}")
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
        raise GridError(f"interval {here} must be a positive integer (env steps), got {interval!r}")
    if not _is_number(quantile) or not 0 < quantile <= 0.5:
        raise GridError(f"quantile {here} must be a number in (0, 0.5], got {quantile!r}")
    if population * quantile < 1:
        raise GridError(
            f"population ({population}) {here} must be at least 1 / quantile ({1 / quantile:g}), or no member is "
            "ever replaced"
        )
    if not (isinstance(perturb, list) and perturb and all(_is_number(f) and f > 0 for f in perturb)):
        raise GridError(f"perturb {here} must be a list of positive factors such as [0.8, 1.25], got {perturb!r}")
    if not _is_number(resample) or not 0 <= resample <= 1:
        raise GridError(f"resample_probability {here} must be a number in [0, 1], got {resample!r}")
    if not isinstance(copy_buffer, bool):
        raise GridError(f"copy_buffer {here} must be true or false, got {copy_buffer!r}")
    return {"population": population, "interval": interval, "quantile": float(quantile),
            "perturb": [float(f) for f in perturb], "resample_probability": float(resample),
            "copy_buffer": copy_buffer}  # fmt: skip


def check_schedule(search: dict[str, Any], configs: list[dict[str, Any]]) -> None:
    """GridError unless the scheduler fits the configs: successive halving and PBT need one ``total_steps`` for
    every config, above ``min_steps`` or ``interval``; PBT evaluates at each interval's end and explores traced
    hyperparameters only."""
    scheduler = search.get("scheduler")
    if scheduler is None:
        return
    what = {"halving": "successive halving", "pbt": "population-based training"}[scheduler]
    steps = sorted({c["total_steps"] for c in configs})
    if len(steps) > 1:
        raise GridError(f"{what} needs one total_steps for every config, got {', '.join(map(str, steps))}")
    every = sorted({c["eval_every"] for c in configs})
    if scheduler == "pbt":
        if search["interval"] >= steps[0]:
            raise GridError(f"interval ({search['interval']:,}) must be below total_steps ({steps[0]:,})")
        for what_, value in (("interval", search["interval"]), ("total_steps", steps[0])):
            if any(value % e for e in every):
                raise GridError(
                    f"{what_} ({value:,}) must be a multiple of eval_every ({every[0]:,}): members are ranked on "
                    "the evaluations of each interval, the last one too"
                )
        return
    if search["min_steps"] < every[-1]:
        raise GridError(
            f"min_steps ({search['min_steps']:,}) must be at least eval_every ({every[-1]:,}): configs are ranked on "
            "their evaluations at the first rung"
        )
    if search["min_steps"] >= steps[0]:
        raise GridError(
            f"min_steps ({search['min_steps']:,}) must be below total_steps ({steps[0]:,}): the first rung comes "
            "before the end"
        )


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
                f"unknown distribution '{key}' for {name} in {where}{_suggest(key, keys)}; allowed: "
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


def draw(space: dict[str, dict[str, Any]], search: dict[str, Any]) -> list[dict[str, Any]]:
    """``search["samples"]`` configs from ``space`` (field -> value, snapped to the engine's dtypes)."""
    names = list(space)
    units = unit_draws(search["method"], search["samples"], len(names), search["seed"])
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
