"""``run_bench``: every measurement of the benchmark, assembled into one JSON-ready dict."""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from datetime import UTC, datetime
from typing import Any

from core import HParams, StaticConfig, make_train
from sweep.bench.baselines import EngineBench, HostLoopBench, SequentialBench
from sweep.bench.measure import (
    machine_info,
    measure_buffer_add,
    measure_flops,
    measure_gemm_ceiling,
    measure_peak_gflops,
    median,
    needed_bytes_per_run,
    peak_rss_mb,
)
from sweep.compute.program import bytes_per_run

REQUIRED_KEYS = (
    "agg_steps_per_s",
    "updates_per_s",
    "achieved_gflops",
    "peak_gflops",
    "roofline_fraction",
    "ratio_vs_sequential",
    "ratio_vs_host_loop",
    "compile_s",
    "peak_rss_mb",
    "device",
    "n_runs",
    "scaling",
    "buffer_add",
)


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What to measure and for how long. ``static`` is the DQN config every measurement uses."""

    static: StaticConfig = StaticConfig()
    n_runs: tuple[int, ...] = (1, 4, 16, 64, 256)  # the scaling curve
    reference_n: int = 64  # the N the ratios use (the largest measured N if this one is not measured)
    chunk_steps: int = 2_000  # K, env steps per timed chunk
    min_repeats: int = 3  # timed chunks per N: at least this many, then more until
    target_seconds_per_n: float = 20.0  # this many seconds are timed (short chunks of small N are noisy),
    max_repeats: int = 50  # but no more than this many chunks
    sequential_runs: int = 8  # runs the sequential baseline loops over in each timed round
    host_loop_steps: int = 1_000  # env steps of the host-loop baseline per timed segment
    matmul_n: int = 2048  # side of the square matmul that measures the peak
    matmul_repeats: int = 5
    gemm_flops: float = 4e9  # FLOPs per timed call of the matmul-ceiling loop
    buffer_capacities: tuple[int, ...] = (1_000, 10_000, 100_000)
    buffer_runs: int = 64  # vmapped buffers
    buffer_adds: int = 1_000  # adds per scan
    buffer_repeats: int = 5


FULL = BenchConfig()
QUICK = BenchConfig(
    n_runs=(1, 16, 64),
    chunk_steps=1_000,
    target_seconds_per_n=4.0,
    sequential_runs=4,
    host_loop_steps=500,
    matmul_repeats=3,
    gemm_flops=2e9,
    buffer_repeats=3,
)


def _log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _engine_entry(eb: EngineBench, times: list[float], flops_per_step: float, peak: float) -> dict[str, Any]:
    steps_per_s = eb.n_runs * eb.chunk_steps / median(times)
    achieved = flops_per_step * steps_per_s / 1e9
    return {
        "n_runs": eb.n_runs,
        "chunk_steps": eb.chunk_steps,
        "chunk_seconds": times,
        "agg_steps_per_s": steps_per_s,
        "updates_per_s": steps_per_s / eb.group.static.train_every,
        "achieved_gflops": achieved,
        "roofline_fraction": achieved / peak,
        "compile_s": eb.compile_s,
        "devices": eb.n_devices,
        # The memory analysis is of one device's program: its runs are N / devices.
        "device_bytes_per_run": bytes_per_run(eb.compiled, eb.n_runs // eb.n_devices),
    }


def _flops(trainer) -> dict[str, Any]:
    """``measure_flops``, falling back to the hand count where the backend has no cost analysis."""
    flops = measure_flops(trainer)
    if not math.isfinite(flops["flops_per_env_step"]):
        flops["flops_per_env_step"], flops["source"] = flops["hand_flops_per_env_step"], "hand count"
    _log(
        f"FLOPs per env step {flops['flops_per_env_step']:,.0f} (update {flops['update_flops']:,.0f} + act "
        f"{flops['act_flops']:,.0f}; hand {flops['hand_flops_per_env_step']:,.0f})"
    )
    return flops


def _baselines(cfg, seq, seq_times, host, host_times, n, one_dev_times) -> dict[str, Any]:
    """The baselines timed interleaved with the engine at the reference N: sequential, host loop and (where the
    engine used several devices) the same N runs on one device."""
    K = cfg.chunk_steps
    out: dict[str, Any] = {
        "sequential": {
            "n_runs": cfg.sequential_runs,
            "chunk_steps": K,
            "round_seconds": seq_times,
            "agg_steps_per_s": cfg.sequential_runs * K / median(seq_times),
            "compile_s": seq.compile_s,
        },
        "host_loop": {
            "steps_per_segment": cfg.host_loop_steps,
            "segment_seconds": host_times,
            "agg_steps_per_s": cfg.host_loop_steps / median(host_times),
            "steps_done": host.steps_done,
            "buffer_size": len(host.memory),
        },
    }
    if one_dev_times is not None:
        out["engine_one_device"] = {
            "n_runs": n,
            "chunk_seconds": one_dev_times,
            "agg_steps_per_s": n * K / median(one_dev_times),
        }
        _log(f"  the same {n} runs on one device: {out['engine_one_device']['agg_steps_per_s']:,.0f}")
    seq_s, host_s = out["sequential"]["agg_steps_per_s"], out["host_loop"]["agg_steps_per_s"]
    _log(f"  sequential {seq_s:,.0f} env steps/s, host loop {host_s:,.0f} env steps/s")
    return out


def _buffer_adds(cfg: BenchConfig) -> list[dict[str, Any]]:
    out = []
    for cap in cfg.buffer_capacities:
        _log(f"buffer add: capacity {cap:,}, {cfg.buffer_runs} vmapped buffers, {cfg.buffer_adds} adds...")
        out.append(measure_buffer_add(cap, cfg.buffer_runs, cfg.buffer_adds, cfg.buffer_repeats))
        _log(f"  {out[-1]['us_per_add']:.2f} us per vmapped add")
    return out


def run_bench(cfg: BenchConfig = FULL, *, quick: bool = False) -> dict[str, Any]:
    """Every measurement of the benchmark, as a JSON-ready dict (see the module docstring)."""
    t_start = time.perf_counter()
    static = cfg.static
    info = machine_info()
    n_dev = info["device_count"]
    ns = list(cfg.n_runs)
    ref_n = cfg.reference_n if cfg.reference_n in ns else max(ns)
    K = cfg.chunk_steps
    _log(f"{info['device']} x{n_dev} ({info['cpu_model']}, {info['cpu_cores']} cores), jax {info['jax_version']}")

    _log(f"fp32 matmul peak ({cfg.matmul_n}^2)...")
    peaks = [measure_peak_gflops(cfg.matmul_n, cfg.matmul_repeats)]
    _log(f"  {peaks[0]:.1f} GFLOP/s")

    trainer = make_train(static)
    flops = _flops(trainer)
    flops_per_step = flops["flops_per_env_step"]

    _log(f"baselines: compiling the sequential loop ({cfg.sequential_runs} runs) and the host loop...")
    seq = SequentialBench(static, cfg.sequential_runs, K)
    seq.warm_up(static.learning_starts)
    host = HostLoopBench(static)
    host.warm_up()

    scaling, interleaved = [], None
    ref_bench = None
    for n in ns:
        _log(f"engine N={n}: compiling init and a {K}-step chunk...")
        eb = EngineBench(static, n, K)
        eb.warm_up(static.learning_starts)
        _log(f"  compiled in {eb.compile_s:.1f} s; warmed up past step {static.learning_starts}; timing...")
        one_dev = None
        if n == ref_n and eb.n_devices > 1:  # the same runs on one device: what sharding over the cores gains
            one_dev = EngineBench(static, n, K, n_devices=1)
            one_dev.warm_up(static.learning_starts)
        times: list[float] = []
        one_dev_times: list[float] = []
        seq_times: list[float] = []
        host_times: list[float] = []
        while len(times) < cfg.min_repeats or (len(times) < cfg.max_repeats and sum(times) < cfg.target_seconds_per_n):
            times.append(eb.chunk())
            if n == ref_n:  # baselines interleaved with the reference N, so the ratios share the load
                seq_times.append(seq.round())
                host_times.append(host.steps(cfg.host_loop_steps))
                if one_dev is not None:
                    one_dev_times.append(one_dev.chunk())
        entry = _engine_entry(eb, times, flops_per_step, peaks[0])
        scaling.append(entry)
        _log(f"  N={n}: {entry['agg_steps_per_s']:,.0f} env steps/s (chunks {', '.join(f'{t:.2f}' for t in times)} s)")
        if n == ref_n:
            ref_bench = entry
            interleaved = _baselines(cfg, seq, seq_times, host, host_times, n, one_dev_times if one_dev else None)
            mem_needed = needed_bytes_per_run(trainer, K)
            mem_compiled = entry["device_bytes_per_run"]
        del eb

    buffer_add = _buffer_adds(cfg)
    smallest = min(buffer_add, key=lambda b: b["capacity"])
    largest = max(buffer_add, key=lambda b: b["capacity"])

    hidden = static.hidden_sizes[0], static.hidden_sizes[-1]
    _log(f"matmul ceiling of the update's shape: {ref_n} runs x [{static.batch_size}, {hidden[0]}] @ {list(hidden)}...")
    gemm = measure_gemm_ceiling(ref_n, static.batch_size, *hidden, cfg.matmul_repeats, cfg.gemm_flops)
    _log(f"  {gemm:.1f} GFLOP/s")
    peaks.append(measure_peak_gflops(cfg.matmul_n, cfg.matmul_repeats))  # again at the end: best of both
    # The peak is the best fp32 matmul rate measured here: one large matmul on one device usually, but the
    # update-shaped matmuls sharded over every device have measured faster on a shared machine.
    peak = max(*peaks, gemm)
    for entry in scaling:
        entry["roofline_fraction"] = entry["achieved_gflops"] / peak

    result = {
        "benchmark": "sweep.bench",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "config": {
            "static": {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(static).items()},
            "hparams": HParams()._asdict(),
            "bench": {
                k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items() if k != "static"
            },
        },
        **info,
        "n_runs": ref_n,
        "chunk_steps": K,
        "agg_steps_per_s": ref_bench["agg_steps_per_s"],
        "updates_per_s": ref_bench["updates_per_s"],
        "flops_per_env_step": flops_per_step,
        "flops": flops,
        "achieved_gflops": ref_bench["achieved_gflops"],
        "peak_gflops": peak,
        "gemm_ceiling_gflops": gemm,
        "gemm_ceiling_fraction": gemm / peak,
        "fraction_of_gemm_ceiling": ref_bench["achieved_gflops"] / gemm,
        "peak_gflops_all": peaks,
        "roofline_fraction": ref_bench["achieved_gflops"] / peak,
        "compile_s": ref_bench["compile_s"],
        "sequential_steps_per_s": interleaved["sequential"]["agg_steps_per_s"],
        "host_loop_steps_per_s": interleaved["host_loop"]["agg_steps_per_s"],
        "ratio_vs_sequential": ref_bench["agg_steps_per_s"] / interleaved["sequential"]["agg_steps_per_s"],
        "ratio_vs_host_loop": ref_bench["agg_steps_per_s"] / interleaved["host_loop"]["agg_steps_per_s"],
        "baselines": interleaved,
        "ratio_vs_one_device": (
            ref_bench["agg_steps_per_s"] / interleaved["engine_one_device"]["agg_steps_per_s"]
            if "engine_one_device" in interleaved
            else None
        ),
        "device_bytes_per_run": mem_compiled,
        "needed_bytes_per_run": mem_needed,
        "memory_ratio": mem_compiled / mem_needed["total"],
        "scaling": scaling,
        "buffer_add": buffer_add,
        "buffer_add_ratio": largest["seconds"] / smallest["seconds"],
        "peak_rss_mb": peak_rss_mb(),
        "wall_s": time.perf_counter() - t_start,
    }
    return result
