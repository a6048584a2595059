"""``tools/gpu_check.py --small``: the GPU check runs every step on this CPU at tiny sizes, so that the command a
lent GPU runs works the first time: each step succeeds and leaves its figures, its table and the sweep's report."""

import json
import subprocess
import sys

from sweep_runs import ROOT, cpu_env


def test_the_small_check_runs_every_step_and_writes_its_table(tmp_path):
    out = tmp_path / "out"
    # No wheels: .whl/ holds Python 3.12 builds for the GPU image, which this Python cannot install.
    cmd = [sys.executable, "tools/gpu_check.py", "--small", "--out", str(out), "--wheels", str(tmp_path / "none")]
    proc = subprocess.run(cmd, cwd=ROOT,
                          env=cpu_env(1), capture_output=True, text=True, timeout=600)  # fmt: skip
    log = (out / "gpu-check.log").read_text() if (out / "gpu-check.log").is_file() else ""
    assert proc.returncode == 0, proc.stdout[-2000:] + log[-3000:]
    result = json.loads((out / "gpu-check.json").read_text())
    assert all(s["ok"] for s in result["status"].values()), result["status"]
    rows = result["scaling"]["configs"]["default"]["rows"]
    assert [r["n_runs"] for r in rows] == [8, 16] and all(r["env_steps_per_s"] > 0 for r in rows)
    assert result["sweep"]["n_runs"] == 16 and result["sweep"]["env_steps_per_second"] > 0
    assert set(result["repro"]) >= {"bitwise_equal", "max_abs_diff", "wave_sizes"}
    assert result["tests"]["failures"] == 0 and result["tests"]["tests"] > 0
    table = (out / "gpu-check.md").read_text()
    assert "| scaling | ok |" in table and "| default | 16 |" in table and "Reproducibility:" in table
    assert (out / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.iterdir()) == ["gpu-check.json", "gpu-check.log", "gpu-check.md", "report.html"]
