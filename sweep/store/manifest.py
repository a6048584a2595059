"""What a sweep records about itself: the runs table (one row per run, every hyperparameter resolved) and the
manifest (grid, groups, versions, devices, timings), both handed to ``analysis.write_tables``."""

from __future__ import annotations

import dataclasses
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
import pandas as pd
from jax.sharding import Mesh

from core import STATIC_FIELDS, TRACED_FIELDS
from core.envs import describe
from sweep.plan import Plan
from sweep.spec.grid import Grid, defaults
from sweep.spec.variants import AXIS as VARIANT

VERSIONED = ("jax", "jaxlib", "dm-haiku", "optax", "rlax", "numpy", "pandas", "pyarrow")


class Timings(NamedTuple):
    compile_seconds: float
    run_seconds: float  # the devices' training, from a chunk's start until its outputs are ready
    env_steps: int
    host_seconds: float = 0.0  # per chunk, after that: outputs to the host, records, checkpoint


def table_value(value: Any) -> Any:
    """A hyperparameter's value as a table cell: tuples become '64x64'."""
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return value


def runs_frame(plan: Plan, diverged: np.ndarray, stopped_at: dict[int, int] | None = None) -> pd.DataFrame:
    """One row per run: ``config, seed``, every hyperparameter (traced first, then static), ``diverged``, and for a
    sweep whose schedule stops configs early (successive halving) ``stopped_at``: the env step a config stopped
    at, or its ``total_steps`` when it trained to the end."""
    rows = []
    for r in range(plan.n_runs):
        c = plan.config_of(r)
        cfg = plan.configs[c]
        row = {"config": c, "seed": plan.seed_of(r)}
        if plan.grid.variants:
            row[VARIANT] = cfg[VARIANT]
        row.update({k: table_value(cfg[k]) for k in (*TRACED_FIELDS, *STATIC_FIELDS)})
        row["diverged"] = bool(diverged[r])
        if stopped_at is not None:
            row["stopped_at"] = int(stopped_at.get(c, cfg["total_steps"]))
        rows.append(row)
    return pd.DataFrame(rows)


def make_manifest(
    plan: Plan,
    file_grid: Grid | None,
    mesh: Mesh,
    wave_sizes: list[int],
    timings: Timings,
    run_dir: Path,
    invocations: list[dict[str, Any]],
) -> dict[str, Any]:
    """The manifest: the grid and its overrides, the static groups and their waves, versions, devices, timings.
    ``wave_sizes[g]`` is group g's wave size; ``invocations`` what each invocation that trained the sweep ran on
    and spent (``Invocations``), the first first: a sweep stopped and resumed on another machine or at another
    commit says so there (``cpu`` and ``git_commit`` are the last one's)."""
    grid = plan.grid
    devices = [str(d) for d in mesh.devices.flat]
    total_steps = sorted({g.static.total_steps for g in plan.groups})
    compile_s, run_s, env_steps, host_s = timings
    return {
        "grid": grid.name,
        "description": grid.description,
        "run_id": run_dir.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "grid_file": grid.source,
        "overrides": {k: v for k, v in grid.config.items() if file_grid is None or file_grid.config.get(k) != v},
        "axes": grid.axis_names,
        "axis_values": {k: [table_value(v) for v in vs] for k, vs in grid.axis_values.items()},
        # The report compares configs with these; with named variants, with the first variant.
        "defaults": {
            **{k: table_value(v) for k, v in defaults().items()},
            **({VARIANT: next(iter(grid.variants))} if grid.variants else {}),
        },
        "tasks": tasks(plan),  # each environment's score bounds, solved threshold and random-policy return
        "search": grid.search.record(),
        # A sampled grid's space: {"dist": "uniform" | "log_uniform", "low", "high", "integer"} or
        # {"dist": "choice", "values"} per field (what the analysis draws continuous axes from).
        "space": {
            k: {**spec, "values": [table_value(v) for v in spec["values"]]} if spec["dist"] == "choice" else spec
            for k, spec in grid.space.items()
        },
        "n_seeds": grid.seeds,
        "n_configs": len(plan.configs),
        "n_runs": plan.n_runs,
        "total_steps": total_steps[0] if len(total_steps) == 1 else total_steps,
        "static_groups": [
            {
                **{k: table_value(v) for k, v in dataclasses.asdict(group.static).items()},
                "runs": len(group.runs),
                "wave_size": size,
                "runs_per_device": size // mesh.size,
            }
            for group, size in zip(plan.groups, wave_sizes, strict=True)
        ],
        "traced_fixed": {  # the traced fields every config shares
            k: table_value(v)
            for k, v in plan.configs[0].items()
            if k in TRACED_FIELDS and k not in grid.axis_names and all(cfg[k] == v for cfg in plan.configs)
        },
        "versions": versions(),
        "cpu": invocations[-1]["cpu"],
        "devices": devices,
        "device_kind": mesh.devices.flat[0].device_kind,
        "num_devices": len(devices),
        "num_processes": jax.process_count(),
        "compile_seconds": round(compile_s, 3),
        "run_seconds": round(run_s, 3),
        "host_seconds": round(host_s, 3),
        # The share of the chunk loop's time the host spends on each chunk's outputs and checkpoint.
        "host_share": round(host_s / (run_s + host_s), 4) if run_s + host_s > 0 else None,
        "env_steps": int(env_steps),
        "env_steps_per_second": round(env_steps / (run_s + host_s), 1) if run_s + host_s > 0 else None,
        "git_commit": invocations[-1]["git_commit"],
        "invocations": invocations,
    }


class Invocations:
    """Every invocation that trained a sweep: the earlier ones (``earlier``, from its checkpoint; none in one
    written before they were kept) and this one, what it runs on: when it started, the CPU (``cpu``), the commit
    and jax's version."""

    def __init__(self) -> None:
        self.earlier: list[dict[str, Any]] = []
        self.this = {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpu": cpu(),
            "git_commit": git_commit(),
            "jax": versions().get("jax"),
        }

    def record(self, compile_seconds: float, run_seconds: float, env_steps: int) -> list[dict[str, Any]]:
        """Every invocation so far, this one last with what it has spent."""
        spent = {"compile_seconds": round(compile_seconds, 3), "run_seconds": round(run_seconds, 3),
                 "env_steps": int(env_steps)}  # fmt: skip
        return [*self.earlier, {**self.this, **spent}]


def cpu() -> dict[str, Any]:
    """The host's CPU as a run's rows depend on it: its model and the SIMD extensions XLA's CPU code may use
    (``avx*``, ``fma``, ``sse4*``). Rows are bitwise the same for the same code, jax version and extensions; on
    other extensions (AVX2 against AVX-512) they differ in their last bits, and so do the trajectories."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    info = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    info = {k.strip(): v.strip() for k, v in info.items()}  # the last processor's entries: all are alike
    flags = sorted(f for f in info.get("flags", "").split() if f.startswith(("avx", "fma", "sse4")))
    return {"model": info.get("model name") or platform.processor() or platform.machine(), "simd": flags}


def tasks(plan: Plan) -> dict[str, dict[str, Any]]:
    """``{env: facts}`` of every environment the sweep trains on (``core.envs.Task``): what the analysis scales
    returns by. An environment trained at several episode limits gets the widest bounds among them."""
    out: dict[str, dict[str, Any]] = {}
    for cfg in plan.configs:
        facts = describe(cfg["env"], cfg["episode_limit"]).task.record()
        seen = out.setdefault(cfg["env"], facts)
        for key, pick in (("low", min), ("high", max)):
            if seen[key] is not None and facts[key] is not None:
                seen[key] = pick(seen[key], facts[key])
    return out


def versions() -> dict[str, str]:
    """Python's version and the installed version of each package the results depend on."""
    out = {"python": platform.python_version()}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    """The project checkout's commit, or None outside a git checkout."""
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
