"""The plan: static groups, keys and waves."""

import numpy as np

from sweep import grid as grids
from sweep.plan import Wave, cut_waves, hparams_batch, make_plan, run_keys, wave_sizes_for


def test_static_axes_make_groups(tmp_path):
    config = {"total_steps": 300, "eval_every": 300, "learning_starts": 100}
    g = grids.parse({"seeds": 2, "config": config, "grid": {"lr": [1e-3, 3e-3], "batch_size": [8, 16]}}, name="groups")
    plan = make_plan(g)
    assert len(plan.groups) == 2
    assert [runs for _, runs in plan.groups] == [[0, 1, 4, 5], [2, 3, 6, 7]]
    assert {static.batch_size for static, _ in plan.groups} == {8, 16}


def test_wave_sizes_hold_runs_per_device_times_devices_padded():
    assert wave_sizes_for([6], 2, 2, "cpu") == [4, 4]
    assert wave_sizes_for([6, 20], 2, None, "cpu") == [16, 16, 16]  # 8 runs per device, padded
    assert wave_sizes_for([6, 20], 2, None, "gpu") == [6, 20]  # every run of a group at once


def test_waves_cut_each_group_in_order_and_pad_the_last():
    plan = make_plan(grids.parse({"seeds": 3, "grid": {"lr": [1e-3, 3e-3], "batch_size": [8, 16]}}, name="w"))
    waves = cut_waves(plan.groups, [4, 8])
    assert waves == [Wave(0, [0, 1, 2, 6], 4), Wave(0, [7, 8], 4), Wave(1, [3, 4, 5, 9, 10, 11], 8)]
    np.testing.assert_array_equal(waves[1].padded_runs(), [7, 8, -1, -1])


def test_keys_depend_on_the_seed_alone_and_hparams_take_their_fields_dtypes():
    keys = run_keys(np.array([0, 5, 0]), base_seed=0)
    assert keys.shape == (3, 2) and keys.dtype == np.uint32
    np.testing.assert_array_equal(keys[0], keys[2])
    assert not np.array_equal(keys[0], keys[1])
    hp = hparams_batch(make_plan(grids.load("gamma_target")).configs)
    assert hp.target_period.dtype == np.int32 and hp.gamma.dtype == np.float32 and hp.lr.shape == (9,)
