"""``python -m sweep.bench [--quick] [--json PATH] [--out DIR]``: runs the benchmark, prints its table and writes
its results as strict JSON. Bad input prints one line ``python -m sweep.bench: error: ...`` and exits 2."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from datetime import UTC, datetime
from pathlib import Path

from analysis.errors import UserError, print_error
from analysis.io import atomic_write_text, make_dir, to_json

PROG = "python -m sweep.bench"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other bad input
        raise UserError(message)


def _run_counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(t.replace("_", "")) for t in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected run counts such as 256,1024, got {text!r}") from None
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError(f"expected positive run counts, got {text!r}")
    return counts


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Throughput benchmark of the sweep engine and its baselines.")
    parser.add_argument("--quick", action="store_true", help="N = 1, 16, 64 and shorter timings (< 3 minutes)")
    parser.add_argument("--runs", type=_run_counts, metavar="N,N,...",
                        help="the concurrent-run counts of the scaling curve (default 1,4,16,64,256; on a GPU e.g. "
                        "256,1024,4096,16384)")  # fmt: skip
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results to this JSON file")
    parser.add_argument("--out", type=Path, default=Path("results/bench"), metavar="DIR",
                        help="folder of the timestamped results file (default: results/bench)")  # fmt: skip
    return parser


def _bench(args) -> int:
    for folder in (args.out, args.json.parent if args.json else None):
        if folder is not None and folder.exists() and not folder.is_dir():
            raise UserError(f"{folder} exists and is not a folder")
    from sweep.bench import FULL, QUICK, HostLoopBench, format_table, run_bench
    from sweep.devices import use_cpu_cores

    HostLoopBench.check_installed()  # before minutes of measurements, not after
    use_cpu_cores()  # as the sweep command does: one CPU device per core
    cfg = QUICK if args.quick else FULL
    if args.runs:
        cfg = dataclasses.replace(cfg, n_runs=args.runs)
    result = run_bench(cfg, quick=args.quick)
    text = to_json(result, indent=1) + "\n"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = make_dir(args.out) / f"{stamp}{'-quick' if args.quick else ''}.json"
    atomic_write_text(out_path, text)
    if args.json:
        atomic_write_text(make_dir(args.json.parent) / args.json.name, text)
    print(format_table(result))
    print(f"wrote {out_path}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return _bench(_parser().parse_args(argv))
    except UserError as err:
        return print_error(PROG, err)


if __name__ == "__main__":
    sys.exit(main())
