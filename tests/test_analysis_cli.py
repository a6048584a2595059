"""``python -m analysis``: exit codes and the one-line error of every bad input (no JAX)."""

import subprocess
import sys
from pathlib import Path

import pytest
from test_analysis_tables import BAD_RUN_FOLDERS, tiny_sweep

import analysis
from analysis import __main__ as cli

PREFIX = "python -m analysis: error: "
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny_dir(tmp_path):
    run = tmp_path / "tiny"
    run.mkdir()
    analysis.write_tables(run, **tiny_sweep())
    return run


def _one_line(err: str, message: str) -> None:
    assert err.count("\n") == 1 and err.startswith(PREFIX) and message in err, err
    assert "Traceback" not in err


@pytest.mark.parametrize("case", list(BAD_RUN_FOLDERS))
@pytest.mark.parametrize("command", ["report", "compare"])
def test_cli_bad_run_folder_is_one_line_and_keeps_earlier_results(tmp_path, capsys, case, command):
    run = tmp_path / "run"
    run.mkdir()
    analysis.write_tables(run, **tiny_sweep())
    (run / "report.html").write_text("earlier report")
    (run / "summary.parquet").write_bytes(b"earlier summary")
    good = tmp_path / "good"
    good.mkdir()
    analysis.write_tables(good, **tiny_sweep())
    spoil, message = BAD_RUN_FOLDERS[case]
    spoil(run)
    out = tmp_path / "cmp"
    argv = ["report", str(run)] if command == "report" else ["compare", str(good), str(run), "--out", str(out)]
    assert cli.main(argv) == 2
    _one_line(capsys.readouterr().err, message)
    assert (run / "report.html").read_text() == "earlier report"
    assert (run / "summary.parquet").read_bytes() == b"earlier summary"
    assert not out.exists()


def test_cli_report_and_bad_input(tiny_dir, tmp_path, capsys):
    link = tmp_path / "latest"
    link.symlink_to(tiny_dir)
    assert cli.main(["report", str(link)]) == 0
    assert (tiny_dir / "report.html").is_file()
    assert capsys.readouterr().out == f"{tiny_dir.resolve() / 'report.html'}\n"
    assert cli.main(["report", str(tmp_path / "missing")]) == 2
    _one_line(capsys.readouterr().err, "does not exist")


def test_cli_compare_with_a_missing_folder(tiny_dir, tmp_path, capsys):
    assert cli.main(["compare", str(tiny_dir), str(tmp_path / "missing"), "--out", str(tmp_path / "c")]) == 2
    _one_line(capsys.readouterr().err, "does not exist")
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "required: command"),
        (["report"], "required: run_dir"),
        (["frob", "x"], "invalid choice: 'frob'"),
        (["compare", "a", "--out"], "--out: expected one argument"),
    ],
)
def test_cli_usage_errors_are_one_line(argv, message, capsys):
    assert cli.main(argv) == 2
    _one_line(capsys.readouterr().err, message)


def test_cli_failed_write_is_one_line_and_keeps_the_tables(tiny_dir, capsys):
    # summary.parquet, the first file report writes, cannot replace a folder of that name.
    before = {p.name: p.read_bytes() for p in tiny_dir.iterdir() if p.is_file()}
    (tiny_dir / "summary.parquet").mkdir()
    assert cli.main(["report", str(tiny_dir)]) == 2
    _one_line(capsys.readouterr().err, "cannot write")
    assert {p.name: p.read_bytes() for p in tiny_dir.iterdir() if p.is_file()} == before


def test_cli_other_file_system_errors_are_one_line(capsys):
    # A path longer than the file system allows: the OS refuses it (ENAMETOOLONG) before any analysis.
    assert cli.main(["report", "x" * 5000]) == 2
    _one_line(capsys.readouterr().err, "File name too long")


def test_cli_subprocess_bad_folder_exits_2(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "analysis", "report", str(tmp_path)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.returncode == 2 and r.stdout == ""
    _one_line(r.stderr, "not a sweep's run folder")


def test_cli_subprocess_compare_bad_input_exits_2(tiny_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    analysis.write_tables(bad, **tiny_sweep())
    (bad / "manifest.json").write_text("[1]")
    r = subprocess.run(
        [sys.executable, "-m", "analysis", "compare", str(tiny_dir), str(bad), "--out", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 2 and r.stdout == ""
    _one_line(r.stderr, f"{str(bad.resolve() / 'manifest.json')!r} holds an array; a manifest must be a JSON object")
