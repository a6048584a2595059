"""``python -m sweep.bench.tasks [--quick] [--json PATH] [--out DIR]``: the engine's throughput on each task, 16 runs
(8 per device on 2 CPU cores) as a sweep trains them (``EngineBench``), timed after ``learning_starts``:

* each classic-control task with the default configuration (an update every env step, batch 64, MLP 64x64);
* Breakout-MinAtar with the default configuration's MLP on the flattened image, with MinAtar's network
  (``network = "minatar_conv"``, 128 units) at the same settings, and with ``minatar_breakout``'s settings (an
  update every 4 env steps, batch 32).

Each task's rate is the median of timed chunks, relative to CartPole-v1's measured in the same process. Results
are printed and written as strict JSON to ``results/bench/tasks-<UTC time>.json``. A measurement, not a test.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

from sweep.bench import command

PROG = "python -m sweep.bench.tasks"
RUNS = 16
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


def format_table(r: dict[str, Any]) -> str:
    lines = [f"machine: {r['device']} x{r['device_count']} ({r['cpu_model']}), jax {r['jax_version']}, {r['created']}"]
    lines.append(f"{RUNS} runs, env steps/s (relative to CartPole-v1):")
    base = r["tasks"][0]["env_steps_per_s"]
    for t in r["tasks"]:
        rate = t["env_steps_per_s"]
        lines.append(f"  {t['label']:<42} {rate:>9,.0f}  {rate / base:5.2f}x")
    return "\n".join(lines)


def _measure(args) -> dict[str, Any]:
    from sweep.bench.measure import machine_info
    from sweep.compute.devices import use_cpu_cores

    use_cpu_cores()  # as the sweep command does: one CPU device per core
    result: dict[str, Any] = {"created": datetime.now(UTC).isoformat(timespec="seconds"), **machine_info()}
    kw = dict(chunk_steps=200, seconds=3.0) if args.quick else dict(chunk_steps=500, seconds=10.0)
    result["tasks"] = [{"label": label, **measure_case(fields, **kw)} for label, fields in CASES]
    return result


def parser() -> command.Parser:
    """The command line's parser."""
    return command.parser(PROG, "The engine's throughput on each task.", "shorter timings")


def main(argv: list[str] | None = None) -> int:
    return command.run(PROG, parser(), argv, _measure, format_table, prefix="tasks-")


if __name__ == "__main__":
    sys.exit(main())
