"""What every benchmark command line shares: ``--quick``, ``--json PATH`` and ``--out DIR``, one-line errors with
exit 2, and the results written as strict JSON to ``<out>/<prefix><UTC time>[-quick].json`` (and ``--json``)
before the table is printed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.errors import UserError, print_error
from common.files import atomic_write_text, make_dir, to_json


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, as for every other bad input
        raise UserError(message)


def parser(prog: str, description: str, quick: str) -> Parser:
    """A parser with the shared options; ``quick`` is ``--quick``'s help."""
    p = Parser(prog=prog, description=description)
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--json", type=Path, metavar="PATH", help="also write the results to this JSON file")
    p.add_argument("--out", type=Path, default=Path("results/bench"), metavar="DIR",
                   help="folder of the timestamped results file (default: results/bench)")  # fmt: skip
    return p


def run(
    prog: str,
    p: Parser,
    argv: list[str] | None,
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    table: Callable[[dict[str, Any]], str],
    prefix: str = "",
) -> int:
    """Parses ``argv``, checks the output folders, ``measure(args)``, writes the results, prints ``table(result)``;
    a UserError at any point is one line and exit 2."""
    try:
        args = p.parse_args(argv)
        for folder in (args.out, args.json.parent if args.json else None):
            if folder is not None and folder.exists() and not folder.is_dir():
                raise UserError(f"{folder} exists and is not a folder")
        result = measure(args)
        text = to_json(result, indent=1) + "\n"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out_path = make_dir(args.out) / f"{prefix}{stamp}{'-quick' if args.quick else ''}.json"
        atomic_write_text(out_path, text)
        if args.json:
            atomic_write_text(make_dir(args.json.parent) / args.json.name, text)
        print(table(result))
        print(f"wrote {out_path}" + (f" and {args.json}" if args.json else ""), file=sys.stderr)
        return 0
    except UserError as err:
        return print_error(prog, err)
