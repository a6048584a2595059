"""CLI: ``python -m analysis report RUN_DIR``, ``python -m analysis compare RUN_DIR ... [--out DIR]``,
``python -m analysis study RUN_DIR ... [--against NAME ...] [--out DIR]`` (an ablation of named variants across
tasks, ``analysis.pages.study``), and two
studies of the package itself: ``python -m analysis coverage [...]`` (the intervals on simulated sweeps,
``analysis.stats.coverage``) and ``python -m analysis bench [...]`` (the analysis of a synthetic sweep, timed,
``analysis.pages.bench``).

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

PROG = "python -m analysis"


class _UsageError(UserError):
    """A command line argparse rejected; the message is argparse's."""


class _Parser(argparse.ArgumentParser):
    # argparse prints the usage and the message on two lines and exits; this hands the message to ``main``
    # instead, so every error is one line. Sub-command parsers are built with the same class.
    def error(self, message: str):
        raise _UsageError(f"{message} (see {self.prog} --help)")


STUDIES = {
    "coverage": "coverage and power of the intervals on simulated sweeps (see python -m analysis coverage -h)",
    "bench": "time the analysis of a synthetic sweep (see python -m analysis bench -h)",
}


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser; ``coverage`` and ``bench`` hand their arguments to their own parsers."""
    p = _Parser(prog=PROG, description="Tables, figures and reports of sweeps.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="regenerate summary.parquet, figures/ and report.html of a run folder")
    r.add_argument("run_dir", help="a sweep's run folder, e.g. results/lr_eps/latest")
    c = sub.add_parser("compare", help="compare the best configs of several sweeps")
    c.add_argument("run_dirs", nargs="+", help="run folders to compare")
    c.add_argument("--out", default=None, help="output folder (default: results/compare/<UTC time>-<hash>)")
    s = sub.add_parser("study", help="an ablation study of named variants across tasks (a run folder per task)")
    s.add_argument("run_dirs", nargs="+", help="one run folder of a grid of [variants] per task")
    s.add_argument("--against", nargs="+", default=["DQN", "Rainbow"], help="the baselines (default: DQN Rainbow)")
    s.add_argument("--out", default=None, help="output folder (default: results/study/<UTC time>-<hash>)")
    for name, text in STUDIES.items():
        study = sub.add_parser(name, help=text, add_help=False)
        study.add_argument("args", nargs=argparse.REMAINDER)
    return p


def study_parser(name: str) -> argparse.ArgumentParser:
    """The parser of study ``name`` (``coverage`` or ``bench``)."""
    if name == "coverage":
        from analysis.stats import coverage

        return coverage.parser()
    from analysis.pages import bench

    return bench.parser()


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status, 0 or 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in STUDIES:  # their own command lines, with their own options and errors
        return _study(argv[0], argv[1:])
    p = build_parser()
    try:
        args = p.parse_args(argv)
        if args.command == "report":
            from analysis.pages.report import report

            out = report(args.run_dir)
        elif args.command == "study":
            from analysis.pages.study import study

            out = study(args.run_dirs, against=args.against, out_dir=args.out)
        else:
            from analysis.pages.compare import compare

            out = compare(args.run_dirs, out_dir=args.out)
    except UserError as e:  # a usage error, an unusable run folder, an output that cannot be written
        return print_error(PROG, e)
    except OSError as e:  # anything else the file system refused, reading or writing
        where = f" ({e.filename})" if e.filename else ""
        return print_error(PROG, f"{e.strerror or e}{where}")
    print(out)
    return 0


def _study(name: str, argv: list[str]) -> int:
    if name == "coverage":
        from analysis.stats import coverage

        return coverage.main(argv)
    from analysis.pages import bench

    return bench.main(argv) or 0


if __name__ == "__main__":
    sys.exit(main())
