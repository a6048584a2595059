"""Every command the README and docs/ show in a ``sh`` block runs as written: its program and flags are checked
against the command line's own parser, a grid it names loads (with its overrides), a make target exists (``make
-n``), and ``python -c`` code compiles. Links between the pages point at files that exist."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from analysis import __main__ as analysis_cli
from sweep import cli as sweep_cli
from sweep.bench import __main__ as bench_cli
from sweep.bench import articles, replay, variants
from sweep.schedules import load_grid

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_LIMIT = 12_000  # characters: a new user's first screens, the rest in docs/


def _commands() -> list[tuple[str, str]]:
    """(page, command) for every line of every ```sh block (comments and blank lines dropped)."""
    out = []
    for page in PAGES:
        for block in re.findall(r"^```sh\n(.*?)^```", page.read_text(), flags=re.M | re.S):
            for line in block.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    out.append((page.name, line))
    return out


COMMANDS = _commands()
PARSERS = {
    "sweep.bench": bench_cli.parser,
    "sweep.bench.articles": articles.parser,
    "sweep.bench.replay": replay.parser,
    "sweep.bench.variants": variants.parser,
}


def _check_sweep(argv: list[str]) -> None:
    args = sweep_cli.build_parser().parse_args(argv)
    if args.command in ("run", "show"):
        fixed = dict(sweep_cli.parse_set(item) for item in args.set)
        load_grid(args.grid).with_overrides(seeds=args.seeds, steps=args.steps, fixed=fixed)


def _check_analysis(argv: list[str]) -> None:
    if argv and argv[0] in analysis_cli.STUDIES:
        analysis_cli.study_parser(argv[0]).parse_args(argv[1:])
    else:
        analysis_cli.build_parser().parse_args(argv)


def _check_make(argv: list[str]) -> None:
    out = subprocess.run(["make", "-n", *argv], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def check(command: str) -> None:
    """AssertionError (or the parser's error) unless ``command`` would run as written."""
    argv = shlex.split(command, comments=True)
    if argv[0] == "make":
        return _check_make(argv[1:])
    assert argv[0] in ("python", ".venv/bin/python"), f"not a command the docs may show: {command}"
    if argv[1] == "-c":
        compile(argv[2], "<docs>", "exec")
        return None
    assert argv[1] == "-m", command
    module, rest = argv[2], argv[3:]
    if module == "sweep":
        return _check_sweep(rest)
    if module == "analysis":
        return _check_analysis(rest)
    assert module in PARSERS, f"unknown module in the docs: {module}"
    PARSERS[module]().parse_args(rest)
    return None


def test_the_pages_show_commands():
    assert len(COMMANDS) > 20 and {page for page, _ in COMMANDS} >= {"README.md", "grids.md", "search.md"}


@pytest.mark.parametrize(("page", "command"), COMMANDS, ids=[f"{p}: {c}" for p, c in COMMANDS])
def test_command_runs_as_written(page, command):
    check(command)


@pytest.mark.parametrize(
    "wrong",
    ["python -m sweep run lr_eps --sedes 4", "python -m sweep run no_such_grid", "make no-such-target",
     "python -m sweep run lr_eps --set lrr=1e-3", "python -m analysis coverage --repz 3"],
)  # fmt: skip
def test_a_wrong_command_is_caught(wrong):
    with pytest.raises((AssertionError, SystemExit, ValueError)):
        check(wrong)


def test_links_point_at_files_that_exist():
    broken = []
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" not in target and not (page.parent / target).exists():
                broken.append(f"{page.name}: {target}")
    assert not broken, broken


def test_the_readme_is_a_first_screen():
    assert len((ROOT / "README.md").read_text()) < README_LIMIT
