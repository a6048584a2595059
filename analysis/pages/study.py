"""An ablation study across tasks: ``python -m analysis study RUN_DIR ... [--against DQN Rainbow] [--out DIR]``.

Each run folder is one task's sweep of named variants (``[variants]``, e.g. ``revisiting_rainbow_cartpole``).
Written into the output folder: ``study.parquet`` (``summaries.study.study_table`` of every task, a ``task``
column first), ``figures/study.png`` (a column per task; a row per family: the variants whose names start with
each ``--against`` name) and ``study.md``: per task a table of each variant's final score with its intervals and
P(variant > each baseline), beside the Revisiting Rainbow study's reading where the variant and task are the
study's; then each of the study's claims that these tasks can test, reproduced, contradicted or not separable at
this many seeds (with the seeds that would separate it, ``stats.seeds``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from analysis.figures.study import study_figure
from analysis.pages.markup import ci_text, stamped_out_dir
from analysis.stats import seeds
from analysis.stats.improvement import improvement
from analysis.summaries import study as ablation
from analysis.tables.read import RunDirError
from analysis.tables.run import RunTables, load, write_parquet
from common.files import atomic_write_text, make_dir

# What the study reports (Obando-Ceron & Castro, ICML 2021, Figure 1): each agent's training return at iteration
# 30, read approximately from its plotted curves (the issue that asked for this study copied them).
STUDY_READING = {
    "CartPole-v0": {
        "Rainbow": "~197", "DQN + PER": "~197", "DQN + C51": "~193", "DQN + noisy": "~170", "DQN + dueling": "~165",
        "DQN + n-step": "~165", "DQN + double": "~122", "DQN": "~122 (Huber-like; ~195 with MSE)",
        **{f"Rainbow - {x}": "195-200" for x in ("double", "PER", "n-step", "dueling", "noisy", "C51")},
    },
    "Acrobot-v1": {
        **{f"DQN + {x}": "-100 to -110" for x in ("double", "PER", "n-step", "dueling", "noisy")},
        "DQN + C51": "~-450", "Rainbow - C51": "~-95", "Rainbow": "~-100", "Rainbow - noisy": "~-145",
        "Rainbow - n-step": "~-160",
    },
    "MountainCar-v0": {
        "DQN + PER": "~-115", "Rainbow": "~-150", "DQN": "~-395", "DQN + C51": "~-520", "Rainbow - C51": "~-135",
        "Rainbow - n-step": "~-210", "Rainbow - noisy": "~-360",
    },
}  # fmt: skip


class Claim(NamedTuple):
    """A claim of the study about one task: P(x > y) is above 1/2 (``higher``) or below it."""

    task: str
    x: str
    y: str
    higher: bool
    text: str


CLAIMS = (
    Claim("Acrobot-v1", "DQN + C51", "DQN", False, "distributional RL alone can hurt: on Acrobot DQN + C51 fails"),
    Claim("MountainCar-v0", "Rainbow - C51", "Rainbow", True, "removing C51 from Rainbow helps on MountainCar"),
    Claim("Acrobot-v1", "DQN + noisy", "DQN", True, "noisy networks help on the sparse-reward tasks (Acrobot)"),
    Claim("MountainCar-v0", "DQN + noisy", "DQN", True, "noisy networks help on the sparse-reward tasks (MountainCar)"),
    Claim("Acrobot-v1", "Rainbow - noisy", "Rainbow", False, "Rainbow needs its noisy networks on Acrobot"),
    Claim("MountainCar-v0", "Rainbow - noisy", "Rainbow", False, "Rainbow needs its noisy networks on MountainCar"),
    Claim("Acrobot-v1", "Rainbow - n-step", "Rainbow", False, "Rainbow needs n-step returns on Acrobot"),
    Claim("MountainCar-v0", "Rainbow - n-step", "Rainbow", False, "Rainbow needs n-step returns on MountainCar"),
    Claim("MountainCar-v0", "DQN + PER", "DQN", True, "prioritized replay helps DQN on MountainCar (~-115 vs ~-395)"),
)


def default_out_dir(run_dirs: Sequence[Path], root: str | os.PathLike = "results") -> Path:
    """``results/study/<UTC time>-<short hash of the run folders>`` (``markup.stamped_out_dir``)."""
    return stamped_out_dir("study", run_dirs, root)


def _task(t: RunTables) -> str:
    if len(t.envs) != 1:
        raise RunDirError(f"{str(t.path)!r} trained on {len(t.envs)} environments; a study takes one task a folder")
    return t.envs[0]


def study(
    run_dirs: Sequence[str | os.PathLike],
    *,
    against: Sequence[str] = ("DQN", "Rainbow"),
    out_dir: str | os.PathLike | None = None,
) -> Path:
    """Writes the study of ``run_dirs`` (one task each) and returns the path of ``study.md``. ``RunDirError`` for
    a folder that is not a sweep of named variants, two folders of one task, or a baseline a folder lacks."""
    if not run_dirs:
        raise RunDirError("a study needs at least one run folder")
    if len(set(against)) != len(against) or not against:
        raise RunDirError(f"--against must name distinct variants, got {' '.join(against) or 'none'}")
    loaded = [load(d) for d in run_dirs]
    tables: dict[str, RunTables] = {}
    for t in loaded:
        ablation.check_variants(t)
        task = _task(t)
        if task in tables:
            raise RunDirError(f"{str(tables[task].path)!r} and {str(t.path)!r} are both of {task}; give one per task")
        tables[task] = t
    rows = {task: ablation.study_table(t, against) for task, t in tables.items()}
    out = Path(out_dir) if out_dir is not None else default_out_dir([t.path for t in loaded])
    make_dir(out / "figures")
    frame = pd.concat([r.assign(task=task) for task, r in rows.items()], ignore_index=True)
    frame = frame[["task", *(c for c in frame.columns if c != "task")]]
    write_parquet(out / "study.parquet", frame, {"runs": [str(t.path) for t in loaded], "against": list(against)})
    families = _families(rows, against)
    fig = study_figure(
        {task: ablation.iteration_curves(t, statistic="iqm") for task, t in tables.items()},
        {task: t.scale for task, t in tables.items()},
        families,
        out / "figures" / "study.png",
        ylabel="training return per iteration (IQM, 95% CI)",
        title=_figure_title(tables),
    )
    text = _markdown(tables, rows, against, fig.path.relative_to(out))
    atomic_write_text(out / "study.md", text)
    return out / "study.md"


def _families(rows: dict[str, pd.DataFrame], against: Sequence[str]) -> list[tuple[str, list[str]]]:
    """A row of the figure per baseline: it first, then the variants whose names start with it (the longest
    baseline that a name starts with wins; a variant matching none joins the first row)."""
    names = list(dict.fromkeys(v for r in rows.values() for v in r["variant"]))
    family: dict[str, list[str]] = {b: [b] for b in against}
    for name in names:
        if name in family:
            continue
        starts = [b for b in against if name.startswith(b)]
        family[max(starts, key=len) if starts else against[0]].append(name)
    return [(f"{b} and its variants", members) for b, members in family.items()]


def _figure_title(tables: dict[str, RunTables]) -> str:
    parts = [f"{task}: {_setting(t)}" for task, t in tables.items()]
    return "\n".join(["Training return per iteration of 1,000 env steps", *parts])  # a line each: one column is narrow


def _setting(t: RunTables) -> str:
    """``"32 seeds, 2 x 128 network, 30,000 env steps"``."""
    hidden = {str(h) for h in t.runs["hidden_sizes"]} if "hidden_sizes" in t.runs.columns else set()
    width = f", {' / '.join(sorted(hidden)).replace(',', ' x').strip('[]()')} network" if hidden else ""
    n = int(t.runs["seed"].nunique())
    steps = int(t.runs["total_steps"].max())
    return f"{n} seeds{width}, {steps:,} env steps"


def _p_text(row, name: str) -> str:
    key = f"p_{name}"
    if not np.isfinite(row[key]):
        return "–"
    return f"{ci_text(row, key, '.2f')} {row[f'{key}_verdict']}"


def _markdown(tables: dict[str, RunTables], rows: dict[str, pd.DataFrame], against: Sequence[str], fig: Path) -> str:
    lines = [
        "# Ablation study: each variant against " + " and ".join(against),
        "",
        "Score: the mean return of the training episodes ending in each iteration of 1,000 env steps (the study's "
        "metric); final: the last iteration's. IQM and mean over seeds with 95% intervals; P(variant > baseline) "
        "paired by seed with its 95% interval, `better`/`worse` where it excludes 1/2 at a false discovery rate of "
        "5% over its column. The greedy evaluation is the engine's own (no exploration, no noise).",
        "",
    ]
    for task, t in tables.items():
        r = rows[task]
        reading = STUDY_READING.get(task, {})
        lines += [f"## {task} ({t.manifest.get('grid', '?')}/{t.path.name}: {_setting(t)})", ""]
        head = ["variant", "final IQM [95% CI]", "final mean [95% CI]", "greedy eval IQM"]
        head += [f"P(variant > {b})" for b in against] + ["study (iteration 30)"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for _, row in r.iterrows():
            cells = [
                row["variant"],
                ci_text(row, "final_iqm"),
                ci_text(row, "final_mean"),
                ci_text(row, "final_eval_iqm"),
                *(_p_text(row, b) for b in against),
                reading.get(row["variant"], "–"),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    claims = [c for c in CLAIMS if c.task in tables]
    if claims:
        lines += ["## The study's claims", ""]
        lines += [f"- {claim_sentence(c, ablation.final_scores(tables[c.task]))}" for c in claims]
        lines.append("")
    lines += [f"![study]({fig})", ""]
    return "\n".join(lines)


def claim_sentence(c: Claim, finals: dict[str, np.ndarray]) -> str:
    """``"<claim>: reproduced | contradicted | not separable at N seeds ..."`` from P(x > y) of ``finals``
    (``{variant: [seeds] final scores}``, seeds aligned)."""
    if c.x not in finals or c.y not in finals:
        return f"{c.text}: not tested (the sweep has no {c.x if c.x not in finals else c.y!r})"
    x, y = finals[c.x], finals[c.y]
    imp = improvement(x, y)
    p, lo, hi = float(imp.point), float(imp.low), float(imp.high)
    n = int(np.sum(~np.isnan(x) & ~np.isnan(y)))
    said = f"P({c.x} > {c.y}) = {p:.2f} [{lo:.2f}, {hi:.2f}] at {n} seeds"
    if (lo > 0.5 and c.higher) or (hi < 0.5 and not c.higher):
        return f"{c.text}: **reproduced** ({said})."
    if (lo > 0.5 and not c.higher) or (hi < 0.5 and c.higher):
        return f"{c.text}: **contradicted** ({said})."
    need = seeds.seeds_to_separate(x, y)
    more = (
        f"about {need.seeds} seeds would separate them in 4 of 5 sweeps like this one"
        if need.seeds is not None
        else "no seed count up to 1,024 would separate them on these seeds"
    )
    return f"{c.text}: **not separable** at {n} seeds ({said}); {more}."
