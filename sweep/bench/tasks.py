"""``python -m sweep.bench.tasks [--quick] [--json PATH] [--out DIR]``: the engine's throughput on each task, 16 runs
(8 per device on 2 CPU cores) as a sweep trains them (``EngineBench``), timed after ``learning_starts``:

* each classic-control task with the default configuration (an update every env step, batch 64, MLP 64x64);
* Breakout-MinAtar with the default configuration's MLP on the flattened image, with MinAtar's network
  (``network = "minatar_conv"``, 128 units) at the same settings, and with ``minatar_breakout``'s settings (an
  update every 4 env steps, batch 32).

Each task's rate is the median of timed chunks, relative to CartPole-v1's measured in the same process. Then
each environment alone: 1,024 copies under ``vmap`` in a jitted scan with random actions and resets, against gymnasium's
own environment stepped in a Python loop (none for MinAtar, which gymnasium does not have). Results
are printed and written as strict JSON to ``results/bench/tasks-<UTC time>.json``. A measurement, not a test.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from sweep.bench import command

PROG = "python -m sweep.bench.tasks"
RUNS = 16
ENVS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Breakout-MinAtar")  # timed alone too
ENVS_VMAPPED = 1_024
# (label, static fields besides the defaults)
CASES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("CartPole-v1", {}),
    ("Acrobot-v1", {"env": "Acrobot-v1"}),
    ("MountainCar-v0", {"env": "MountainCar-v0"}),
    ("Breakout-MinAtar, MLP 64x64", {"env": "Breakout-MinAtar", "network": "mlp"}),
    ("Breakout-MinAtar, MinAtar's network", {"env": "Breakout-MinAtar", "hidden_sizes": (128,)}),
    (
        "Breakout-MinAtar, minatar_breakout grid",
        {"env": "Breakout-MinAtar", "hidden_sizes": (128,), "train_every": 4, "batch_size": 32},
    ),
)


def measure_case(fields: dict[str, Any], *, chunk_steps: int, seconds: float) -> dict[str, Any]:
    """Env steps/s of ``RUNS`` runs of the default configuration changed by ``fields``."""
    from core.config import StaticConfig
    from sweep.bench.baselines import EngineBench
    from sweep.bench.measure import median

    static = StaticConfig(**{"learning_starts": 500, **fields})
    bench = EngineBench(static, RUNS, chunk_steps)
    bench.warm_up(static.learning_starts)
    times = [bench.chunk()]
    while sum(times) < seconds and len(times) < 20:
        times.append(bench.chunk())
    return {"fields": fields, "env_steps_per_s": RUNS * chunk_steps / median(times), "chunk_seconds": times,
            "compile_s": bench.compile_s}  # fmt: skip


def env_alone(name: str, *, n_envs: int, steps: int, repeats: int) -> float:
    """Env steps/s of ``n_envs`` copies of the environment under ``vmap`` in a jitted ``lax.scan``, uniformly random
    actions, no learning; an episode's end resets the copy as the training loop does (a fresh reset every step,
    selected where the episode ended). The scan returns the sum of every observation and reward, so that the
    compiler cannot drop the dynamics (CartPole's and MountainCar's rewards do not depend on the state: summing
    the rewards alone let XLA skip the physics and report billions of steps per second)."""
    import jax
    import jax.numpy as jnp

    from core.envs import make_env
    from sweep.bench.measure import median

    env = make_env(name, 0)
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    reset = jax.vmap(env.reset, in_axes=(0, None))

    def run(key):
        _, state = reset(jax.random.split(key, n_envs), env.params)

        def body(state, k):
            k_step, k_act, k_reset = jax.random.split(k, 3)
            actions = jax.random.randint(k_act, (n_envs,), 0, env.num_actions)
            obs, state, reward, terminated, truncated, _ = step(
                jax.random.split(k_step, n_envs), state, actions, env.params
            )
            _, fresh = reset(jax.random.split(k_reset, n_envs), env.params)
            done = terminated | truncated

            def pick(r, s):
                return jnp.where(done.reshape(done.shape + (1,) * (s.ndim - 1)), r, s)

            state = jax.tree.map(pick, fresh, state)
            return state, reward.sum() + obs.sum()

        return jax.lax.scan(body, state, jax.random.split(key, steps))[1].sum()

    f = jax.jit(run)
    f(jax.random.key(0)).block_until_ready()
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        f(jax.random.key(i + 1)).block_until_ready()
        times.append(time.perf_counter() - t0)
    return n_envs * steps / median(times)


def gymnasium_loop(name: str, *, seconds: float) -> float | None:
    """Env steps/s of gymnasium's environment stepped in a Python loop with random actions (reset at each episode's
    end), or None for a task gymnasium does not have (MinAtar)."""
    import gymnasium as gym

    if name not in gym.registry:
        return None
    env = gym.make(name)
    env.reset(seed=0)
    env.action_space.seed(0)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(1_000):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        steps += 1_000
    return steps / (time.perf_counter() - t0)


def format_table(r: dict[str, Any]) -> str:
    lines = [f"machine: {r['device']} x{r['device_count']} ({r['cpu_model']}), jax {r['jax_version']}, {r['created']}"]
    lines.append(f"DQN training, {RUNS} runs, env steps/s (relative to CartPole-v1):")
    base = r["tasks"][0]["env_steps_per_s"]
    for t in r["tasks"]:
        rate = t["env_steps_per_s"]
        lines.append(f"  {t['label']:<42} {rate:>9,.0f}  {rate / base:5.2f}x")
    lines.append(
        f"The environment alone, env steps/s: vmapped ({r['envs_vmapped']:,} copies) vs gymnasium's Python loop:"
    )
    for e in r["envs"]:
        loop = f"{e['gymnasium_loop']:>11,.0f}" if e["gymnasium_loop"] else "        n/a"
        ratio = f"{e['vmapped'] / e['gymnasium_loop']:8,.0f}x" if e["gymnasium_loop"] else ""
        lines.append(f"  {e['env']:<22} {e['vmapped']:>13,.0f} {loop} {ratio}")
    return "\n".join(lines)


def _measure(args) -> dict[str, Any]:
    from sweep.bench.measure import machine_info
    from sweep.compute.devices import use_cpu_cores

    use_cpu_cores()  # as the sweep command does: one CPU device per core
    result: dict[str, Any] = {"created": datetime.now(UTC).isoformat(timespec="seconds"), **machine_info()}
    kw = dict(chunk_steps=200, seconds=3.0) if args.quick else dict(chunk_steps=500, seconds=10.0)
    result["tasks"] = [{"label": label, **measure_case(fields, **kw)} for label, fields in CASES]
    n_envs = 64 if args.quick else ENVS_VMAPPED
    alone = dict(n_envs=n_envs, steps=200 if args.quick else 1_000, repeats=3)
    seconds = 0.5 if args.quick else 3.0
    result["envs_vmapped"] = n_envs
    result["envs"] = [
        {"env": name, "vmapped": env_alone(name, **alone), "gymnasium_loop": gymnasium_loop(name, seconds=seconds)}
        for name in ENVS
    ]
    return result


def parser() -> command.Parser:
    """The command line's parser."""
    return command.parser(PROG, "The engine's throughput on each task.", "shorter timings")


def main(argv: list[str] | None = None) -> int:
    return command.run(PROG, parser(), argv, _measure, format_table, prefix="tasks-")


if __name__ == "__main__":
    sys.exit(main())
