"""Throughput benchmark of the sweep engine on the default DQN config, with its baselines, in one process.

``python -m sweep.bench [--quick] [--json PATH] [--out DIR]`` (``make bench``, ``make bench ARGS=--quick``)
prints a table and writes every figure to ``results/bench/<UTC time>.json`` (and to ``--json PATH``):

* the engine's aggregate env steps/s and gradient updates/s for N concurrent runs (the scaling curve), measured
  the way a sweep runs them: an ``engine._Group`` (vmapped ``Trainer.run``, sharded, state donated), a warm-up
  past ``learning_starts``, then steady-state chunks of K env steps, each timed to ``block_until_ready``;
* FLOPs per env step from XLA's cost analysis of one gradient update plus one acting forward pass (checked
  against a hand count), hence the achieved FLOP/s, and the roofline fraction against this machine's fp32
  matmul peak, measured in the same process;
* the ceiling of the update's dominant matmul shape (N runs x [batch, hidden] @ [hidden, hidden], each run its
  own weights, sharded like the runs, nothing else computed): how far the step's FLOP/s could go on this machine;
* two baselines on the same config, timed interleaved with the engine at the reference N so that their ratios
  share the machine's load: "sequential" (the same jitted single-run training, run after run) and "host loop"
  (the tutorial DQN: gymnasium CartPole-v1 stepped from Python, a ``collections.deque`` replay buffer);
* memory: peak RSS, and device bytes per run from the compiled chunk program against what a run must hold;
* the replay buffer's ``add`` under vmap inside a ``lax.scan``: its cost must not grow with the capacity.

Timings are medians of repeated chunks. The benchmark is a measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from core import (
    HParams,
    StaticConfig,
    Transition,
    buffer,
    cartpole,
    hparams_as_arrays,
    make_network,
    make_optimizer,
    make_train,
    target_update,
    td_loss,
)
from sweep import engine

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


# ---------------------------------------------------------------------------------------------------------
# Pure helpers: FLOP counts, bytes, the machine
# ---------------------------------------------------------------------------------------------------------
def mlp_forward_flops(sizes: tuple[int, ...]) -> int:
    """Multiply-add FLOPs (2 per MAC) of one sample through dense layers ``sizes[0] -> ... -> sizes[-1]``;
    biases and activations are not counted. 4->64->64->2: 2*(4*64 + 64*64 + 64*2) = 8,960."""
    return 2 * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def hand_update_flops(sizes: tuple[int, ...], batch_size: int) -> int:
    """A DQN gradient update by hand: online forward + target forward + backward (~2 forwards) on a batch,
    i.e. 4 forwards per sample. Adam and the loss are a few FLOPs per parameter or sample, ignored."""
    return 4 * batch_size * mlp_forward_flops(sizes)


def cost_flops(compiled) -> float:
    """The 'flops' entry of a compiled program's XLA cost analysis (nan where the backend gives none). Older
    jax versions return a list with one dict per program."""
    try:
        cost = compiled.cost_analysis()
    except Exception:  # noqa: BLE001 - backends without cost analysis
        return float("nan")
    if isinstance(cost, list | tuple):
        cost = cost[0] if cost else None
    if not cost or "flops" not in cost:
        return float("nan")
    return float(cost["flops"])


def tree_bytes(tree: Any) -> int:
    """Bytes of every array (or ShapeDtypeStruct) leaf of ``tree``."""
    return int(sum(math.prod(x.shape) * np.dtype(x.dtype).itemsize for x in jax.tree.leaves(tree)))


def needed_bytes_per_run(trainer, chunk_steps: int) -> dict[str, int]:
    """What one run must hold: its replay buffer, 4 copies of the params (online, target, Adam mu and nu) and one
    chunk of per-step outputs."""
    state = jax.eval_shape(lambda k: trainer.init(k, HParams()), jax.random.key(0))
    _, outputs = jax.eval_shape(lambda s: trainer.run(s, chunk_steps), state)
    out = {
        "buffer": tree_bytes(state.buffer.data),
        "params_x4": 4 * tree_bytes(state.params),
        "outputs": tree_bytes(outputs),
    }
    out["total"] = sum(out.values())
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    devices = jax.devices()
    try:
        cores_usable = len(os.sched_getaffinity(0))
    except AttributeError:
        cores_usable = os.cpu_count()
    return {
        "device": devices[0].device_kind,
        "platform": devices[0].platform,
        "device_count": len(devices),
        "devices": [str(d) for d in devices],
        "jax_version": jax.__version__,
        "cpu_model": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": cores_usable,
        "python": platform.python_version(),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def _median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------------------
def measure_peak_gflops(n: int, repeats: int) -> float:
    """Best of ``repeats`` jitted n x n @ n x n float32 matmuls (full fp32 precision), as GFLOP/s (2 n^3)."""
    a = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
    b = jax.random.normal(jax.random.key(2), (n, n), jnp.float32)
    mm = jax.jit(lambda x, y: jnp.matmul(x, y, precision=jax.lax.Precision.HIGHEST))
    jax.block_until_ready(mm(a, b))
    best = min(_timed(mm, a, b)[1] for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def mesh_for(n_runs: int, n_devices: int | None = None) -> Mesh:
    """The first ``n_devices`` devices of the engine's mesh (default: the most that divide ``n_runs``)."""
    devices = engine.make_mesh().devices.reshape(-1)
    if n_devices is None:
        n_devices = max(d for d in range(1, len(devices) + 1) if n_runs % d == 0)
    return Mesh(devices[:n_devices], (engine.AXIS,))


def measure_gemm_ceiling(n_runs: int, m: int, k: int, n: int, repeats: int, flops: float = 2e9) -> float:
    """GFLOP/s of the update's dominant matmul shape alone: ``n_runs`` independent [m, k] @ [k, n] float32
    products (each run its own weights), sharded over the engine's devices as the runs are, chained in a loop of
    about ``flops`` FLOPs. What a training step could reach if it were nothing but these matmuls."""
    sharding = NamedSharding(mesh_for(n_runs), P(engine.AXIS))
    x = jax.device_put(jax.random.normal(jax.random.key(3), (n_runs, m, k), jnp.float32), sharding)
    w = jax.device_put(jax.random.normal(jax.random.key(4), (n_runs, k, n), jnp.float32) / k, sharding)
    loops = max(1, int(flops / (2 * n_runs * m * k * n)))

    def chain(x, w):  # [m, k] @ [k, n] -> [m, n]; the next input is cut or padded back to [m, k]
        def body(_, x):
            y = jnp.einsum("rmk,rkn->rmn", x, w, precision=jax.lax.Precision.HIGHEST)
            return y[..., :k] if n >= k else jnp.pad(y, ((0, 0), (0, 0), (0, k - n)))

        return jax.lax.fori_loop(0, loops, body, x)

    run = jax.jit(chain, out_shardings=sharding)
    jax.block_until_ready(run(x, w))
    best = min(_timed(run, x, w)[1] for _ in range(repeats))
    return 2 * n_runs * m * k * n * loops / best / 1e9


def measure_flops(trainer) -> dict[str, Any]:
    """FLOPs of one training step of one run: a gradient update (``Trainer._update``) and the acting forward
    pass, from the compiled programs' cost analysis, next to the hand count."""
    static = trainer.static
    state = trainer.init(jax.random.key(0), HParams())
    update = cost_flops(jax.jit(trainer._update).lower(state, jax.random.key(1)).compile())
    act = cost_flops(jax.jit(trainer.network.apply).lower(state.params, state.obs).compile())
    sizes = (state.obs.shape[-1], *static.hidden_sizes, cartpole.NUM_ACTIONS)
    hand_update = hand_update_flops(sizes, static.batch_size)
    hand_act = mlp_forward_flops(sizes)
    return {
        "update_flops": update,
        "act_flops": act,
        "flops_per_env_step": update / static.train_every + act,
        "hand_update_flops": hand_update,
        "hand_act_flops": hand_act,
        "hand_flops_per_env_step": hand_update / static.train_every + hand_act,
        "source": "xla cost_analysis",
    }


class EngineBench:
    """N runs of the default config, compiled and run exactly as the sweep engine does (``engine._Group``)."""

    def __init__(self, static: StaticConfig, n_runs: int, chunk_steps: int, n_devices: int | None = None):
        """``n_devices``: the first devices of the engine's mesh to use (default: as many as divide N)."""
        self.n_runs, self.chunk_steps = n_runs, chunk_steps
        mesh = mesh_for(n_runs, n_devices)
        self.n_devices = mesh.size
        self.group = engine._Group(static, mesh, wave_size=n_runs)
        keys = engine.run_keys(np.arange(n_runs), base_seed=0)
        self.states = self.group.init(keys, engine.hparams_batch([HParams()._asdict()] * n_runs))
        self.compiled = self.group.compiled(chunk_steps)
        self.compile_s = self.group.compile_seconds
        self.steps_done = 0

    def chunk(self) -> float:
        """Runs one chunk of K steps; returns its seconds (outputs and state ready)."""
        t0 = time.perf_counter()
        self.states, outputs = self.compiled(self.states)
        jax.block_until_ready((self.states, outputs))
        self.steps_done += self.chunk_steps
        return time.perf_counter() - t0

    def warm_up(self, learning_starts: int) -> None:
        """Chunks until every later chunk lies wholly after ``learning_starts`` (updates in every step)."""
        while self.steps_done <= learning_starts:
            self.chunk()


class SequentialBench:
    """Baseline (a): the same training, one run at a time: ``jax.jit(trainer.run)`` on one run's state, called in
    a Python loop over the runs."""

    def __init__(self, static: StaticConfig, n_runs: int, chunk_steps: int):
        self.trainer = make_train(static)
        self.chunk_steps = chunk_steps
        self.run = jax.jit(self.trainer.run, static_argnums=1)
        keys = engine.run_keys(np.arange(n_runs), base_seed=0)
        init = jax.jit(self.trainer.init)
        self.states = [init(jnp.asarray(k), HParams()) for k in keys]
        t0 = time.perf_counter()
        jax.block_until_ready(self.run.lower(self.states[0], chunk_steps).compile())
        self.compile_s = time.perf_counter() - t0
        self.steps_done = 0

    def round(self) -> float:
        """Each run advances one chunk of K steps, run after run; returns the round's seconds."""
        t0 = time.perf_counter()
        for i, state in enumerate(self.states):
            state, outputs = self.run(state, self.chunk_steps)
            self.states[i] = jax.block_until_ready(state)
            jax.block_until_ready(outputs)
        self.steps_done += self.chunk_steps
        return time.perf_counter() - t0

    def warm_up(self, learning_starts: int) -> None:
        while self.steps_done <= learning_starts:
            self.round()


class HostLoopBench:
    """Baseline (b): the tutorial DQN. A gymnasium CartPole-v1 stepped from Python, a ``collections.deque`` replay
    buffer (maxlen = capacity), epsilon-greedy with a jitted Q forward (computed on greedy steps only, as tutorials
    do) and a jitted update (same network, loss and Adam; batch sampled with numpy; target copy every
    ``target_period`` updates), one update per ``train_every`` env steps once ``learning_starts`` have passed."""

    def __init__(self, static: StaticConfig, seed: int = 0):
        import gymnasium as gym

        self.static = static
        self.hp = hparams_as_arrays(HParams())
        self.network = make_network(static.hidden_sizes, cartpole.NUM_ACTIONS)
        self.env = gym.make("CartPole-v1")
        self.rng = np.random.default_rng(seed)
        self.obs, _ = self.env.reset(seed=seed)
        self.params = self.network.init(jax.random.key(seed), jnp.zeros((4,), jnp.float32))
        self.target_params = self.params
        self.opt_state = make_optimizer(self.hp, static).init(self.params)
        self.update_count = jnp.zeros((), jnp.int32)
        self.memory: collections.deque = collections.deque(maxlen=static.buffer_capacity)
        self.steps_done = 0
        network = self.network

        def update(params, target_params, opt_state, update_count, batch, hp):
            grads = jax.grad(td_loss)(params, target_params, batch, hp, static, network)
            updates, opt_state = make_optimizer(hp, static).update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            update_count = update_count + 1
            return params, target_update(target_params, params, update_count, hp), opt_state, update_count

        self.q = jax.jit(network.apply)
        self.update = jax.jit(update)

    def _epsilon(self) -> float:
        hp, total = HParams(), self.static.total_steps
        frac = self.steps_done / max(hp.eps_decay_fraction * total, 1.0)
        return hp.eps_end + (hp.eps_start - hp.eps_end) * min(max(1.0 - frac, 0.0), 1.0)

    def _sample(self) -> Transition:
        idx = self.rng.integers(len(self.memory), size=self.static.batch_size)
        items = [self.memory[i] for i in idx]
        return Transition(
            obs=np.stack([t[0] for t in items]).astype(np.float32),
            action=np.asarray([t[1] for t in items], np.int32),
            reward=np.asarray([t[2] for t in items], np.float32),
            terminated=np.asarray([t[3] for t in items], np.float32),
            next_obs=np.stack([t[4] for t in items]).astype(np.float32),
        )

    def steps(self, n: int) -> float:
        """Runs ``n`` env steps (with their updates); returns the seconds (last update ready)."""
        t0 = time.perf_counter()
        for _ in range(n):
            if self.rng.random() < self._epsilon():
                action = int(self.rng.integers(cartpole.NUM_ACTIONS))
            else:
                action = int(np.argmax(np.asarray(self.q(self.params, self.obs))))
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            self.memory.append((self.obs, action, float(reward), float(terminated), next_obs))
            self.obs = next_obs
            if terminated or truncated:
                self.obs, _ = self.env.reset()
            self.steps_done += 1
            if self.steps_done >= self.static.learning_starts and self.steps_done % self.static.train_every == 0:
                self.params, self.target_params, self.opt_state, self.update_count = self.update(
                    self.params, self.target_params, self.opt_state, self.update_count, self._sample(), self.hp
                )
        jax.block_until_ready(self.params)
        return time.perf_counter() - t0

    def warm_up(self) -> None:
        """Fills the buffer up to ``learning_starts`` and compiles the update."""
        self.steps(self.static.learning_starts + 1)


def measure_buffer_add(capacity: int, n_runs: int, n_adds: int, repeats: int) -> dict[str, Any]:
    """Seconds of a ``lax.scan`` of ``n_adds`` vmapped ``core.buffer.add`` calls (one buffer per run, CartPole
    transitions), buffers donated: the median of ``repeats`` calls. An in-place add costs the same at any
    capacity; a copying one grows linearly with it."""
    example = Transition(
        obs=jnp.zeros((4,), jnp.float32),
        action=jnp.zeros((), jnp.int32),
        reward=jnp.zeros((), jnp.float32),
        terminated=jnp.zeros((), jnp.float32),
        next_obs=jnp.zeros((4,), jnp.float32),
    )
    init = jax.jit(jax.vmap(lambda _: buffer.init(capacity, example)))
    run_ids = jnp.arange(n_runs, dtype=jnp.float32)

    def adds(states):
        def body(s, i):
            x = run_ids + i.astype(jnp.float32)  # [runs]
            item = Transition(
                obs=jnp.broadcast_to(x[:, None], (n_runs, 4)),
                action=i * jnp.ones((n_runs,), jnp.int32) % 2,
                reward=jnp.ones((n_runs,), jnp.float32),
                terminated=jnp.zeros((n_runs,), jnp.float32),
                next_obs=jnp.broadcast_to(x[:, None] + 1, (n_runs, 4)),
            )
            return jax.vmap(buffer.add)(s, item), None

        return jax.lax.scan(body, states, jnp.arange(n_adds))[0]

    run = jax.jit(adds, donate_argnums=0)
    states = jax.block_until_ready(init(jnp.arange(n_runs)))
    states = jax.block_until_ready(run(states))  # compiles
    times = []
    for _ in range(repeats):
        states, dt = _timed(run, states)
        times.append(dt)
    seconds = _median(times)
    return {
        "capacity": capacity,
        "n_runs": n_runs,
        "adds": n_adds,
        "buffer_bytes_per_run": tree_bytes(states.data) // n_runs,
        "seconds": seconds,
        "us_per_add": seconds / n_adds * 1e6,  # one vmapped add (all runs)
        "seconds_all": times,
    }


# ---------------------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------------------
def _engine_entry(eb: EngineBench, times: list[float], flops_per_step: float, peak: float) -> dict[str, Any]:
    steps_per_s = eb.n_runs * eb.chunk_steps / _median(times)
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
        "device_bytes_per_run": engine.bytes_per_run(eb.compiled, eb.n_runs // eb.n_devices),
    }


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
    flops = measure_flops(trainer)
    fps = flops["flops_per_env_step"]
    if not math.isfinite(fps):  # no cost analysis on this backend: fall back to the hand count
        fps, flops["source"] = flops["hand_flops_per_env_step"], "hand count"
    _log(
        f"FLOPs per env step {fps:,.0f} (update {flops['update_flops']:,.0f} + act {flops['act_flops']:,.0f}; "
        f"hand {flops['hand_flops_per_env_step']:,.0f})"
    )

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
        entry = _engine_entry(eb, times, fps, peaks[0])
        scaling.append(entry)
        _log(f"  N={n}: {entry['agg_steps_per_s']:,.0f} env steps/s (chunks {', '.join(f'{t:.2f}' for t in times)} s)")
        if n == ref_n:
            ref_bench = entry
            interleaved = {
                "sequential": {
                    "n_runs": cfg.sequential_runs,
                    "chunk_steps": K,
                    "round_seconds": seq_times,
                    "agg_steps_per_s": cfg.sequential_runs * K / _median(seq_times),
                    "compile_s": seq.compile_s,
                },
                "host_loop": {
                    "steps_per_segment": cfg.host_loop_steps,
                    "segment_seconds": host_times,
                    "agg_steps_per_s": cfg.host_loop_steps / _median(host_times),
                    "steps_done": host.steps_done,
                    "buffer_size": len(host.memory),
                },
            }
            if one_dev is not None:
                interleaved["engine_one_device"] = {
                    "n_runs": n,
                    "chunk_seconds": one_dev_times,
                    "agg_steps_per_s": n * K / _median(one_dev_times),
                }
                _log(f"  the same {n} runs on one device: {interleaved['engine_one_device']['agg_steps_per_s']:,.0f}")
            seq_s, host_s = interleaved["sequential"]["agg_steps_per_s"], interleaved["host_loop"]["agg_steps_per_s"]
            _log(f"  sequential {seq_s:,.0f} env steps/s, host loop {host_s:,.0f} env steps/s")
            mem_needed = needed_bytes_per_run(trainer, K)
            mem_compiled = entry["device_bytes_per_run"]
        del eb

    buffer_add = []
    for cap in cfg.buffer_capacities:
        _log(f"buffer add: capacity {cap:,}, {cfg.buffer_runs} vmapped buffers, {cfg.buffer_adds} adds...")
        buffer_add.append(measure_buffer_add(cap, cfg.buffer_runs, cfg.buffer_adds, cfg.buffer_repeats))
        _log(f"  {buffer_add[-1]['us_per_add']:.2f} us per vmapped add")
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
        "flops_per_env_step": fps,
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


# ---------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------
def format_table(r: dict[str, Any]) -> str:
    """The human-readable summary of ``run_bench``'s result."""
    s = r["config"]["static"]
    hidden = "x".join(str(h) for h in s["hidden_sizes"])
    lines = [
        f"DQN on CartPole-v1, default config: MLP {hidden}, batch {s['batch_size']}, buffer "
        f"{s['buffer_capacity']:,}, train_every {s['train_every']}; chunks of {r['chunk_steps']:,} env steps",
        f"machine: {r['device']} x{r['device_count']} ({r['cpu_model']}, {r['cpu_cores']} cores), "
        f"jax {r['jax_version']}, {r['created']}",
        "",
        f"{'runs N':>7} | {'devices':>7} | {'env steps/s':>11} | {'updates/s':>11} | {'GFLOP/s':>7} | "
        f"{'roofline':>8} | {'compile s':>9} | {'dev. KB/run':>11}",
        "-" * 94,
    ]
    for e in r["scaling"]:
        lines.append(
            f"{e['n_runs']:>7} | {e['devices']:>7} | {e['agg_steps_per_s']:>11,.0f} | {e['updates_per_s']:>11,.0f} | "
            f"{e['achieved_gflops']:>7.2f} | {e['roofline_fraction']:>7.1%} | {e['compile_s']:>9.1f} | "
            f"{e['device_bytes_per_run'] / 1024:>11,.0f}"
        )
    b = r["baselines"]
    mem = r["needed_bytes_per_run"]
    f = r["flops"]
    lines += [
        "",
        f"baselines, timed interleaved with the engine at N={r['n_runs']}:",
        f"  engine N={r['n_runs']:<4}          {r['agg_steps_per_s']:>10,.0f} env steps/s",
        *(
            [
                f"  engine, one device    {b['engine_one_device']['agg_steps_per_s']:>10,.0f} env steps/s   "
                f"one device per core / one device = {r['ratio_vs_one_device']:.2f}x"
            ]
            if r.get("ratio_vs_one_device")
            else []
        ),
        f"  sequential ({b['sequential']['n_runs']} runs)    {r['sequential_steps_per_s']:>10,.0f} env steps/s   "
        f"engine / sequential = {r['ratio_vs_sequential']:.2f}x",
        f"  host loop (gymnasium) {r['host_loop_steps_per_s']:>10,.0f} env steps/s   "
        f"engine / host loop  = {r['ratio_vs_host_loop']:.1f}x",
        "",
        f"FLOPs per env step: {r['flops_per_env_step']:,.0f} ({f['source']}: update {f['update_flops']:,.0f} + act "
        f"{f['act_flops']:,.0f}); hand count {f['hand_flops_per_env_step']:,.0f} "
        f"({r['flops_per_env_step'] / f['hand_flops_per_env_step']:.2f}x)",
        f"fp32 matmul peak (best matmul measured here): {r['peak_gflops']:.1f} GFLOP/s; at N={r['n_runs']}: "
        f"{r['achieved_gflops']:.2f} GFLOP/s "
        f"= {r['roofline_fraction']:.1%} of peak",
        f"matmul ceiling of the update's shape ({r['n_runs']} runs x [{s['batch_size']}, {s['hidden_sizes'][0]}] @ "
        f"[{s['hidden_sizes'][0]}, {s['hidden_sizes'][-1]}], nothing else): {r['gemm_ceiling_gflops']:.1f} GFLOP/s "
        f"= {r['gemm_ceiling_fraction']:.1%} of peak; the training step reaches "
        f"{r['fraction_of_gemm_ceiling']:.1%} of it",
        f"device memory per run (N={r['n_runs']}): compiled {r['device_bytes_per_run'] / 1024:,.0f} KB vs needed "
        f"{mem['total'] / 1024:,.0f} KB (buffer {mem['buffer'] / 1024:,.0f} + params x4 {mem['params_x4'] / 1024:,.0f}"
        f" + outputs {mem['outputs'] / 1024:,.0f}) = {r['memory_ratio']:.2f}x; peak RSS {r['peak_rss_mb']:,.0f} MB",
        "replay buffer add under vmap ("
        f"{r['buffer_add'][0]['n_runs']} buffers, scan of {r['buffer_add'][0]['adds']:,} adds): "
        + ", ".join(f"capacity {b['capacity']:,}: {b['us_per_add']:.2f} us" for b in r["buffer_add"])
        + f"; largest / smallest = {r['buffer_add_ratio']:.2f}x",
        f"wall time {r['wall_s']:.0f} s",
    ]
    return "\n".join(lines)


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, jax.Array | np.ndarray):
        return np.asarray(x).tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def to_json(result: dict[str, Any]) -> str:
    """Strict JSON (non-finite numbers become null)."""

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    return json.dumps(clean(json.loads(json.dumps(result, default=_json_default))), indent=1, allow_nan=False)


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    except OSError as err:
        raise SystemExit(f"error: cannot write {path}: {err.strerror or err}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sweep.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 1, 16, 64 and shorter timings (< 3 minutes)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument("--out", type=Path, default=Path("results/bench"), metavar="DIR",
                        help="folder of the timestamped results file (default: results/bench)")  # fmt: skip
    args = parser.parse_args(argv)
    for folder in (args.out, args.json.parent if args.json else None):
        if folder is not None and folder.exists() and not folder.is_dir():
            print(f"error: {folder} exists and is not a folder", file=sys.stderr)
            return 2
    engine.use_cpu_cores()  # as the sweep command does: one CPU device per core
    result = run_bench(QUICK if args.quick else FULL, quick=args.quick)
    text = to_json(result)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = args.out / f"{stamp}{'-quick' if args.quick else ''}.json"
    _write(out_path, text)
    if args.json:
        _write(args.json, text)
    print(format_table(result))
    _log(f"wrote {out_path}" + (f" and {args.json}" if args.json else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
