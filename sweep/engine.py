"""Runs a grid: one compiled program per static group, runs vmapped on one flat batch axis and sharded over
every device (and host), time cut into chunks with progress and atomic checkpoints, tensors handed to
``analysis`` for the tables.

A run's results depend only on (its config, its seed): its key is ``fold_in(key(base_seed), seed)``, the
same for every config (common random numbers), and nothing in its computation mixes runs, so neither the
device count, the wave or chunk sizes, nor its neighbours in the batch change a bit of it.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from core import STATIC_FIELDS, TRACED_FIELDS, HParams, TrainState, make_train
from sweep.grid import Grid, GridError, split_config

CHECKPOINT = "checkpoint"
# Written last, after the tables, the report and the ``latest`` link: a folder is finished when it has one.
DONE = "DONE"
# Fault injection for the resume tests: "N" or "N:SIGNAME" makes the process send itself SIGKILL (or the
# named signal) right after its N-th checkpoint of this invocation, so a kill lands at a known point.
FAULT_ENV = "SWEEP_FAULT_AFTER_CHECKPOINT"
SWEEP_FILE = "sweep.json"
CPU_RUNS_PER_DEVICE = 8  # see default_runs_per_device
AXIS = "runs"


class SweepError(GridError):
    """A user-caused problem with the command (output folder, resume folder); one sentence."""


@dataclasses.dataclass(frozen=True)
class Options:
    out: Path = Path("results")
    run_id: str | None = None
    chunk_steps: int = 5_000
    resume: Path | None = None
    runs_per_device: int | None = None  # runs each device holds in a wave; None: the platform's default
    progress: bool = True
    base_seed: int = 0
    report: bool = True  # figures and report.html at the end (tables are always written)


# ---------------------------------------------------------------------------------------------------------
# The plan: runs, groups, keys
# ---------------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Plan:
    grid: Grid
    configs: list[dict[str, Any]]  # one resolved config per grid point
    groups: list[tuple[Any, list[int]]]  # (StaticConfig, run indices), in order of first appearance

    @property
    def n_runs(self) -> int:
        return len(self.configs) * self.grid.seeds

    def config_of(self, run: int) -> int:
        return run // self.grid.seeds

    def seed_of(self, run: int) -> int:
        return run % self.grid.seeds


def make_plan(grid: Grid) -> Plan:
    configs = grid.configs()
    groups: dict[Any, list[int]] = {}
    for c, cfg in enumerate(configs):
        static, _ = split_config(cfg)
        groups.setdefault(static, []).extend(range(c * grid.seeds, (c + 1) * grid.seeds))
    return Plan(grid, configs, list(groups.items()))


def run_keys(seeds: np.ndarray, base_seed: int) -> np.ndarray:
    """Raw key data [n, 2] uint32 for each seed: ``fold_in(key(base_seed), seed)``."""
    root = jax.random.key(base_seed)
    keys = jax.vmap(lambda s: jax.random.fold_in(root, s))(jnp.asarray(seeds, jnp.uint32))
    return np.asarray(jax.random.key_data(keys))


def hparams_batch(configs: list[dict[str, Any]]) -> HParams:
    """Each traced hyperparameter as a [len(configs)] array: int32 for ``target_period``, float32 otherwise.
    The grid checked that every value fits its dtype."""
    return HParams(
        **{
            name: np.asarray([cfg[name] for cfg in configs], np.int32 if name == "target_period" else np.float32)
            for name in TRACED_FIELDS
        }
    )


def table_value(value: Any) -> Any:
    """Hyperparameter values as table cells: tuples become '64x64'."""
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    return value


# ---------------------------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------------------------
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


def _put(x: np.ndarray, sharding: NamedSharding) -> jax.Array:
    """A global array from a host array every process holds whole."""
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def _fetch(tree: Any) -> Any:
    """Whole global arrays on the host of every process."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    return multihost_utils.process_allgather(tree, tiled=True)


def _wave_budget_bytes() -> int:
    """``_device_budget_bytes`` of the tightest process, so that every host cuts the same waves."""
    budget = _device_budget_bytes()
    if jax.process_count() == 1:
        return budget
    mib = np.int32(min(budget >> 20, 2**31 - 1))  # MiB in int32: JAX's default dtypes have no int64
    return int(np.min(multihost_utils.process_allgather(mib))) << 20


def _device_budget_bytes() -> int:
    """Memory one device may use for a wave: the device's limit, or on CPU half the host's memory split
    over the local devices."""
    dev = jax.local_devices()[0]
    stats = None
    try:
        stats = dev.memory_stats()
    except Exception:  # noqa: BLE001 - backends without memory stats
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"] * 0.8)
    host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(host * 0.5 / max(1, jax.local_device_count()))


class _Group:
    """One static group's compiled programs over a fixed wave size."""

    def __init__(self, static, mesh: Mesh, wave_size: int):
        self.static = static
        self.trainer = make_train(static)
        self.wave_size = wave_size
        axes = self.trainer.state_axes()
        batched, replicated = NamedSharding(mesh, P(AXIS)), NamedSharding(mesh, P())
        self.batched = batched
        self.state_shardings = TrainState(*([batched] * (len(TrainState._fields) - 1)), step=replicated)
        self._init = jax.jit(
            jax.vmap(self.trainer.init, out_axes=axes),
            in_shardings=(batched, batched),
            out_shardings=self.state_shardings,
        )
        trainer = self.trainer

        def chunk(states, n_steps):
            return jax.vmap(lambda s: trainer.run(s, n_steps), in_axes=(axes,), out_axes=(axes, 0))(states)

        self._chunk = jax.jit(
            chunk,
            static_argnums=1,
            in_shardings=(self.state_shardings,),
            out_shardings=(self.state_shardings, batched),
            donate_argnums=0,
        )
        self._compiled: dict[int, Any] = {}
        self.compile_seconds = 0.0

    def state_shapes(self) -> TrainState:
        keys = jax.ShapeDtypeStruct((self.wave_size, 2), jnp.uint32)
        hp = HParams(
            *[
                jax.ShapeDtypeStruct((self.wave_size,), jnp.int32 if f == "target_period" else jnp.float32)
                for f in TRACED_FIELDS
            ]
        )
        return jax.eval_shape(self._init, keys, hp)

    def compiled(self, n_steps: int):
        if n_steps not in self._compiled:
            t0 = time.perf_counter()
            shapes = jax.tree.map(
                lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh),
                self.state_shapes(),
                _expand(self.state_shardings, self.state_shapes()),
            )
            self._compiled[n_steps] = self._chunk.lower(shapes, n_steps).compile()
            self.compile_seconds += time.perf_counter() - t0
        return self._compiled[n_steps]

    def init(self, keys: np.ndarray, hparams: HParams) -> TrainState:
        t0 = time.perf_counter()
        states = self._init(_put(keys, self.batched), jax.tree.map(lambda x: _put(x, self.batched), hparams))
        jax.block_until_ready(states)
        self.compile_seconds += time.perf_counter() - t0  # mostly compilation; init itself is cheap
        return states

    def restore(self, leaves: list[np.ndarray]) -> TrainState:
        treedef = jax.tree.structure(self.state_shapes())
        shardings = jax.tree.leaves(_expand(self.state_shardings, self.state_shapes()))
        return jax.tree.unflatten(treedef, [_put(x, s) for x, s in zip(leaves, shardings, strict=True)])


def _expand(prefix: Any, full: Any) -> Any:
    """A prefix pytree (one value per TrainState field) broadcast to the leaves of ``full``."""
    return jax.tree.map(lambda p, sub: jax.tree.map(lambda _: p, sub), prefix, full, is_leaf=lambda x: x is None)


def bytes_per_run(compiled, runs_per_device: int) -> float:
    """Device bytes one run needs, from the compiled chunk program's memory analysis, which counts the bytes
    of one device: those of its ``runs_per_device`` runs (the wave size over the device count). nan where the
    backend gives no memory analysis."""
    try:
        mem = compiled.memory_analysis()
    except Exception:  # noqa: BLE001 - backends without memory analysis
        mem = None
    if mem is None:
        return float("nan")
    total = mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
    total -= getattr(mem, "alias_size_in_bytes", 0)  # donated state is counted once
    return total / runs_per_device


# ---------------------------------------------------------------------------------------------------------
# Records: what the runs produce, accumulated on the host
# ---------------------------------------------------------------------------------------------------------
class Records:
    """Completed episodes and evaluations of every run so far, as flat numpy arrays."""

    EP = ("run", "end_step", "episode_return", "episode_length")
    EV = ("run", "step", "eval_return")

    def __init__(self, n_runs: int):
        self.ep: dict[str, list[np.ndarray]] = {k: [] for k in self.EP}
        self.ev: dict[str, list[np.ndarray]] = {k: [] for k in self.EV}
        self.diverged = np.zeros(n_runs, bool)

    def add_chunk(self, outputs, runs: np.ndarray, first_step: int) -> None:
        """``outputs``: StepOutputs with [wave, n_steps] leaves (padding rows dropped by ``runs`` < 0)."""
        keep = runs >= 0
        done = np.asarray(outputs.episode_done)[keep]
        r, t = np.nonzero(done)
        self.ep["run"].append(runs[keep][r].astype(np.int64))
        self.ep["end_step"].append((t + first_step + 1).astype(np.int64))
        self.ep["episode_return"].append(np.asarray(outputs.episode_return)[keep][r, t].astype(np.float32))
        self.ep["episode_length"].append(np.asarray(outputs.episode_length)[keep][r, t].astype(np.int32))
        ev = np.asarray(outputs.eval_done)[keep]
        r, t = np.nonzero(ev)
        self.ev["run"].append(runs[keep][r].astype(np.int64))
        self.ev["step"].append((t + first_step + 1).astype(np.int64))
        self.ev["eval_return"].append(np.asarray(outputs.eval_return)[keep][r, t].astype(np.float32))

    def _cat(self, d):
        return {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in d.items()}

    def episodes(self) -> dict[str, np.ndarray]:
        ep = self._cat(self.ep)
        order = np.lexsort((ep["end_step"], ep["run"]))
        ep = {k: v[order] for k, v in ep.items()}
        run = ep["run"].astype(np.int64)
        # Episode number within its run: position minus the run's first position.
        starts = np.searchsorted(run, run, side="left")
        ep["episode"] = (np.arange(len(run)) - starts).astype(np.int32)
        ep["run"] = run
        return ep

    def evals(self) -> dict[str, np.ndarray]:
        ev = self._cat(self.ev)
        order = np.lexsort((ev["step"], ev["run"]))
        return {k: v[order] for k, v in ev.items()}

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = {f"ep_{k}": v for k, v in self._cat(self.ep).items()}
        out.update({f"ev_{k}": v for k, v in self._cat(self.ev).items()})
        out["diverged"] = self.diverged
        return out

    @classmethod
    def from_arrays(cls, arrays, n_runs: int) -> Records:
        rec = cls(n_runs)
        rec.ep = {k: [arrays[f"ep_{k}"]] for k in cls.EP}
        rec.ev = {k: [arrays[f"ev_{k}"]] for k in cls.EV}
        rec.diverged = np.asarray(arrays["diverged"], bool)
        return rec


# ---------------------------------------------------------------------------------------------------------
# Checkpoints: written after each chunk, atomically (write, fsync, rename)
# ---------------------------------------------------------------------------------------------------------
def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


_checkpoints_written = 0


def _fault_hook() -> None:
    global _checkpoints_written
    _checkpoints_written += 1
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    count, _, name = spec.partition(":")
    if _checkpoints_written == int(count):
        os.kill(os.getpid(), getattr(signal, name or "SIGKILL"))


def save_checkpoint(run_dir: Path, meta: dict, records: Records, state_leaves: list[np.ndarray] | None) -> None:
    ckpt = run_dir / CHECKPOINT
    ckpt.mkdir(exist_ok=True)
    name = f"ckpt-{meta['unit']:04d}-{meta['steps_done']:09d}.npz"
    arrays = records.to_arrays()
    if state_leaves is not None:
        arrays.update({f"state_{i:03d}": x for i, x in enumerate(state_leaves)})
    _atomic_write(ckpt / name, lambda f: np.savez(f, **arrays))
    _atomic_write(ckpt / "latest.json", lambda f: f.write(json.dumps({**meta, "file": name}).encode()))
    for old in ckpt.glob("ckpt-*.npz"):
        if old.name != name:
            old.unlink(missing_ok=True)
    _fault_hook()


def load_checkpoint(run_dir: Path, n_runs: int):
    """``(meta, records, state leaves or None)`` from the last checkpoint, None when there is none, and a
    SweepError (one sentence) when it cannot be read."""
    ckpt = run_dir / CHECKPOINT
    latest = ckpt / "latest.json"
    if not latest.is_file():
        return None
    try:
        meta = json.loads(latest.read_text())
        with np.load(ckpt / meta["file"]) as data:
            arrays = {k: data[k] for k in data.files}
        records = Records.from_arrays(arrays, n_runs)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, zipfile.BadZipFile) as err:
        raise SweepError(_damaged_checkpoint(ckpt, err)) from None
    state_keys = sorted(k for k in arrays if k.startswith("state_"))
    leaves = [arrays[k] for k in state_keys] if state_keys else None
    return meta, records, leaves


def _peek_checkpoint(run_dir: Path) -> None:
    """SweepError unless the last checkpoint's record and the file it names can be opened (a cheap check that
    reads the archive's index, not its arrays)."""
    ckpt = run_dir / CHECKPOINT
    try:
        meta = json.loads((ckpt / "latest.json").read_text())
        with np.load(ckpt / meta["file"]) as data:
            missing = [f"{k}" for k in ("ep_run", "ev_run", "diverged") if k not in data.files]
        if missing:
            raise KeyError(f"{meta['file']} lacks {', '.join(missing)}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, EOFError, zipfile.BadZipFile) as err:
        raise SweepError(_damaged_checkpoint(ckpt, err)) from None


def _damaged_checkpoint(ckpt: Path, err: BaseException) -> str:
    reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return (
        f"the checkpoint in {ckpt} cannot be read ({type(err).__name__}: {reason}); remove that folder to train "
        "this sweep again from the start, or start a new run"
    )


def _remove_checkpoint(run_dir: Path) -> None:
    """Removes the checkpoint folder: renamed aside first, so that a kill during the removal never leaves a
    ``latest.json`` without its file."""
    ckpt = run_dir / CHECKPOINT
    if ckpt.exists():
        os.replace(ckpt, run_dir / f".{CHECKPOINT}-removed-{os.getpid()}")
    for old in run_dir.glob(f".{CHECKPOINT}-removed-*"):
        shutil.rmtree(old, ignore_errors=True)


def _sizes_text(sizes) -> str:
    """[8, 8, 8, 4] -> '3 x 8, 4'."""
    parts = []
    for size, same in itertools.groupby(sizes):
        count = len(list(same))
        parts.append(f"{count} x {size}" if count > 1 else str(size))
    return ", ".join(parts)


def default_runs_per_device(n_runs: int, n_dev: int, platform: str) -> int:
    """Runs per device in each wave when ``--runs-per-device`` is not given.

    On CPU, always ``CPU_RUNS_PER_DEVICE``: XLA's CPU code for a reduction or a fused multiply-add depends on
    the batch's shape (a sum over a run's 64 samples differs in its last bit between 4 and 32 vmapped runs),
    so only a per-device shape that never changes keeps a run's outputs bitwise the same in every sweep,
    beside any neighbours, at any position, on 2, 4 or more devices (see ``use_cpu_cores``). 8 is also near
    where 2 cores reached their best env steps/s (``python -m sweep.bench``). Elsewhere (GPU), every run of
    the group at once, shrunk to fit in memory.
    """
    return CPU_RUNS_PER_DEVICE if platform == "cpu" else math.ceil(n_runs / n_dev)


def wave_sizes_for(group_runs: list[int], n_dev: int, runs_per_device: int | None, platform: str) -> list[int]:
    """The waves (global sizes, one per unit) cut for groups of these sizes: every wave of a group holds
    ``n_dev * runs_per_device`` runs, the last one padded."""
    sizes = []
    for n in group_runs:
        per_device = runs_per_device or default_runs_per_device(n, n_dev, platform)
        sizes += [n_dev * per_device] * math.ceil(n / (n_dev * per_device))
    return sizes


def layout_error(
    meta: dict, where: str, wave_sizes: list[int], n_dev: int, group_runs: list[int], platform: str = "cpu"
) -> str | None:
    """None when a checkpoint's waves (``meta``) are the waves this sweep would cut now; otherwise one sentence
    that says how to resume it."""
    then = meta.get("wave_sizes")
    if then is None:  # written before wave sizes were recorded: only the count can be compared
        if meta.get("n_units") == len(wave_sizes):
            return None
        return (
            f"{where} was checkpointed with a different device layout ({meta.get('n_units')} waves, now "
            f"{len(wave_sizes)}); resume it on the machine and with the options it was started with"
        )
    if list(then) == list(wave_sizes):
        return None
    k, m = meta.get("n_devices"), meta.get("runs_per_device")
    fix = None
    for per_device in sorted({t // n_dev for t in then if t % n_dev == 0}):  # a value that cuts the same waves here
        if wave_sizes_for(group_runs, n_dev, per_device, platform) == list(then):
            fix = f"--runs-per-device {per_device}"
            break
    if fix is None and k is not None and k != n_dev:
        fix = f"{k} devices" + (f" and --runs-per-device {m}" if m else "")
    return (
        f"{where} was checkpointed on {k} devices in waves of {_sizes_text(then)} runs, but {n_dev} devices here "
        f"cut waves of {_sizes_text(wave_sizes)}; "
        + (f"resume it with {fix}" if fix else "resume it on the machine it was started on, or start a new run")
    )


# ---------------------------------------------------------------------------------------------------------
# The run folder. Process 0 alone checks and creates it; every process then gets its answer, so all raise the
# same error or all go on together (none waits alone in a collective).
# ---------------------------------------------------------------------------------------------------------
def new_run_id(grid: Grid) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{grid.fingerprint()}"


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise SweepError(f"cannot write to output folder {folder}: {err.strerror or err}") from None


def _broadcast_json(payload: Any) -> Any:
    """Process 0's JSON-able ``payload`` on every process (the others' is ignored)."""
    if jax.process_count() == 1:
        return payload
    data = json.dumps(payload).encode() if jax.process_index() == 0 else b""
    n = int(multihost_utils.broadcast_one_to_all(np.int32(len(data))))
    buf = np.zeros(n, np.uint8)
    if jax.process_index() == 0:
        buf[:] = np.frombuffer(data, np.uint8)
    return json.loads(bytes(np.asarray(multihost_utils.broadcast_one_to_all(buf), np.uint8)))


def _on_lead(fn) -> Any:
    """``fn()`` run by process 0 alone; its (JSON-able) result on every process. A SweepError it raises is
    raised on every process, any other error on process 0 and as a RuntimeError on the others."""
    if jax.process_count() == 1:
        return fn()
    payload, failure = None, None
    if jax.process_index() == 0:
        try:
            payload = {"ok": fn()}
        except SweepError as err:
            payload = {"error": str(err)}
        except Exception as err:  # noqa: BLE001 - re-raised below, after the others heard of it
            payload, failure = {"failed": f"{type(err).__name__}: {err}"}, err
    payload = _broadcast_json(payload)
    if failure is not None:
        raise failure
    if "error" in payload:
        raise SweepError(payload["error"])
    if "failed" in payload:
        raise RuntimeError(f"process 0 failed: {payload['failed']}")
    return payload["ok"]


def run_dir_status(run_dir: Path) -> str:
    """``finished`` (the completion marker is there), ``checkpoint`` (interrupted after a checkpoint),
    ``tables`` (interrupted while writing its results, with no checkpoint left: it is trained again) or
    ``fresh`` (interrupted before its first checkpoint)."""
    if (run_dir / DONE).is_file():
        return "finished"
    if (run_dir / CHECKPOINT / "latest.json").is_file():
        return "checkpoint"
    if any((run_dir / f"{t}.parquet").exists() for t in ("runs", "episodes", "evals")):
        return "tables"
    return "fresh"


def _grid_from_info(info: dict) -> Grid:
    return Grid(
        name=info["grid"],
        description=info["description"],
        seeds=info["seeds"],
        config={k: tuple(v) if isinstance(v, list) else v for k, v in info["config"].items()},
        axes={k: [tuple(x) if isinstance(x, list) else x for x in v] for k, v in info["axes"].items()},
        source=info["source"],
    )


def _check_resume_dir(grid: Grid, options: Options) -> dict:
    """Process 0: the folder to resume, its sweep record and status, or SweepError."""
    given = Path(options.resume)
    info_path = given / SWEEP_FILE
    if not info_path.is_file():
        raise SweepError(f"{given} is not a sweep run folder (no {SWEEP_FILE})")
    try:
        info = json.loads(info_path.read_text())
        stored = _grid_from_info(info)
        stored_fingerprints = (info["fingerprint"], info["grid_file_fingerprint"])
        stored_fingerprint = stored.fingerprint()
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise SweepError(f"{info_path} is damaged or not a sweep record; start a new run") from None
    if info["grid"] != grid.name:
        raise SweepError(f"{given} belongs to grid '{info['grid']}', not '{grid.name}'")
    if stored_fingerprint != stored_fingerprints[0]:
        raise SweepError(f"{given}/{SWEEP_FILE} is damaged (its fingerprint does not match)")
    if grid.fingerprint() not in stored_fingerprints:
        raise SweepError(
            f"{given} was started with other settings than these (grid file or --seeds/--steps/--set "
            "changed); resume without overrides, or start a new run"
        )
    status = run_dir_status(given)
    if status == "finished":
        raise SweepError(f"{given} has already finished; nothing to resume")
    if status == "checkpoint":
        _peek_checkpoint(given)
    _check_writable(given)
    return {"run_dir": str(given.resolve()), "info": info, "status": status}


@dataclasses.dataclass
class _NewFolder:
    """What this invocation made on process 0, so that a failure before anything was kept can undo it."""

    run_dir: Path
    existed: bool  # run_dir was there (empty) before
    top: Path | None  # the highest of run_dir and its parents that did not exist before
    created: bool = False  # run_dir was made by this invocation
    wrote_info: bool = False
    kept: bool = False  # a checkpoint or the tables were written: the folder stays from then on

    def undo(self) -> None:
        if self.kept:
            return
        if self.created:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        elif self.wrote_info:
            (self.run_dir / SWEEP_FILE).unlink(missing_ok=True)
        if self.top is not None and self.top != self.run_dir:
            folder = self.run_dir.parent
            while True:  # the parents this invocation made, while they are empty
                try:
                    folder.rmdir()
                except OSError:
                    break
                if folder == self.top:
                    break
                folder = folder.parent


def _check_new_run_dir(grid: Grid, options: Options) -> dict:
    """Process 0: the new run folder's path, or SweepError. Creates at most the grid's output folder."""
    run_id = options.run_id or new_run_id(grid)
    if not run_id or "/" in run_id or run_id in (".", "..", "latest"):
        raise SweepError(f"--run-id must be a plain folder name, got {run_id!r}")
    grid_dir = Path(options.out) / grid.name
    run_dir = grid_dir / run_id
    if run_dir.exists() and not (run_dir.is_dir() and not any(run_dir.iterdir())):
        raise SweepError(f"run folder {run_dir} already exists; use --resume {run_dir} or another --run-id")
    top = None
    for folder in (run_dir, *run_dir.parents):
        if folder.exists():
            break
        top = folder
    _check_writable(grid_dir)
    return {"run_dir": str(run_dir), "existed": run_dir.exists(), "top": None if top is None else str(top)}


def _create_run_dir(new: _NewFolder, grid: Grid, file_grid: Grid) -> None:
    """Process 0: makes the run folder (empty or new) and writes its sweep record."""
    try:
        new.run_dir.mkdir(exist_ok=new.existed)
    except FileExistsError:
        raise SweepError(f"run folder {new.run_dir} already exists; use another --run-id") from None
    except OSError as err:
        raise SweepError(f"cannot create run folder {new.run_dir}: {err.strerror or err}") from None
    new.created = not new.existed
    if any(new.run_dir.iterdir()):  # someone else began writing here since the check
        raise SweepError(f"run folder {new.run_dir} already exists; use another --run-id")
    new.wrote_info = True
    write_sweep_info(new.run_dir, grid, file_grid)


def write_sweep_info(run_dir: Path, grid: Grid, file_grid: Grid) -> None:
    info = {
        "grid": grid.name,
        "description": grid.description,
        "seeds": grid.seeds,
        "config": grid.config,
        "axes": grid.axes,
        "source": grid.source,
        "fingerprint": grid.fingerprint(),
        "grid_file_fingerprint": file_grid.fingerprint(),
    }
    _atomic_write(run_dir / SWEEP_FILE, lambda f: f.write(json.dumps(info, indent=1, default=list).encode()))


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in ("jax", "jaxlib", "dm-haiku", "optax", "rlax", "numpy", "pandas", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def _git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parent.parent
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _update_latest(run_dir: Path) -> None:
    """Points ``<grid>/latest`` at ``run_dir``; a file system without symbolic links gets a warning, since the
    results are written by then."""
    link = run_dir.parent / "latest"
    tmp = run_dir.parent / f".latest-{os.getpid()}"
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(run_dir.name, tmp)
        os.replace(tmp, link)
    except OSError as err:
        print(f"warning: could not point {link} at {run_dir.name}: {err.strerror or err}", file=sys.stderr)


# ---------------------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------------------
def run_sweep(grid: Grid, options: Options = Options(), *, file_grid: Grid | None = None) -> Path:
    """Trains every run of ``grid``; returns the run folder with its tables (and report).

    A new run folder that fails before its first checkpoint (or its tables) is removed again, with the
    parents this call made; a folder being resumed is never removed.
    """
    if isinstance(options.chunk_steps, bool) or not isinstance(options.chunk_steps, int) or options.chunk_steps <= 0:
        raise SweepError(f"--chunk-steps must be a positive integer, got {options.chunk_steps!r}")
    rpd = options.runs_per_device
    if rpd is not None and (isinstance(rpd, bool) or not isinstance(rpd, int) or rpd <= 0):
        raise SweepError(f"--runs-per-device must be a positive integer, got {rpd!r}")

    lead = jax.process_index() == 0
    if options.resume is not None:
        found = _on_lead(lambda: _check_resume_dir(grid, options))
        run_dir, grid = Path(found["run_dir"]), _grid_from_info(found["info"])
        if lead and found["status"] == "tables":
            print(
                f"note: {options.resume} has tables but no {DONE} marker and no checkpoint (it was stopped while "
                "writing its results); training it again from the start",
                file=sys.stderr,
            )
        plan = make_plan(grid)
        return _run(plan, hparams_batch(plan.configs), run_dir, options, file_grid, resume=True)

    found = _on_lead(lambda: _check_new_run_dir(grid, options))
    top = None if found["top"] is None else Path(found["top"])
    new = _NewFolder(Path(found["run_dir"]), found["existed"], top)
    try:
        # Everything that can fail on the grid's values fails here, before the run folder exists.
        plan = make_plan(grid)
        hparams = hparams_batch(plan.configs)
        _on_lead(lambda: _create_run_dir(new, grid, file_grid or grid))
        return _run(plan, hparams, new.run_dir, options, file_grid, resume=False, new=new)
    except Exception:
        if lead:
            new.undo()
        raise


def _run(plan: Plan, hparams: HParams, run_dir: Path, options: Options, file_grid: Grid | None, *, resume: bool,
         new: _NewFolder | None = None) -> Path:  # fmt: skip
    from tqdm import tqdm

    import analysis

    grid = plan.grid
    lead = jax.process_index() == 0
    rpd = options.runs_per_device
    mesh = make_mesh()
    n_dev = mesh.size
    platform = mesh.devices.flat[0].platform

    # Units of work, in order: (group, wave). Sizes are fixed before anything runs, so a resumed sweep
    # with the same devices cuts the same waves (and results do not depend on the cut anyway).
    units = []
    budget = _wave_budget_bytes()
    group_objs = []
    for g, (static, runs) in enumerate(plan.groups):
        per_device = rpd or default_runs_per_device(len(runs), n_dev, platform)
        group = _Group(static, mesh, n_dev * per_device)
        if rpd is None:  # shrink the wave if the compiled program would not fit
            first = min(options.chunk_steps, static.total_steps)
            need = bytes_per_run(group.compiled(first), per_device)
            if math.isfinite(need) and need * per_device > budget:
                per_device = max(1, int(budget // need))
                group = _Group(static, mesh, n_dev * per_device)
        group_objs.append(group)
        for w in range(math.ceil(len(runs) / group.wave_size)):
            units.append((g, runs[w * group.wave_size : (w + 1) * group.wave_size]))
    layout = {
        "n_units": len(units),
        "wave_sizes": [group_objs[g].wave_size for g, _ in units],
        "n_devices": n_dev,
        "runs_per_device": rpd,
    }

    total_env_steps = sum(plan.groups[g][0].total_steps * len(r) for g, r in units)
    records = Records(plan.n_runs)
    start_unit, steps_done, state_leaves = 0, 0, None
    prev_compile, prev_run, prev_steps = 0.0, 0.0, 0
    loaded = load_checkpoint(run_dir, plan.n_runs) if resume else None
    if loaded is not None:
        meta, records, state_leaves = loaded
        group_runs = [len(runs) for _, runs in plan.groups]
        problem = layout_error(meta, str(options.resume), layout["wave_sizes"], n_dev, group_runs, platform)
        if problem:
            raise SweepError(problem)
        start_unit, steps_done = meta["unit"], meta["steps_done"]
        prev_compile, prev_run, prev_steps = meta["compile_seconds"], meta["run_seconds"], meta["env_steps"]

    def checkpoint(unit, steps, run_seconds, env_steps, leaves):
        meta = {
            "unit": unit,
            "steps_done": steps,
            **layout,
            "compile_seconds": prev_compile + sum(g.compile_seconds for g in group_objs),
            "run_seconds": prev_run + run_seconds,
            "env_steps": prev_steps + env_steps,
        }
        save_checkpoint(run_dir, meta, records, leaves)
        if new is not None:
            new.kept = True

    done_before = sum(plan.groups[g][0].total_steps * len(r) for g, r in units[:start_unit])
    done_before += steps_done * (len(units[start_unit][1]) if start_unit < len(units) else 0)
    bar = tqdm(
        total=total_env_steps,
        initial=done_before,
        unit=" steps",
        unit_scale=True,
        desc=f"{grid.name}: {plan.n_runs} runs",
        disable=not (options.progress and lead),
        dynamic_ncols=True,
        smoothing=0.3,
    )
    run_seconds, env_steps = 0.0, 0
    try:
        for u in range(start_unit, len(units)):
            g, runs = units[u]
            group, static = group_objs[g], plan.groups[g][0]
            runs_arr = np.full(group.wave_size, -1, np.int64)
            runs_arr[: len(runs)] = runs
            padded = np.where(runs_arr >= 0, runs_arr, runs[0])  # padding repeats a real run, then is dropped
            if state_leaves is not None and steps_done > 0:
                states = group.restore(state_leaves)
            else:
                steps_done = 0
                keys = run_keys(np.asarray([plan.seed_of(r) for r in padded]), options.base_seed)
                configs = np.asarray([plan.config_of(r) for r in padded])
                states = group.init(keys, HParams(*[x[configs] for x in hparams]))
            state_leaves = None
            bar.set_postfix_str(f"group {g + 1}/{len(plan.groups)}, wave of {len(runs)} runs")
            while steps_done < static.total_steps:
                n = min(options.chunk_steps, static.total_steps - steps_done)
                compiled = group.compiled(n)
                t0 = time.perf_counter()
                states, outputs = compiled(states)
                outputs = _fetch(outputs)
                dt = time.perf_counter() - t0
                run_seconds += dt
                env_steps += n * len(runs)
                records.add_chunk(outputs, runs_arr, steps_done)
                steps_done += n
                bar.update(n * len(runs))
                if steps_done < static.total_steps:
                    host_state = _fetch(states)
                    if lead:
                        checkpoint(u, steps_done, run_seconds, env_steps, jax.tree.leaves(host_state))
            final = _fetch(states)
            finite = np.ones(group.wave_size, bool)
            for leaf in jax.tree.leaves((final.params, final.target_params)):
                finite &= np.isfinite(leaf.reshape(group.wave_size, -1)).all(axis=1)
            bad = np.asarray(final.diverged) | ~finite
            records.diverged[runs] = bad[: len(runs)]
            steps_done = 0
            if lead and u + 1 < len(units):
                checkpoint(u + 1, 0, run_seconds, env_steps, None)
    finally:
        bar.close()

    compile_seconds = prev_compile + sum(gr.compile_seconds for gr in group_objs)
    run_seconds += prev_run
    env_steps += prev_steps
    if lead:
        # The order makes a kill at any point recoverable: the checkpoint stays until the DONE marker is
        # written, so a folder without the marker is resumed (or trained again) to the same tables.
        if new is not None:
            new.kept = True
        runs_df = _runs_frame(plan, records.diverged)
        manifest = _manifest(plan, file_grid, mesh, compile_seconds, run_seconds, env_steps, run_dir, group_objs)
        analysis.write_tables(
            run_dir,
            runs=runs_df,
            axes=list(grid.axes),
            episodes=records.episodes(),
            evals=records.evals(),
            manifest=manifest,
        )
        if options.report:
            analysis.report(run_dir)
        _update_latest(run_dir)
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        _atomic_write(run_dir / DONE, lambda f: f.write(f"finished {finished}\n".encode()))
        _remove_checkpoint(run_dir)
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices("sweep finished")
    return run_dir


def _runs_frame(plan: Plan, diverged: np.ndarray) -> pd.DataFrame:
    rows = []
    for r in range(plan.n_runs):
        cfg = plan.configs[plan.config_of(r)]
        row = {"config": plan.config_of(r), "seed": plan.seed_of(r)}
        row.update({k: table_value(cfg[k]) for k in (*TRACED_FIELDS, *STATIC_FIELDS)})
        row["diverged"] = bool(diverged[r])
        rows.append(row)
    return pd.DataFrame(rows)


def _manifest(plan, file_grid, mesh, compile_s, run_s, env_steps, run_dir, group_objs) -> dict:
    grid = plan.grid
    devices = [str(d) for d in mesh.devices.flat]
    total_steps = sorted({s.total_steps for s, _ in plan.groups})
    return {
        "grid": grid.name,
        "description": grid.description,
        "run_id": run_dir.name,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "grid_file": grid.source,
        "overrides": {k: v for k, v in grid.config.items() if file_grid is None or file_grid.config.get(k) != v},
        "axes": list(grid.axes),
        "axis_values": {k: [table_value(v) for v in vs] for k, vs in grid.axes.items()},
        "n_seeds": grid.seeds,
        "n_configs": len(plan.configs),
        "n_runs": plan.n_runs,
        "total_steps": total_steps[0] if len(total_steps) == 1 else total_steps,
        "static_groups": [
            {
                **{k: table_value(v) for k, v in dataclasses.asdict(static).items()},
                "runs": len(runs),
                "wave_size": g.wave_size,
                "runs_per_device": g.wave_size // mesh.size,
            }
            for (static, runs), g in zip(plan.groups, group_objs, strict=True)
        ],
        "traced_fixed": {
            k: table_value(v) for k, v in plan.configs[0].items() if k in TRACED_FIELDS and k not in grid.axes
        },
        "versions": _versions(),
        "devices": devices,
        "device_kind": mesh.devices.flat[0].device_kind,
        "num_devices": len(devices),
        "num_processes": jax.process_count(),
        "compile_seconds": round(compile_s, 3),
        "run_seconds": round(run_s, 3),
        "env_steps": int(env_steps),
        "env_steps_per_second": round(env_steps / run_s, 1) if run_s > 0 else None,
        "git_commit": _git_commit(),
    }
