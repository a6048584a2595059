"""Grid files: TOML in ``sweep/grids/NAME.toml`` (or any path), expanded to configs and grouped by static fields.

```toml
description = "learning rate x final exploration rate"
seeds = 8
[config]          # fixed values for this sweep; everything else keeps its default
total_steps = 50_000
[grid]            # the axes; the sweep is their Cartesian product
lr = [1e-4, 3e-4, 1e-3, 3e-3]
eps_end = [0.01, 0.05, 0.1, 0.2]
```

Any hyperparameter may be an axis; ``[variants]`` names agents that are not a product (``sweep.spec.variants``), and
``[space]`` samples one (``sweep.spec.space``). Traced ones (``core.HParams``) are vmapped inside one compiled program;
static ones (``core.StaticConfig``) split the sweep into groups, each compiled once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common.errors import option
from core import FIELDS, STATIC_FIELDS, TRACED_FIELDS, HParams, StaticConfig, envs, validate_hparams
from core.dqn import network_kind, rescale_bounds
from sweep.spec import space as spaces
from sweep.spec import variants as variant_spec
from sweep.spec.fields import (
    FLOAT32_MAX,
    FLOAT32_TINY,
    INT_LIMIT,
    GridError,
    check_key,
    coerce,
    defaults,
    integer,
    is_int,
    suggest,
)
from sweep.spec.search import Schedulers, Search, parse_search

GRIDS_DIR = Path(__file__).parent.parent / "grids"
TOP_LEVEL_KEYS = ("description", "seeds", "config", "grid", "variants", "search", "space")
# A description is copied into every table's metadata and the report: a few paragraphs at most.
MAX_DESCRIPTION = 4_000


@dataclasses.dataclass(frozen=True)
class Grid:
    """A parsed grid: fixed overrides, axes (name -> values, in file order) and the seed count. A sampled grid
    (``[space]``, see ``sweep.spec.space``) has no axes but its ``space``, its ``search`` settings and the ``points``
    drawn from them (one dict of sampled values per config, in draw order)."""

    name: str
    description: str
    seeds: int
    config: dict[str, Any]
    axes: dict[str, list[Any]]
    source: str  # the file's text, kept for the manifest
    # What the overrides changed beyond what they name, in words (the command line prints them); not part of
    # the grid's identity.
    notes: tuple[str, ...] = dataclasses.field(default=(), compare=False)
    space: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    search: Search = Search()
    points: tuple[dict[str, Any], ...] = ()
    # Named variants (``sweep.spec.variants``): name -> the fields it sets over ``config``, in file order.
    variants: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def axis_names(self) -> list[str]:
        """What varies between configs: the sampled fields, or ``variant`` (with named variants) and the grid's
        axes."""
        if self.space:
            return list(self.space)
        return [variant_spec.AXIS, *self.axes] if self.variants else list(self.axes)

    @property
    def n_configs(self) -> int:
        if self.space:
            return len(self.points)
        return max(len(self.variants), 1) * math.prod(len(v) for v in self.axes.values())

    @property
    def axis_values(self) -> dict[str, list[Any]]:
        """Each axis's values in order, the variant names included (a sampled grid's: none)."""
        return {variant_spec.AXIS: list(self.variants), **self.axes} if self.variants else dict(self.axes)

    def with_overrides(
        self,
        *,
        seeds: int | None = None,
        steps: int | None = None,
        fixed: Mapping[str, Any] | None = None,
        where: str = "the overrides",
    ) -> Grid:
        """The grid with ``seeds`` seeds, ``total_steps = steps`` and each ``fixed`` hyperparameter set to its
        value (coerced to the field's type; ``where`` names where the values came from in messages). A fixed
        value replaces an axis of that name.

        A run shortened by ``steps`` (or a fixed ``total_steps``) below its evaluation period is evaluated once, at
        its end: ``eval_every`` becomes that unless it is given in ``fixed`` or is an axis, and ``notes`` says so."""
        config, axes, notes = dict(self.config), dict(self.axes), list(self.notes)
        space, points = dict(self.space), [dict(p) for p in self.points]
        set_here = {*(fixed or {}), *(["total_steps"] if steps is not None else [])}
        variants = variant_spec.without(self.variants, set_here)  # a value fixed for the sweep holds for every variant
        if seeds is not None:
            _check_count("seeds", seeds)
        if steps is not None:
            _check_count("total_steps", steps)
            config["total_steps"] = steps
            axes.pop("total_steps", None)
        for key, value in {**({"total_steps": steps} if steps is not None else {}), **(fixed or {})}.items():
            check_key(key, where)
            config[key] = coerce(key, value, where)
            axes.pop(key, None)
            if key in space:  # a sampled field fixed: the other fields keep their draws
                space.pop(key)
                for point in points:
                    point.pop(key)
        varied = {*axes, *space, *(k for fields in variants.values() for k in fields)}
        eval_every = config.get("eval_every", FIELDS["eval_every"].default)
        given = "eval_every" in (fixed or {}) or "eval_every" in varied
        shortened = "total_steps" in (fixed or {}) or steps is not None  # by --set total_steps=N too
        # --set total_steps wins over --steps (it is applied last), and the note names the one that counted.
        short = config.get("total_steps")
        named = "total_steps =" if "total_steps" in (fixed or {}) else option("total_steps")
        if shortened and not given and isinstance(short, int) and eval_every > short:
            config["eval_every"] = short
            notes.append(
                f"eval_every ({eval_every:,}) exceeds {named} {short:,}: each run is evaluated once, "
                f"at its end (eval_every = {short:,})"
            )
        if self.space and self.search.scheduler is not None:
            self.search.scheduler.check_space(space, where, fixed=tuple(k for k in self.space if k not in space))
        grid = dataclasses.replace(
            self,
            seeds=seeds or self.seeds,
            config=config,
            axes=axes,
            notes=tuple(notes),
            space=space,
            points=tuple(points) if space else (),
            search=self.search if space else self.search.as_grid(),
            variants=variants,
        )
        grid.configs()  # validates the combination now
        return grid

    def to_record(self) -> dict[str, Any]:
        """The grid as a JSON-able record (``from_record`` reads it back)."""
        return {
            "grid": self.name,
            "description": self.description,
            "seeds": self.seeds,
            "config": self.config,
            "axes": self.axes,
            "source": self.source,
            "space": self.space,
            "search": self.search.record(),
            "points": list(self.points),
            **({"variants": self.variants} if self.variants else {}),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, schedulers: Schedulers) -> Grid:
        """The grid of a record written by ``to_record`` and stored as strict JSON (lists for tuples, "inf" for
        an infinite number); ``schedulers`` as for ``parse``."""

        def value(name: str, v: Any) -> Any:
            if FIELDS[name].kind == "float" and v in ("inf", "-inf"):
                v = float(v)
            return coerce(name, v, "the sweep record")

        space = {
            k: {**spec, "values": [value(k, x) for x in spec["values"]]} if spec["dist"] == "choice" else dict(spec)
            for k, spec in record.get("space", {}).items()
        }
        return cls(
            name=record["grid"],
            description=record["description"],
            seeds=record["seeds"],
            config={k: value(k, v) for k, v in record["config"].items()},
            axes={k: [value(k, x) for x in v] for k, v in record["axes"].items()},
            source=record["source"],
            space=space,
            search=_search_of(record.get("search", {"method": "grid"}), schedulers),
            points=tuple({k: value(k, v) for k, v in p.items()} for p in record.get("points", [])),
            variants={
                name: {k: value(k, v) for k, v in fields.items()} for name, fields in record.get("variants", {}).items()
            },
        )

    def fingerprint(self) -> str:
        """A short hash of everything that determines the sweep's results (for a sampled grid: the drawn values,
        not how they were drawn; for a scheduler, its settings)."""
        what = {"seeds": self.seeds, "config": self.config, "axes": self.axes}
        if self.space:
            what["points"] = list(self.points)
        if self.variants:  # names and what each sets (absent without them: earlier sweeps keep their hash)
            what["variants"] = [[name, fields] for name, fields in self.variants.items()]
        if self.search.scheduler is not None:  # its settings change which runs train how far, and how
            what["search"] = self.search.scheduler_record()
        blob = json.dumps(what, sort_keys=True, default=list)
        return hashlib.sha256(blob.encode()).hexdigest()[:8]

    def configs(self) -> list[dict[str, Any]]:
        """Every point of the grid, fully resolved (defaults included): the Cartesian product of the axes in
        order, or the sampled points in draw order."""
        names = self.axis_names
        if self.space:
            out = [{**defaults(), **self.config, **point} for point in self.points]
        elif self.variants:  # variant-major: each variant's fields, then the grid's axes, and its name
            out = [
                {
                    **defaults(),
                    **self.config,
                    **self.variants[v],
                    **dict(zip(self.axes, values, strict=True)),
                    variant_spec.AXIS: v,
                }
                for v in self.variants
                for values in itertools.product(*self.axes.values())
            ]
        else:
            out = [
                {**defaults(), **self.config, **dict(zip(names, values, strict=True))}
                for values in itertools.product(*(self.axes[n] for n in names))
            ]
        label = "sample" if self.space else "grid point"
        for i, cfg in enumerate(out):
            _validate_config(cfg, f"{label} {i} ({describe(cfg, names)})" if names else "the grid")
        if self.search.scheduler is not None:
            self.search.scheduler.check(out)
        return out

    def resolved(self) -> dict[str, Any]:
        """What ``python -m sweep show`` prints: the fixed values and the axes over the defaults."""
        fixed = {**defaults(), **self.config}
        for name in {*self.axis_names, *(k for fields in self.variants.values() for k in fields)}:
            fixed.pop(name, None)  # "variant" is not a field
        shown = {
            "name": self.name,
            "description": self.description,
            "seeds": self.seeds,
            "search": self.search.record(),
        }
        shown.update({"space": self.space, "samples": list(self.points)} if self.space else {"axes": self.axes})
        if self.variants:
            shown["variants"] = self.variants
        return {**shown, "fixed": fixed, "configs": self.n_configs, "runs": self.seeds * self.n_configs}


def describe(cfg: dict[str, Any], names) -> str:
    return ", ".join(f"{n}={cfg[n]}" for n in names)


def _check_count(name: str, value: Any) -> None:
    """An override given on the command line (``--seeds``, ``--steps``): a positive integer below 2**31."""
    if not is_int(value) or value < 1:
        raise GridError(f"{option(name)} must be a positive integer, got {value!r}")
    if value >= INT_LIMIT:
        raise GridError(f"{option(name)} must be an integer below 2**31 = {INT_LIMIT}, got {value!r}")


def _search_of(record: Mapping[str, Any], schedulers: Schedulers) -> Search:
    """The ``Search`` of a stored ``Search.record()``."""
    sampled = record.get("method", "grid") != "grid"
    return parse_search(dict(record), "the sweep record", sampled=sampled, schedulers=schedulers)


def split_config(cfg: dict[str, Any]) -> tuple[StaticConfig, HParams]:
    static = StaticConfig(**{k: cfg[k] for k in STATIC_FIELDS})
    return static, HParams(**{k: cfg[k] for k in TRACED_FIELDS})


def _validate_config(cfg: dict[str, Any], where: str) -> None:
    total, eval_every = cfg["total_steps"], cfg["eval_every"]
    if total > 0 and eval_every > 0 and eval_every > total:  # coerced integers; their signs are checked below
        raise GridError(
            f"eval_every ({eval_every}) must not exceed total_steps ({total}) in {where}; "
            "lower eval_every or raise total_steps"
        )
    try:
        static, hparams = split_config(cfg)
        validate_hparams(hparams)
        info = envs.describe(static.env, static.episode_limit)  # made or read
        network_kind(static.network, info.obs_shape)
        rescale_bounds(static.obs_rescale, static.env, info.obs_bounds)
    except ValueError as err:
        raise GridError(f"{err} in {where}") from None
    if static.learning_starts >= static.total_steps:
        raise GridError(
            f"learning_starts ({static.learning_starts}) must be below total_steps ({static.total_steps}) in "
            f"{where}, or the agent never learns"
        )
    for name in TRACED_FIELDS:  # in field order, so the first bad field named is always the same
        if FIELDS[name].kind == "float":
            _check_float32(name, cfg[name], where)


def _check_float32(name: str, value: float, where: str) -> None:
    """GridError unless ``value`` keeps its meaning in float32, the dtype the runs compute in."""
    if math.isfinite(value) and abs(value) > FLOAT32_MAX:
        raise GridError(f"{name} must be at most {FLOAT32_MAX:.3g} in magnitude (float32), got {value!r} in {where}")
    if value != 0 and abs(value) < FLOAT32_TINY:
        try:
            validate_hparams(HParams()._replace(**{name: 0.0}))
            allowed = f"0 or at least {FLOAT32_TINY:.3g}"
        except ValueError:
            allowed = f"at least {FLOAT32_TINY:.3g}"
        raise GridError(f"{name} must be {allowed} (float32 rounds smaller numbers), got {value!r} in {where}")


def find(name_or_path: str) -> Path:
    """A grid name from ``sweep/grids/`` or a path to a ``.toml`` file."""
    path = Path(name_or_path)
    is_name = (GRIDS_DIR / f"{name_or_path}.toml").is_file() and "/" not in name_or_path
    if path.suffix == ".toml" or "/" in name_or_path or (path.is_dir() and not is_name):
        if path.is_dir():
            raise GridError(f"grid file {name_or_path} is a folder; give a .toml file or a grid name")
        if not path.is_file():
            raise GridError(f"grid file {name_or_path} does not exist")
        return path
    candidate = GRIDS_DIR / f"{name_or_path}.toml"
    if not candidate.is_file():
        known = available()
        raise GridError(f"unknown grid '{name_or_path}'{suggest(name_or_path, known)}; known grids: {', '.join(known)}")
    return candidate


def available() -> list[str]:
    return sorted(p.stem for p in GRIDS_DIR.glob("*.toml"))


def load(name_or_path: str, *, schedulers: Schedulers) -> Grid:
    """Parses and validates a grid file; GridError (one sentence) on any problem."""
    path = find(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise GridError(f"{path}: not a TOML file (not UTF-8 text at byte {err.start})") from None
    except OSError as err:
        raise GridError(f"cannot read grid file {path}: {err.strerror or err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise GridError(f"{path}: TOML syntax error: {err}") from None
    return parse(data, name=path.stem, source=text, where=str(path), schedulers=schedulers)


def parse(
    data: dict[str, Any], *, name: str, source: str = "", where: str = "the grid", schedulers: Schedulers
) -> Grid:
    """A grid from a parsed TOML file; ``schedulers`` maps each scheduler name ``[search]`` may give to its
    settings class (``sweep.schedules.SCHEDULERS``: the spec imports no scheduler)."""
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            raise GridError(
                f"unknown top-level key '{key}' in {where}{suggest(key, TOP_LEVEL_KEYS)}; "
                f"allowed: {', '.join(TOP_LEVEL_KEYS)}"
            )
    description = data.get("description", "")
    if not isinstance(description, str):
        raise GridError(f"description in {where} must be a string")
    if len(description) > MAX_DESCRIPTION:
        raise GridError(
            f"description in {where} must be at most {MAX_DESCRIPTION:,} characters (it is copied into every "
            f"table), got {len(description):,}"
        )
    seeds = integer(data, "seeds", where, default=8)
    config, axes = {}, {}
    for table in ("config", "grid", "search", "space"):
        if not isinstance(data.get(table, {}), dict):
            raise GridError(f"[{table}] in {where} must be a table")
    if "grid" in data and "space" in data:
        raise GridError(
            f"{where} has both [grid] and [space]; a sweep is a Cartesian [grid] or a sampled [space] (fix other "
            "values in [config])"
        )
    for key, value in data.get("config", {}).items():
        check_key(key, f"[config] of {where}")
        config[key] = coerce(key, value, f"[config] of {where}")
    for key, values in data.get("grid", {}).items():
        check_key(key, f"[grid] of {where}")
        if not isinstance(values, list):
            raise GridError(f"axis {key} in [grid] of {where} must be a list of values, got {values!r}")
        if not values:
            raise GridError(f"axis {key} in [grid] of {where} is empty")
        if key in config:
            raise GridError(f"{key} is both fixed in [config] and an axis in [grid] of {where}")
        coerced = [coerce(key, v, f"[grid] of {where}") for v in values]
        if len(set(coerced)) != len(coerced):
            raise GridError(f"axis {key} in [grid] of {where} repeats a value")
        axes[key] = coerced
    sampled = "space" in data
    variants = {}
    if "variants" in data:
        if sampled:
            raise GridError(f"{where} has both [variants] and [space]; variants combine with [grid] axes only")
        variants = variant_spec.parse_variants(data["variants"], where, axes)
    search = parse_search(data.get("search", {}), where, sampled=sampled, schedulers=schedulers)
    space = spaces.parse_space(data["space"], where, config) if sampled else {}
    if search.scheduler is not None and sampled:
        search.scheduler.check_space(space, where)
    points = tuple(spaces.draw(space, search.method, search.samples, search.seed)) if sampled else ()
    grid = Grid(
        name=name,
        description=description,
        seeds=seeds,
        config=config,
        axes=axes,
        source=source,
        space=space,
        search=search,
        points=points,
        variants=variants,
    )
    if variants and search.scheduler is not None:
        raise GridError(
            f"{where} has [variants] and a scheduler in [search]; variants are trained side by side as a grid"
        )
    grid.configs()
    return grid
