"""Named variants (``[variants]`` in a grid file): the configs they make, overrides, records, and a variant's rows
bitwise those of the same config swept without variants."""

import json
import tomllib

import numpy as np
import pandas as pd
from sweep_runs import read_tables, run_sweep

from sweep.plan import make_plan
from sweep.schedules import grid_from_record, parse_grid

STUDY = """
seeds = 3
[config]
lr = 1e-3
train_every = 4
[grid]
gamma = [0.9, 0.99]
[variants.DQN]
[variants."DQN + PER"]
per = true
per_alpha = 1.0
[variants.Rainbow]
per = true
n_step = 3
lr = 1e-4
train_every = 2
[variants."Rainbow - PER"]
base = "Rainbow"
per = false
"""


def _grid(text=STUDY, **kw):
    return parse_grid(tomllib.loads(text), name="study", source=text, **kw)


def test_variants_are_the_first_axis_in_file_order_each_over_config():
    grid = _grid()
    assert grid.axis_names == ["variant", "gamma"]
    assert grid.axis_values == {"variant": ["DQN", "DQN + PER", "Rainbow", "Rainbow - PER"], "gamma": [0.9, 0.99]}
    configs = grid.configs()
    assert grid.n_configs == len(configs) == 8
    assert [(c["variant"], c["gamma"]) for c in configs[:3]] == [("DQN", 0.9), ("DQN", 0.99), ("DQN + PER", 0.9)]
    dqn, per, rainbow, minus = configs[0], configs[2], configs[4], configs[6]
    assert (dqn["per"], dqn["lr"], dqn["train_every"], dqn["n_step"]) == (False, 1e-3, 4, 1)
    assert (per["per"], per["per_alpha"], per["lr"]) == (True, 1.0, 1e-3)
    assert (rainbow["per"], rainbow["n_step"], rainbow["lr"], rainbow["train_every"]) == (True, 3, 1e-4, 2)
    # "base" starts from Rainbow's fields, then changes only what the variant names
    assert (minus["per"], minus["n_step"], minus["lr"], minus["train_every"]) == (False, 3, 1e-4, 2)
    assert minus["per_alpha"] == dqn["per_alpha"]  # Rainbow never set it: [config]'s (the default) holds
    plan = make_plan(grid)
    assert plan.n_runs == 24 and len(plan.groups) == 4  # DQN; + PER; Rainbow; Rainbow - PER (static fields differ)
    assert plan.config_of(plan.run_of(6, 2)) == 6


def test_overrides_hold_for_every_variant_and_records_round_trip():
    grid = _grid().with_overrides(seeds=2, steps=20_000, fixed={"lr": 3e-4}, where="--set")
    assert {c["lr"] for c in grid.configs()} == {3e-4}  # --set wins over what a variant sets
    assert {c["total_steps"] for c in grid.configs()} == {20_000}
    assert grid.variants["Rainbow"] == {"per": True, "n_step": 3, "train_every": 2}
    record = json.loads(json.dumps(grid.to_record()))
    again = grid_from_record(record)
    assert again == grid and again.fingerprint() == grid.fingerprint()
    assert again.configs() == grid.configs()
    # The variants are part of what the results depend on ...
    changed = _grid(STUDY.replace("n_step = 3", "n_step = 5"))
    assert changed.fingerprint() != _grid().fingerprint()
    # ... and a grid without them keeps the record (and so the fingerprint) it had before they existed.
    plain = _grid("seeds = 2\n[grid]\nlr = [1e-3, 3e-3]\n")
    assert "variants" not in plain.to_record() and plain.axis_names == ["lr"]


def test_a_variants_rows_are_bitwise_those_of_its_config_swept_alone(tmp_path):
    settings = (
        "seeds = 2\n[config]\ntotal_steps = 600\nbuffer_capacity = 200\nbatch_size = 16\nhidden_sizes = [16]\n"
        "learning_starts = 100\neval_every = 300\neval_episodes = 2\n"
    )
    with_variants = tmp_path / "variants.toml"
    with_variants.write_text(settings + '[variants.plain]\n[variants."n-step"]\nn_step = 3\nlr = 3e-3\n')
    alone = tmp_path / "alone.toml"
    alone.write_text(settings + "n_step = 3\nlr = 3e-3\n")
    for grid, run_id in ((with_variants, "v"), (alone, "a")):
        done = run_sweep(grid, tmp_path / "out", run_id, chunk="300")
        assert done.returncode == 0, done.stderr
    v = read_tables(tmp_path / "out" / "variants" / "v")
    a = read_tables(tmp_path / "out" / "alone" / "a")
    assert list(v["runs"]["variant"]) == ["plain", "plain", "n-step", "n-step"]
    manifest = json.loads((tmp_path / "out" / "variants" / "v" / "manifest.json").read_text())
    assert manifest["axes"] == ["variant"] and manifest["defaults"]["variant"] == "plain"
    assert "lr" not in manifest["traced_fixed"]  # it differs between the variants
    for table in ("episodes", "evals"):
        ours = v[table][v[table]["config"] == 1].drop(columns=["config", "variant"]).reset_index(drop=True)
        theirs = a[table].drop(columns=["config"]).reset_index(drop=True)
        assert len(ours) > 0 and list(ours.columns) == list(theirs.columns)
        pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    returns = v["episodes"].groupby("config")["episode_return"].apply(np.asarray)
    assert not np.array_equal(returns[0], returns[1])  # the variants did train differently


def test_show_lists_the_variants_and_leaves_what_they_set_out_of_the_fixed_values():
    shown = _grid().resolved()
    assert list(shown["variants"]) == ["DQN", "DQN + PER", "Rainbow", "Rainbow - PER"]
    assert shown["configs"] == 8 and shown["runs"] == 24
    fixed = shown["fixed"]
    assert "per" not in fixed and "lr" not in fixed and "n_step" not in fixed and "gamma" not in fixed
    assert fixed["batch_size"] == 64 and "variant" not in fixed
