"""Devices and processes: the CPU device count, the mesh every run is sharded over, the memory a wave may use,
and the helpers that keep every process of a multi-host sweep in agreement (process 0 decides, the others
hear its answer).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding

from common.errors import UserError

AXIS = "runs"  # the mesh's one axis: runs are sharded along it


def use_cpu_cores(n: int | None = None) -> int | None:
    """Gives JAX's CPU backend ``n`` devices (default: one per core this process may use, and at least 2), so
    that a sweep on a CPU host shards its runs over every core. XLA runs one device's program for this workload
    on about one core: on a 2-core machine, 2 CPU devices train 2.0x the env steps/s of 1
    (``python -m sweep.bench``).

    At least 2 because a program partitioned over several devices is compiled a little differently from a
    one-device program (XLA's simplifier rewrites some arithmetic differently), and its runs' outputs differ
    in their last bits; over 2, 4 or more devices they are bitwise the same.

    Leaves the count alone where it was chosen already (``JAX_NUM_CPU_DEVICES``, the XLA flag
    ``--xla_force_host_platform_device_count``) or when JAX's backends have started. Returns the count set,
    or None.
    """
    chosen = jax.config.jax_num_cpu_devices >= 0 or "xla_force_host_platform_device_count" in os.environ.get(
        "XLA_FLAGS", ""
    )
    if n is None and chosen:
        return None
    if n is None:
        try:
            n = max(2, len(os.sched_getaffinity(0)))
        except AttributeError:  # platforms without affinity masks
            n = max(2, os.cpu_count() or 1)
    try:
        jax.config.update("jax_num_cpu_devices", int(n))
    except RuntimeError:  # backends already running: too late to change
        return None
    return int(n)


def make_mesh() -> Mesh:
    """A 1-D mesh over every device of every process."""
    return Mesh(np.asarray(jax.devices()), (AXIS,))


def is_lead() -> bool:
    """True on process 0, the one that writes files."""
    return jax.process_index() == 0


def put(x: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array from a host array every process holds whole."""
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def fetch(tree: Any) -> Any:
    """Whole global arrays on the host of every process."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    return multihost_utils.process_allgather(tree, tiled=True)


def wave_budget_bytes() -> int:
    """``device_budget_bytes`` of the tightest process, so that every host cuts the same waves."""
    budget = device_budget_bytes()
    if jax.process_count() == 1:
        return budget
    mib = np.int32(min(budget >> 20, 2**31 - 1))  # MiB in int32: JAX's default dtypes have no int64
    return int(np.min(multihost_utils.process_allgather(mib))) << 20


MEMORY_ENV = "SWEEP_DEVICE_MEMORY"  # caps the memory a wave may use per device, e.g. "512MiB" or "2GiB"
_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "kb": 10**3, "mb": 10**6, "gb": 10**9}


def memory_cap_bytes() -> int | None:
    """``SWEEP_DEVICE_MEMORY`` in bytes (None when unset); UserError when it is not a size."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if not text:
        return None
    match = re.fullmatch(r"([0-9.eE+]+)\s*([A-Za-z]*)", text)
    try:
        value = float(match[1]) * _UNITS[match[2].lower()]
    except (TypeError, ValueError, KeyError):
        raise UserError(f"{MEMORY_ENV} must be a size such as 2GiB or 512MiB, got {text!r}") from None
    if not value >= 1:
        raise UserError(f"{MEMORY_ENV} must be a positive size, got {text!r}")
    return int(value)


def device_budget_bytes() -> int:
    """Memory one device may use for a wave: the device's limit (80% of it), or on CPU half the host's memory
    split over the local devices; at most ``SWEEP_DEVICE_MEMORY`` where that is set (to leave room on a shared
    device, or to try the wave sizing on a small budget)."""
    cap = memory_cap_bytes()
    found = _found_budget_bytes()
    return found if cap is None else min(cap, found)


def _found_budget_bytes() -> int:
    dev = jax.local_devices()[0]
    try:
        stats = dev.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory stats
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"] * 0.8)
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(host * 0.5 / max(1, jax.local_device_count()))


def broadcast_json(payload: Any) -> Any:
    """Process 0's JSON-able ``payload`` on every process (the others' is ignored)."""
    if jax.process_count() == 1:
        return payload
    data = json.dumps(payload).encode() if is_lead() else b""
    n = int(multihost_utils.broadcast_one_to_all(np.int32(len(data))))
    buf = np.zeros(n, np.uint8)
    if is_lead():
        buf[:] = np.frombuffer(data, np.uint8)
    return json.loads(bytes(np.asarray(multihost_utils.broadcast_one_to_all(buf), np.uint8)))


def on_lead(fn: Callable[[], Any]) -> Any:
    """``fn()`` run by process 0 alone; its (JSON-able) result on every process. A UserError it raises is
    raised on every process (as a UserError with the same message), any other error on process 0 and as a
    RuntimeError on the others, so that no process waits alone in a collective."""
    if jax.process_count() == 1:
        return fn()
    payload, failure = None, None
    if is_lead():
        try:
            payload = {"ok": fn()}
        except UserError as err:
            payload, failure = {"error": err.args[0] if err.args else ""}, err
        except Exception as err:  # noqa: BLE001 - re-raised below, after the others heard of it
            payload, failure = {"failed": f"{type(err).__name__}: {err}"}, err
    payload = broadcast_json(payload)
    if failure is not None:
        raise failure
    if "error" in payload:
        raise UserError(payload["error"])
    if "failed" in payload:
        raise RuntimeError(f"process 0 failed: {payload['failed']}")
    return payload["ok"]
