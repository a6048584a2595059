"""Successive halving: the rungs, the decisions, survivors' rows bitwise the full grid's, stopped configs marked,
a killed sweep resumed to identical tables, and bad settings in one sentence."""

import json
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_runs import run_sweep

from sweep.plan import Group, cut_group, make_plan
from sweep.schedules import parse_grid
from sweep.schedules.halving import HalvingSchedule, rung_steps, survivors
from sweep.spec import grid as grids
from sweep.store import checkpoint

GRID = """
description = "tiny grid for halving tests"
seeds = 2
[config]
total_steps = 1200
buffer_capacity = 200
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 100
eval_episodes = 1
[grid]
lr = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]
"""
HALVING = '[search]\nscheduler = "halving"\nmin_steps = 200\neta = 3\nmetric = "auc"\n'
TABLES = ("episodes", "evals")


def test_rungs_and_survivors():
    assert rung_steps(10_000, 3, 50_000) == [10_000, 30_000, 50_000]
    assert rung_steps(200, 3, 1200) == [200, 600, 1200]
    assert rung_steps(200, 2, 1600) == [200, 400, 800, 1600]
    assert [survivors(n, 3) for n in (81, 27, 9, 3, 2, 1)] == [27, 9, 3, 1, 1, 1]


class _Parked:
    """What a schedule's decision may touch of the parked states (none here)."""

    def keep_only(self, runs):
        self.kept = runs


def _drain(schedule, limit=None):
    chunks = []
    while (chunk := schedule.next()) is not None and (limit is None or len(chunks) < limit):
        chunks.append(chunk)
        schedule.finished(chunk)
        schedule.at_boundary(_Parked())
    return chunks


def _schedule(position=None, scores=None):
    plan = make_plan(parse_grid(tomllib.loads(GRID + HALVING), name="h"))
    settings = plan.grid.search.scheduler
    waves_for = lambda g, runs: cut_group(g, Group(plan.groups[g].static, runs), 4)  # noqa: E731
    # Fake scores: config c's seeds score c at every rung, so the highest configs go on.
    scores = scores or (lambda configs, step: np.repeat(np.asarray(configs, float)[:, None], 2, axis=1))
    return HalvingSchedule(plan, settings, waves_for, scores, chunk_steps=300, position=position), plan


def test_stretches_train_the_survivors_from_each_rung_and_stop_the_rest():
    schedule, plan = _schedule()
    assert schedule.planned_steps() == 18 * 200 + 6 * 400 + 2 * 600  # 9, 3, then 1 config of 2 seeds
    # What list, show and run's size line state:
    assert plan.grid.search.scheduler.planned_env_steps(plan) == schedule.planned_steps()
    chunks = _drain(schedule)
    # Stretch 1: 18 runs in waves of 4 (5 waves), 200 steps each; stretch 2: configs 6-8 (6 runs, 2 waves), 200
    # -> 600 in chunks of 300 and 100; stretch 3: config 8 (1 wave), 600 -> 1200.
    assert [(c.wave, c.start, c.n_steps) for c in chunks[:5]] == [(w, 0, 200) for w in range(5)]
    assert [(c.wave, c.start, c.n_steps) for c in chunks[5:9]] == [(0, 200, 300), (0, 500, 100), (1, 200, 300),
                                                                   (1, 500, 100)]  # fmt: skip
    assert [(c.wave, c.start, c.n_steps) for c in chunks[9:]] == [(0, 600, 300), (0, 900, 300)]
    assert [h["kept"] for h in schedule.history] == [[6, 7, 8], [8]]
    assert schedule.stopped_at() == {**{c: 200 for c in range(6)}, 6: 600, 7: 600}
    assert schedule.steps_done() == schedule.planned_steps()
    frame = schedule.rungs_frame()
    assert len(frame) == 2 * (9 + 3) and frame["kept"].sum() == 2 * 4
    assert frame.query("rung == 1 and config == 8")["score"].tolist() == [8.0, 8.0]


def test_a_restored_position_makes_the_same_chunks_and_decisions():
    first, _ = _schedule()
    straight, _ = _schedule()
    _drain(first, limit=7)  # into stretch 2
    assert first.stretch == 1 and first.steps_done() == 18 * 200 + 4 * 400  # wave 0 of stretch 2 done
    resumed, _ = _schedule(json.loads(json.dumps(first.position())))
    rest, every = _drain(resumed), _drain(straight)
    assert rest == every[7:] and resumed.history == straight.history


def test_a_resumed_position_counts_earlier_groups_without_cutting_their_waves():
    # Cutting a group's waves builds (compiles) its program: a resume must not do it for groups already trained.
    text = GRID.replace("batch_size = 16\n", "").replace("[grid]\n", "[grid]\nbatch_size = [16, 32]\n")
    plan = make_plan(parse_grid(tomllib.loads(text + HALVING), name="h"))
    assert len(plan.groups) == 2
    cut = []

    def waves_for(g, runs):
        cut.append(g)
        return cut_group(g, Group(plan.groups[g].static, runs), 4)

    scores = lambda configs, step: np.repeat(np.asarray(configs, float)[:, None], 2, axis=1)  # noqa: E731
    first = HalvingSchedule(plan, plan.grid.search.scheduler, waves_for, scores, chunk_steps=300)
    _drain(first, limit=6)  # group 0's 5 waves, then group 1's first: into group 1 of stretch 1
    assert first.group == 1 and first.stretch == 0
    cut.clear()
    position = json.loads(json.dumps(first.position()))
    resumed = HalvingSchedule(plan, plan.grid.search.scheduler, waves_for, scores, 300, position)
    assert resumed.steps_done() == first.steps_done() == 18 * 200 + 4 * 200  # group 0, then a wave of 4 runs
    assert cut == [1]


def test_ties_and_missing_scores_rank_by_config():
    flat = lambda configs, step: np.full((len(configs), 2), np.nan)  # noqa: E731
    schedule, _ = _schedule(scores=flat)
    _drain(schedule)
    assert [h["kept"] for h in schedule.history] == [[0, 1, 2], [0]]


def _run(grid_file, out, run_id, *args, **env):
    return run_sweep(grid_file, out, run_id, *args, chunk="300", **env)


def _read(run_dir):
    return {t: pd.read_parquet(Path(run_dir) / f"{t}.parquet") for t in ("episodes", "evals", "runs", "rungs")
            if (Path(run_dir) / f"{t}.parquet").exists()}  # fmt: skip


@pytest.mark.slow
def test_survivors_rows_are_the_full_grids_and_a_killed_sweep_resumes_to_the_same_tables(tmp_path):
    (tmp_path / "full.toml").write_text(GRID)
    (tmp_path / "halving.toml").write_text(GRID + HALVING)
    assert _run(tmp_path / "full.toml", tmp_path, "full").returncode == 0
    done = _run(tmp_path / "halving.toml", tmp_path, "h")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "halving: 7,200 env steps (33% of the full grid's 21,600)" in done.stderr
    assert "18 runs in 1 static group (2 waves on 2 devices), 7,200 env steps" in done.stderr  # the size line too
    full, halving = _read(tmp_path / "full" / "full"), _read(tmp_path / "halving" / "h")
    stopped = halving["runs"].set_index(["config", "seed"])["stopped_at"]
    assert sorted(stopped.unique()) == [200, 600, 1200]
    assert (stopped == 1200).sum() == 2  # one config (2 seeds) trained to the end
    # Every row a config wrote is the full grid's row for it, up to where the config stopped.
    for t, step in (("episodes", "end_step"), ("evals", "step")):
        ref = full[t].merge(stopped.rename("stop").reset_index(), on=["config", "seed"])
        ref = ref[ref[step] <= ref["stop"]].drop(columns="stop").reset_index(drop=True)
        pd.testing.assert_frame_equal(ref, halving[t].reset_index(drop=True), check_exact=True)
    manifest = json.loads((tmp_path / "halving" / "h" / "manifest.json").read_text())
    assert manifest["halving"] == {"rungs": [200, 600, 1200], "env_steps": 7200, "full_grid_env_steps": 21600}

    # 18 runs are 2 waves of 16 at rung 1. Killed after its 2nd checkpoint (the rung's decision made, the
    # survivors parked), then resumed and killed after the resumed sweep's first checkpoint (in the survivors'
    # wave, its state live), then resumed to the end: the same tables.
    run_dir = tmp_path / "halving" / "k"
    assert _run(tmp_path / "halving.toml", tmp_path, "k", **{checkpoint.FAULT_ENV: "2"}).returncode == -9
    meta = json.loads((run_dir / "checkpoint" / "latest.json").read_text())
    kept = sorted(set(halving["rungs"].query("rung == 0 and kept")["config"]))
    assert meta["schedule"]["stretch"] == 1 and meta["schedule"]["alive"] == kept and meta["parked"]
    assert meta["state"] is None
    assert _run(tmp_path / "halving.toml", None, None, "--resume", str(run_dir),
                **{checkpoint.FAULT_ENV: "1"}).returncode == -9  # fmt: skip
    meta = json.loads((run_dir / "checkpoint" / "latest.json").read_text())
    assert (meta["schedule"]["stretch"], meta["schedule"]["steps_done"]) == (1, 500) and meta["state"]
    resumed = _run(tmp_path / "halving.toml", None, None, "--resume", str(run_dir))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    again = _read(tmp_path / "halving" / "k")
    for t in ("episodes", "evals", "runs", "rungs"):
        pd.testing.assert_frame_equal(halving[t], again[t], check_exact=True)


BAD = [
    ('[search]\nscheduler = "halving"\nmin_steps = 1200\n', ["min_steps (1,200) must be below total_steps (1,200)"]),
    ('[search]\nscheduler = "halving"\nmin_steps = 200\neta = 1\n', ["eta", "at least 2"]),
    ('[search]\nscheduler = "halving"\nmin_steps = 200\nmetric = "best"\n', ["metric", "auc, final", "'best'"]),
    ('[search]\nscheduler = "halving"\n', ["min_steps", "positive integer", "None"]),
    ("[search]\nmin_steps = 200\n", ["min_steps", 'scheduler = "halving"']),
    ('[search]\nscheduler = "hyperband"\n', ["scheduler", "'hyperband'"]),
    # an unknown scheduler is named as such, with the known ones, before its keys are found unknown
    (
        '[search]\nscheduler = "hyperband"\nmin_steps = 200\neta = 3\n',
        ["unknown scheduler 'hyperband'", "halving, pbt"],
    ),
    ('[search]\nscheduler = "halving"\nmin_steps = 50\n', ["min_steps (50) must be at least eval_every (100)"]),
]


@pytest.mark.parametrize(("text", "facts"), BAD, ids=[f[0] for _, f in BAD])
def test_bad_halving_settings_are_one_sentence(text, facts):
    with pytest.raises(grids.GridError) as err:
        parse_grid(tomllib.loads(GRID + text), name="h")
    assert all(f in str(err.value) for f in facts), str(err.value)


def test_halving_needs_configs_to_compare():
    # Neither [grid] nor [space]: one config, nothing to halve.
    text = GRID.replace("[grid]\nlr = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]\n", "") + HALVING
    with pytest.raises(grids.GridError, match="successive halving compares configs, and this sweep has one"):
        parse_grid(tomllib.loads(text), name="h")
    # The same after overrides that fix the only axis.
    with pytest.raises(grids.GridError, match="compares configs"):
        parse_grid(tomllib.loads(GRID + HALVING), name="h").with_overrides(fixed={"lr": 1e-3})


def test_halving_needs_one_total_steps():
    text = GRID.replace("total_steps = 1200\n", "") + "total_steps = [1200, 2400]\n" + HALVING
    with pytest.raises(grids.GridError, match="one total_steps for every config"):
        parse_grid(tomllib.loads(text), name="h")
    g = parse_grid(tomllib.loads(GRID + HALVING), name="h")
    with pytest.raises(grids.GridError, match="must be below total_steps"):
        g.with_overrides(steps=200)


@pytest.mark.slow
def test_a_full_disk_while_parking_is_one_line_and_the_sweep_resumes(tmp_path, capsys, monkeypatch):
    import errno

    from common.files import WriteError
    from sweep import cli
    from sweep.store import parked

    grid_file = tmp_path / "halving.toml"
    grid_file.write_text(GRID + HALVING)
    args = ["--out", tmp_path, "--no-progress", "--no-report", "--chunk-steps", "300"]
    assert cli.main(["run", str(grid_file), "--run-id", "straight", *map(str, args)]) == 0
    real, written = parked.atomic_write, []

    def atomic_write(path, write):  # the second parked file finds the disk full
        written.append(path)
        if len(written) == 2:
            raise WriteError(f"cannot write {str(path)!r}: {os.strerror(errno.ENOSPC)}")
        real(path, write)

    monkeypatch.setattr(parked, "atomic_write", atomic_write)
    capsys.readouterr()
    assert cli.main(["run", str(grid_file), "--run-id", "k", *map(str, args)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "No space left on device" in last and "previous checkpoint is kept" in last and "--resume" in last
    monkeypatch.undo()
    run_dir = tmp_path / "halving" / "k"
    assert cli.main(["run", str(grid_file), "--resume", str(run_dir), *map(str, args[2:])]) == 0
    a, b = _read(tmp_path / "halving" / "straight"), _read(run_dir)
    for t in ("episodes", "evals", "runs", "rungs"):
        pd.testing.assert_frame_equal(a[t], b[t], check_exact=True)
