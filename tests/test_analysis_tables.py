"""``analysis.tables.run``: the Parquet tables ``write_tables`` writes and ``load`` reads back and checks (no JAX).

Also home of the small synthetic sweeps the other ``test_analysis_*`` modules import.
"""

import itertools
import json
import os

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import analysis
from analysis.tables import run as tables
from common.errors import UserError


def tiny_sweep():
    """2 configs (lr) x 4 seeds with hand-picked final returns, and evals out of step order."""
    runs = pd.DataFrame(
        {
            "config": np.repeat([0, 1], 4),
            "seed": np.tile([0, 1, 2, 3], 2),
            "lr": np.repeat([1e-3, 1e-4], 4),
            "hidden_sizes": "64x64",
            "double_q": False,
            "extra": np.arange(8) * 10,  # an engine column analysis does not know: kept
            "diverged": [False, False, False, True, False, False, False, False],
        }
    )
    # Each run has evals at steps 200 and 100 (listed in that order); config 0's final returns are
    # 100, 200, 300, 500 and config 1's are 10, 20, 30, 40; run 7 has no evals at all.
    finals = [100.0, 200.0, 300.0, 500.0, 10.0, 20.0, 30.0]
    evals = {
        "run": np.repeat(np.arange(7), 2),
        "step": np.tile([200, 100], 7).astype(np.int64),
        "eval_return": np.array([[f, 0.0] for f in finals], np.float32).ravel(),
    }
    episodes = {
        "run": np.array([0, 0, 0, 5]),
        "episode": np.array([0, 1, 2, 0]),
        "episode_return": np.array([10.0, 20.0, 30.0, 12.0], np.float32),
        "episode_length": np.array([10, 20, 30, 12], np.int32),
        "end_step": np.array([10, 30, 60, 12], np.int64),
    }
    manifest = {"grid": "tiny", "axes": ["lr"], "n_seeds": 4, "total_steps": 200, "versions": {"numpy": "x"}}
    return {"runs": runs, "axes": ["lr"], "episodes": episodes, "evals": evals, "manifest": manifest}


def sweep(axes_values, n_seeds=3, steps=2000, seed=0):
    """A sweep over any axes: returns depend on the config so rankings are stable."""
    rng = np.random.default_rng(seed)
    names = list(axes_values)
    combos = list(itertools.product(*axes_values.values())) or [()]
    rows = []
    for c, combo in enumerate(combos):
        for s in range(n_seeds):
            rows.append({"config": c, "seed": s, **dict(zip(names, combo, strict=True)), "lr_fixed": 1e-3})
    runs = pd.DataFrame(rows)
    runs["total_steps"] = steps
    runs["diverged"] = False
    n = len(runs)
    skill = rng.uniform(0.1, 1.0, len(combos))[runs["config"]] * rng.uniform(0.7, 1.0, n)
    steps_eval = np.arange(1, 5) * steps // 4
    evals = {
        "run": np.repeat(np.arange(n), 4),
        "step": np.tile(steps_eval, n),
        "eval_return": (500 * skill[:, None] * np.linspace(0.2, 1, 4)).astype(np.float32).ravel(),
    }
    lengths = np.clip((20 + 100 * skill[:, None] * np.ones((1, 40))).astype(int), 8, 500)
    episodes = episodes_of(lengths, steps)
    manifest = {"grid": "test", "axes": names, "n_seeds": n_seeds, "total_steps": steps}
    return {"runs": runs, "axes": names, "episodes": episodes, "evals": evals, "manifest": manifest}


def episodes_of(lengths: np.ndarray, steps: int) -> dict[str, np.ndarray]:
    """The episodes table of runs whose episodes last ``lengths [runs, episodes]`` steps each, with a return equal
    to their length, keeping those that end within ``steps``."""
    end = np.cumsum(lengths, axis=1)
    r, e = np.nonzero(end <= steps)
    return {
        "run": r,
        "episode": e,
        "episode_return": lengths[r, e].astype(np.float32),
        "episode_length": lengths[r, e],
        "end_step": end[r, e],
    }


def rewrite(path, change):
    """Rewrites a Parquet table of a run folder as ``change(DataFrame)``."""
    change(pd.read_parquet(path)).to_parquet(path)


def _manifest(value):
    return lambda d: (d / "manifest.json").write_text(json.dumps(value))


# Ways to spoil a run folder, each with the sentence that must say what is wrong.
BAD_RUN_FOLDERS = {
    "manifest-not-object": (_manifest([1]), "holds an array; a manifest must be a JSON object"),
    "axes-not-list": (_manifest({"axes": "lr"}), "it must be a list of column names"),
    "axis-not-a-column": (_manifest({"axes": ["lr", "gamma"]}), "names the axis 'gamma', but runs.parquet has no"),
    "evals-without-eval_return": (
        lambda d: rewrite(d / "evals.parquet", lambda df: df.drop(columns="eval_return")),
        "evals.parquet' has no column 'eval_return'",
    ),
    "episodes-without-end_step": (
        lambda d: rewrite(d / "episodes.parquet", lambda df: df.drop(columns="end_step")),
        "episodes.parquet' has no column 'end_step'",
    ),
    "text-seeds": (
        lambda d: rewrite(d / "runs.parquet", lambda df: df.assign(seed=df["seed"].astype(str))),
        "it must hold integer values",
    ),
    "zero-runs": (lambda d: rewrite(d / "runs.parquet", lambda df: df.iloc[:0]), "holds no runs"),
    "duplicate-run": (
        lambda d: rewrite(d / "runs.parquet", lambda df: df.assign(seed=0)),
        "lists config 0, seed 0 more than once",
    ),
}


@pytest.fixture
def tiny_dir(tmp_path):
    analysis.write_tables(tmp_path, **tiny_sweep())
    return tmp_path


def test_write_tables_columns_dtypes_and_manifest(tiny_dir):
    ep = pd.read_parquet(tiny_dir / "episodes.parquet")
    assert list(ep.columns) == [
        "config", "seed", "lr", "episode", "episode_return", "episode_length", "end_step"
    ]  # fmt: skip
    assert ep["episode_return"].dtype == np.float32 and ep["episode_length"].dtype == np.int32
    assert ep["config"].tolist() == [0, 0, 0, 1] and ep["seed"].tolist() == [0, 0, 0, 1]
    assert ep["lr"].tolist() == [1e-3, 1e-3, 1e-3, 1e-4]
    ev = pd.read_parquet(tiny_dir / "evals.parquet")
    assert list(ev.columns) == ["config", "seed", "lr", "step", "eval_return"]
    runs = pd.read_parquet(tiny_dir / "runs.parquet")
    assert list(runs.columns[:2]) == ["config", "seed"]
    assert {"extra", "hidden_sizes", "double_q", "diverged", "final_eval_return", "episodes"} <= set(runs)
    # The return at the largest step, not the last row; NaN for the run without evals.
    np.testing.assert_array_equal(runs["final_eval_return"], [100, 200, 300, 500, 10, 20, 30, np.nan])
    assert runs["episodes"].tolist() == [3, 0, 0, 0, 0, 1, 0, 0]
    manifest = json.loads((tiny_dir / "manifest.json").read_text())
    assert manifest["grid"] == "tiny"
    for name in ("episodes", "evals", "runs"):
        meta = pq.read_schema(tiny_dir / f"{name}.parquet").metadata
        assert json.loads(meta[b"manifest"]) == manifest
        column = pq.ParquetFile(tiny_dir / f"{name}.parquet").metadata.row_group(0).column(0)
        assert column.compression == "ZSTD"
    assert not [p for p in os.listdir(tiny_dir) if p.endswith(".tmp")]


def _strict_json(text):
    """``text`` parsed as RFC 8259 JSON: NaN, Infinity and -Infinity are errors."""

    def reject(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=reject)


def test_manifest_is_strict_json_with_inf_as_a_string(tmp_path):
    data = tiny_sweep()
    manifest = {
        **data["manifest"],
        "traced_fixed": {"max_grad_norm": float("inf"), "tau": np.float32(0.5)},
        "axis_values": {"lr": (1e-3, 1e-4)},
        "low": -float("inf"),
        "missing": float("nan"),
    }
    analysis.write_tables(tmp_path, **dict(data, manifest=manifest))
    written = _strict_json((tmp_path / "manifest.json").read_text())
    assert written["traced_fixed"] == {"max_grad_norm": "inf", "tau": 0.5}
    assert written["low"] == "-inf" and written["missing"] is None
    assert written["axis_values"] == {"lr": [1e-3, 1e-4]}
    for name in ("episodes", "evals", "runs"):
        assert _strict_json(pq.read_schema(tmp_path / f"{name}.parquet").metadata[b"manifest"]) == written
    # Read back, the manifest is what was written, and the tables load as before.
    t = analysis.load(tmp_path)
    assert t.manifest == written and t.axes == ["lr"] and len(t.summary) == 2


def test_write_tables_rejects_bad_input(tmp_path):
    data = tiny_sweep()
    bad = dict(data, evals={**data["evals"], "step": data["evals"]["step"][:-1]})
    with pytest.raises(ValueError, match="equal length"):
        analysis.write_tables(tmp_path, **bad)
    bad = dict(data, episodes={**data["episodes"], "run": np.array([0, 0, 0, 8])})
    with pytest.raises(ValueError, match="run index 8"):
        analysis.write_tables(tmp_path, **bad)
    with pytest.raises(ValueError, match="missing the columns lr"):
        analysis.write_tables(tmp_path, **dict(data, runs=data["runs"].drop(columns="lr")))
    with pytest.raises(analysis.RunDirError, match="does not exist"):
        analysis.write_tables(tmp_path / "nope", **data)
    assert not (tmp_path / "runs.parquet").exists()


def test_load_errors_are_one_sentence(tmp_path):
    with pytest.raises(analysis.RunDirError, match="does not exist"):
        analysis.load(tmp_path / "nope")
    with pytest.raises(analysis.RunDirError, match="is not a sweep's run folder"):
        analysis.load(tmp_path)
    analysis.write_tables(tmp_path, **tiny_sweep())
    (tmp_path / "evals.parquet").write_bytes(b"not parquet")
    with pytest.raises(analysis.RunDirError, match="cannot read"):
        analysis.load(tmp_path)


@pytest.mark.parametrize("case", list(BAD_RUN_FOLDERS))
def test_load_names_what_is_wrong_with_a_run_folder(tiny_dir, case):
    spoil, message = BAD_RUN_FOLDERS[case]
    spoil(tiny_dir)
    with pytest.raises(analysis.RunDirError) as err:
        analysis.load(tiny_dir)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert isinstance(err.value, UserError)


def test_load_reads_the_manifest_embedded_in_runs_without_manifest_json(tiny_dir):
    (tiny_dir / "manifest.json").unlink()
    t = analysis.load(tiny_dir)
    assert t.manifest["grid"] == "tiny" and t.axes == ["lr"]


def test_load_does_not_trust_a_stale_or_foreign_summary(tiny_dir):
    truth = analysis.load(tiny_dir).summary
    assert truth.loc[truth["rank"] == 1, "config"].item() == 0
    # A summary without a rank column (written by something else), and one with every column but no format
    # marker (an older version) and numbers that would make config 1 the best: both are recomputed.
    tables.write_summary(tiny_dir / "summary.parquet", truth.drop(columns="rank"), {})
    pd.testing.assert_frame_equal(analysis.load(tiny_dir).summary, truth)
    tables.write_parquet(tiny_dir / "summary.parquet", truth.assign(rank=[2, 1], final_iqm=[0.0, 500.0]), {})
    pd.testing.assert_frame_equal(analysis.load(tiny_dir).summary, truth)
    # A summary written by report with this version is used as it is.
    tables.write_summary(tiny_dir / "summary.parquet", truth.assign(final_iqm=[1.0, 2.0]), {})
    assert analysis.load(tiny_dir).summary["final_iqm"].tolist() == [1.0, 2.0]
