"""The benchmark's helpers and a miniature run of the whole harness. Nothing here asserts a speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from core import StaticConfig, make_train
from sweep import bench
from sweep.bench.__main__ import main as bench_main

ROOT = Path(__file__).resolve().parent.parent

TINY = StaticConfig(
    total_steps=400,
    buffer_capacity=64,
    batch_size=32,
    hidden_sizes=(32, 32),
    learning_starts=16,
    eval_every=200,
    eval_episodes=2,
)


def test_mlp_forward_flops_is_the_hand_count():
    assert bench.mlp_forward_flops((4, 64, 64, 2)) == 2 * (4 * 64 + 64 * 64 + 64 * 2) == 8_960
    assert bench.hand_update_flops((4, 64, 64, 2), 64) == 4 * 64 * 8_960


def test_cost_analysis_flops_match_the_hand_count():
    flops = bench.measure_flops(make_train(TINY))
    assert flops["hand_act_flops"] == 2 * (4 * 32 + 32 * 32 + 32 * 2)
    # XLA also counts biases, ReLUs, the loss and Adam: a few percent more than the matmuls alone.
    assert flops["act_flops"] == pytest.approx(flops["hand_act_flops"], rel=0.2)
    assert flops["update_flops"] == pytest.approx(flops["hand_update_flops"], rel=0.2)
    assert flops["flops_per_env_step"] == flops["update_flops"] + flops["act_flops"]


def test_cost_flops_reads_dicts_lists_and_missing_analyses():
    def compiled(cost):
        return types.SimpleNamespace(cost_analysis=lambda: cost)

    assert bench.cost_flops(compiled({"flops": 12.0})) == 12.0
    assert bench.cost_flops(compiled([{"flops": 7.0}])) == 7.0
    for missing in (None, {}, []):
        assert bench.cost_flops(compiled(missing)) != bench.cost_flops(compiled(missing))  # nan


def test_needed_bytes_per_run_is_buffer_params_and_outputs():
    need = bench.needed_bytes_per_run(make_train(TINY), chunk_steps=10)
    # obs[4], action, reward, terminated, next_obs[4]: 11 four-byte values per slot.
    assert need["buffer"] == TINY.buffer_capacity * 11 * 4
    n_params = 4 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2
    assert need["params_x4"] == 4 * n_params * 4
    # per step: episode_done (bool), episode_return (f32), episode_length (i32), eval_done (bool), eval_return (f32)
    assert need["outputs"] == 10 * (1 + 4 + 4 + 1 + 4)
    assert need["total"] == need["buffer"] + need["params_x4"] + need["outputs"]


_MINIATURE = """
import json, sys
from core import StaticConfig
from sweep import bench
from sweep.bench.__main__ import main as bench_main
static = StaticConfig(total_steps=400, buffer_capacity=64, batch_size=32, hidden_sizes=(32, 32),
                      learning_starts=16, eval_every=200, eval_episodes=2)
cfg = bench.BenchConfig(
    static=static, n_runs=(1, 2), reference_n=64,  # 64 is not measured: the largest measured N is the reference
    chunk_steps=16, min_repeats=1, target_seconds_per_n=0.0, sequential_runs=1, host_loop_steps=20,
    matmul_n=64, matmul_repeats=1, gemm_flops=1e6,
    buffer_capacities=(16, 64), buffer_runs=2, buffer_adds=8, buffer_repeats=1,
)
result = bench.run_bench(cfg)
print(bench.format_table(result), file=sys.stderr)
from common.files import to_json
print(to_json(result))
"""


def test_miniature_run_on_two_devices_has_every_required_figure():
    # A subprocess with two CPU devices, as `make bench` has on a 2-core machine: N=1 runs on one device, N=2 is
    # sharded over both and is also timed on one device.
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2")
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run([sys.executable, "-c", _MINIATURE], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parsed = json.loads(proc.stdout)
    missing = [k for k in bench.REQUIRED_KEYS if k not in parsed]
    assert not missing, missing
    assert parsed["n_runs"] == 2 and parsed["device_count"] == 2
    assert [(e["n_runs"], e["devices"]) for e in parsed["scaling"]] == [(1, 1), (2, 2)]
    assert parsed["baselines"]["engine_one_device"]["n_runs"] == 2
    assert parsed["ratio_vs_one_device"] == pytest.approx(
        parsed["agg_steps_per_s"] / parsed["baselines"]["engine_one_device"]["agg_steps_per_s"]
    )
    assert [b["capacity"] for b in parsed["buffer_add"]] == [16, 64]
    assert parsed["agg_steps_per_s"] > 0 and parsed["sequential_steps_per_s"] > 0 and parsed["gemm_ceiling_gflops"] > 0
    assert parsed["fraction_of_gemm_ceiling"] == pytest.approx(
        parsed["achieved_gflops"] / parsed["gemm_ceiling_gflops"]
    )
    assert parsed["ratio_vs_host_loop"] == pytest.approx(parsed["agg_steps_per_s"] / parsed["host_loop_steps_per_s"])
    assert parsed["baselines"]["host_loop"]["steps_done"] == 16 + 1 + 20
    assert "runs N" in proc.stderr and "one device per core" in proc.stderr


def test_an_output_folder_that_is_a_file_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert bench_main(["--quick", "--out", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m sweep.bench: error: ") and "is not a folder" in err and err.count("\n") == 1


def test_missing_gymnasium_is_one_line_before_any_measurement(tmp_path):
    # gymnasium made unimportable (a None entry in sys.modules makes `import gymnasium` raise ImportError).
    code = (
        "import sys; sys.modules['gymnasium'] = None; "
        "from sweep.bench.__main__ import main; sys.exit(main(sys.argv[1:]))"
    )
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code, "--quick", "--out", str(tmp_path / "out")], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("python -m sweep.bench: error: ")
    assert "gymnasium" in proc.stderr and "make venv" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_bad_argument_is_one_line(capsys):
    assert bench_main(["--sed"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m sweep.bench: error: ") and "--sed" in err and err.count("\n") == 1


def test_tasks_benchmark_times_each_case_against_cartpole(tmp_path, monkeypatch, capsys):
    # python -m sweep.bench.tasks in miniature: two small cases, their rates written and tabled against the first.
    from sweep.bench import tasks

    small = {"hidden_sizes": (8,), "buffer_capacity": 256, "batch_size": 8, "eval_every": 1_000, "eval_episodes": 1}
    monkeypatch.setattr(tasks, "CASES", (("CartPole-v1", small), ("Acrobot-v1", {**small, "env": "Acrobot-v1"})))
    monkeypatch.setattr(tasks, "RUNS", 2)
    monkeypatch.setattr(tasks, "ENVS", ("Acrobot-v1", "Breakout-MinAtar"))
    assert tasks.main(["--quick", "--out", str(tmp_path)]) == 0
    (found,) = tmp_path.glob("tasks-*-quick.json")
    result = json.loads(found.read_text())
    assert [t["label"] for t in result["tasks"]] == ["CartPole-v1", "Acrobot-v1"]
    assert result["tasks"][1]["fields"]["env"] == "Acrobot-v1"
    assert all(t["env_steps_per_s"] > 0 and t["chunk_seconds"] for t in result["tasks"])
    table = capsys.readouterr().out
    ratio = result["tasks"][1]["env_steps_per_s"] / result["tasks"][0]["env_steps_per_s"]
    assert "1.00x" in table and f"{ratio:5.2f}x" in table
    # Each environment alone, vmapped, against gymnasium's loop (which has no MinAtar).
    acrobot, breakout = result["envs"]
    assert acrobot["vmapped"] > 0 and acrobot["gymnasium_loop"] > 0 and breakout["gymnasium_loop"] is None
    assert result["envs_vmapped"] == 64 and "n/a" in table.splitlines()[-1]


def test_variants_benchmark_times_each_group_and_estimates_the_grid(tmp_path, capsys):
    # python -m sweep.bench.variants in miniature: a grid of two named variants, each its own static group.
    from sweep.bench import variants

    grid = tmp_path / "two.toml"
    grid.write_text(
        "seeds = 20\n[config]\ntotal_steps = 1000\nbuffer_capacity = 64\nbatch_size = 8\nhidden_sizes = [8]\n"
        "learning_starts = 16\neval_every = 1000\neval_episodes = 1\n"
        '[variants.plain]\n[variants."n-step"]\nn_step = 3\n'
    )
    assert variants.main([str(grid), "--quick", "--seeds", "40", "--out", str(tmp_path / "out")]) == 0
    (found,) = (tmp_path / "out").glob("variants-*-quick.json")
    result = json.loads(found.read_text())
    assert result["seeds"] == 40 and list(result["groups"]) == ["plain", "n-step"]
    for g in result["groups"].values():  # 40 runs: 3 waves of 16 at the measured rate, plus compiling
        assert g["runs"] == 40 and g["agg_steps_per_s"] > 0
        assert g["estimated_s"] == pytest.approx(3 * 16 * 1000 / g["agg_steps_per_s"] + g["compile_s"])
    assert result["estimated_total_s"] == pytest.approx(sum(g["estimated_s"] for g in result["groups"].values()))
    assert "1.00x" in capsys.readouterr().out
    assert variants.main([str(grid), "--set", "lrr=1", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'lrr'" in err and not (tmp_path / "bad").exists()
