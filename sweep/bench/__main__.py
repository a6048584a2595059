"""``python -m sweep.bench [--quick] [--json PATH] [--out DIR]``: runs the benchmark, prints its table and writes
its results as strict JSON. Bad input prints one line ``python -m sweep.bench: error: ...`` and exits 2."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from sweep.bench import command

PROG = "python -m sweep.bench"


def parser() -> command.Parser:
    """The command line's parser."""
    parser = command.parser(PROG, "Throughput benchmark of the sweep engine and its baselines.",
                            "N = 1, 16, 64 and shorter timings (< 3 minutes)")  # fmt: skip
    parser.add_argument("--runs", type=_run_counts, metavar="N,N,...",
                        help="the concurrent-run counts of the scaling curve (default 1,4,16,64,256; on a GPU e.g. "
                        "256,1024,4096,16384)")  # fmt: skip
    return parser


def _run_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(t.replace("_", "")) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected run counts such as 256,1024, got {text!r}") from None
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError(f"expected positive run counts, got {text!r}")
    return counts


def _measure(args) -> dict:
    from sweep.bench import FULL, QUICK, HostLoopBench, run_bench
    from sweep.compute.devices import use_cpu_cores

    HostLoopBench.check_installed()  # before minutes of measurements, not after
    use_cpu_cores()  # as the sweep command does: one CPU device per core
    cfg = QUICK if args.quick else FULL
    if args.runs:
        cfg = dataclasses.replace(cfg, n_runs=args.runs)
    return run_bench(cfg, quick=args.quick)


def _table(result: dict) -> str:
    from sweep.bench import format_table

    return format_table(result)


def main(argv: list[str] | None = None) -> int:
    return command.run(PROG, parser(), argv, _measure, _table)


if __name__ == "__main__":
    sys.exit(main())
