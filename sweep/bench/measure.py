"""Measurements of the benchmark: FLOP counts, bytes, the machine, matmul rates and the replay buffer's add."""

from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from core import HParams, Learner, Transition, buffer, cartpole
from sweep.compute.devices import AXIS, make_mesh


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


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def timed(fn, *args):
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
    best = min(timed(mm, a, b)[1] for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def mesh_for(n_runs: int, n_devices: int | None = None) -> Mesh:
    """The first ``n_devices`` devices of the engine's mesh (default: the most that divide ``n_runs``)."""
    devices = make_mesh().devices.reshape(-1)
    if n_devices is None:
        n_devices = max(d for d in range(1, len(devices) + 1) if n_runs % d == 0)
    return Mesh(devices[:n_devices], (AXIS,))


def measure_gemm_ceiling(n_runs: int, m: int, k: int, n: int, repeats: int, flops: float = 2e9) -> float:
    """GFLOP/s of the update's dominant matmul shape alone: ``n_runs`` independent [m, k] @ [k, n] float32
    products (each run its own weights), sharded over the engine's devices as the runs are, chained in a loop of
    about ``flops`` FLOPs. What a training step could reach if it were nothing but these matmuls."""
    sharding = NamedSharding(mesh_for(n_runs), P(AXIS))
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
    best = min(timed(run, x, w)[1] for _ in range(repeats))
    return 2 * n_runs * m * k * n * loops / best / 1e9


def measure_flops(trainer) -> dict[str, Any]:
    """FLOPs of one training step of one run: a gradient update (``Trainer.learn``: sample a batch, one update)
    and the acting forward pass, from the compiled programs' cost analysis, next to the hand count."""
    static = trainer.static
    state = trainer.init(jax.random.key(0), HParams())
    learn = jax.jit(trainer.learn).lower(Learner.of(state), state.buffer, state.hparams, jax.random.key(1))
    update = cost_flops(learn.compile())
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
        states, dt = timed(run, states)
        times.append(dt)
    seconds = median(times)
    return {
        "capacity": capacity,
        "n_runs": n_runs,
        "adds": n_adds,
        "buffer_bytes_per_run": tree_bytes(states.data) // n_runs,
        "seconds": seconds,
        "us_per_add": seconds / n_adds * 1e6,  # one vmapped add (all runs)
        "seconds_all": times,
    }
