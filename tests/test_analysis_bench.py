"""``python -m analysis bench``: its synthetic sweep and one short run of the script (no JAX)."""

import pytest

from analysis.pages import bench
from analysis.pages.bench import synthetic_sweep


def test_synthetic_bench_data_is_the_advertised_size():
    data = synthetic_sweep(n_seeds=2)
    per_run = len(data["episodes"]["run"]) / len(data["runs"])
    assert len(data["runs"]) == 128 and 350 <= per_run <= 650
    assert len(data["evals"]["run"]) == 128 * 10


def test_synthetic_runs_hold_only_what_the_analysis_reads():
    # No column pretends to be an engine default: the axes, total_steps (which ends the training curves) and
    # the keys and flags every runs table has.
    data = synthetic_sweep(n_seeds=1)
    assert list(data["runs"].columns) == ["config", "seed", "lr", "eps_end", "total_steps", "diverged"]
    assert data["manifest"]["grid"] == "synthetic" and "synthetic" in data["manifest"]["description"]


def test_bench_rejects_a_run_count_that_is_not_a_multiple_of_64(capsys):
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--runs", "100"])
    assert exit_.value.code == 2 and "--runs must be a positive multiple of 64" in capsys.readouterr().err
