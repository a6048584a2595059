"""The measurements of the GPU check, one step a call: ``python -m sweep.bench.gpu STEP --out DIR [--small]``.

``tools/gpu_check.py`` runs each step in a process of its own, with its own timeout, so that a step that fails or
runs out of time loses only its own figures; each step writes ``DIR/<step>.json``:

* ``versions``: Python, jax, jaxlib and the packages the engine imports, the devices and their memory.
* ``scaling``: for N concurrent runs (256 to 16,384 on a GPU, stopping at the first N that does not fit), the
  engine's env steps/s and gradient updates/s, FLOP/s against a float32 matmul measured in the same process,
  device memory per run, and compile time; for the default config and the Revisiting Rainbow study's network
  width (2 x 512, batch 128, an update every 4 steps).
* ``repro``: the same runs trained in waves of two sizes, beside other neighbours and at other positions: are
  their outputs bitwise the same?

``--small`` shrinks every size so that the whole check runs on a CPU in a minute (its test).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("jax", "jaxlib", "dm-haiku", "rlax", "optax", "chex", "distrax", "numpy", "pandas", "pyarrow", "scipy")


def _write(out: Path, step: str, result: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{step}.json").write_text(json.dumps(result, indent=1, default=float) + "\n")


def versions(small: bool) -> dict[str, Any]:
    import platform

    import jax

    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    devices = []
    for d in jax.devices():
        stats = d.memory_stats() or {}
        devices.append({"kind": d.device_kind, "platform": d.platform, "memory_bytes": stats.get("bytes_limit")})
    return {"python": platform.python_version(), "packages": found, "devices": devices}


def _configs(small: bool) -> dict[str, Any]:
    from core import StaticConfig

    if small:
        return {"default": StaticConfig(hidden_sizes=(16,), batch_size=16, buffer_capacity=500, learning_starts=100)}
    return {
        "default": StaticConfig(),
        "study width": StaticConfig(hidden_sizes=(512, 512), batch_size=128, train_every=4, buffer_capacity=50_000,
                                    learning_starts=500),
    }  # fmt: skip


def _is_oom(err: BaseException) -> bool:
    text = str(err)
    return "RESOURCE_EXHAUSTED" in text or "Out of memory" in text or "out of memory" in text


def _one_n(static, n: int, chunk_steps: int, seconds: float) -> dict[str, Any]:
    """Env steps/s of ``n`` runs after a warm-up past ``learning_starts``: timed chunks until ``seconds``."""
    from sweep.bench.baselines import EngineBench
    from sweep.bench.measure import median
    from sweep.compute.program import bytes_per_run

    bench = EngineBench(static, n, chunk_steps)
    bench.warm_up(static.learning_starts)
    times = [bench.chunk()]
    while sum(times) < seconds and len(times) < 20:
        times.append(bench.chunk())
    rate = n * chunk_steps / median(times)
    return {
        "n_runs": n,
        "chunk_steps": chunk_steps,
        "chunk_seconds": times,
        "env_steps_per_s": rate,
        "updates_per_s": rate / static.train_every,
        "compile_s": bench.compile_s,
        "device_bytes_per_run": bytes_per_run(bench.compiled, n // bench.n_devices),
    }


def scaling(small: bool) -> dict[str, Any]:
    from core import make_train
    from sweep.bench.measure import measure_flops, measure_peak_gflops

    sizes = (8, 16) if small else (256, 1_024, 4_096, 16_384)
    chunk_steps, seconds = (300, 0.5) if small else (1_000, 8.0)
    peak = measure_peak_gflops(256 if small else 8_192, 3)
    out: dict[str, Any] = {"matmul_peak_gflops": peak, "configs": {}}
    for name, static in _configs(small).items():
        flops = measure_flops(make_train(static))
        rows, stopped = [], None
        for n in sizes:
            t0 = time.perf_counter()
            try:
                row = _one_n(static, n, chunk_steps, seconds)
            except Exception as err:  # noqa: BLE001 - out of memory ends the curve; anything else is reported
                stopped = f"N = {n:,}: {'out of device memory' if _is_oom(err) else type(err).__name__}: {err}"[:300]
                break
            row["gflops"] = row["env_steps_per_s"] * flops["flops_per_env_step"] / 1e9
            row["fraction_of_matmul_peak"] = row["gflops"] / peak
            row["wall_s"] = time.perf_counter() - t0
            rows.append(row)
            print(f"{name} N={n}: {row['env_steps_per_s']:,.0f} env steps/s", file=sys.stderr, flush=True)
        shape = {k: getattr(static, k) for k in ("hidden_sizes", "batch_size", "train_every", "buffer_capacity")}
        out["configs"][name] = {"flops_per_env_step": flops["flops_per_env_step"], "rows": rows, "stopped": stopped,
                                "static": shape}  # fmt: skip
    return out


def repro(small: bool) -> dict[str, Any]:
    """Runs 0..n-1 of one config trained in a wave of n and, among n others in a wave of 2n, at other positions
    (reversed, after the others): are their outputs and final parameters bitwise the same?"""
    import jax
    import numpy as np

    from core import HParams
    from sweep.bench.measure import mesh_for
    from sweep.compute.program import GroupProgram
    from sweep.plan import hparams_batch, run_keys

    static = _configs(small)["default"]
    n, steps = (8, 600) if small else (256, 6_000)

    def train(seeds: np.ndarray):
        program = GroupProgram(static, mesh_for(len(seeds)), wave_size=len(seeds))
        states = program.init(run_keys(seeds, 0), hparams_batch([HParams()._asdict()] * len(seeds)))
        states, outputs = program.compiled(steps)(states)
        return jax.device_get((outputs, states.params))

    alone = train(np.arange(n))
    mixed_seeds = np.concatenate([np.arange(n, 2 * n), np.arange(n)[::-1]])  # others first, ours reversed
    mixed = train(mixed_seeds)
    where = {int(s): i for i, s in enumerate(mixed_seeds)}
    pick = np.array([where[s] for s in range(n)])
    equal, worst = True, 0.0
    for a, b in zip(jax.tree.leaves(alone), jax.tree.leaves(mixed), strict=True):
        a, b = np.asarray(a), np.asarray(b)[pick]
        equal &= bool(np.array_equal(a, b))
        if a.dtype.kind == "f":
            worst = max(worst, float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64)), initial=0.0)))
    return {"runs": n, "env_steps": steps, "wave_sizes": [n, 2 * n], "bitwise_equal": equal, "max_abs_diff": worst}


STEPS = {"versions": versions, "scaling": scaling, "repro": repro}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m sweep.bench.gpu", description=__doc__.splitlines()[0])
    p.add_argument("step", choices=sorted(STEPS))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--small", action="store_true", help="tiny sizes: the whole check on a CPU in a minute")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    result = STEPS[args.step](args.small)
    result["wall_s"] = time.perf_counter() - t0
    _write(args.out, args.step, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
