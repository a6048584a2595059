"""Population-based training: exploit copies the chosen member's networks and keeps the rest of the child, explore
stays in the space, the lineage is consistent and deterministic, a killed sweep resumes to the identical lineage
and rows, and bad settings are one sentence."""

import dataclasses
import json
import tomllib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sweep_runs import run_sweep

from sweep.plan import Group, cut_group, make_plan
from sweep.schedules import parse_grid
from sweep.schedules.pbt import PBTSchedule, decision_rng, interval_steps
from sweep.spec import grid as grids
from sweep.spec.space import unit_draws
from sweep.store import checkpoint
from sweep.store.parked import Parked

GRID = """
description = "tiny grid for PBT tests"
seeds = 2
[config]
total_steps = 1200
buffer_capacity = 200
batch_size = 16
hidden_sizes = [16]
learning_starts = 100
eval_every = 100
eval_episodes = 1
"""
PBT = """
[search]
scheduler = "pbt"
population = 8
interval = 300
quantile = 0.25
seed = 3
[space]
lr = { log_uniform = [1e-4, 1e-1] }
eps_end = { uniform = [0.0, 0.2] }
"""


def _grid(text=GRID + PBT):
    return parse_grid(tomllib.loads(text), name="pbt")


def test_intervals():
    assert interval_steps(300, 1200) == [300, 600, 900, 1200]
    assert interval_steps(5_000, 12_000) == [5_000, 10_000, 12_000]


# A state of three fields of one leaf each, besides the hyperparameters and the shared step.
FIELDS = ["params", "buffer", "key", "hparams.lr", "hparams.eps_end", "step"]


def _parked_population(tmp_path, plan):
    """Every run parked with params = buffer = key = its run number, its drawn lr and eps_end."""
    runs = list(range(plan.n_runs))
    leaves = [np.array(runs, float), np.array(runs, float) * 10, np.array(runs, float) * 100,
              np.array([plan.configs[plan.config_of(r)]["lr"] for r in runs], np.float32),
              np.array([plan.configs[plan.config_of(r)]["eps_end"] for r in runs], np.float32),
              np.array(300)]  # fmt: skip
    parked = Parked(tmp_path)
    parked.park("parked-1.npz", runs, leaves, [f != "step" for f in FIELDS])
    return parked


def _schedule(plan, scores, copy_buffer=True):
    settings = dataclasses.replace(plan.grid.search.scheduler, copy_buffer=copy_buffer)
    waves_for = lambda g, runs: cut_group(g, Group(plan.groups[g].static, runs), 16)  # noqa: E731
    program = SimpleNamespace(leaf_fields=lambda: FIELDS, batched_leaves=lambda: [f != "step" for f in FIELDS])
    return PBTSchedule(plan, settings, waves_for, scores, lambda: program, chunk_steps=300)


def test_decisions_draw_apart_from_the_sampler():
    # The sampler draws the first members from default_rng(seed); a decision's stream must not repeat those draws
    # (numpy ignores trailing zero seed words, so [seed, 0, 0] alone would).
    for seed in (0, 7):
        members = unit_draws("random", 16, 1, seed)[:, 0]
        for interval, population in ((0, 0), (0, 1), (3, 0)):
            draws = decision_rng(seed, interval, population).random(16)
            assert not np.isin(draws, members).any()
    assert decision_rng(0, 1, 0).random() != decision_rng(0, 0, 1).random()


@pytest.mark.parametrize("copy_buffer", [True, False])
def test_exploit_copies_the_parents_networks_and_explore_stays_in_the_space(tmp_path, copy_buffer):
    plan = make_plan(_grid())
    # Member m of population p scores m + 10 p: members 6 and 7 are the top quarter, 0 and 1 the bottom.
    scores = lambda start, step: np.add.outer(np.arange(8.0), [0.0, 10.0])  # noqa: E731
    schedule, parked = _schedule(plan, scores, copy_buffer), _parked_population(tmp_path, plan)
    schedule.decide(300, parked)
    h = schedule.history[0]
    parents = np.asarray(h["parents"])
    assert set(parents[:2].ravel()) <= {6, 7} and (parents[2:] == np.arange(2, 8)[:, None]).all()
    batched = [f != "step" for f in FIELDS]
    for p in range(2):
        for child in (0, 1):
            run, parent = child * 2 + p, int(parents[child, p]) * 2 + p
            params, buffer, key, lr, eps, _ = parked.take(np.array([run]), batched)
            assert params[0] == parent and key[0] == run * 100  # the parent's network, its own key
            assert buffer[0] == (parent if copy_buffer else run) * 10
            # Its new values: its parent's, perturbed by 0.8 or 1.25 and clipped, or drawn afresh; in bounds.
            was_lr, was_eps = h["hparams"]["lr"][p][parents[child, p]], h["hparams"]["eps_end"][p][parents[child, p]]
            assert lr[0] == np.float32(h["next"]["lr"][p][child]) and 1e-4 <= lr[0] <= 1e-1
            assert 0.0 <= eps[0] <= 0.2
            perturbed = [np.float32(min(max(was_lr * f, 1e-4), 1e-1)) for f in (0.8, 1.25)]
            resampled = not any(np.isclose(lr[0], x, rtol=1e-6) for x in perturbed)
            assert resampled or not np.isclose(was_lr, 0)  # either way a valid value
            assert np.isfinite(was_eps)
        for member in range(2, 8):  # the rest keep their state and values
            params, _, _, lr, _, _ = parked.take(np.array([member * 2 + p]), batched)
            assert params[0] == member * 2 + p and lr[0] == np.float32(plan.configs[member]["lr"])
    again, parked2 = _schedule(plan, scores, copy_buffer), _parked_population(tmp_path / "b", plan)
    again.decide(300, parked2)
    assert again.history == schedule.history  # the same decision from the same settings


def _run(grid_file, out, run_id, *args, chunk="300", **env):
    return run_sweep(grid_file, out, run_id, *args, chunk=chunk, **env)


def _read(run_dir):
    return {t: pd.read_parquet(Path(run_dir) / f"{t}.parquet") for t in ("episodes", "evals", "runs", "pbt")}


@pytest.mark.slow
def test_lineage_is_consistent_and_a_killed_sweep_resumes_to_the_same_lineage_and_rows(tmp_path):
    grid_file = tmp_path / "pbt.toml"
    grid_file.write_text(GRID + PBT)
    waves = ("--runs-per-device", "2")  # 16 runs in 4 waves of 4 on 2 devices: a stretch is several waves
    done = _run(grid_file, tmp_path, "straight", *waves)
    assert done.returncode == 0, done.stderr[-3000:]
    straight = _read(tmp_path / "pbt" / "straight")
    lineage = straight["pbt"]
    assert len(lineage) == 8 * 2 * 4 and sorted(lineage["step"].unique()) == [300, 600, 900, 1200]
    for k in range(3):  # every parent existed at the interval, came from the top quarter; children the bottom
        now = lineage[lineage["interval"] == k]
        for _, pop in now.groupby("population"):
            order = pop.sort_values(["score", "member"], ascending=[False, True])["member"].tolist()
            replaced = pop[pop["parent"] != pop["member"]]
            assert set(replaced["member"]) == set(order[-2:]) and set(replaced["parent"]) <= set(order[:2])
    assert (lineage[lineage["interval"] == 3]["parent"] == -1).all()
    assert lineage["lr"].between(1e-4, 1e-1).all() and lineage["eps_end"].between(0, 0.2).all()
    changed = lineage.groupby(["population", "member"])["lr"].nunique()
    assert (changed > 1).any()  # some members were explored

    # Killed after its 6th checkpoint: in the second interval, two of its four waves parked again at 600 while
    # the other two still wait at 300 (some of them as the first decision changed them). Resumed in chunks of
    # 150 and killed after the resumed sweep's first checkpoint (inside the third wave), then resumed to the
    # end: the same lineage and rows.
    run_dir = tmp_path / "pbt" / "k"
    assert _run(grid_file, tmp_path, "k", *waves, **{checkpoint.FAULT_ENV: "6"}).returncode == -9
    meta = json.loads((run_dir / "checkpoint" / "latest.json").read_text())
    assert (meta["schedule"]["stretch"], meta["schedule"]["wave"]) == (1, 2)
    assert any(f.startswith("pbt-") for f in meta["parked"]) and len(meta["parked"]) >= 3
    resume = ("--resume", str(run_dir), *waves)
    assert _run(grid_file, None, None, *resume, chunk="150", **{checkpoint.FAULT_ENV: "1"}).returncode == -9
    resumed = _run(grid_file, None, None, *resume, chunk="150")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    again = _read(run_dir)
    for t in ("episodes", "evals", "runs", "pbt"):
        pd.testing.assert_frame_equal(straight[t], again[t], check_exact=True)


BAD = [
    (
        PBT.replace("eps_end = { uniform", "train_every = { choice = [1, 2] }\neps_end = { uniform"),
        ["train_every", "static", "traced ones only"],
    ),
    (PBT.replace("quantile = 0.25", "quantile = 0.1"), ["population (8)", "at least 1 / quantile (10)"]),
    (PBT.replace("quantile = 0.25", "quantile = 0.6"), ["quantile", "(0, 0.5]"]),
    (PBT.replace("interval = 300", "interval = 250"), ["multiple of eval_every (100)"]),
    (PBT.replace("interval = 300", "interval = 1200"), ["interval (1,200) must be below total_steps (1,200)"]),
    (PBT.replace("seed = 3", "samples = 4"), ["samples (4)", "must equal population (8)"]),
    (PBT.replace("quantile = 0.25", "perturb = [0.8, -1]"), ["perturb", "positive factors"]),
    (PBT.replace("quantile = 0.25", "copy_buffer = 1"), ["copy_buffer", "true or false"]),
    (
        '[grid]\nlr = [1e-3, 3e-3]\n[search]\nscheduler = "pbt"\npopulation = 4\ninterval = 300\n',
        ["explores a [space]"],
    ),
    ('[search]\nscheduler = "halving"\nmin_steps = 300\npopulation = 4\n', ["population", 'scheduler = "pbt"']),
    # named as population, not as the samples it stands for
    (PBT.replace("population = 8", "population = 1_000_000_000"), ["population", "at most 100,000 members"]),
]


@pytest.mark.parametrize(("text", "facts"), BAD, ids=[f[0] for _, f in BAD])
def test_bad_pbt_settings_are_one_sentence(text, facts):
    with pytest.raises(grids.GridError) as err:
        _grid(GRID + text)
    assert all(f in str(err.value) for f in facts), str(err.value)


def test_pbt_needs_a_field_to_explore_and_evaluations_to_rank_by():
    g = _grid()
    with pytest.raises(grids.GridError, match="fixes all of them"):
        g.with_overrides(fixed={"lr": 1e-3, "eps_end": 0.1})
    assert g.with_overrides(fixed={"lr": 1e-3}).space.keys() == {"eps_end"}
    with pytest.raises(grids.GridError, match=r"total_steps \(1,150\) must be a multiple of eval_every \(100\)"):
        g.with_overrides(steps=1150)
