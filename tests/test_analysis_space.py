"""``analysis.tables.axes``: how a sampled sweep's manifest says which axes are continuous, and ``load``'s checks of it.

Also home of the synthetic sampled sweep ``test_analysis_scatter`` draws.
"""

import json
import math

import numpy as np
import pandas as pd
import pytest
from test_analysis_tables import episodes_of, sweep

import analysis
from analysis.tables import axes as space
from common.errors import UserError

LR = {"dist": "log_uniform", "low": 1e-4, "high": 1e-2, "integer": False}
EPS = {"dist": "uniform", "low": 0.0, "high": 0.2, "integer": False}


def trend(lr):
    """The synthetic sweeps' true final return: linear in log10(lr), 100 at 1e-4 up to 400 at 1e-2."""
    return 100.0 + 150.0 * (np.log10(lr) + 4.0)


def sampled_sweep(n_configs=40, n_seeds=4, *, noise=40.0, choices=None, seed=0, steps=2000):
    """``write_tables`` arguments of a sampled sweep: ``lr`` log-uniform in [1e-4, 1e-2], ``eps_end`` uniform
    in [0, 0.2], plus a ``choice`` axis per entry of ``choices`` ({field: values}); a run's final return is
    ``trend(lr)`` plus normal noise of sd ``noise`` (0: every seed of a config returns exactly the trend)."""
    rng = np.random.default_rng(seed)
    values = {"lr": 10 ** rng.uniform(-4, -2, n_configs), "eps_end": rng.uniform(0, 0.2, n_configs)}
    spec = {"lr": LR, "eps_end": EPS}
    for field, options in (choices or {}).items():
        values[field] = np.array(options, dtype=object)[rng.permutation(np.arange(n_configs) % len(options))]
        spec[field] = {"dist": "choice", "values": list(options)}
    config = np.repeat(np.arange(n_configs), n_seeds)
    runs = pd.DataFrame({"config": config, "seed": np.tile(np.arange(n_seeds), n_configs)})
    for field, v in values.items():
        runs[field] = v[config]
        if v.dtype == object:
            runs[field] = runs[field].infer_objects()
    runs["total_steps"] = steps
    runs["diverged"] = False
    n = len(runs)
    final = np.clip(trend(runs["lr"].to_numpy()) + rng.normal(0, noise, n) * (noise > 0), 0, 500)
    steps_eval = np.arange(1, 5) * steps // 4
    evals = {
        "run": np.repeat(np.arange(n), 4),
        "step": np.tile(steps_eval, n),
        "eval_return": (final[:, None] * np.array([0.25, 0.5, 0.75, 1.0])).astype(np.float32).ravel(),
    }
    lengths = np.clip((20 + 0.2 * final[:, None] * np.ones((1, 40))).astype(int), 8, 500)
    episodes = episodes_of(lengths, steps)
    axes = list(spec)
    manifest = {
        "grid": "random_lr_eps",
        "axes": axes,
        "n_seeds": n_seeds,
        "total_steps": steps,
        "space": spec,
        "search": {"method": "sobol", "samples": n_configs, "seed": 0},
    }
    return {"runs": runs, "axes": axes, "episodes": episodes, "evals": evals, "manifest": manifest}


def test_axis_scales_of_a_sampled_space():
    manifest = {
        "space": {
            "lr": LR,
            "eps_end": EPS,
            "target_period": {"dist": "log_uniform", "low": 10, "high": 1000, "integer": True},
            "hidden_sizes": {"dist": "choice", "values": [[64, 64], [128, 128]]},
            "unused": {"dist": "beta"},  # not an axis: not read
        }
    }
    s = space.axis_scales(manifest, ["lr", "eps_end", "target_period", "hidden_sizes", "batch_size"])
    assert s["lr"] == space.AxisScale(True, True, 1e-4, 1e-2, False)
    assert s["eps_end"] == space.AxisScale(True, False, 0.0, 0.2, False)
    assert s["target_period"] == space.AxisScale(True, True, 10.0, 1000.0, True)
    assert s["hidden_sizes"] == s["batch_size"] == space.DISCRETE  # a choice and a grid axis
    assert space.continuous(s) == ["lr", "eps_end", "target_period"]
    assert space.discrete(s) == ["hidden_sizes", "batch_size"]


@pytest.mark.parametrize("manifest", [{}, {"space": {}}, {"space": None}], ids=["no-space", "empty", "null"])
def test_a_grid_has_only_discrete_axes(manifest):
    assert space.axis_scales(manifest, ["lr", "eps_end"]) == {"lr": space.DISCRETE, "eps_end": space.DISCRETE}


BAD_SPACES = {
    "not-an-object": ([1, 2], "'space' = [1, 2]; it must be an object"),
    "unknown-dist": ({"lr": {"dist": "beta"}}, "the space of 'lr' has dist 'beta'; it must be one of uniform"),
    "spec-not-an-object": ({"lr": "log_uniform"}, "the space of 'lr' has dist 'log_uniform'; it must be one"),
    "reversed": (
        {"lr": {**LR, "low": 1e-2, "high": 1e-4}},
        "the space of 'lr' has low 0.01 and high 0.0001; log_uniform needs 0 < low <= high",
    ),
    "log-of-zero": ({"lr": {**LR, "low": 0.0}}, "log_uniform needs 0 < low <= high"),
    "infinite-bound": ({"lr": {**EPS, "high": "inf"}}, "the space of 'lr' has high = 'inf'; it must be a finite"),
}


@pytest.mark.parametrize("case", list(BAD_SPACES))
def test_a_malformed_space_is_one_sentence_naming_the_field(case):
    spec, message = BAD_SPACES[case]
    with pytest.raises(ValueError) as err:
        space.axis_scales({"space": spec}, ["lr"])
    assert message in str(err.value) and "\n" not in str(err.value)


def test_load_reads_the_space_and_checks_it_against_the_runs(tmp_path):
    analysis.write_tables(tmp_path, **sampled_sweep(12, 2, choices={"hidden_sizes": ["64x64", "128x128"]}))
    t = analysis.load(tmp_path)
    assert t.scales == {
        "lr": space.AxisScale(True, True, 1e-4, 1e-2, False),
        "eps_end": space.AxisScale(True, False, 0.0, 0.2, False),
        "hidden_sizes": space.DISCRETE,
    }
    # A grid's axes are all discrete.
    grid_dir = tmp_path / "grid"
    grid_dir.mkdir()
    analysis.write_tables(grid_dir, **sweep({"lr": [1e-4, 1e-3], "eps_end": [0.01, 0.1]}))
    assert analysis.load(grid_dir).scales == {"lr": space.DISCRETE, "eps_end": space.DISCRETE}


def _log_eps(m):
    return {**m, "space": {**m["space"], "eps_end": {**EPS, "dist": "log_uniform", "low": 1e-3}}}


@pytest.mark.parametrize(
    "change, runs_change, message",
    [
        (lambda m: {**m, "space": {**m["space"], "lr": {"dist": "normal"}}}, None, "has dist 'normal'"),
        (  # hidden_sizes holds strings: it cannot be a continuous axis
            lambda m: {**m, "space": {**m["space"], "hidden_sizes": EPS}},
            None,
            "says the axis 'hidden_sizes' is drawn continuously, but runs.parquet holds no finite numbers there",
        ),
        (  # an eps_end of 0 cannot be a log-uniform draw
            _log_eps,
            lambda runs: runs.assign(eps_end=np.where(runs["config"] == 0, 0.0, runs["eps_end"])),
            "holds no positive finite numbers there",
        ),
    ],
    ids=["unknown-dist", "strings", "non-positive-log"],
)
def test_load_rejects_a_space_that_does_not_fit(tmp_path, change, runs_change, message):
    data = sampled_sweep(12, 2, choices={"hidden_sizes": ["64x64", "128x128"]})
    if runs_change:
        data["runs"] = runs_change(data["runs"])
    analysis.write_tables(tmp_path, **data)
    (tmp_path / "manifest.json").write_text(json.dumps(change(data["manifest"])))
    with pytest.raises(analysis.RunDirError) as err:
        analysis.load(tmp_path)
    assert message in str(err.value) and "manifest.json" in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, UserError)
    # The same runs with the manifest as written load.
    (tmp_path / "manifest.json").write_text(json.dumps(data["manifest"]))
    assert analysis.load(tmp_path).scales["lr"].log


def test_describe_says_how_the_configs_were_drawn():
    m = {
        "search": {"method": "sobol", "samples": 64, "seed": 0},
        "space": {
            "lr": LR,
            "target_period": {"dist": "log_uniform", "low": 10, "high": 1000, "integer": True},
            "hidden_sizes": {"dist": "choice", "values": [[64, 64], [128, 128]]},
        },
    }
    search, text = space.describe(m)
    assert search == "sobol, 64 samples (sampler seed 0)"
    assert text == (
        "lr log-uniform [0.0001, 0.01]; target_period integer log-uniform [10, 1000]; "
        "hidden_sizes one of 64x64, 128x128"
    )
    assert space.describe({"grid": "lr_eps"}) == (None, None)
    assert space.describe({"search": {"method": "grid"}, "space": {}}) == (None, None)  # as the engine writes a grid
    assert math.isnan(space.DISCRETE.low)
