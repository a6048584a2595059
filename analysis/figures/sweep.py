"""The figures of a run folder: which ones a sweep gets (``FIGURES``) and drawing them into ``figures/``.

Each figure's statistics come from ``aggregate`` (or the summary) and are drawn by ``figures`` or, for
continuous axes of a sampled space, ``scatter``; ``report`` embeds the files in ``report.html``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from analysis.figures import runs as figures
from analysis.figures import scatter
from analysis.figures import search as schedule_figures
from analysis.figures.style import EVAL_LABEL, FigureFile, save, sweep_title
from analysis.stats.summary import stopped_steps
from analysis.summaries import aggregate, halving, pbt
from analysis.tables import axes as space
from analysis.tables.format import manifest_number
from analysis.tables.run import RunTables
from analysis.tables.search import settings
from common.files import make_dir


def sweep_facts(t: RunTables) -> dict[str, Any]:
    """Sizes for titles: ``n_configs``, ``n_seeds`` (most seeds of any config) and ``total_steps`` per run."""
    runs = t.runs
    n_seeds = int(t.summary["n_seeds"].max()) if len(t.summary) else 0
    steps = manifest_number(t.manifest.get("total_steps"))
    if steps is None or not math.isfinite(steps) or steps <= 0:
        if "total_steps" in runs.columns and len(runs):
            steps = runs["total_steps"].max()
        elif len(t.episodes):
            steps = t.episodes["end_step"].max()
        else:
            steps = 0
    return {"n_configs": len(t.summary), "n_seeds": n_seeds, "total_steps": int(steps)}


def run_title(t: RunTables) -> str:
    """The title of a run's figures and report (``plotting.sweep_title``; for population-based training, its
    explored hyperparameters, members and populations)."""
    facts = sweep_facts(t)
    if pbt.is_pbt(t):
        grid, hps = t.manifest.get("grid") or "sweep", " × ".join(pbt.explored(t.pbt)) or "nothing"
        n_pops = int(t.pbt["population"].nunique())
        return (
            f"DQN on {', '.join(t.envs)}, grid '{grid}': population-based training of {hps}\n"
            f"{facts['n_configs']} members × {n_pops} population{'s' if n_pops != 1 else ''}, "
            f"{facts['total_steps']:,} env steps per member"
        )
    env = ", ".join(t.envs)
    return sweep_title(t.manifest, t.axes, facts["n_configs"], facts["n_seeds"], facts["total_steps"], env)


def run_labels(t: RunTables) -> dict[int, str]:
    """``{config: label}`` for the figures and the report: ``aggregate.config_labels``, with ``stopped at 5k``
    after a config a halving sweep stopped at a rung, and ``member m (initial ...)`` for a population-based
    training sweep's configs, whose hyperparameters changed during training."""
    labels = aggregate.config_labels(t.summary, t.axes)
    if pbt.is_pbt(t):
        return {c: f"member {c}" + (f" (initial {v})" if t.axes else "") for c, v in labels.items()}
    if halving.is_halving(t):
        stop, total = stopped_steps(t.runs), int(t.runs["stopped_at"].max())
        if "total_steps" in t.runs.columns:
            total = int(t.runs["total_steps"].max())
        for c in labels:
            suffix = halving.stop_label(int(stop[c]), total)
            labels[c] += f" ({suffix})" if suffix else ""
    return labels


def stopped_configs(t: RunTables) -> pd.Series:
    """``{config: step}`` of the configs a halving sweep stopped at a rung (empty for any other sweep)."""
    if not halving.is_halving(t):
        return pd.Series(dtype=np.int64)
    stop = stopped_steps(t.runs)
    return stop[stop < halving.rung_steps(t)[-1]]


class _Context(NamedTuple):
    """What the figures of one run share."""

    t: RunTables
    title: str
    labels: dict[int, str]  # {config: "lr=0.001, ..."}
    top: list[int]  # the configs shown where not all are (up to ``figures.TOP_K``), best first
    layout: figures.CurveLayout  # the learning curves' colours and panels
    continuous: list[str]  # the axes drawn from a uniform or log-uniform space: each config at its own value
    discrete: list[str]  # the grid and choice axes: a few values, each shared by many configs
    stopped: pd.Series  # {config: step} of the configs a halving sweep stopped at a rung (else empty)
    by_value: bool  # whether a config's hyperparameters are those it trained with (not so under PBT)


def _halving(c: _Context) -> Figure | None:
    """The rungs of successive halving: each config's metric at each rung, and the env steps spent."""
    if c.t.rungs is None or not halving.is_halving(c.t):
        return None
    name = halving.metric(c.t)
    ivs = halving.rung_intervals(halving.rung_scores(c.t), name, scale=c.t.scale)
    order = c.t.summary.sort_values("rank")["config"].astype(int).tolist()
    return schedule_figures.halving_rungs(
        ivs,
        halving.alive(c.t),
        halving.budget(c.t),
        order,
        c.labels,
        metric=name,
        title=c.title,
        scale=c.t.scale,
    )


def _pbt_hyperparameters(c: _Context) -> Figure | None:
    """Population-based training: each explored hyperparameter over time, the best final lineage highlighted."""
    if not pbt.is_pbt(c.t):
        return None
    hps = pbt.explored(c.t.pbt)
    metric = str(settings(c.t.manifest).get("metric", "score"))
    return schedule_figures.pbt_hyperparameters(
        c.t.pbt, pbt.lineages(c.t.pbt), hps, c.t.scales | _explored_scales(c.t, hps), metric=metric, title=c.title
    )


def _explored_scales(t: RunTables, hps: list[str]) -> dict[str, space.AxisScale]:
    """How the space (where the manifest has one) draws the explored hyperparameters."""
    try:
        return space.axis_scales(t.manifest, hps)
    except ValueError:  # a malformed space: draw on linear axes
        return {}


def _pbt_curves(c: _Context) -> Figure | None:
    """Population-based training: the eval return of each population's best lineage, and their IQM."""
    if not pbt.is_pbt(c.t):
        return None
    runs, evals = pbt.lineage_runs(c.t)
    if not len(evals):
        return None
    return schedule_figures.pbt_lineage_curves(
        evals, aggregate.eval_curves(runs, evals, scale=c.t.scale), title=c.title, scale=c.t.scale
    )


def _eval_curves(c: _Context) -> Figure | None:
    """Learning curves of the greedy eval return; none without evaluations."""
    if not len(c.t.evals):
        return None
    curves = aggregate.eval_curves(c.t.runs, c.t.evals, configs=c.layout.configs, scale=c.t.scale)
    return figures.learning_curves(
        curves, c.t.summary, c.layout, c.labels, title=c.title, ylabel=EVAL_LABEL, scale=c.t.scale
    )


def _train_curves(c: _Context) -> Figure | None:
    """Learning curves of the training episode return; none without completed episodes."""
    if not len(c.t.episodes):
        return None
    curves = aggregate.train_curves(c.t.runs, c.t.episodes, configs=c.layout.configs, scale=c.t.scale)
    ylabel = "training episode return (IQM, 95% CI)"
    return figures.learning_curves(
        curves, c.t.summary, c.layout, c.labels, title=c.title, ylabel=ylabel, scale=c.t.scale
    )


def _heatmaps(c: _Context) -> Figure | None:
    """Final-return IQM over each pair of discrete axes (continuous ones pooled); only for 2 to 4 of them."""
    if not 2 <= len(c.discrete) <= 4 or len(c.stopped) or not c.by_value:
        return None
    return figures.heatmaps(
        aggregate.pair_heatmaps(c.t.summary, c.t.runs, c.discrete, scale=c.t.scale), title=c.title, scale=c.t.scale
    )


def _pairs(c: _Context) -> Figure | None:
    """Every pair of continuous axes as a scatter of the configs coloured by final IQM; needs 2 of them."""
    if len(c.continuous) < 2 or not c.by_value:
        return None
    if len(c.stopped):
        return scatter.pairs(c.t.summary, c.continuous, c.t.scales, title=c.title, stopped=c.stopped, scale=c.t.scale)
    return scatter.pairs(c.t.summary, c.continuous, c.t.scales, title=c.title, scale=c.t.scale)


def _ranking(c: _Context) -> Figure | None:
    """The configs ranked by final IQM, with their AUC."""
    return figures.ranking(c.t.summary, c.labels, title=c.title, scale=c.t.scale)


def _sensitivity(c: _Context) -> Figure | None:
    """Each discrete axis's marginal effect on final return (continuous ones pooled); none without one."""
    if not c.discrete or len(c.stopped) or not c.by_value:
        return None
    return figures.sensitivity(
        aggregate.sensitivity(c.t.summary, c.t.runs, c.discrete, scale=c.t.scale), title=c.title, scale=c.t.scale
    )


def _response(c: _Context) -> Figure | None:
    """Every config's final IQM against each continuous axis, with the smoothed trend; none without one."""
    if not c.continuous or not c.by_value:
        return None
    summary = c.t.summary[~c.t.summary["config"].isin(c.stopped.index)]  # a stopped config's return is not final
    hue = scatter.response_hue(summary, c.discrete)
    points = aggregate.response_points(summary, c.continuous, hue=hue)
    trends = aggregate.response_trends(points, [a for a in c.continuous if c.t.scales[a].log], scale=c.t.scale)
    if not len(c.stopped):
        return scatter.response(points, trends, c.t.scales, title=c.title, hue=hue, scale=c.t.scale)
    meta = c.t.summary.set_index("config").loc[c.stopped.index]
    stopped = pd.concat(
        [
            pd.DataFrame({"axis": a, "value": meta[a].to_numpy(np.float64), "step": c.stopped.to_numpy()})
            for a in c.continuous
        ]
    )
    return scatter.response(points, trends, c.t.scales, title=c.title, hue=hue, stopped=stopped, scale=c.t.scale)


def _improvement(c: _Context) -> Figure | None:
    """P(row config > column config) among the top configs; needs 2 configs."""
    if len(c.top) < 2:
        return None
    pairs = aggregate.improvement_matrix(c.t.runs, c.top)
    return figures.improvement(pairs, c.top, c.labels, title=c.title)


def _score_distributions(c: _Context) -> Figure | None:
    """Per-seed final returns and performance profiles of the top configs."""
    if not c.top:
        return None
    profiles = aggregate.score_profiles(c.t.runs, c.top[: figures.TOP_PROFILES], scale=c.t.scale)
    final = c.t.runs[["config", "final_eval_return"]]
    return figures.score_distributions(final, profiles, c.t.summary, c.top, c.labels, title=c.title, scale=c.t.scale)


# The figures of a run in reading order: file name, how to draw it (None where this sweep has none), caption.
FIGURES: tuple[tuple[str, Callable[[_Context], Figure | None], str], ...] = (
    (
        "halving_rungs",
        _halving,
        "Successive halving. Left: each config's rung metric (IQM over seeds) at every rung it reached; the configs "
        "that trained to the end in colour with 95% CIs (seeds paired within a rung), those stopped at a rung in "
        "grey, the cut between the lowest config kept and the highest stopped as a dash. Right: configs training "
        "against env steps, this sweep's and the full grid's.",
    ),
    (
        "pbt_hyperparameters",
        _pbt_hyperparameters,
        "Population-based training: the score and each explored hyperparameter of every member over env steps "
        "(grey; a hyperparameter is held through each interval), the lineage of each population's best final "
        "member in colour, ringed where it continued from another member's networks (an exploit).",
    ),
    (
        "pbt_lineage_curves",
        _pbt_curves,
        "Population-based training: each population's best final member's lineage (the members its final "
        "networks descend from, interval by interval), its greedy eval return over env steps, and the IQM over "
        "populations with a 95% band.",
    ),
    (
        "learning_curves_eval",
        _eval_curves,
        "Greedy evaluation return against environment steps: IQM over seeds with 95% bands (each replicate "
        "weighs a config's seeds as whole curves; see the method above).",
    ),
    (
        "learning_curves_train",
        _train_curves,
        "Training (ε-greedy) episode return, episodes binned by the step they ended at: IQM over seeds with 95% bands.",
    ),
    (
        "heatmap_final_iqm",
        _heatmaps,
        "Final greedy return over each pair of swept axes: IQM [95% CI]; with more than two axes each "
        "cell pools the other axes' configs, each keeping its share of the runs, seeds paired across them.",
    ),
    (
        "sampled_pairs",
        _pairs,
        "Each pair of sampled (continuous) axes: every config at its values, coloured by its final greedy "
        "return (IQM over seeds); the best config ringed.",
    ),
    (
        "ranking",
        _ranking,
        "Configs ranked by final IQM (left) with the normalised area under the eval curve (right), 95% CIs.",
    ),
    (
        "sensitivity",
        _sensitivity,
        "Each hyperparameter's marginal effect on final return: IQM pooled over the other axes "
        "(each config keeping its share of the runs, seeds paired across configs; 95% CI).",
    ),
    (
        "sampled_response",
        _response,
        "Final greedy return (IQM over seeds, 95% CI) of every config against each sampled (continuous) axis, "
        "on a log axis where the space is log-uniform. Trend: Gaussian-kernel local-linear regression of the "
        "configs' IQMs in the axis's scale (log10 for a log axis), its bandwidth chosen among multiples of "
        "Silverman's rule by leave-one-out cross-validation (one-standard-error rule); band: pointwise 95% "
        "Bayesian bootstrap over configs (seeded), clipped to the task's returns. Points and trends are coloured by a "
        "discrete axis of the sweep where there is one of 2 to 6 values.",
    ),
    (
        "probability_of_improvement",
        _improvement,
        "P(a random seed of the row config ends with a higher return than one of the column config), "
        "with 95% CIs that pair the two configs' runs by seed (Agarwal et al., 2021).",
    ),
    (
        "score_distributions",
        _score_distributions,
        "Final return of every seed of the top configs, and performance profiles: the fraction of seeds "
        "with a return of at least τ (at the task's highest return, the share that reached it), with 95% "
        "Clopper-Pearson bands.",
    ),
)


def make_figures(t: RunTables, out_dir: Path) -> list[FigureFile]:
    """Draws every figure of a sweep into ``out_dir`` and returns them in reading order.

    Learning curves (eval and training returns), heatmaps over pairs of axes (2-4 axes), the ranking, the
    sensitivity to each axis (1+ axes), probability of improvement among the top configs (2+ configs) and the
    score distributions with performance profiles (``FIGURES``).

    Axes of a sampled space drawn uniformly or log-uniformly (``space``: *continuous*; every config has its
    own value) are not pooled per value: instead of heatmaps and sensitivity panels they get the pair scatter
    plots (2+ such axes) and the response figure (1+). When a sweep mixes them with discrete axes (``choice``
    axes of the space, or grid axes), the heatmaps and sensitivity panels cover the discrete axes, each cell
    or value pooling every config that has it, whatever its continuous values; the response figure colours
    its points by the first discrete axis of 2 to 6 values and fits one trend per value; the pair plots show
    every config whatever its discrete values; and the learning curves show the top configs, one colour each.
    A grid sweep has no continuous axis and gets exactly the figures it always had.

    A successive-halving sweep gets the rungs figure first; its configs stopped at a rung are labelled so, are
    left out of the response figure's points and trends (a tick along the bottom marks each) and drawn grey in
    the pair plots, and the heatmaps and sensitivity panels, which pool configs' final returns, are not drawn.
    A population-based-training sweep gets its explored hyperparameters over time and its lineages' curves
    first, and none of the figures that read a config's hyperparameters as those it trained with (heatmaps,
    sensitivity, response, pairs); its configs are members, labelled by their initial values.
    """
    make_dir(out_dir)
    top = t.summary.sort_values("rank")["config"].astype(int).tolist()
    labels = run_labels(t)
    cont = [a for a in t.axes if t.scales.get(a, space.DISCRETE).continuous]
    disc = [a for a in t.axes if a not in cont]
    layout = figures.curve_layout(t.summary, t.axes, continuous=bool(cont))
    c = _Context(
        t, run_title(t), labels, top[: figures.TOP_K], layout, cont, disc, stopped_configs(t), not pbt.is_pbt(t)
    )
    out: list[FigureFile] = []
    for name, draw, caption in FIGURES:
        fig = draw(c)
        if fig is not None:
            path = out_dir / f"{name}.png"
            save(fig, path)
            out.append(FigureFile(path, caption))
    return out
