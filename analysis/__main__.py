"""CLI: ``python -m analysis report RUN_DIR``, ``python -m analysis compare RUN_DIR ... [--out DIR]``.

Bad input (a wrong argument, a missing folder, a folder that is not a run folder, an unreadable or malformed
table, an output that cannot be written) prints one line ``python -m analysis: error: ...`` on stderr and exits
with status 2, without a traceback. Every file is replaced atomically, so a failure leaves earlier results as
they were.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from common.errors import UserError, print_error

from .compare import compare
from .report import report

PROG = "python -m analysis"


class _UsageError(UserError):
    """A command line argparse rejected; the message is argparse's."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage and the message on two lines and exits; this hands the message to ``main``
    # instead, so every error is one line. Sub-command parsers are built with the same class.
    def error(self, message: str):
        raise _UsageError(f"{message} (see {self.prog} --help)")


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status, 0 or 2."""
    p = _Parser(prog=PROG, description="Tables, figures and reports of sweeps.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="regenerate summary.parquet, figures/ and report.html of a run folder")
    r.add_argument("run_dir", help="a sweep's run folder, e.g. results/lr_eps/latest")
    c = sub.add_parser("compare", help="compare the best configs of several sweeps")
    c.add_argument("run_dirs", nargs="+", help="run folders to compare")
    c.add_argument("--out", default=None, help="output folder (default: results/compare/<UTC time>-<hash>)")
    try:
        args = p.parse_args(argv)
        if args.command == "report":
            out = report(args.run_dir)
        else:
            out = compare(args.run_dirs, out_dir=args.out)
    except UserError as e:  # a usage error, an unusable run folder, an output that cannot be written
        return print_error(PROG, e)
    except OSError as e:  # anything else the file system refused, reading or writing
        where = f" ({e.filename})" if e.filename else ""
        return print_error(PROG, f"{e.strerror or e}{where}")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
