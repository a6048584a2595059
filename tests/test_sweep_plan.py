"""The plan: static groups, keys and waves."""

import numpy as np

from sweep.plan import Size, Wave, cut_group, hparams_batch, make_plan, run_keys, size, too_large
from sweep.schedules import load_grid, parse_grid


def test_static_axes_make_groups(tmp_path):
    config = {"total_steps": 300, "eval_every": 300, "learning_starts": 100}
    g = parse_grid({"seeds": 2, "config": config, "grid": {"lr": [1e-3, 3e-3], "batch_size": [8, 16]}}, name="groups")
    plan = make_plan(g)
    assert len(plan.groups) == 2
    assert [runs for _, runs in plan.groups] == [[0, 1, 4, 5], [2, 3, 6, 7]]
    assert {static.batch_size for static, _ in plan.groups} == {8, 16}


def test_the_size_counts_runs_groups_waves_and_env_steps():
    g = parse_grid({"seeds": 3, "grid": {"lr": [1e-3, 3e-3], "batch_size": [8, 16]}}, name="w")
    plan = make_plan(g)
    cpu = size(plan, 2, "cpu", None)  # 6 runs a group, 8 per device on 2 devices: one wave of 16 each
    assert cpu == (4, 3, 12, 2, 2, 12 * 50_000)
    assert size(plan, 2, "cpu", 1).waves == 6  # 3 waves of 2 per group
    assert size(plan, 2, "gpu", None).waves == 2  # every run of a group at once
    assert cpu.describe(2) == (
        "4 configs x 3 seeds = 12 runs in 2 static groups (2 waves on 2 devices), 600,000 env steps"
    )
    assert too_large(cpu) is None
    huge = make_plan(g.with_overrides(seeds=1_000_000))
    assert too_large(size(huge, 2, "cpu", None)) == (
        "4,000,000 runs (more than 100,000) and 200,000,000,000 env steps (more than 1,000,000,000)"
    )
    many = Size(configs=2_001, seeds=1, runs=2_001, groups=2_001, waves=2_001, env_steps=2_001)
    assert too_large(many) == "2,001 static groups (more than 2,000)"


def test_waves_cut_each_group_in_order_and_pad_the_last():
    plan = make_plan(parse_grid({"seeds": 3, "grid": {"lr": [1e-3, 3e-3], "batch_size": [8, 16]}}, name="w"))
    waves = cut_group(0, plan.groups[0], 4) + cut_group(1, plan.groups[1], 8)
    assert waves == [Wave(0, [0, 1, 2, 6], 4), Wave(0, [7, 8], 4), Wave(1, [3, 4, 5, 9, 10, 11], 8)]
    np.testing.assert_array_equal(waves[1].padded_runs(), [7, 8, -1, -1])


def test_keys_depend_on_the_seed_alone_and_hparams_take_their_fields_dtypes():
    keys = run_keys(np.array([0, 5, 0]), base_seed=0)
    assert keys.shape == (3, 2) and keys.dtype == np.uint32
    np.testing.assert_array_equal(keys[0], keys[2])
    assert not np.array_equal(keys[0], keys[1])
    hp = hparams_batch(make_plan(load_grid("gamma_target")).configs)
    assert hp.target_period.dtype == np.int32 and hp.gamma.dtype == np.float32 and hp.lr.shape == (9,)
