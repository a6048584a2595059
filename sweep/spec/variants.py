"""Named variants: an axis whose values are names, each standing for a set of hyperparameters.

A grid's configs are a Cartesian product; an ablation study is not (DQN plus each of six parts, Rainbow minus each
one). ``[variants]`` lists such agents by name, each with the fields it sets over ``[config]``; a variant may start
from an earlier one with ``base = "NAME"`` and change only what differs::

    [config]                      # shared by every variant
    total_steps = 30_000
    [variants.DQN]                # an empty table: [config] as it is
    [variants."DQN + PER"]
    per = true
    [variants.Rainbow]
    distributional = true
    noisy = true
    [variants."Rainbow - noisy"]
    base = "Rainbow"
    noisy = false

The variants form the sweep's first axis, ``variant`` (a column of ``runs.parquet``), in file order; any ``[grid]``
axes multiply it. The first variant is the baseline the report compares the others with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sweep.spec.fields import GridError, check_key, coerce

AXIS = "variant"  # the axis's name, and the runs table's column
BASE = "base"  # the key by which a variant starts from an earlier one
MAX_NAME = 100  # characters: a name labels every figure's legend and table's row


def parse_variants(table: Any, where: str, axes: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``{name: {field: value}}`` from a grid file's ``[variants]`` table, in file order, each variant's ``base``
    resolved (so each holds every field it sets); GridError (one sentence) for anything malformed."""
    if not isinstance(table, dict):
        raise GridError(f"[variants] in {where} must be a table of named tables")
    if not table:
        raise GridError(f"[variants] in {where} is empty; name at least one variant or leave the table out")
    out: dict[str, dict[str, Any]] = {}
    for name, fields in table.items():
        check_name(name, where)
        at = f"[variants.{name!r}] of {where}" if not name.isidentifier() else f"[variants.{name}] of {where}"
        if not isinstance(fields, dict):
            raise GridError(f"variant {name!r} in {where} must be a table of hyperparameters, got {fields!r}")
        resolved: dict[str, Any] = {}
        if BASE in fields:
            base = fields[BASE]
            if not isinstance(base, str) or base not in out:
                earlier = ", ".join(repr(n) for n in out) or "none"
                raise GridError(
                    f"base in {at} must name an earlier variant, got {base!r} (earlier variants: {earlier})"
                )
            resolved.update(out[base])
        for key, value in fields.items():
            if key == BASE:
                continue
            check_key(key, at)
            if key in axes:
                raise GridError(f"{key} is both an axis in [grid] and set by {at}; a field varies one way or the other")
            resolved[key] = coerce(key, value, at)
        out[name] = resolved
    return out


def check_name(name: Any, where: str) -> None:
    """GridError unless ``name`` is a variant name: a non-empty string of printable characters, at most
    ``MAX_NAME`` long, without leading or trailing spaces."""
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise GridError(f"variant name {name!r} in {where} must be a non-empty name without surrounding spaces")
    if len(name) > MAX_NAME or not name.isprintable():
        raise GridError(f"variant name {name!r} in {where} must be at most {MAX_NAME} printable characters")


def without(variants: Mapping[str, Mapping[str, Any]], keys) -> dict[str, dict[str, Any]]:
    """``variants`` with ``keys`` removed from each (what fixing those fields for the whole sweep leaves)."""
    return {name: {k: v for k, v in fields.items() if k not in keys} for name, fields in variants.items()}
