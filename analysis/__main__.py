"""CLI: ``python -m analysis report RUN_DIR``, ``python -m analysis compare RUN_DIR ... [--out DIR]``.

Bad input (a missing folder, a folder that is not a run folder, an unreadable table) prints one line on stderr
and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .compare import compare
from .report import report
from .tables import RunDirError


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis", description="Tables, figures and reports of sweeps.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="regenerate summary.parquet, figures/ and report.html of a run folder")
    r.add_argument("run_dir", help="a sweep's run folder, e.g. results/lr_eps/latest")
    c = sub.add_parser("compare", help="compare the best configs of several sweeps")
    c.add_argument("run_dirs", nargs="+", help="run folders to compare")
    c.add_argument("--out", default=None, help="output folder (default: results/compare/<UTC time>-<hash>)")
    args = p.parse_args(argv)
    try:
        if args.command == "report":
            out = report(args.run_dir)
        else:
            out = compare(args.run_dirs, out_dir=args.out)
    except RunDirError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. a read-only results folder
        where = f" {e.filename!r}" if e.filename else ""
        print(f"error: cannot write{where}: {e.strerror or e}", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
