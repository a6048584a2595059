"""The GPU check: every figure the project wants from a GPU, in one command, each step bounded by its own timeout.

    python3 tools/gpu_check.py --out DIR [--small] [--budget SECONDS]      (make gpu-check [SMALL=1])

On a CUDA machine whose Python has jax with CUDA (the lent machines' image: jax 0.11.2, Python 3.12) and the
wheels of ``make gpu-wheels`` in ``.whl/`` (what such an image lacks: dm-haiku, rlax, distrax, tfp-nightly,
dm-tree, gymnasium...), it runs, one process a step so that a failure loses only that step:

1. ``install``: the wheels of ``.whl/`` into a temporary folder without a package index (skipped when there are
   none), then ``versions``: what everything runs on, and the devices (``sweep.bench.gpu versions``);
2. ``tests``: the core's equivalence tests and the engine's program and layout tests, on the GPU;
3. ``scaling``: env steps/s, FLOP/s against a matmul, memory per run and compile time for N = 256 to 16,384
   concurrent runs, the default config and the Revisiting Rainbow study's width (``sweep.bench.gpu scaling``);
4. ``sweep``: a 4,096-run sweep end to end (``python -m sweep run seeds --seeds 4096``), its report copied to
   ``DIR/report.html``, its throughput and the host's share of a chunk read from its manifest;
5. ``repro``: the same runs in waves of two sizes, beside other neighbours: bitwise the same or not;
6. ``DIR/gpu-check.md``: a table ready for BENCHMARKS.md, and ``DIR/gpu-check.json``, every figure; a step that
   failed or ran out of time is one line in the table. ``DIR/gpu-check.log`` holds every step's output.

``--small`` shrinks every size so that the whole check runs on a CPU in about a minute (``tests/test_gpu_check.py``);
``--budget`` is the wall time the steps share (default 450 s, under the 8 minutes a lent GPU allows a command).
This script imports only the standard library: it must run before the wheels are installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each step's share of the budget (seconds at the default 450 s); a step gets what is left if less.
SHARES = {"install": 30, "versions": 20, "tests": 70, "scaling": 170, "sweep": 110, "repro": 50}
TESTS = ["tests/test_train.py", "tests/test_buffer.py", "tests/test_sweep_program.py", "tests/test_sweep_layout.py"]
SMALL_TESTS = ["tests/test_buffer.py"]


class Check:
    """Runs the steps, keeps their status and figures, writes the log, the table and the JSON."""

    def __init__(self, out: Path, small: bool, budget: float, wheels: Path):
        self.out, self.small, self.budget, self.t0 = out, small, budget, time.monotonic()
        self.wheels = wheels
        self.out.mkdir(parents=True, exist_ok=True)
        self.log = (out / "gpu-check.log").open("w")
        self.env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
        self.status: dict[str, dict] = {}
        self.figures: dict[str, dict] = {}

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.t0)

    def run(self, step: str, cmd: list[str], *, cwd: Path = ROOT) -> bool:
        """``cmd`` with the step's timeout; its output to the log; the status noted. True if it succeeded."""
        timeout = max(5.0, min(SHARES[step] * self.budget / 450.0, self.left()))
        self.log.write(f"\n===== {step}: {' '.join(cmd)} (timeout {timeout:.0f} s)\n")
        self.log.flush()
        t0 = time.monotonic()
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, timeout=timeout
            )
            ok, why = proc.returncode == 0, f"exit status {proc.returncode}"
        except subprocess.TimeoutExpired:
            ok, why = False, f"stopped after its {timeout:.0f} s"
        self.status[step] = {"ok": ok, "seconds": round(time.monotonic() - t0, 1), "why": "" if ok else why}
        self.log.flush()
        return ok

    def figure(self, step: str) -> dict:
        path = self.out / f"{step}.json"
        if path.is_file():
            self.figures[step] = json.loads(path.read_text())
            path.unlink()  # folded into gpu-check.json: what comes back from a lent machine is a few files
        return self.figures.get(step, {})

    def bench(self, step: str) -> bool:
        cmd = [sys.executable, "-m", "sweep.bench.gpu", step, "--out", str(self.out)]
        cmd += ["--small"] if self.small else []
        ok = self.run(step, cmd)
        self.figure(step)
        return ok


def install(check: Check) -> None:
    wheels = sorted(check.wheels.glob("*.whl"))
    if wheels:
        site = Path(os.environ.get("TMPDIR", "/tmp")) / "gpu-check-site"  # not under --out: a few files come back
        cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
               "--no-cache-dir", "--upgrade", "--target", str(site), *map(str, wheels)]  # fmt: skip
        if check.run("install", cmd):
            check.env["PYTHONPATH"] = f"{site}{os.pathsep}{ROOT}"
    else:
        check.status["install"] = {"ok": True, "seconds": 0.0, "why": "", "note": "no wheels in .whl/: none needed"}
    check.bench("versions")


def tests(check: Check) -> None:
    files = SMALL_TESTS if check.small else TESTS
    junit = check.out / "tests.xml"
    check.run("tests", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *files])
    if junit.is_file():
        text = junit.read_text()
        counts = {k: int(_attr(text, k)) for k in ("tests", "failures", "errors", "skipped")}
        check.figures["tests"] = {"files": files, **counts}
        junit.unlink()


def _attr(xml: str, name: str) -> str:
    key = f' {name}="'
    i = xml.find(key)
    return xml[i + len(key) : xml.find('"', i + len(key))] if i >= 0 else "0"


def sweep(check: Check) -> None:
    seeds, steps, chunk = (16, 2_000, 1_000) if check.small else (4_096, 20_000, 5_000)
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"gpu-check-sweep-{os.getpid()}"
    cmd = [sys.executable, "-m", "sweep", "run", "seeds", "--seeds", str(seeds), "--steps", str(steps),
           "--chunk-steps", str(chunk), "--out", str(out), "--run-id", "gpu", "--no-progress"]  # fmt: skip
    check.run("sweep", cmd)
    run_dir = out / "seeds" / "gpu"
    manifest = run_dir / "manifest.json"
    if manifest.is_file():
        m = json.loads(manifest.read_text())
        keep = ("n_runs", "env_steps", "env_steps_per_second", "host_share", "compile_seconds", "run_seconds",
                "host_seconds", "device_kind", "num_devices", "static_groups")  # fmt: skip
        check.figures["sweep"] = {k: m.get(k) for k in keep} | {"total_steps": steps}
    if (run_dir / "report.html").is_file():
        shutil.copy(run_dir / "report.html", check.out / "report.html")
    shutil.rmtree(out, ignore_errors=True)


def _fmt(v, spec: str = ",.0f") -> str:
    return "–" if v is None else format(v, spec)


def table(check: Check) -> str:
    """The markdown the check leaves: each step's status, then the figures."""
    v = check.figures.get("versions", {})
    devices = ", ".join(sorted({d.get("kind", "?") for d in v.get("devices", [])})) or "unknown device"
    pk = v.get("packages", {})
    small = "small, " if check.small else ""
    lines = [
        f"# GPU check ({small}{devices}; jax {pk.get('jax')}, jaxlib {pk.get('jaxlib')}, Python {v.get('python')})"
    ]
    lines += ["", "| step | status | seconds |", "|---|---|---|"]
    for step in SHARES:
        s = check.status.get(step)
        state = "not run" if s is None else ("ok" if s["ok"] else f"FAILED: {s['why']}")
        lines.append(f"| {step} | {state} | {_fmt(s and s['seconds'], '.0f')} |")
    t = check.figures.get("tests")
    if t:
        lines += ["", f"Tests: {t['tests']} run, {t['failures']} failed, {t['errors']} errors, {t['skipped']} skipped "
                  f"({', '.join(t['files'])})."]  # fmt: skip
    sc = check.figures.get("scaling")
    if sc:
        lines += ["", f"Scaling (float32 matmul peak measured in the same process: {_fmt(sc['matmul_peak_gflops'])} "
                  "GFLOP/s):", "", "| config | N runs | env steps/s | updates/s | GFLOP/s | of matmul peak | compile s "
                  "| device MB per run |", "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
        for name, c in sc["configs"].items():
            for r in c["rows"]:
                cells = [name, f"{r['n_runs']:,}", _fmt(r["env_steps_per_s"]), _fmt(r["updates_per_s"])]
                cells += [_fmt(r["gflops"], ",.1f"), f"{r['fraction_of_matmul_peak']:.1%}", f"{r['compile_s']:.1f}"]
                cells.append(_fmt(r["device_bytes_per_run"] / 2**20, ",.2f"))
                lines.append("| " + " | ".join(cells) + " |")
            if c.get("stopped"):
                lines.append(f"| {name} | stopped | {c['stopped'][:120]} | | | | | |")
    sw = check.figures.get("sweep")
    if sw:
        lines += ["", f"Sweep end to end: {_fmt(sw.get('n_runs'))} runs x {_fmt(sw.get('total_steps'))} env steps, "
                  f"{_fmt(sw.get('env_steps_per_second'))} env steps/s over the whole loop, host share of a chunk "
                  f"{_fmt(sw.get('host_share'), '.1%')}, compile {_fmt(sw.get('compile_seconds'), '.1f')} s, "
                  f"run {_fmt(sw.get('run_seconds'), '.1f')} s."]  # fmt: skip
    rp = check.figures.get("repro")
    if rp:
        same = "bitwise the same" if rp["bitwise_equal"] else "NOT bitwise the same"
        same += "" if rp["bitwise_equal"] else f" (largest difference {rp['max_abs_diff']:.3g})"
        waves = f"waves of {rp['wave_sizes'][0]} and {rp['wave_sizes'][1]}"
        lines += ["", f"Reproducibility: {rp['runs']} runs, {rp['env_steps']:,} env steps, in {waves} beside other "
                  f"runs at other positions: {same}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="tools/gpu_check.py", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "results/gpu-check")))
    p.add_argument("--small", action="store_true", help="tiny sizes: the whole check on a CPU in about a minute")
    p.add_argument("--budget", type=float, default=450.0, help="seconds all steps share (default 450)")
    p.add_argument("--wheels", type=Path, default=ROOT / ".whl", help="the wheels to install (default .whl/)")
    args = p.parse_args(argv)
    check = Check(args.out, args.small, args.budget, args.wheels)
    install(check)
    tests(check)
    check.bench("scaling")
    sweep(check)
    check.bench("repro")
    (args.out / "gpu-check.json").write_text(json.dumps({"status": check.status, **check.figures}, indent=1) + "\n")
    text = table(check)
    (args.out / "gpu-check.md").write_text(text)
    check.log.close()
    print(text)
    return 0 if all(s["ok"] for s in check.status.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
