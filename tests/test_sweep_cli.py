"""The sweep command line: grid files, grouping, overrides, ``list`` and ``show``, and bad input, which must give
one line on stderr, exit status 2, no traceback, and leave every file as it was, before anything is trained."""

import errno
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sweep import cli, engine
from sweep.plan import make_plan
from sweep.schedules import SCHEDULERS, load_grid
from sweep.spec import grid as grids
from sweep.spec.fields import ALL_FIELDS
from sweep.store import checkpoint
from sweep.store import run_folder as folders

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("episodes", "evals", "runs")
ERROR = "python -m sweep: error: "
RUN_ERROR = "python -m sweep run: error: "  # argparse's own errors carry the subcommand
TINY = """
description = "tiny grid for command-line tests"
seeds = 1
[config]
total_steps = 300
buffer_capacity = 100
batch_size = 8
hidden_sizes = [8]
learning_starts = 50
eval_every = 300
eval_episodes = 1
[grid]
lr = [1e-3, 3e-3]
"""


@pytest.fixture(autouse=True)
def _keep_sigterm():
    """``cli.main`` installs a SIGTERM handler; give pytest its own back."""
    old = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, old)


@pytest.fixture
def no_training(monkeypatch):
    """Bad input must be rejected before the engine plans (let alone compiles) anything."""

    def fail(*_args, **_kwargs):
        raise AssertionError("the sweep got as far as planning runs")

    monkeypatch.setattr(engine, "make_plan", fail)
    monkeypatch.setattr(engine, "make_mesh", fail)


def call(argv, capsys):
    """Runs the command line in this process: (exit status, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse exits by itself
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *facts, prefix=ERROR):
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    line = lines[0]
    assert line.startswith(prefix) and len(line) > len(prefix), line
    for fact in facts:
        assert fact in line, f"{fact!r} not in {line!r}"
    return line


def assert_last_line_error(code, err, *facts):
    """An error in the middle of a sweep: its last line, after the sweep's own notes (its size, its speed)."""
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert all(not line.startswith(ERROR) for line in lines[:-1]), err
    assert_one_line_error(code, lines[-1] + "\n", *facts)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder)."""
    return {str(p.relative_to(folder)): (None if p.is_dir() else p.read_bytes()) for p in sorted(folder.rglob("*"))}


def write_grid(folder: Path, text: str, name: str = "g") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------------------------------------------------
# Grid files: parsing, product order, groups
# ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", grids.available())
def test_every_shipped_grid_parses_and_shows_as_strict_json(name, capsys):
    grid = load_grid(name)
    assert grid.name == name and grid.seeds > 0 and grid.description
    assert grid.configs()  # validated, and at least one point
    code, out, err = call(["show", name], capsys)
    assert code == 0 and err == ""
    shown = json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert shown["name"] == name
    assert shown["runs"] == len(grid.configs()) * grid.seeds


# ---------------------------------------------------------------------------------------------------------
# list and show
# ---------------------------------------------------------------------------------------------------------
def test_list_shows_every_grid_with_its_run_count(capsys):
    code, out, err = call(["list"], capsys)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert re.split(r"\s{2,}", lines[0])[:3] == ["grid", "axes", "runs"]
    assert lines[-1].startswith("(waves on ")
    rows = {cells[0]: cells for cells in (re.split(r"\s{2,}", line.strip()) for line in lines[1:-1])}
    assert sorted(rows) == grids.available()
    for name, cells in rows.items():
        grid = load_grid(name)
        assert int(cells[2]) == len(grid.configs()) * grid.seeds, cells
    assert rows["smoke"][1:3] == ["lr[2]", "4"]  # 2 learning rates x 2 seeds
    assert rows["lr_eps"][2] == "128"  # 4 x 4 configs x 8 seeds
    # A search names its scheduler, and successive halving states the env steps it trains to its rungs.
    assert rows["halving"][1].startswith("sobol x 81 (halving): ") and rows["pbt"][1].startswith("sobol x 16 (pbt): ")
    halving = load_grid("halving")
    planned = halving.search.scheduler.planned_env_steps(make_plan(halving))
    assert int(rows["halving"][5].replace(",", "")) == planned < 81 * 4 * 50_000


def test_show_prints_the_resolved_config_with_overrides(capsys):
    code, out, err = call(["show", "smoke", "--seeds", "3", "--steps", "3000", "--set", "loss=huber"], capsys)
    assert code == 0 and err == ""
    shown = json.loads(out)
    assert shown["seeds"] == 3 and shown["configs"] == 2 and shown["runs"] == 6
    assert shown["axes"] == {"lr": [1e-3, 3e-3]}
    fixed = shown["fixed"]
    assert "lr" not in fixed
    assert fixed["total_steps"] == 3000 and fixed["loss"] == "huber" and fixed["hidden_sizes"] == [32, 32]
    assert fixed["gamma"] == grids.defaults()["gamma"]  # defaults are shown too
    assert set(fixed) == set(ALL_FIELDS) - {"lr"}


def test_show_writes_infinity_as_strict_json(tmp_path, capsys):
    path = write_grid(tmp_path, TINY.replace("[grid]", "max_grad_norm = inf\n[grid]"))
    code, out, err = call(["show", path], capsys)
    assert code == 0, err
    shown = json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert shown["fixed"]["max_grad_norm"] == "inf"


# ---------------------------------------------------------------------------------------------------------
# Bad input: one line, exit 2, no traceback, nothing written, nothing trained
# ---------------------------------------------------------------------------------------------------------
BAD_GRIDS = [
    # (what is wrong, grid file text, facts the message must contain)
    ("unknown axis", "[grid]\nlrr = [1e-3, 3e-3]\n", ["'lrr'", "did you mean 'lr'"]),
    ("unknown fixed key", "[config]\ngama = 0.9\n", ["'gama'", "[config]", "did you mean 'gamma'"]),
    ("unknown top-level key", "seed = 3\n", ["'seed'", "did you mean 'seeds'"]),
    ("string for an int", '[config]\nbatch_size = "big"\n', ["batch_size", "integer", "'big'"]),
    ("string on a float axis", '[grid]\nlr = [1e-3, "fast"]\n', ["lr", "number", "'fast'"]),
    ("int for a bool", "[config]\ndouble_q = 1\n", ["double_q", "true or false"]),
    ("int for hidden sizes", "[config]\nhidden_sizes = 64\n", ["hidden_sizes", "list of integers"]),
    ("non-integral int", "[config]\ntarget_period = 2.5\n", ["target_period", "integer", "2.5"]),
    ("axis not a list", "[grid]\nlr = 1e-3\n", ["axis lr", "list"]),
    ("empty axis", "[grid]\nlr = []\n", ["axis lr", "empty"]),
    ("repeated value", "[grid]\nlr = [1e-3, 0.001]\n", ["axis lr", "repeats"]),
    ("fixed and axis", "[config]\nlr = 1e-3\n[grid]\nlr = [1e-3, 3e-3]\n", ["lr", "both"]),
    ("zero seeds", "seeds = 0\n", ["seeds", "positive integer", "0"]),
    ("negative seeds", "seeds = -2\n", ["seeds", "positive integer", "-2"]),
    ("fractional seeds", "seeds = 1.5\n", ["seeds", "positive integer", "1.5"]),
    ("zero steps", "[config]\ntotal_steps = 0\n", ["total_steps", "positive integer", "0"]),
    ("negative steps", "[config]\ntotal_steps = -100\n", ["total_steps", "-100"]),
    # copied into every table's metadata: a 10 MB text would be written dozens of times
    ("description too long", f'description = "{"x" * 5000}"\n', ["description", "at most 4,000 characters", "5,000"]),
    ("value out of range", "[grid]\ngamma = [0.9, 1.5]\n", ["gamma", "[0, 1]", "1.5", "gamma=1.5"]),
    ("float32 rounds to zero", "[grid]\ngamma = [0.9, 1e-39]\n", ["gamma", "0 or at least", "1e-39", "gamma=1e-39"]),
    ("hidden size beyond int32", "[config]\nhidden_sizes = [64, 3_000_000_000]\n", ["hidden_sizes", "2**31"]),
    ("seeds beyond int32", "seeds = 3_000_000_000\n", ["seeds", "2**31", "3000000000"]),
    ("unknown loss", '[config]\nloss = "l1"\n', ["loss", "huber", "'l1'"]),
    ("batch above capacity", "[config]\nbatch_size = 512\nbuffer_capacity = 256\n", ["batch_size", "512", "256"]),
    ("config not a table", "config = 3\n", ["[config]", "table"]),
    ("TOML syntax error", 'seeds = 1\n[grid]\nlr = [1e-3,\n  "a" = 2\n', ["TOML syntax error", "line 4"]),
    ("TOML duplicate key", "seeds = 1\nseeds = 2\n", ["TOML syntax error", "line 2"]),
    ("misspelt env", '[config]\nenv = "Cartpole-v1"\n', ["env", "'Cartpole-v1'", "did you mean 'CartPole-v1'"]),
    ("C51 with the huber loss", '[config]\ndistributional = true\nloss = "huber"\n', ["huber", "distributional"]),
    ("one atom", "[config]\ndistributional = true\nnum_atoms = 1\n", ["num_atoms", "at least 2", "1"]),
    (
        "rescaling without bounds",
        '[config]\nenv = "Breakout-MinAtar"\nobs_rescale = true\n',
        ["obs_rescale", "Breakout-MinAtar has none"],
    ),
    ("noise scale of zero", "[config]\nnoisy = true\nnoisy_sigma = 0.0\n", ["noisy_sigma", "positive number", "0.0"]),
    ("unknown noise draw", '[config]\nnoisy = true\nnoisy_draw = "episode"\n', ["noisy_draw", "step, once", "episode"]),
    (
        "v_min above v_max",
        "[config]\ndistributional = true\n[grid]\nv_max = [10.0, -200.0]\n",
        ["v_min must be below v_max", "-200"],
    ),
    ("env not a string", "[config]\nenv = 3\n", ["env", "string", "3"]),
    ("user env that cannot be imported", '[config]\nenv = "nosuchpkg.mod:make"\n', ["nosuchpkg.mod", "cannot import"]),
    ("conv network on vector observations", '[config]\nnetwork = "minatar_conv"\n', ["minatar_conv", "image"]),
    (
        "halving over several envs",
        '[grid]\nenv = ["CartPole-v1", "Acrobot-v1"]\nlr = [1e-3, 3e-4]\n[search]\nscheduler = "halving"\n'
        "min_steps = 10000\n",
        ["successive halving", "different scales", "Acrobot-v1, CartPole-v1"],
    ),
    # named variants (sweep.spec.variants)
    ("variants empty", "[variants]\n", ["[variants]", "empty"]),
    ("variant not a table", "[variants]\nDQN = 3\n", ["variant 'DQN'", "table of hyperparameters"]),
    ("variant with a misspelt field", "[variants.A]\nperr = true\n", ["'perr'", "[variants.A]", "did you mean 'per'"]),
    ("variant with a wrong type", "[variants.A]\nper = 1\n", ["per", "[variants.A]", "true or false"]),
    (
        "variant from a later base",
        '[variants.A]\nbase = "B"\n[variants.B]\nper = true\n',
        ["base in [variants.A]", "earlier variant", "'B'", "earlier variants: none"],
    ),
    ("variant setting an axis", "[grid]\nlr = [1e-3, 3e-3]\n[variants.A]\nlr = 1e-4\n", ["lr", "axis", "[variants.A]"]),
    (
        "variants and a sampled space",
        '[space]\nlr = {dist = "log_uniform", low = 1e-4, high = 1e-2}\n[search]\nmethod = "random"\nsamples = 2\n'
        "[variants.A]\n",
        ["[variants] and [space]"],
    ),
    (
        "variants and a scheduler",
        '[grid]\nlr = [1e-3, 3e-3]\n[search]\nscheduler = "halving"\nmin_steps = 10000\n[variants.A]\n',
        ["[variants] and a scheduler"],
    ),
    (
        "a variant's bad combination",
        '[variants.A]\n[variants."C51 + huber"]\ndistributional = true\nloss = "huber"\n',
        ["huber", "variant=C51 + huber"],
    ),
    ("variant name of spaces", '[variants."  "]\n', ["variant name", "non-empty"]),
]


@pytest.mark.parametrize(("text", "facts"), [case[1:] for case in BAD_GRIDS], ids=[case[0] for case in BAD_GRIDS])
def test_bad_grid_file_is_one_line_exit_2_and_writes_nothing(text, facts, tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.chdir(tmp_path)  # so that even a default --out would land here
    path = write_grid(tmp_path, text)
    before = snapshot(tmp_path)
    code, out, err = call(["run", path, "--out", tmp_path / "results", "--no-progress", "--no-report"], capsys)
    assert_one_line_error(code, err, *facts)
    assert out == "" and snapshot(tmp_path) == before
    code, out, err = call(["show", path], capsys)  # show reads grids the same way
    assert_one_line_error(code, err, *facts)


def test_grid_file_that_is_not_text(tmp_path, capsys, no_training):
    path = tmp_path / "g.toml"
    path.write_bytes(b"seeds = 1\n\xff\xfe\x00")
    code, _, err = call(["run", path, "--out", tmp_path / "results"], capsys)
    assert_one_line_error(code, err, str(path), "UTF-8")
    assert not (tmp_path / "results").exists()


BAD_ARGS = [
    # (what is wrong, arguments after the grid, prefix, facts)
    ("unknown --set key", ["--set", "lrr=1e-3"], ERROR, ["'lrr'", "--set", "did you mean 'lr'"]),
    ("--set without =", ["--set", "lr"], ERROR, ["KEY=VALUE", "'lr'"]),
    ("--set wrong type", ["--set", "lr=fast"], ERROR, ["lr", "--set", "number", "'fast'"]),
    ("--set bad hidden sizes", ["--set", "hidden_sizes=64xx"], ERROR, ["hidden_sizes", "list of integers"]),
    ("--set empty hidden sizes", ["--set", "hidden_sizes=[]"], ERROR, ["hidden_sizes", "non-empty"]),
    ("--set out of range", ["--set", "tau=0"], ERROR, ["tau", "(0, 1]"]),
    (
        "--steps below an eval_every that is set too",
        ["--steps", "100", "--set", "eval_every=300"],
        ERROR,
        ["eval_every (300)", "total_steps (100)", "lower eval_every"],
    ),
    (
        "--set learning_starts too late",
        ["--set", "learning_starts=300"],
        ERROR,
        ["learning_starts (300)", "total_steps (300)"],
    ),
    ("--set int beyond int32", ["--set", "target_period=3000000000"], ERROR, ["target_period", "2**31", "3000000000"]),
    ("--set huge float as int", ["--set", "total_steps=1e30"], ERROR, ["total_steps", "2**31", "1e+30"]),
    ("--set float32 overflow", ["--set", "lr=1e40"], ERROR, ["lr", "float32", "1e+40"]),
    ("--set float32 underflow", ["--set", "lr=1e-50"], ERROR, ["lr", "at least 1.18e-38", "float32", "1e-50"]),
    ("--steps beyond int32", ["--steps", "3000000000"], ERROR, ["--steps", "2**31", "3000000000"]),
    ("zero --seeds", ["--seeds", "0"], RUN_ERROR, ["--seeds", "positive integer", "'0'"]),
    ("negative --seeds", ["--seeds", "-3"], RUN_ERROR, ["--seeds", "'-3'"]),
    ("zero --steps", ["--steps", "0"], RUN_ERROR, ["--steps", "positive integer", "'0'"]),
    ("text --steps", ["--steps", "many"], RUN_ERROR, ["--steps", "'many'"]),
    ("zero --chunk-steps", ["--chunk-steps", "0"], RUN_ERROR, ["--chunk-steps", "'0'"]),
    ("run id with a slash", ["--run-id", "a/b"], RUN_ERROR, ["--run-id", "'a/b'"]),
    ("run id 'latest'", ["--run-id", "latest"], RUN_ERROR, ["--run-id", "'latest'"]),
    ("empty run id", ["--run-id", ""], RUN_ERROR, ["--run-id", "''"]),
    ("run id with a newline", ["--run-id", "a\nb"], RUN_ERROR, ["--run-id", "printable", "'a\\nb'"]),
    ("hidden run id", ["--run-id", ".r"], RUN_ERROR, ["--run-id", "not starting with '.'"]),
    ("run id of 300 characters", ["--run-id", "r" * 300], RUN_ERROR, ["--run-id", "at most 200 bytes", "300"]),
    ("half the cluster flags", ["--process-id", "0"], ERROR, ["--coordinator", "--num-processes", "--process-id"]),
    (
        "process id out of range",
        ["--coordinator", "localhost:1", "--num-processes", "2", "--process-id", "2"],
        ERROR,
        ["--process-id", "[0, 2)", "2"],
    ),
    ("unknown option", ["--sed", "3"], ERROR, ["unrecognized arguments", "--sed"]),
]


@pytest.mark.parametrize(
    ("args", "prefix", "facts"), [case[1:] for case in BAD_ARGS], ids=[case[0] for case in BAD_ARGS]
)
def test_bad_arguments_are_one_line_exit_2_and_write_nothing(
    args, prefix, facts, tmp_path, capsys, monkeypatch, no_training
):
    monkeypatch.chdir(tmp_path)
    path = write_grid(tmp_path, TINY)
    before = snapshot(tmp_path)
    code, out, err = call(["run", path, "--out", tmp_path / "results", "--no-progress", *args], capsys)
    assert_one_line_error(code, err, *facts, prefix=prefix)
    assert out == "" and snapshot(tmp_path) == before


def test_unknown_grid_name_suggests_the_nearest(tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.chdir(tmp_path)
    for command in (["run", "lrr_eps", "--out", tmp_path / "results"], ["show", "lrr_eps"]):
        code, _, err = call(command, capsys)
        assert_one_line_error(code, err, "unknown grid 'lrr_eps'", "did you mean 'lr_eps'", *grids.available())
    code, _, err = call(["run", tmp_path / "missing.toml", "--out", tmp_path / "results"], capsys)
    assert_one_line_error(code, err, "missing.toml", "does not exist")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "grids").mkdir()
    code, _, err = call(["run", "grids", "--out", tmp_path / "results"], capsys)
    assert_one_line_error(code, err, "grid file grids is a folder", "a .toml file or a grid name")
    (tmp_path / "smoke").mkdir()  # a folder named like a shipped grid does not hide it
    assert grids.find("smoke") == grids.GRIDS_DIR / "smoke.toml"


def test_a_huge_sweep_is_refused_without_large(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(engine, "make_mesh", lambda: pytest.fail("a refused sweep must not reach the devices"))
    code, out, err = call(["run", "smoke", "--seeds", "1000000", "--out", tmp_path, "--no-progress"], capsys)
    assert_one_line_error(code, err, "2,000,000 runs (more than 100,000)", "1 static group", "--large")
    assert out == "" and list(tmp_path.iterdir()) == []


def test_steps_below_eval_every_evaluate_at_the_end_with_a_note(tmp_path, capsys):
    path = write_grid(tmp_path, TINY)
    code, out, err = call(["show", path, "--steps", "200"], capsys)
    assert code == 0
    note = "note: eval_every (300) exceeds --steps 200: each run is evaluated once, at its end (eval_every = 200)\n"
    assert err == note
    assert json.loads(out)["fixed"]["eval_every"] == 200
    code, out, err = call(["show", path, "--set", "total_steps=200"], capsys)  # the same, shortened by --set
    assert code == 0 and err == note.replace("--steps 200", "total_steps = 200")
    code, out, err = call(["show", path, "--steps", "100", "--set", "total_steps=200"], capsys)  # --set counts
    assert code == 0 and err == note.replace("--steps 200", "total_steps = 200")
    assert json.loads(out)["fixed"]["eval_every"] == 200
    code, _, err = call(["run", path, "--steps", "200", "--out", tmp_path / "results", "--run-id", "r", "--no-progress",
                         "--no-report"], capsys)  # fmt: skip
    assert code == 0, err
    # What the sweep costs comes first: its devices, then configs x seeds, groups, waves and env steps.
    assert err.splitlines()[1:3] == [
        "devices: 1 x cpu (cpu)",
        "g: 2 configs x 1 seed = 2 runs in 1 static group (1 wave on 1 device), 400 env steps",
    ]
    evals = pd.read_parquet(tmp_path / "results" / "g" / "r" / "evals.parquet")
    assert sorted(evals["step"].unique()) == [200] and len(evals) == 2


def test_missing_or_unknown_command_is_one_line(capsys):
    code, _, err = call([], capsys)
    assert_one_line_error(code, err, "command")
    code, _, err = call(["train", "smoke"], capsys)
    assert_one_line_error(code, err, "'train'")
    code, _, err = call(["run"], capsys)
    assert_one_line_error(code, err, "grid", prefix=RUN_ERROR)


def test_output_folder_under_a_file_is_one_line(tmp_path, capsys, no_training):
    path = write_grid(tmp_path, TINY)
    (tmp_path / "afile").write_text("keep me\n")
    before = snapshot(tmp_path)
    code, _, err = call(["run", path, "--out", tmp_path / "afile" / "sub", "--no-progress"], capsys)
    assert_one_line_error(code, err, "cannot write to output folder", str(tmp_path / "afile"), "Not a directory")
    assert snapshot(tmp_path) == before


@pytest.fixture
def started(tmp_path):
    """A run folder of grid ``a`` (TINY) as the engine leaves it before its first checkpoint."""
    path_a = write_grid(tmp_path, TINY, "a")
    grid_a = load_grid(str(path_a))
    run_dir = tmp_path / "results" / "a" / "r1"
    run_dir.mkdir(parents=True)
    folders.write_sweep_info(run_dir, grid_a, grid_a)
    return path_a, run_dir


def test_resume_folder_of_another_grid_names_both(started, tmp_path, capsys, no_training):
    _, run_dir = started
    path_b = write_grid(tmp_path, TINY.replace("lr = [1e-3, 3e-3]", "lr = [1e-2]"), "b")
    before = snapshot(tmp_path)
    code, _, err = call(["run", path_b, "--resume", run_dir, "--no-progress"], capsys)
    assert_one_line_error(code, err, str(run_dir), "'a'", "'b'")
    assert snapshot(tmp_path) == before


def test_resume_records_a_changed_description(started, tmp_path, capsys):
    # The description changes no result: a resume takes the grid file's new text into sweep.json and the tables.
    path_a, run_dir = started
    path_a.write_text(TINY.replace("tiny grid for command-line tests", "a better description"))
    code, _, err = call(["run", path_a, "--resume", run_dir, "--no-progress", "--no-report"], capsys)
    assert code == 0, err
    assert "description changed" in err and "the new one is recorded" in err
    assert json.loads((run_dir / "sweep.json").read_text())["description"] == "a better description"
    assert json.loads((run_dir / "manifest.json").read_text())["description"] == "a better description"


def test_resume_with_other_settings_is_refused(started, tmp_path, capsys, no_training):
    path_a, run_dir = started
    before = snapshot(tmp_path)
    for extra in (["--seeds", "3"], ["--set", "gamma=0.9"]):
        code, _, err = call(["run", path_a, "--resume", run_dir, "--no-progress", *extra], capsys)
        assert_one_line_error(code, err, str(run_dir), "other settings")
    path_a.write_text(TINY.replace("seeds = 1", "seeds = 2"))  # the grid file itself changed
    before[path_a.name] = path_a.read_bytes()
    code, _, err = call(["run", path_a, "--resume", run_dir, "--no-progress"], capsys)
    assert_one_line_error(code, err, "other settings")
    assert snapshot(tmp_path) == before


def test_resume_folder_that_is_not_a_run_folder(tmp_path, capsys, no_training):
    path = write_grid(tmp_path, TINY)
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("mine\n")
    before = snapshot(tmp_path)
    for folder in (tmp_path / "plain", tmp_path / "nowhere"):
        code, _, err = call(["run", path, "--resume", folder, "--no-progress"], capsys)
        assert_one_line_error(code, err, str(folder), "not a sweep run folder", "sweep.json")
    assert snapshot(tmp_path) == before


def test_resume_of_a_finished_folder(started, tmp_path, capsys, no_training):
    path_a, run_dir = started
    (run_dir / "runs.parquet").write_bytes(b"finished tables")
    (run_dir / folders.DONE).write_text("finished\n")
    before = snapshot(tmp_path)
    code, _, err = call(["run", path_a, "--resume", run_dir, "--no-progress"], capsys)
    assert_one_line_error(code, err, str(run_dir), "already finished")
    assert snapshot(tmp_path) == before


def test_run_folder_status_follows_its_files(started):
    _, run_dir = started
    assert folders.status(run_dir) == "fresh"
    (run_dir / "runs.parquet").write_bytes(b"half of the results")
    assert folders.status(run_dir) == "tables"
    (run_dir / checkpoint.CHECKPOINT).mkdir()
    (run_dir / checkpoint.CHECKPOINT / "latest.json").write_text("{}")
    assert folders.status(run_dir) == "checkpoint"
    (run_dir / folders.DONE).write_text("finished\n")
    assert folders.status(run_dir) == "finished"


@pytest.mark.parametrize(
    ("latest", "npz"),
    [
        ('{"file": "ckpt-0000-000000100.npz"}', None),  # the file it names is gone
        ('{"file": "ckpt-0000-000000100.npz"}', b"PK\x03\x04 truncated"),
        ("{not json", None),
        ("[]", None),
    ],
    ids=["npz missing", "npz damaged", "latest.json not JSON", "latest.json not a record"],
)
def test_resume_with_an_unreadable_checkpoint_is_one_line(latest, npz, started, tmp_path, capsys, no_training):
    path_a, run_dir = started
    ckpt = run_dir / checkpoint.CHECKPOINT
    ckpt.mkdir()
    (ckpt / "latest.json").write_text(latest)
    if npz is not None:
        (ckpt / "ckpt-0000-000000100.npz").write_bytes(npz)
    before = snapshot(tmp_path)
    code, _, err = call(["run", path_a, "--resume", run_dir, "--no-progress"], capsys)
    assert_one_line_error(code, err, str(ckpt), "cannot be read", "start a new run")
    assert snapshot(tmp_path) == before
    with pytest.raises(checkpoint.CheckpointError, match="cannot be read"):  # the full load says the same
        checkpoint.load(run_dir, 2)


@pytest.mark.parametrize("extra", [["--out", "elsewhere"], ["--run-id", "r2"]], ids=["--out", "--run-id"])
def test_resume_with_out_or_run_id_is_refused(extra, started, tmp_path, capsys, monkeypatch, no_training):
    monkeypatch.chdir(tmp_path)
    path_a, run_dir = started
    before = snapshot(tmp_path)
    code, _, err = call(["run", path_a, "--resume", run_dir, "--no-progress", *extra], capsys)
    assert_one_line_error(code, err, extra[0], "cannot be used with --resume", str(run_dir))
    assert snapshot(tmp_path) == before


def test_resume_path_is_resolved(started, tmp_path, monkeypatch):
    # `--resume .` and a symbolic link name the real folder, so that `latest` points at its real name.
    path_a, run_dir = started
    grid = load_grid(str(path_a))
    link = tmp_path / "link"
    link.symlink_to(run_dir)
    monkeypatch.chdir(run_dir)
    for given in (Path("."), link):
        found = folders.check_resume(grid, given, SCHEDULERS)
        assert found["run_dir"] == str(run_dir.resolve()) and found["status"] == "fresh"


def test_latest_link_that_cannot_be_made_is_a_warning(tmp_path, capsys, monkeypatch):
    run_dir = tmp_path / "a" / "r1"
    run_dir.mkdir(parents=True)

    def no_links(*_args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "symlink", no_links)
    folders.update_latest(run_dir)
    err = capsys.readouterr().err
    assert err.startswith("warning: ") and "latest" in err and "Operation not permitted" in err
    assert not (tmp_path / "a" / "latest").exists()


def test_failure_before_the_first_checkpoint_removes_the_new_folder(started, tmp_path, monkeypatch):
    """An unexpected error after the run folder was made, before anything worth keeping was written, leaves
    the output folder as it was; a folder being resumed is kept whatever happens."""
    path_a, run_dir = started

    def broken(*_args, **_kwargs):
        raise RuntimeError("no devices")

    monkeypatch.setattr(engine, "make_mesh", broken)
    grid = load_grid(str(path_a))
    before = snapshot(tmp_path)
    for out, run_id in ((tmp_path / "results", "r2"), (tmp_path / "new" / "root", None)):
        with pytest.raises(RuntimeError, match="no devices"):
            engine.run_sweep(grid, engine.Options(out=out, run_id=run_id, progress=False, report=False))
        assert snapshot(tmp_path) == before  # neither r2 nor new/root/a/<generated id> is left
    with pytest.raises(RuntimeError, match="no devices"):
        engine.run_sweep(grid, engine.Options(resume=run_dir, progress=False, report=False))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("text", ["{oops", '{"grid": "a"}'], ids=["not JSON", "fields missing"])
def test_resume_folder_with_a_damaged_sweep_json(text, tmp_path, capsys, no_training):
    path = write_grid(tmp_path, TINY, "a")
    run_dir = tmp_path / "r1"
    run_dir.mkdir()
    (run_dir / folders.SWEEP_FILE).write_text(text)
    before = snapshot(tmp_path)
    code, _, err = call(["run", path, "--resume", run_dir, "--no-progress"], capsys)
    assert_one_line_error(code, err, str(run_dir), folders.SWEEP_FILE)
    assert snapshot(tmp_path) == before


def test_existing_run_folder_is_not_overwritten(started, tmp_path, capsys, no_training):
    path_a, run_dir = started
    (run_dir / "runs.parquet").write_bytes(b"earlier results")
    before = snapshot(tmp_path)
    for grid_args in ([path_a], [path_a, "--seeds", "2"]):  # same settings or not, the folder is kept
        code, _, err = call(
            ["run", *grid_args, "--out", tmp_path / "results", "--run-id", "r1", "--no-progress"], capsys
        )
        assert_one_line_error(code, err, str(run_dir), "already exists", f"--resume {run_dir}")
    assert snapshot(tmp_path) == before


def _env():
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=os.pathsep.join(paths))


def test_subprocess_bad_input_exits_2_without_traceback(tmp_path):
    path = write_grid(tmp_path, "[grid]\nlrr = [1e-3]\n")
    before = snapshot(tmp_path)
    cmd = [sys.executable, "-m", "sweep", "run", str(path), "--out", str(tmp_path / "results"), "--no-progress"]
    proc = subprocess.run(cmd, env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert_one_line_error(proc.returncode, proc.stderr, "'lrr'", "did you mean 'lr'")
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_finished_run_is_kept_and_cannot_be_resumed(tmp_path, capsys):
    """One real (tiny) sweep; then its folder is neither overwritten nor resumed, and another grid's resume
    of it is refused."""
    path = write_grid(tmp_path, TINY, "a")
    out = tmp_path / "results"
    code, stdout, err = call(["run", path, "--out", out, "--run-id", "r1", "--no-report", "--no-progress"], capsys)
    run_dir = out / "a" / "r1"
    assert code == 0, err
    assert f"results: {run_dir}" in stdout
    assert (run_dir / "runs.parquet").is_file() and not (run_dir / checkpoint.CHECKPOINT).exists()
    assert json.loads((run_dir / folders.SWEEP_FILE).read_text())["grid"] == "a"
    before = snapshot(tmp_path)
    code, _, err = call(["run", path, "--out", out, "--run-id", "r1", "--no-progress"], capsys)
    assert_one_line_error(code, err, "already exists", "--resume")
    code, _, err = call(["run", path, "--resume", run_dir, "--no-progress"], capsys)
    assert_one_line_error(code, err, "already finished")
    other = write_grid(tmp_path, TINY, "b")
    before[other.name] = other.read_bytes()
    code, _, err = call(["run", other, "--resume", run_dir, "--no-progress"], capsys)
    assert_one_line_error(code, err, "'a'", "'b'")
    assert snapshot(tmp_path) == before


@pytest.mark.slow
def test_folder_stopped_while_writing_its_tables_is_trained_again(started, capsys):
    # Tables but no DONE marker and no checkpoint: the sweep was stopped between its first table and the marker.
    path_a, run_dir = started
    (run_dir / "runs.parquet").write_bytes(b"half of the results")
    code, stdout, err = call(["run", path_a, "--resume", run_dir, "--no-progress", "--no-report"], capsys)
    assert code == 0, err
    assert "no DONE marker" in err and "training it again" in err
    assert folders.status(run_dir) == "finished"
    runs = pd.read_parquet(run_dir / "runs.parquet")
    assert list(runs[["config", "seed"]].itertuples(index=False, name=None)) == [(0, 0), (1, 0)]


# ---------------------------------------------------------------------------------------------------------
# A full disk, and what a kill during the clean-up leaves
# ---------------------------------------------------------------------------------------------------------
def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_during_a_checkpoint_is_one_line_and_keeps_the_previous_one(tmp_path, capsys, monkeypatch):
    path = write_grid(tmp_path, TINY)
    args = ["--out", tmp_path / "results", "--no-progress", "--no-report", "--chunk-steps", "100"]
    code, _, err = call(["run", path, "--run-id", "ref", *args], capsys)
    assert code == 0, err
    reference = {t: pd.read_parquet(tmp_path / "results" / "g" / "ref" / f"{t}.parquet") for t in TABLES}

    real_write = checkpoint.atomic_write

    def atomic_write(path, write):  # the second checkpoint finds the disk full after writing part of its state
        if Path(path).name == "state-000002.npz":
            write = lambda f: (f.write(b"partial"), _no_space())  # noqa: E731
        real_write(path, write)

    monkeypatch.setattr(checkpoint, "atomic_write", atomic_write)
    code, _, err = call(["run", path, "--run-id", "r", *args], capsys)
    run_dir = tmp_path / "results" / "g" / "r"
    hint = f"continue with python -m sweep run {path} --resume {run_dir}"  # as the signal messages give it
    assert_last_line_error(code, err, "No space left on device", "previous checkpoint is kept", hint)
    ckpt = run_dir / checkpoint.CHECKPOINT
    # No partial file is left; latest.json still names the first checkpoint's files (the second's new part is
    # a stray until the next checkpoint removes it).
    assert not list(ckpt.glob(".*.tmp"))
    meta = json.loads((ckpt / "latest.json").read_text())
    assert meta["seq"] == 1 and {p.name for p in ckpt.iterdir()} >= {"latest.json", "rec-0-000001.npz", meta["state"]}
    monkeypatch.undo()
    code, _, err = call(["run", path, "--resume", run_dir, "--no-progress", "--no-report", "--chunk-steps", "100"],
                        capsys)  # fmt: skip
    assert code == 0, err
    for t in TABLES:
        pd.testing.assert_frame_equal(reference[t], pd.read_parquet(run_dir / f"{t}.parquet"), check_exact=True)


def test_full_disk_during_the_report_is_one_line_and_resumable(tmp_path, capsys, monkeypatch):
    import matplotlib.figure

    path = write_grid(tmp_path, TINY)
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", _no_space)
    code, _, err = call(["run", path, "--out", tmp_path / "results", "--run-id", "r", "--no-progress"], capsys)
    run_dir = tmp_path / "results" / "g" / "r"
    hint = f"continue with python -m sweep run {path} --resume {run_dir}"
    assert_last_line_error(code, err, "No space left on device", "tables are written but not the report", hint)
    assert (run_dir / "runs.parquet").is_file() and not (run_dir / folders.DONE).exists()
    assert not list(run_dir.rglob("*.tmp"))
    monkeypatch.undo()
    code, _, err = call(["run", path, "--resume", run_dir, "--no-progress"], capsys)
    assert code == 0, err
    assert (run_dir / "report.html").is_file() and (run_dir / folders.DONE).is_file()
    # lr = 1e-3 is lr's default: the manifest records the defaults, and the report compares 3e-3 with them.
    assert json.loads((run_dir / "manifest.json").read_text())["defaults"]["lr"] == 1e-3
    assert "<h2>Against the defaults</h2>" in (run_dir / "report.html").read_text()


def test_a_checkpoint_left_set_aside_is_cleared_by_the_next_sweep(tmp_path, capsys):
    path = write_grid(tmp_path, TINY)
    args = ["--out", tmp_path / "results", "--no-progress", "--no-report"]
    assert call(["run", path, "--run-id", "a", *args], capsys)[0] == 0
    first = tmp_path / "results" / "g" / "a"
    leftover = first / ".checkpoint-removed-12345"  # as a kill during the removal leaves it
    (leftover / "inner").mkdir(parents=True)
    code, _, err = call(["run", path, "--resume", first, "--no-progress"], capsys)
    assert_one_line_error(code, err, "already finished")
    assert not leftover.exists()
    (leftover / "inner").mkdir(parents=True)
    (first / checkpoint.CHECKPOINT).mkdir()  # as a kill between the DONE marker and the checkpoint's removal
    assert call(["run", path, "--run-id", "b", *args], capsys)[0] == 0
    assert not leftover.exists() and (first / folders.DONE).is_file()
    assert not (first / checkpoint.CHECKPOINT).exists()


def test_a_stop_before_anything_was_kept_says_so(tmp_path, capsys, monkeypatch):
    def stop(*_args, **_kwargs):
        raise KeyboardInterrupt("SIGINT")

    monkeypatch.setattr(engine._Sweep, "_loop", stop)
    path = write_grid(tmp_path, TINY)
    code, _, err = call(["run", path, "--out", tmp_path / "results", "--run-id", "r", "--no-progress"], capsys)
    assert code == 130
    assert err.strip().splitlines()[-1] == (
        "python -m sweep: interrupted (SIGINT) before anything was kept; nothing was written"
    )
    assert not (tmp_path / "results").exists()


def test_list_shows_an_invalid_grid_as_such(tmp_path, capsys, monkeypatch):
    (tmp_path / "good.toml").write_text(TINY)
    (tmp_path / "bad.toml").write_text("[grid]\nlrr = [1]\n")
    monkeypatch.setattr(grids, "GRIDS_DIR", tmp_path)
    code, out, err = call(["list"], capsys)
    assert code == 0 and err == ""
    assert "bad" in out and "(invalid: unknown hyperparameter 'lrr'" in out and "good" in out
