"""``python -m sweep.bench.articles [--quick] [--json PATH] [--out DIR]``: the seed articles' configurations
(``sweep/grids/rlax_tutorial.toml``, ``sweep/grids/jym_article.toml``) timed three ways, interleaved in one process:

* **host loop**: the way the RLax tutorial trains, one seed in a Python loop over gymnasium's CartPole-v1
  (``HostLoopBench``, the baseline ``make bench`` measures for the default config);
* **one seed, jitted**: the way the jym article trains, one run's whole training compiled (``SequentialBench``
  over one run: ``jax.jit(trainer.run)``);
* **engine**: 16 runs (8 per device) as a sweep trains them (``EngineBench``, a ``GroupProgram``).

Each is timed after ``learning_starts``, so that every step holds the config's updates. Env steps/s exclude
greedy evaluations except where a timed chunk contains one (the jitted and engine chunks, as in a sweep).
Results are printed and written as strict JSON to ``results/bench/articles-<UTC time>.json``. A measurement, not
a test: nothing here asserts a speed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from sweep.bench import command

PROG = "python -m sweep.bench.articles"
GRIDS = ("rlax_tutorial", "jym_article")


def measure_article(grid_name: str, *, chunk_steps: int, host_steps: int, repeats: int) -> dict[str, Any]:
    """Env steps/s of one grid's configuration: host loop, one jitted seed and the engine's 16 runs, timed
    interleaved (medians of ``repeats`` rounds)."""
    from sweep.bench.baselines import EngineBench, HostLoopBench, SequentialBench
    from sweep.bench.measure import median
    from sweep.schedules import load_grid
    from sweep.spec.grid import split_config

    static, _ = split_config(load_grid(grid_name).configs()[0])
    host = HostLoopBench(static)
    host.warm_up()
    one = SequentialBench(static, 1, chunk_steps)
    one.warm_up(static.learning_starts)
    engine = EngineBench(static, 16, chunk_steps)
    engine.warm_up(static.learning_starts)
    times: dict[str, list[float]] = {"host loop": [], "one seed, jitted": [], "engine, 16 runs": []}
    for _ in range(repeats):
        times["host loop"].append(host.steps(host_steps))
        times["one seed, jitted"].append(one.round())
        times["engine, 16 runs"].append(engine.chunk())
    steps = {"host loop": host_steps, "one seed, jitted": chunk_steps, "engine, 16 runs": 16 * chunk_steps}
    rates = {name: steps[name] / median(ts) for name, ts in times.items()}
    return {
        "grid": grid_name,
        "env_steps_per_s": rates,
        "engine_vs_host_loop": rates["engine, 16 runs"] / rates["host loop"],
        "engine_vs_one_seed": rates["engine, 16 runs"] / rates["one seed, jitted"],
        "seconds": times,
        "steps_per_timing": steps,
        "compile_s": {"one seed, jitted": one.compile_s, "engine, 16 runs": engine.compile_s},
    }


def format_table(r: dict[str, Any]) -> str:
    lines = [f"machine: {r['device']} x{r['device_count']} ({r['cpu_model']}), jax {r['jax_version']}, {r['created']}"]
    for a in r["articles"]:
        lines.append(f"\n{a['grid']}: env steps/s")
        for name, rate in a["env_steps_per_s"].items():
            lines.append(f"  {name:<18} {rate:>9,.0f}")
        lines.append(
            f"  engine / host loop {a['engine_vs_host_loop']:.1f}x, engine / one jitted seed "
            f"{a['engine_vs_one_seed']:.1f}x"
        )
    return "\n".join(lines)


def _measure(args) -> dict[str, Any]:
    from sweep.bench.baselines import HostLoopBench
    from sweep.bench.measure import machine_info
    from sweep.compute.devices import use_cpu_cores

    HostLoopBench.check_installed()
    use_cpu_cores()  # as the sweep command does: one CPU device per core
    result: dict[str, Any] = {"created": datetime.now(UTC).isoformat(timespec="seconds"), **machine_info()}
    kw = dict(chunk_steps=1_000, host_steps=500, repeats=3) if args.quick else {}
    kw = kw or dict(chunk_steps=2_000, host_steps=1_000, repeats=5)
    result["articles"] = [measure_article(g, **kw) for g in GRIDS]
    return result


def parser() -> command.Parser:
    """The command line's parser."""
    return command.parser(PROG, "The seed articles' configurations: host loop, one jitted seed, engine.",
                          "fewer and shorter timings")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return command.run(PROG, parser(), argv, _measure, format_table, prefix="articles-")


if __name__ == "__main__":
    sys.exit(main())
