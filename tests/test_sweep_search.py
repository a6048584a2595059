"""Sampled search spaces: parsing and its errors, reproducible draws snapped to the engine's dtypes, and a sampled
config trained bitwise like the same values given as a grid."""

import math

import numpy as np
import pandas as pd
import pytest

from sweep import engine
from sweep.plan import make_plan
from sweep.schedules import grid_from_record, load_grid, parse_grid
from sweep.spec import grid as grids

BASE = """
description = "tiny sampled grid (hidden_sizes sampled or fixed below)"
seeds = 2
[config]
total_steps = 300
buffer_capacity = 100
batch_size = 8
learning_starts = 50
eval_every = 150
eval_episodes = 1
"""
SPACE = """
[search]
method = "sobol"
samples = 64
seed = 7
[space]
lr = { log_uniform = [1e-4, 1e-2] }
eps_end = { uniform = [0.0, 0.2] }
target_period = { log_uniform = [10, 1000], integer = true }
hidden_sizes = { choice = [[8], [16]] }
"""
TABLES = ("episodes", "evals", "runs")


def _parse(text, name="s"):
    import tomllib

    if "hidden_sizes" not in text:
        text = text.replace("learning_starts = 50", "learning_starts = 50\nhidden_sizes = [8]")
    return parse_grid(tomllib.loads(text), name=name, source=text)


def test_draws_are_reproducible_in_bounds_and_snapped_to_the_engines_dtypes():
    g = _parse(BASE + SPACE)
    assert len(g.points) == 64 and g.n_configs == 64 and g.axis_names == ["lr", "eps_end", "target_period",
                                                                          "hidden_sizes"]  # fmt: skip
    assert _parse(BASE + SPACE).points == g.points  # the same seed draws the same configs
    assert _parse(BASE + SPACE.replace("seed = 7", "seed = 8")).points != g.points
    assert _parse(BASE + SPACE.replace("sobol", "random")).points != g.points
    lr = np.array([p["lr"] for p in g.points])
    assert ((lr >= 1e-4) & (lr <= 1e-2)).all() and all(float(np.float32(x)) == x for x in lr)
    assert 0.4 <= np.mean(lr < 1e-3) <= 0.6  # log-uniform: half the draws below the geometric middle
    tp = [p["target_period"] for p in g.points]
    assert all(isinstance(t, int) and 10 <= t <= 1000 for t in tp)
    assert {p["hidden_sizes"] for p in g.points} == {(8,), (16,)}
    assert len(make_plan(g).groups) == 2  # a sampled static field makes compiled groups
    back = grid_from_record(g.to_record())
    assert back.points == g.points and back.fingerprint() == g.fingerprint()


def test_fixing_a_sampled_field_keeps_the_other_draws():
    g = _parse(BASE + SPACE)
    fixed = g.with_overrides(fixed={"lr": 3e-3})
    assert "lr" not in fixed.space and all("lr" not in p for p in fixed.points)
    assert [p["eps_end"] for p in fixed.points] == [p["eps_end"] for p in g.points]
    assert {c["lr"] for c in fixed.configs()} == {3e-3}


BAD = [
    ("[space]\nlr = { normal = [0, 1] }\n[search]\nsamples = 4", ["unknown distribution 'normal'", "lr"]),
    ("[space]\nlr = { log_uniform = [1e-2, 1e-4] }\n[search]\nsamples = 4", ["low < high", "lr"]),
    ("[space]\nlr = { log_uniform = [0, 1e-2] }\n[search]\nsamples = 4", ["positive bounds", "lr"]),
    ("[space]\nlr = { uniform = [1e-4] }\n[search]\nsamples = 4", ["[low, high]"]),
    ("[space]\nlr = { uniform = [0, 1], choice = [1] }\n[search]\nsamples = 4", ["exactly one of"]),
    ("[space]\nlr = { uniform = [1e-4, 1e-2] }\n[search]\nsamples = 0", ["samples", "positive integer"]),
    ("[space]\nlr = { uniform = [1e-4, 1e-2] }", ["samples", "positive integer", "None"]),
    ("[space]\nlr = { uniform = [1e-4, 1e-2] }\n[search]\nsamples = 4\nmethod = 'lhs'", ["method", "'lhs'"]),
    ("[space]\nlr = { uniform = [1e-4, 1e-2] }\n[search]\nsamples = 4\nmethod = 'grid'", ["'grid'", "sobol"]),
    ("[grid]\nlr = [1e-3]\n[space]\neps_end = { uniform = [0, 0.1] }\n[search]\nsamples = 2", ["both [grid]"]),
    ("[grid]\nlr = [1e-3]\n[search]\nmethod = 'sobol'", ["samples a [space]"]),
    ("[space]\ndouble_q = { uniform = [0, 1] }\n[search]\nsamples = 2", ["double_q", "a true/false field", "choice"]),
    ("[space]\nhidden_sizes = { log_uniform = [8, 64] }\n[search]\nsamples = 2", ["a list-of-integers field"]),
    ("[space]\ntarget_period = { uniform = [1, 9], integer = false }\n[search]\nsamples = 2", ["integer field"]),
    ("[space]\ntarget_period = { uniform = [1.2, 1.8] }\n[search]\nsamples = 2", ["holds no integer"]),
    # every draw the same value, as a grid axis that repeats a value
    ("[space]\neps_end = { uniform = [0.0, 0.9], integer = true }\n[search]\nsamples = 4", ["eps_end", "one integer"]),
    ("[space]\nlrr = { uniform = [0, 1] }\n[search]\nsamples = 2", ["unknown hyperparameter 'lrr'", "'lr'"]),
    ("[space]\nhidden_sizes = { choice = [] }\n[search]\nsamples = 2", ["non-empty list"]),
    ("[space]\nlr = { uniform = [-1, 1] }\n[search]\nsamples = 8", ["lr's uniform", "within what lr allows"]),
    ("[space]\nlr = { uniform = [1e-4, 1e-2] }\n[search]\nsamples = 2\nbatch = 3", ["unknown key 'batch'"]),
]


@pytest.mark.parametrize(("text", "facts"), BAD, ids=[facts[0] for _, facts in BAD])
def test_bad_spaces_are_one_sentence(text, facts):
    with pytest.raises(grids.GridError) as err:
        _parse(BASE + text)
    message = str(err.value)
    assert "\n" not in message and all(f in message for f in facts), message


def _rows(grid, tmp_path, run_id):
    run_dir = engine.run_sweep(grid, engine.Options(out=tmp_path, run_id=run_id, progress=False, report=False))
    return {t: pd.read_parquet(run_dir / f"{t}.parquet") for t in TABLES}


@pytest.mark.slow
def test_a_sampled_config_trains_bitwise_like_the_same_values_in_a_grid(tmp_path):
    sampled = _parse(BASE + "[search]\nsamples = 3\n[space]\nlr = { log_uniform = [1e-3, 1e-2] }\n"
                     "eps_end = { uniform = [0.0, 0.2] }\n")  # fmt: skip
    got = _rows(sampled, tmp_path, "sampled")
    # The same three points as a grid file would list them: one axis of lr values, eps_end fixed per file.
    for c, point in enumerate(sampled.points):
        text = BASE + f"[grid]\nlr = [{point['lr']!r}]\neps_end = [{point['eps_end']!r}]\n"
        assert math.isfinite(point["lr"])
        listed = _rows(_parse(text, name="s"), tmp_path, f"grid{c}")
        for t in TABLES:
            mine = got[t][got[t]["config"] == c].drop(columns="config").reset_index(drop=True)
            theirs = listed[t].drop(columns="config").reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, theirs, check_exact=True)


def test_spaces_stay_within_what_each_field_allows_and_samples_are_bounded():
    with pytest.raises(grids.GridError, match=r"gamma's uniform .* must lie within what gamma allows \(a number in"):
        _parse(BASE + "[search]\nsamples = 4\n[space]\ngamma = { uniform = [0.9, 1.02] }\n")
    with pytest.raises(grids.GridError, match="target_period's uniform .* must lie within what target_period allows"):
        _parse(BASE + "[search]\nsamples = 4\n[space]\ntarget_period = { uniform = [0, 10], integer = true }\n")
    with pytest.raises(grids.GridError, match="samples in .* must be at most 100,000, got 100,001"):
        _parse(BASE + "[search]\nsamples = 100_001\n[space]\nlr = { uniform = [1e-4, 1e-2] }\n")


def test_a_scheduler_is_part_of_the_grids_identity_and_a_plain_grid_keeps_its_own():
    assert load_grid("smoke").fingerprint() == "472e2ec1"  # as before schedulers existed: old folders resume
    assert load_grid("random_lr_eps").fingerprint() == "ae8e64b1"  # a sampled space without a scheduler, too
    text = BASE + '[grid]\nlr = [1e-3, 3e-3]\n[search]\nscheduler = "halving"\nmin_steps = 150\n'
    assert _parse(text).fingerprint() != _parse(text + "eta = 2\n").fingerprint()
