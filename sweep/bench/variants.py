"""``python -m sweep.bench.variants GRID [--set KEY=VALUE ...] [--seeds N] [--quick] [--json PATH] [--out DIR]``:
what each static group of a grid (each agent of an ablation study) costs per env step, and so how long the grid
takes on this machine.

Each group is compiled and run as a sweep runs it (``sweep.bench.baselines.EngineBench``: 8 runs per CPU device,
the engine's wave), warmed up past ``learning_starts``, then timed over chunks interleaved between the groups so
that their ratios share the machine's load. The estimate of the grid's training time takes each group's runs in
whole waves at its measured rate for every env step (those before ``learning_starts`` are faster: it errs long),
plus the compile times measured here. A measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import math
import sys
import time
from datetime import UTC, datetime
from typing import Any

from sweep.bench import command

PROG = "python -m sweep.bench.variants"


def measure_groups(grid, chunk_steps: int, repeats: int) -> dict[str, Any]:
    """Env steps/s of one wave of each static group of ``grid`` (a ``sweep.spec.grid.Grid``), named by its
    first config's variant (or its axes' values)."""
    from sweep.bench.baselines import interleaved
    from sweep.bench.measure import median
    from sweep.plan import CPU_RUNS_PER_DEVICE, make_plan
    from sweep.spec.grid import describe

    plan = make_plan(grid)
    statics, groups = {}, {}
    for group in plan.groups:
        cfg = plan.configs[plan.config_of(group.runs[0])]
        name = str(cfg.get("variant") or describe(cfg, grid.axis_names) or "the grid")
        statics[name], groups[name] = group.static, group

    def compiled(name, eb):
        print(f"  compiled {name} in {eb.compile_s:.0f} s", file=sys.stderr)

    benches = interleaved(statics, 2 * CPU_RUNS_PER_DEVICE, chunk_steps, repeats, compiled)
    out, total_s = {}, 0.0
    for name, (eb, times) in benches.items():
        group = groups[name]
        rate = eb.n_runs * chunk_steps / median(times)
        waves = math.ceil(len(group.runs) / eb.n_runs)
        seconds = waves * eb.n_runs * group.static.total_steps / rate + eb.compile_s
        total_s += seconds
        out[name] = {
            "agg_steps_per_s": rate,
            "us_per_env_step": 1e6 / rate,
            "compile_s": eb.compile_s,
            "runs": len(group.runs),
            "estimated_s": seconds,
            "chunk_seconds": times,
        }
    first = next(iter(out.values()))["us_per_env_step"]
    for entry in out.values():
        entry["cost_vs_first"] = entry["us_per_env_step"] / first
    return {"groups": out, "estimated_total_s": total_s, "wave": 2 * CPU_RUNS_PER_DEVICE, "chunk_steps": chunk_steps}


def format_table(r: dict[str, Any]) -> str:
    lines = [
        f"machine: {r['device']} x{r['device_count']} ({r['cpu_model']}), jax {r['jax_version']}, {r['created']}",
        f"{r['grid']} ({r['overrides']}), {r['seeds']} seeds: each group's env steps/s over a wave of "
        f"{r['wave']} runs, us per env step (all runs together), cost against the first, estimated time",
    ]
    for name, e in r["groups"].items():
        lines.append(
            f"  {name:<24} {e['agg_steps_per_s']:>9,.0f} {e['us_per_env_step']:>8.2f} {e['cost_vs_first']:>6.2f}x "
            f"{e['estimated_s'] / 60:>8.1f} min"
        )
    total = r["estimated_total_s"]
    said = f"{total / 3600:.1f} h" if total >= 3600 else f"{total / 60:.0f} min"
    lines.append(f"estimated time of the grid on this machine (training and compiling): {said}")
    return "\n".join(lines)


def _measure(args) -> dict[str, Any]:
    from sweep.bench.measure import machine_info
    from sweep.cli import parse_set
    from sweep.compute.devices import use_cpu_cores
    from sweep.schedules import load_grid

    use_cpu_cores()  # as the sweep command does: one CPU device per core
    fixed = dict(parse_set(item) for item in args.set)  # a bad grid or value: one line, exit 2 (a UserError)
    grid = load_grid(args.grid).with_overrides(seeds=args.seeds, fixed=fixed, where="--set")
    result: dict[str, Any] = {"created": datetime.now(UTC).isoformat(timespec="seconds"), **machine_info()}
    result.update({"grid": grid.name, "seeds": grid.seeds, "overrides": " ".join(args.set) or "as the file says"})
    # --quick: chunks of 100 env steps (16 runs' 1,600 steps: over a second even for DQN at the study's width)
    result.update(measure_groups(grid, chunk_steps=100 if args.quick else 500, repeats=2 if args.quick else 3))
    return result


def parser() -> command.Parser:
    p = command.parser(PROG, "What each static group of a grid costs per env step, and the grid's time here.",
                       "shorter timings (about 12 minutes for a Revisiting Rainbow grid at 2 x 512)")  # fmt: skip
    p.add_argument("grid", help="a grid name or .toml file, e.g. revisiting_rainbow_cartpole")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="as for python -m sweep run")
    p.add_argument("--seeds", type=int, default=None, help="seeds per config for the estimate (default: the grid's)")
    return p


def main(argv: list[str] | None = None) -> int:
    return command.run(PROG, parser(), argv, _measure, format_table, prefix="variants-")


if __name__ == "__main__":
    t0 = time.perf_counter()
    code = main()
    if code == 0:
        print(f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    sys.exit(code)
