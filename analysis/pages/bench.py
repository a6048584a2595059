"""Times the analysis of a synthetic sweep: ``python -m analysis bench [--runs 1024] [--steps 50000]``.

Synthesises what the engine hands over for a sweep of ``runs`` runs (8 x 8 configs over ``lr`` x ``eps_end``,
seeds = runs / 64) of ``steps`` env steps each: about 500 training episodes per run at 50,000 steps and an
evaluation every ``steps / 10`` steps. Then times ``write_tables`` and ``report`` into a temporary folder and
prints the seconds. No JAX: the data are made with numpy, and stand for no real agent. The runs table holds
only the columns the analysis reads (``config, seed``, the two axes, ``total_steps``, ``diverged``); the
engine's has one more per hyperparameter, which the analysis carries along without reading.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from analysis.pages.report import report
from analysis.tables.run import write_tables


def synthetic_sweep(
    *,
    n_lr: int = 8,
    n_eps: int = 8,
    n_seeds: int = 16,
    total_steps: int = 50_000,
    n_evals: int = 10,
    seed: int = 0,
) -> dict[str, Any]:
    """Keyword arguments for ``write_tables`` describing a made-up ``lr`` x ``eps_end`` sweep.

    Skill peaks at ``lr = 1e-3`` and small ``eps_end``; each seed adds noise and some seeds fail outright, so
    the score distributions are skewed like real ones. Set ``n_lr`` or ``n_eps`` to 0 to drop that axis (its
    column then holds one value). The manifest says the data are synthetic and names the middle ``lr`` with the
    smallest ``eps_end`` the defaults.
    """
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-4, 1e-2, n_lr) if n_lr else np.array([1e-3])
    epss = np.linspace(0.01, 0.2, n_eps) if n_eps else np.array([0.05])
    axes = [a for a, n in (("lr", n_lr), ("eps_end", n_eps)) if n]
    lr, eps = (a.ravel() for a in np.meshgrid(lrs, epss, indexing="ij"))
    n_configs = lr.size
    config = np.repeat(np.arange(n_configs), n_seeds)
    runs = pd.DataFrame(
        {
            "config": config,
            "seed": np.tile(np.arange(n_seeds), n_configs),
            "lr": lr[config],
            "eps_end": eps[config],
            "total_steps": total_steps,  # train_curves cut each run's curve at its total_steps
        }
    )
    n_runs = len(runs)
    base = np.exp(-0.5 * (np.log10(lr[config] / 1e-3) / 0.45) ** 2) * (1.0 - 1.5 * eps[config])
    skill = np.clip(base + rng.normal(0.0, 0.12, n_runs), 0.0, 1.0)
    skill[rng.random(n_runs) < 0.1] *= 0.2  # failed seeds
    runs["diverged"] = rng.random(n_runs) < 0.01

    # Episode lengths (= returns in CartPole) grow with the steps done; about 500 episodes in 50,000 steps.
    m = total_steps // 25
    noise = rng.normal(0, 15, (n_runs, m))
    end = np.cumsum(np.full((n_runs, m), 100), axis=1)
    for _ in range(2):  # progress depends on the step reached, which depends on the lengths: iterate
        progress = np.minimum(1.0, (end - 100) / (0.6 * total_steps))
        length = np.clip(np.round(60 + 300 * skill[:, None] * progress + noise), 8, 500).astype(np.int64)
        end = np.cumsum(length, axis=1)
    done = end <= total_steps
    run_idx, ep_idx = np.nonzero(done)
    episodes = {
        "run": run_idx,
        "episode": ep_idx,
        "episode_return": length[run_idx, ep_idx].astype(np.float32),
        "episode_length": length[run_idx, ep_idx].astype(np.int32),
        "end_step": end[run_idx, ep_idx],
    }
    steps = np.arange(1, n_evals + 1) * (total_steps // n_evals)
    curve = 1.0 / (1.0 + np.exp(-(steps / total_steps - 0.35) * 10))
    ev = 500 * skill[:, None] * curve[None, :] + rng.normal(0, 25, (n_runs, n_evals))
    evals = {
        "run": np.repeat(np.arange(n_runs), n_evals),
        "step": np.tile(steps, n_runs).astype(np.int64),
        "eval_return": np.clip(ev, 8, 500).astype(np.float32).ravel(),
    }
    manifest = {
        "grid": "synthetic",
        "description": "synthetic data for the analysis benchmark (no agent was trained)",
        "axes": axes,
        "n_seeds": n_seeds,
        "total_steps": total_steps,
        "versions": {"numpy": np.__version__, "pandas": pd.__version__},
        # One grid point stands for the defaults, so the report's comparison with them is timed too.
        "defaults": {"lr": float(lrs[len(lrs) // 2]), "eps_end": float(epss[0])},
    }
    return {"runs": runs, "axes": axes, "episodes": episodes, "evals": evals, "manifest": manifest}


def parser() -> argparse.ArgumentParser:
    """The command line's parser (``python -m analysis bench``)."""
    p = argparse.ArgumentParser(prog="python -m analysis bench", description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=1024, help="runs in the sweep (64 configs x runs/64 seeds)")
    p.add_argument("--steps", type=int, default=50_000, help="env steps per run")
    p.add_argument("--keep", action="store_true", help="keep the run folder and print its path")
    return p


def main(argv: Sequence[str] | None = None) -> None:
    """Writes the tables and the report of a synthetic sweep and prints how long each took."""
    p = parser()
    args = p.parse_args(argv)
    if args.runs < 64 or args.runs % 64:
        p.error(f"--runs must be a positive multiple of 64 (64 configs), got {args.runs}")
    data = synthetic_sweep(n_seeds=args.runs // 64, total_steps=args.steps)
    n_episodes = len(data["episodes"]["run"])
    run_dir = tempfile.mkdtemp(prefix="analysis-bench-")
    t0 = time.perf_counter()
    write_tables(run_dir, **data)
    t1 = time.perf_counter()
    out = report(run_dir)
    t2 = time.perf_counter()
    print(
        f"{args.runs} runs x {args.steps:,} env steps: {n_episodes:,} episode rows, "
        f"{len(data['evals']['run']):,} eval rows; {os.cpu_count()} CPUs, {platform.processor() or 'cpu'}"
    )
    print(f"write_tables {t1 - t0:.2f} s, report {t2 - t1:.2f} s, total {t2 - t0:.2f} s")
    if args.keep:
        print(out)
    else:
        import shutil

        shutil.rmtree(run_dir)


if __name__ == "__main__":
    main()
