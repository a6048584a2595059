"""Grid files: parsing, the Cartesian product in file order, static groups, overrides and the fingerprint."""

import json
import re

import pytest

from sweep import cli
from sweep.plan import make_plan
from sweep.schedules import grid_from_record, load_grid
from sweep.spec import grid as grids


def write_grid(folder, text, name="g"):
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def test_shipped_grids_are_the_documented_ones():
    assert {"smoke", "lr_eps", "gamma_target", "net_batch", "seeds"} <= set(grids.available())


def test_configs_are_the_cartesian_product_in_file_order(tmp_path):
    path = write_grid(
        tmp_path,
        "seeds = 2\n[config]\ngamma = 0.9\n[grid]\nlr = [1e-3, 1e-2]\neps_end = [0.01, 0.1, 0.2]\n",
    )
    grid = load_grid(str(path))
    assert grid.name == "g" and list(grid.axes) == ["lr", "eps_end"]
    configs = grid.configs()
    assert [(c["lr"], c["eps_end"]) for c in configs] == [
        (1e-3, 0.01),
        (1e-3, 0.1),
        (1e-3, 0.2),
        (1e-2, 0.01),
        (1e-2, 0.1),
        (1e-2, 0.2),
    ]
    assert all(c["gamma"] == 0.9 for c in configs)  # [config]
    assert all(c["batch_size"] == grids.defaults()["batch_size"] for c in configs)  # default
    assert grid.resolved()["runs"] == 12 and grid.resolved()["configs"] == 6


def test_traced_only_grid_is_one_group():
    plan = make_plan(load_grid("gamma_target"))
    assert len(plan.groups) == 1
    assert plan.groups[0][1] == list(range(9 * 8))


def test_static_axes_split_into_groups(tmp_path):
    path = write_grid(tmp_path, "seeds = 2\n[grid]\nlr = [1e-3, 1e-2]\nbatch_size = [8, 16]\n")
    plan = make_plan(load_grid(str(path)))
    # configs: (1e-3, 8), (1e-3, 16), (1e-2, 8), (1e-2, 16); runs are config * seeds + seed
    assert [(static.batch_size, runs) for static, runs in plan.groups] == [(8, [0, 1, 4, 5]), (16, [2, 3, 6, 7])]
    assert len(make_plan(load_grid("net_batch")).groups) == 9
    hidden = write_grid(tmp_path, "seeds = 1\n[grid]\nhidden_sizes = [[8], [8, 8], '16x16']\n", "h")
    plan = make_plan(load_grid(str(hidden)))
    assert [static.hidden_sizes for static, _ in plan.groups] == [(8,), (8, 8), (16, 16)]


@pytest.mark.parametrize(
    ("item", "key", "value"),
    [
        ("lr=3e-4", "lr", 3e-4),
        ("gamma=1", "gamma", 1.0),
        ("loss=huber", "loss", "huber"),
        ('loss="huber"', "loss", "huber"),
        ("hidden_sizes=[128,128]", "hidden_sizes", (128, 128)),
        ("hidden_sizes=128x128", "hidden_sizes", (128, 128)),
        ("hidden_sizes=[32]", "hidden_sizes", (32,)),
        ("hidden_sizes=64,32", "hidden_sizes", (64, 32)),
        ("total_steps=10_000", "total_steps", 10_000),
        ("target_period=200", "target_period", 200),
        ("double_q=true", "double_q", True),
        (" eps_end = 0.02 ", "eps_end", 0.02),
    ],
)
def test_set_values_are_read_as_toml_and_coerced_to_the_field(item, key, value):
    got_key, raw = cli.parse_set(item)
    assert got_key == key
    got = load_grid("smoke").with_overrides(fixed={got_key: raw}, where="--set").config[key]
    assert got == value and type(got) is type(value)


def test_overrides_fix_values_and_replace_axes():
    grid = load_grid("smoke")
    over = grid.with_overrides(seeds=3, steps=4_000, fixed={"lr": 3e-4, "hidden_sizes": "16x16"})
    assert over.seeds == 3 and "lr" not in over.axes
    assert over.config["total_steps"] == 4_000 and over.config["lr"] == 3e-4
    assert over.config["hidden_sizes"] == (16, 16)
    assert [c["lr"] for c in over.configs()] == [3e-4]
    assert grid.axes["lr"] == [1e-3, 3e-3] and grid.seeds == 2  # the file's grid is left as it was


def test_fingerprint_changes_with_every_setting():
    grid = load_grid("smoke")
    assert load_grid("smoke").fingerprint() == grid.fingerprint() == grid.with_overrides().fingerprint()
    prints = {
        grid.fingerprint(),
        grid.with_overrides(seeds=3).fingerprint(),
        grid.with_overrides(steps=4_000).fingerprint(),
        grid.with_overrides(fixed={"lr": 1e-3}).fingerprint(),  # an axis fixed to one of its values
        grid.with_overrides(fixed={"gamma": 0.9}).fingerprint(),
        grid.with_overrides(fixed={"hidden_sizes": "16x16"}).fingerprint(),
    }
    assert len(prints) == 6
    assert all(re.fullmatch(r"[0-9a-f]{8}", p) for p in prints)


def test_record_round_trips_through_strict_json(tmp_path):
    from common.files import to_json

    path = write_grid(tmp_path, "seeds = 2\n[config]\nmax_grad_norm = inf\n[grid]\nhidden_sizes = [[8], [16, 16]]\n")
    grid = load_grid(str(path))
    text = to_json(grid.to_record())
    assert '"max_grad_norm": "inf"' in text
    back = grid_from_record(json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}")))
    assert back == grid and back.fingerprint() == grid.fingerprint()
    assert back.axes["hidden_sizes"] == [(8,), (16, 16)]
