"""``python -m sweep run|list|show``: the sweep engine's command line.

Errors a user can cause print one line on stderr and exit with status 2, without a traceback and without
writing anything.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

from common.errors import UserError, print_error
from common.files import to_json
from sweep import cluster
from sweep.cluster import supervisor
from sweep.cluster.runtime import DEFAULT_TIMEOUT_SECONDS

PROG = "python -m sweep"
# The flag of each option the engine's messages may name (see common.errors.option).
FLAGS = {
    "seeds": "--seeds",
    "total_steps": "--steps",
    "chunk_steps": "--chunk-steps",
    "runs_per_device": "--runs-per-device",
    "run_id": "--run-id",
    "resume": "--resume",
    "out": "--out",
    "report": "--no-report",
    "large": "--large",
    "cpu_devices": "--cpu-devices",
}


def _flags(args) -> dict[str, str]:
    """``FLAGS``, and for ``run`` the command that resumes its sweep (``option("resume_command")``)."""
    if getattr(args, "command", None) != "run":
        return FLAGS
    return {**FLAGS, "resume_command": f"{PROG} run {args.grid} --resume"}


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other bad input
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _run_id(text: str) -> str:
    from sweep.store.run_folder import RunFolderError, check_run_id

    try:
        check_run_id(text)
    except RunFolderError as err:
        raise argparse.ArgumentTypeError(err.render({"run_id": "it"})) from None
    return text


def parse_set(item: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from ``--set``; VALUE is read as a TOML value (``lr=3e-4``, ``loss="huber"``,
    ``hidden_sizes=[128,128]``), falling back to a bare string (``loss=huber``). The grid checks the key and
    coerces the value."""
    if "=" not in item:
        raise UserError(f"--set expects KEY=VALUE, got {item!r}")
    key, raw = (s.strip() for s in item.split("=", 1))
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def build_parser() -> argparse.ArgumentParser:
    from sweep.plan import CPU_RUNS_PER_DEVICE

    parser = _Parser(prog=PROG, description="Massively parallel DQN sweeps on CartPole-v1.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="train every run of a grid and write its tables, figures and report")
    run.add_argument("grid", help="a grid name from sweep/grids/ or a path to a .toml file")
    run.add_argument("--seeds", type=_positive_int, help="seeds per config (overrides the grid)")
    run.add_argument("--steps", type=_positive_int, help="env steps per run (overrides total_steps)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="fix a hyperparameter")
    run.add_argument("--out", help="results root (default: results)")
    run.add_argument("--run-id", type=_run_id, help="run folder name (default: UTC time + short hash)")
    run.add_argument("--chunk-steps", type=_positive_int, default=5_000, help="env steps per chunk (default 5000)")
    run.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted sweep in RUN_DIR (no --out or --run-id)"
    )
    run.add_argument(
        "--runs-per-device",
        type=_positive_int,
        help="runs each device trains at once; every wave holds exactly this many, the last one padded "
        f"(default on CPU: {CPU_RUNS_PER_DEVICE}, which keeps every run's outputs bitwise the same in any sweep; "
        "elsewhere: all runs of a group, shrunk to fit in memory)",
    )
    run.add_argument(
        "--cpu-devices",
        type=_positive_int,
        help="CPU devices to shard runs over (default: one per core, unless JAX_NUM_CPU_DEVICES or XLA_FLAGS "
        "chooses; no effect on GPU hosts)",
    )
    run.add_argument("--no-report", action="store_true", help="write the tables only, not figures/report")
    run.add_argument(
        "--large",
        action="store_true",
        help="run a sweep even beyond 100,000 runs, 2,000 static groups or 10^9 env steps (refused without it)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    run.add_argument("--coordinator", metavar="HOST:PORT", help="multi-host: the coordinator's address")
    run.add_argument("--num-processes", type=_positive_int, help="multi-host: number of processes")
    run.add_argument("--process-id", type=int, help="multi-host: this process's index")
    run.add_argument(
        "--distributed",
        action="store_true",
        help="multi-host with the cluster's auto-detection (e.g. SLURM) instead of the three flags above",
    )
    run.add_argument(
        "--cluster-timeout",
        type=_positive_int,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help="multi-host: how long to wait for every process to join, and for a silent process before the others "
        f"stop (default {DEFAULT_TIMEOUT_SECONDS})",
    )

    sub.add_parser("list", help="the available grids: axes, runs and env steps")
    show = sub.add_parser("show", help="a grid's resolved configuration")
    show.add_argument("grid")
    show.add_argument("--seeds", type=_positive_int)
    show.add_argument("--steps", type=_positive_int)
    show.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    return parser


def _load(args):
    from sweep.schedules import load_grid

    file_grid = load_grid(args.grid)
    fixed = dict(parse_set(item) for item in args.set)
    grid = file_grid.with_overrides(seeds=args.seeds, steps=args.steps, fixed=fixed, where="--set")
    for note in grid.notes:
        print(f"note: {UserError(note).render(FLAGS)}", file=sys.stderr)
    return file_grid, grid


def _cmd_list(_args) -> int:
    import jax

    from sweep.compute.devices import use_cpu_cores
    from sweep.schedules import load_grid
    from sweep.spec import grid as grids

    use_cpu_cores()
    n, platform = jax.device_count(), jax.devices()[0].platform
    rows = []
    for name in grids.available():
        try:
            g = load_grid(name)
        except grids.GridError as err:
            rows.append((name, f"(invalid: {err})", "", "", "", "", ""))
            continue
        s = _size(g, n, platform)
        if g.space:
            scheduler = f" ({g.search.scheduler.name})" if g.search.scheduler is not None else ""
            axes = f"{g.search.method} x {len(g.points)}{scheduler}: " + ", ".join(g.space)
        else:
            axes = ", ".join(f"{k}[{len(v)}]" for k, v in g.axis_values.items()) or "(seeds only)"
        rows.append((name, axes, f"{s.runs:,}", f"{s.groups:,}", f"{s.waves:,}", f"{s.env_steps:,}", g.description))
    header = ("grid", "axes", "runs", "static groups", "waves", "env steps", "description")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row[:6], widths, strict=True)) + "  " + row[6])
    print(f"(waves on {n} {platform} device{'s' * (n > 1)}; successive halving: the env steps it trains to its rungs)")
    return 0


def _size(grid, n_devices: int, platform: str):
    from sweep.plan import make_plan, size

    return size(make_plan(grid), n_devices, platform, None)


def _cmd_show(args) -> int:
    import jax

    from sweep.compute.devices import use_cpu_cores

    _, grid = _load(args)
    use_cpu_cores()
    n, platform = jax.device_count(), jax.devices()[0].platform
    s = _size(grid, n, platform)
    waves = {"count": s.waves, "devices": n, "platform": platform}  # with the default wave size
    print(to_json({**grid.resolved(), "static_groups": s.groups, "env_steps": s.env_steps, "waves": waves}, indent=2))
    return 0


def _cluster_flags(args) -> bool:
    """True when the run is one process of a cluster; UserError for flags that do not fit together."""
    flags = (args.coordinator, args.num_processes, args.process_id)
    if any(f is not None for f in flags) and not all(f is not None for f in flags):
        raise UserError("--coordinator, --num-processes and --process-id go together")
    if args.distributed and args.coordinator is not None:
        raise UserError("--distributed detects the cluster itself; give it or --coordinator, not both")
    if args.process_id is not None and not 0 <= args.process_id < args.num_processes:
        raise UserError(f"--process-id must be in [0, {args.num_processes}), got {args.process_id}")
    if args.coordinator is not None:
        cluster.check_coordinator(args.coordinator)
    return args.coordinator is not None or args.distributed


def _cmd_run(args) -> int:
    from sweep import engine
    from sweep.compute.devices import memory_cap_bytes, use_cpu_cores

    file_grid, grid = _load(args)  # validate everything before touching devices or files
    memory_cap_bytes()
    if args.resume is not None and (args.out is not None or args.run_id is not None):
        given = " and ".join(flag for flag, v in (("--out", args.out), ("--run-id", args.run_id)) if v is not None)
        raise UserError(f"{given} cannot be used with --resume, which continues {args.resume} where it is")
    use_cpu_cores(args.cpu_devices)
    if _cluster_flags(args):
        cluster.initialize(args.coordinator, args.num_processes, args.process_id, args.cluster_timeout)
        cluster.install_stop_handlers()
    options = engine.Options(
        out=Path(args.out or "results"),
        run_id=args.run_id,
        chunk_steps=args.chunk_steps,
        resume=Path(args.resume) if args.resume else None,
        runs_per_device=args.runs_per_device,
        progress=not args.no_progress,
        report=not args.no_report,
        large=args.large,
    )
    run_dir = engine.run_sweep(grid, options, file_grid=file_grid)
    import jax

    if jax.process_index() == 0:
        print(f"results: {run_dir}")
        report = run_dir / "report.html"
        if report.is_file():
            print(f"report:  {report}")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.command == "run" and not supervisor.is_worker():
        try:
            if _cluster_flags(args):  # one process of a cluster: run it as a supervised worker
                return supervisor.supervise(argv, PROG, args.grid, args.process_id, args.cluster_timeout)
        except UserError as err:
            return print_error(PROG, err, _flags(args))
    if supervisor.is_worker():
        supervisor.setup_worker()

    def _interrupt(signum, _frame):
        if cluster.finished():  # the sweep has finished: nothing left to stop, exit as finished
            return
        raise KeyboardInterrupt(*([] if signum == signal.SIGINT else [signal.Signals(signum).name]))

    signal.signal(signal.SIGTERM, _interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where a shell left it ignored
        signal.signal(signal.SIGINT, _interrupt)
    try:
        return {"run": _cmd_run, "list": _cmd_list, "show": _cmd_show}[args.command](args)
    except UserError as err:
        return print_error(PROG, err, _flags(args))
    except cluster.Stopped as stop:
        print(f"\n{PROG}: {stop.describe(PROG, args.grid)}", file=sys.stderr)
        return supervisor.EXIT_STOPPED
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return supervisor.EXIT_STOPPED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as err:
        if not supervisor.is_worker() or not cluster.lost_peer(err):
            raise
        # A collective failed because another process is gone: say so and leave at once (JAX's exit-time
        # shutdown would wait for the lost process, then abort).
        print_error(PROG, cluster.describe_lost(err, PROG, args.grid), _flags(args))
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(supervisor.EXIT_CLUSTER)
