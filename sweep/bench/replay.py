"""``python -m sweep.bench.replay [--quick] [--json PATH] [--out DIR]``: what prioritized replay (and each of
DQN's other options) costs.

Two measurements, each interleaved in one process (the variants' timed chunks alternate, so their ratios share the
machine's load):

* **samplers**: a ``lax.scan`` of replay steps, vmapped over runs as the engine vmaps them, each step one add,
  one draw of a batch (its rows gathered) and one write of the batch's priorities: uniform replay
  (``core.buffer``), the sum tree of ``core.prioritized`` with 16 children per node (the one the trainer uses)
  and with 2, and, as the alternative not taken, a flat priority array sampled with a cumulative sum and a
  binary search (O(N) per draw: ``cumsum_sample`` below);
* **training**: env steps/s of whole DQN runs compiled and sharded as a sweep runs them (a
  ``sweep.compute.program.GroupProgram``, 8 runs per device), after ``learning_starts`` so that every step holds an
  update: uniform replay against prioritized replay at each capacity, and at the first capacity also 3-step
  returns, dueling heads, those with double Q-learning together, C51, noisy networks, and all of them (Rainbow).

Results are printed as a table and written as strict JSON to ``results/bench/replay-<UTC time>.json`` (and
``--json PATH``). A measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

import jax
import jax.numpy as jnp

from sweep.bench import command

PROG = "python -m sweep.bench.replay"
ROW = 11  # floats per stored CartPole transition (core.rows.PACKED_SIZE)


def cumsum_sample(priorities: jax.Array, key: jax.Array, batch_size: int, size: jax.Array) -> jax.Array:
    """The alternative to a sum tree: [batch_size] slots drawn in proportion to ``priorities`` [N] by a cumulative
    sum (O(N)) and a binary search, stratified like ``core.prioritized.sample_indices``."""
    cdf = jnp.cumsum(priorities)
    u = (jnp.arange(batch_size) + jax.random.uniform(key, (batch_size,))) * (cdf[-1] / batch_size)
    return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), size - 1).astype(jnp.int32)


def _sampler_steps(kind: str, capacity: int, batch_size: int):
    """(init, step) of one run's replay loop for sampler ``kind``: ``init(key)`` is a full buffer (random rows and
    priorities), step(carry, t) adds transition t, draws a batch, gathers its rows and writes new priorities
    (random, as TD errors would be)."""
    from core import buffer, prioritized

    example = jnp.zeros((ROW,), jnp.float32)

    def full_ring(key):
        ring = buffer.init(capacity, example)
        data = jax.random.normal(key, (capacity, ROW), jnp.float32)
        return ring._replace(data=data, size=jnp.int32(capacity))

    def random_priorities(key):
        return jax.random.uniform(jax.random.fold_in(key, 1), (capacity,)) + 0.01

    def new_item(t):
        return jnp.full((ROW,), t, jnp.float32)

    if kind == "uniform":

        def init(key):
            return full_ring(key)

        def step(carry, t):
            state, key = carry
            key, k_draw, _ = jax.random.split(key, 3)
            state = buffer.add(state, new_item(t))
            rows = buffer.sample(state, k_draw, batch_size)
            return (state, key), rows[0, 0]

    elif kind.startswith("sum tree"):
        branching = int(kind.rsplit("=", 1)[1])

        def init(key):
            state = prioritized.init(capacity, example, branching)._replace(ring=full_ring(key))
            return prioritized.set_priorities(state, jnp.arange(capacity), random_priorities(key))

        def step(carry, t):
            state, key = carry
            key, k_draw, k_pri = jax.random.split(key, 3)
            state = prioritized.add(state, new_item(t))
            idx, probs = prioritized.sample_indices(state, k_draw, batch_size)
            rows = jnp.take(state.ring.data, idx, axis=0)
            state = prioritized.set_priorities(state, idx, jax.random.uniform(k_pri, (batch_size,)) + 0.01)
            return (state, key), rows[0, 0] + probs[0]

    elif kind == "cumsum":

        def init(key):
            pri = random_priorities(key)
            return full_ring(key), pri, jnp.max(pri)

        def step(carry, t):
            (ring, pri, max_p), key = carry
            key, k_draw, k_pri = jax.random.split(key, 3)
            pri = pri.at[ring.pos].set(max_p)
            ring = buffer.add(ring, new_item(t))
            idx = cumsum_sample(pri, k_draw, batch_size, ring.size)
            rows = jnp.take(ring.data, idx, axis=0)
            new = jax.random.uniform(k_pri, (batch_size,)) + 0.01
            pri = pri.at[idx].set(0.0).at[idx].max(new)
            return ((ring, pri, jnp.maximum(max_p, new.max())), key), rows[0, 0]

    else:
        raise ValueError(f"unknown sampler {kind!r}")
    return init, step


def measure_samplers(
    capacity: int, kinds: list[str], n_runs: int, steps: int, repeats: int, batch_size: int = 64
) -> dict[str, Any]:
    """Microseconds per replay step of one run (the median vmapped scan of ``steps`` steps over ``n_runs`` runs,
    divided by both) for each sampler, timed interleaved, from full buffers."""
    from sweep.bench.measure import median, timed

    programs = {}
    for kind in kinds:
        init, step = _sampler_steps(kind, capacity, batch_size)

        def run(states, keys, t0, step=step):
            def one(state, key):
                (state, key), out = jax.lax.scan(step, (state, jax.random.wrap_key_data(key)), t0 + jnp.arange(steps))
                return state, jax.random.key_data(key), out[-1]

            return jax.vmap(one)(states, keys)

        fn = jax.jit(run, donate_argnums=0)
        k_init, k_run = jax.random.split(jax.random.key(0))
        states = jax.jit(jax.vmap(init))(jax.random.split(k_init, n_runs))
        keys = jax.vmap(jax.random.key_data)(jax.random.split(k_run, n_runs))
        states, keys, _ = jax.block_until_ready(fn(states, keys, jnp.int32(0)))  # compiles
        programs[kind] = {"fn": fn, "states": states, "keys": keys, "t": steps, "seconds": []}
    for _ in range(repeats):
        for p in programs.values():
            (p["states"], p["keys"], _), dt = timed(p["fn"], p["states"], p["keys"], jnp.int32(p["t"]))
            p["t"] += steps
            p["seconds"].append(dt)
    out = {}
    for kind, p in programs.items():
        out[kind] = {"us_per_step": median(p["seconds"]) / steps / n_runs * 1e6, "seconds": p["seconds"]}
    base = out[kinds[0]]["us_per_step"]
    for entry in out.values():
        entry["vs_first"] = entry["us_per_step"] / base
    return {"capacity": capacity, "n_runs": n_runs, "steps": steps, "batch_size": batch_size, "samplers": out}


TRAINING_VARIANTS = {
    "uniform": {},
    "per": {"per": True},
    "n_step 3": {"n_step": 3},
    "dueling": {"dueling": True},
    "all (per, n_step 3, dueling, double_q)": {"per": True, "n_step": 3, "dueling": True, "double_q": True},
    "C51 (51 atoms)": {"distributional": True},
    "noisy": {"noisy": True},
    "Rainbow (all, C51, noisy)": {
        "per": True,
        "n_step": 3,
        "dueling": True,
        "double_q": True,
        "distributional": True,
        "noisy": True,
    },  # fmt: skip
}


def measure_training(capacity: int, variants: list[str], n_runs: int, chunk_steps: int, repeats: int) -> dict[str, Any]:
    """Env steps/s of ``n_runs`` default-config runs with buffer ``capacity`` per variant (``TRAINING_VARIANTS``),
    as the sweep engine runs them, chunks timed interleaved after ``learning_starts``."""
    from core import StaticConfig
    from sweep.bench.baselines import interleaved
    from sweep.bench.measure import median

    statics = {name: StaticConfig(buffer_capacity=capacity, **TRAINING_VARIANTS[name]) for name in variants}
    benches = interleaved(statics, n_runs, chunk_steps, repeats)
    out = {}
    for name, (eb, times) in benches.items():
        steps_per_s = n_runs * chunk_steps / median(times)
        out[name] = {
            "agg_steps_per_s": steps_per_s,
            "us_per_env_step": 1e6 / steps_per_s,  # machine time per env step, all runs together
            "compile_s": eb.compile_s,
            "devices": eb.n_devices,
            "chunk_seconds": times,
        }
    base = out[variants[0]]["us_per_env_step"]
    for entry in out.values():
        entry["cost_vs_uniform"] = entry["us_per_env_step"] / base
    return {"capacity": capacity, "n_runs": n_runs, "chunk_steps": chunk_steps, "variants": out}


def run_replay_bench(quick: bool = False) -> dict[str, Any]:
    from sweep.bench.measure import machine_info

    capacities = (10_000, 100_000)
    samplers = ["uniform", "sum tree k=16", "sum tree k=2", "cumsum"]
    result: dict[str, Any] = {"created": datetime.now(UTC).isoformat(timespec="seconds"), **machine_info()}
    result["samplers"] = [
        measure_samplers(c, samplers, n_runs=8, steps=1_000 if quick else 2_000, repeats=3 if quick else 7)
        for c in capacities
    ]
    result["training"] = [
        measure_training(
            c,
            list(TRAINING_VARIANTS) if i == 0 else ["uniform", "per"],
            n_runs=16,
            chunk_steps=1_000 if quick else 2_000,
            repeats=3 if quick else 7,
        )
        for i, c in enumerate(capacities)
    ]
    return result


def format_table(r: dict[str, Any]) -> str:
    lines = [f"machine: {r['device']} x{r['device_count']} ({r['cpu_model']}), jax {r['jax_version']}, {r['created']}"]
    for s in r["samplers"]:
        lines.append(
            f"\nreplay step (add, draw {s['batch_size']}, write priorities), {s['capacity']:,} slots, "
            f"{s['n_runs']} vmapped runs: us per step per run"
        )
        for kind, e in s["samplers"].items():
            lines.append(f"  {kind:<16} {e['us_per_step']:>8.2f}  {e['vs_first']:>6.2f}x uniform")
    for t in r["training"]:
        lines.append(
            f"\nDQN training, buffer {t['capacity']:,}, {t['n_runs']} runs as a sweep runs them: "
            "env steps/s, us per env step (all runs together), cost against uniform replay"
        )
        for name, e in t["variants"].items():
            lines.append(
                f"  {name:<40} {e['agg_steps_per_s']:>9,.0f} {e['us_per_env_step']:>8.2f} {e['cost_vs_uniform']:>6.2f}x"
            )
    return "\n".join(lines)


def _measure(args) -> dict[str, Any]:
    from sweep.compute.devices import use_cpu_cores

    use_cpu_cores()  # as the sweep command does: one CPU device per core
    return run_replay_bench(quick=args.quick)


def parser() -> command.Parser:
    """The command line's parser."""
    return command.parser(PROG, "What prioritized replay costs against uniform replay.",
                          "fewer and shorter timings (about 3 minutes)")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return command.run(PROG, parser(), argv, _measure, format_table, prefix="replay-")


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    if code == 0:  # an error is its one line alone
        print(f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    sys.exit(code)
