"""Tidy DataFrames of statistics with confidence intervals, computed here once and only drawn by ``figures``.

Every function takes a run folder's DataFrames and returns one tidy frame with a row per plotted point and
``iqm, ci_low, ci_high`` columns: 95% intervals over seeds from ``intervals`` (seeds paired across configs).
For continuous (sampled) axes, ``response_points`` holds each config's point and ``response_trends`` the
smoothed trend through them with its band (``smooth``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.stats import intervals, smooth
from analysis.stats import point as stats
from analysis.stats.improvement import improvement_interval
from analysis.stats.intervals import CURVE_BOOT
from analysis.stats.summary import N_BOOT, SEED, rank_within, seed_layout, seed_matrix
from analysis.tables.format import format_value

PROFILE_POINTS = 101  # returns at which the performance profiles are read, evenly from the lowest to the highest


def config_labels(summary: pd.DataFrame, axes: Sequence[str]) -> dict[int, str]:
    """``{config: "lr=0.001, eps_end=0.05"}``; with no swept axis, ``"config <id>"``."""
    out = {}
    for row in summary.itertuples(index=False):
        d = row._asdict()
        c = int(d["config"])
        out[c] = ", ".join(f"{a}={format_value(d[a])}" for a in axes) if axes else f"config {c}"
    return out


def _slots(runs: pd.DataFrame, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """For each row of ``frame``: its run's row and column in the ``seed_layout`` of ``runs``.

    Returns ``(config_row, seed_col, n_seed_cols, configs)``; rows of ``frame`` whose (config, seed) is not in
    ``runs`` get ``-1``.
    """
    layout = seed_layout(runs)
    index = pd.MultiIndex.from_arrays([runs["config"].to_numpy(), runs["seed"].to_numpy()])
    pos = index.get_indexer(pd.MultiIndex.from_arrays([frame["config"].to_numpy(), frame["seed"].to_numpy()]))
    ok = pos >= 0
    row = np.where(ok, layout.row[np.maximum(pos, 0)], -1)
    c = np.where(ok, layout.col[np.maximum(pos, 0)], -1)
    return row, c, layout.n_cols, layout.configs


def _curve_frame(
    tensor: np.ndarray, configs: np.ndarray, steps: np.ndarray, keep: np.ndarray | None, seed: int, scale: stats.Scale
) -> pd.DataFrame:
    """IQM and CI at each point of ``tensor [configs, seeds, points]`` as a tidy frame (returns on ``scale``)."""
    if keep is not None:
        sel = np.isin(configs, keep)
        tensor, configs = tensor[sel], configs[sel]
    bounds = scale.bounds(tensor)
    iv = intervals.curve_interval(tensor, "iqm", bounds=bounds, n_boot=CURVE_BOOT, seed=seed)
    n = np.sum(~np.isnan(tensor), axis=1)  # [configs, points]
    df = pd.DataFrame(
        {
            "config": np.repeat(configs, len(steps)),
            "step": np.tile(steps, len(configs)),
            "iqm": iv.point.ravel(),
            "ci_low": iv.low.ravel(),
            "ci_high": iv.high.ravel(),
            "n_runs": n.ravel(),
        }
    )
    return df[df["n_runs"] > 0].reset_index(drop=True)


def eval_curves(
    runs: pd.DataFrame,
    evals: pd.DataFrame,
    *,
    configs: Sequence[int] | None = None,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
) -> pd.DataFrame:
    """Sample-efficiency curves of greedy evaluation: per config and eval step, IQM over seeds with 95% CI.

    Returns columns ``config, step, iqm, ci_low, ci_high, n_runs`` (``configs`` restricts to some configs).
    """
    cols = ["config", "step", "iqm", "ci_low", "ci_high", "n_runs"]
    if len(evals) == 0 or len(runs) == 0:
        return pd.DataFrame(columns=cols)
    row, col, s, confs = _slots(runs, evals)
    steps, si = np.unique(evals["step"].to_numpy(), return_inverse=True)
    t = np.full((len(confs), s, len(steps)), np.nan)
    ok = row >= 0
    t[row[ok], col[ok], si[ok]] = evals["eval_return"].to_numpy(np.float64)[ok]
    return _curve_frame(t, confs, steps, None if configs is None else np.asarray(configs), seed, scale)


def train_curves(
    runs: pd.DataFrame,
    episodes: pd.DataFrame,
    *,
    n_bins: int = 25,
    configs: Sequence[int] | None = None,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
) -> pd.DataFrame:
    """Training-return curves: episodes binned by the env step they ended at, IQM over seeds with 95% CI.

    Each run's value in a bin is the mean return of its episodes that ended in that bin of ``n_bins`` equal
    slices of ``[0, max end_step]``; a bin where a run completed no episode (a long episode straddles it)
    carries the run's previous value forward, up to the bin holding the run's last step (``total_steps`` of
    ``runs``; without that column, its last completed episode). A run that trained for fewer steps than the
    sweep's longest therefore ends there rather than running flat to the end. ``step`` is the bin's upper
    edge. Columns as ``eval_curves``.
    """
    cols = ["config", "step", "iqm", "ci_low", "ci_high", "n_runs"]
    if len(episodes) == 0 or len(runs) == 0:
        return pd.DataFrame(columns=cols)
    width = max(1, math.ceil(int(episodes["end_step"].max()) / n_bins))
    t, confs = binned_train_returns(runs, episodes, width, n_bins)
    steps = (np.arange(1, n_bins + 1) * width).astype(np.int64)
    return _curve_frame(t, confs, steps, None if configs is None else np.asarray(configs), seed, scale)


def binned_train_returns(
    runs: pd.DataFrame, episodes: pd.DataFrame, width: int, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """``([configs, seeds, n_bins] returns, configs)``: each run's mean return of the training episodes that ended
    in each bin of ``width`` env steps (bin k holds end steps k * width + 1 to (k + 1) * width), a bin without one
    carrying the run's previous value forward up to the bin of the run's last step (``_end_bins``); NaN before a
    run's first episode and after its end. Seeds as ``seed_layout`` lays them out."""
    row, col, s, confs = _slots(runs, episodes)
    end = episodes["end_step"].to_numpy(np.int64)
    b = np.minimum(np.maximum(end - 1, 0) // width, n_bins - 1)
    ok = (row >= 0) & (np.maximum(end - 1, 0) // width < n_bins)
    key = ((row * s + col) * n_bins + b)[ok]
    size = len(confs) * s * n_bins
    sums = np.bincount(key, weights=episodes["episode_return"].to_numpy(np.float64)[ok], minlength=size)
    counts = np.bincount(key, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (sums / counts).reshape(len(confs), s, n_bins)
    # Forward fill along bins: index of the last bin with data, per position; then cut each run after its end.
    have = ~np.isnan(t)
    bins = np.arange(n_bins)
    last = np.maximum.accumulate(np.where(have, bins, -1), axis=-1)
    t = np.where(last >= 0, np.take_along_axis(t, np.maximum(last, 0), axis=-1), np.nan)
    return np.where(bins <= _end_bins(runs, last[..., -1], width, n_bins)[..., None], t, np.nan), confs


def _end_bins(runs: pd.DataFrame, last_data: np.ndarray, width: int, n_bins: int) -> np.ndarray:
    """``[configs, seeds]`` index of the bin holding each run's last training step (``total_steps``).

    Never before the run's last bin with data (``last_data``, -1 for none); that bin alone without a finite
    ``total_steps``.
    """
    if "total_steps" not in runs.columns or not pd.api.types.is_numeric_dtype(runs["total_steps"]):
        return last_data
    layout = seed_layout(runs)
    total = runs["total_steps"].to_numpy(np.float64)
    ok = np.isfinite(total)
    end = np.full(last_data.shape, -1, np.int64)
    end[layout.row[ok], layout.col[ok]] = np.clip((total[ok] - 1) // width, 0, n_bins - 1).astype(np.int64)
    return np.maximum(end, last_data)


def grouped_intervals(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    values: np.ndarray | str,
    by: Sequence[str],
    *,
    statistic: str = "iqm",
    n_boot: int = N_BOOT,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
    method: str = "atom",
) -> pd.DataFrame:
    """A statistic of per-run ``values`` pooled over all configs sharing the ``by`` hyperparameters, with CI.

    The configs in a group are the strata of ``intervals.pooled_interval``: each keeps its share of the runs,
    and a seed weighs the same in every config of the group (the configs share its random numbers, so their
    runs on one seed are not independent). With ``by`` = all axes each group is one config, and its interval is
    the one the summary gives it (``intervals.interval``), so a heatmap of a two-axis grid agrees with the table.
    ``method``: the pooled interval's (``intervals.pooled_interval``; "expanded" for pools of tasks).

    Returns one row per group: the ``by`` columns, ``iqm`` (or the statistic's name), ``ci_low``, ``ci_high``,
    ``n_configs``, ``n_runs``.
    """
    mat, configs = seed_matrix(runs, values)  # [C, S]
    by = list(by)
    meta = summary.set_index("config").loc[configs, by].reset_index(drop=True) if by else None
    if by:
        codes = meta.groupby(by, sort=True, dropna=False).ngroup().to_numpy()
    else:
        codes = np.zeros(len(configs), np.int64)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    sizes = np.bincount(codes, minlength=n_groups)
    t_max = int(sizes.max()) if n_groups else 0
    # [G, S, T]: group g's k-th config's seeds in [g, :, k].
    t = np.full((n_groups, mat.shape[1], t_max), np.nan)
    t[codes, :, rank_within(codes, n_groups)] = mat
    bounds = scale.bounds(t)
    if t_max == 1:  # every group one config: the interval the summary gives that config (no pooling to allow for)
        iv = intervals.interval(t[..., 0], statistic, bounds=bounds, n_boot=n_boot, seed=seed)
    else:
        iv = intervals.pooled_interval(t, statistic, bounds=bounds, n_boot=n_boot, seed=seed, method=method)
    first = np.full(n_groups, -1)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    out = meta.iloc[first].reset_index(drop=True) if by else pd.DataFrame(index=range(n_groups))
    out[statistic] = iv.point
    out["ci_low"] = iv.low
    out["ci_high"] = iv.high
    out["n_configs"] = sizes
    out["n_runs"] = np.sum(~np.isnan(t), axis=(1, 2))
    return out


def sensitivity(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    axes: Sequence[str],
    *,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
) -> pd.DataFrame:
    """Each hyperparameter's marginal effect: final-return IQM per value, pooled over the other axes, with CI.

    Returns ``axis, value, label, iqm, ci_low, ci_high, n_configs, n_runs`` (``value`` as an object column).
    """
    parts = []
    for a in axes:
        g = grouped_intervals(summary, runs, "final_eval_return", [a], seed=seed, scale=scale)
        g = g.rename(columns={a: "value"})
        g.insert(0, "axis", a)
        g.insert(2, "label", [format_value(v) for v in g["value"]])
        g["value"] = g["value"].astype(object)
        parts.append(g)
    cols = ["axis", "value", "label", "iqm", "ci_low", "ci_high", "n_configs", "n_runs"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def pair_heatmaps(
    summary: pd.DataFrame,
    runs: pd.DataFrame,
    axes: Sequence[str],
    *,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
) -> pd.DataFrame:
    """Final-return IQM over every pair of axes, pooled over the remaining axes, with CI.

    Returns ``x_axis, y_axis, x, y, iqm, ci_low, ci_high, n_configs, n_runs``; empty with fewer than 2 axes.
    """
    parts = []
    for xa, ya in itertools.combinations(axes, 2):
        g = grouped_intervals(summary, runs, "final_eval_return", [xa, ya], seed=seed, scale=scale)
        g = g.rename(columns={xa: "x", ya: "y"})
        g.insert(0, "x_axis", xa)
        g.insert(1, "y_axis", ya)
        g["x"] = g["x"].astype(object)
        g["y"] = g["y"].astype(object)
        parts.append(g)
    cols = ["x_axis", "y_axis", "x", "y", "iqm", "ci_low", "ci_high", "n_configs", "n_runs"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def improvement_matrix(runs: pd.DataFrame, configs: Sequence[int]) -> pd.DataFrame:
    """P(config X > config Y) on final eval returns for every ordered pair of ``configs``, with 95% CI.

    Returns ``x, y, p, ci_low, ci_high`` (configs as ids), one row per ordered pair with x != y; the intervals
    pair the two configs' runs by seed (``improvement.improvement_interval``; closed form, no replicates).
    """
    mat, confs = seed_matrix(runs, "final_eval_return")
    pos = {int(c): i for i, c in enumerate(confs)}
    idx = np.array([pos[int(c)] for c in configs], dtype=np.int64)
    xi, yi = np.meshgrid(idx, idx, indexing="ij")
    off = xi != yi
    xi, yi = xi[off], yi[off]
    iv = improvement_interval(mat[xi], mat[yi])
    return pd.DataFrame({"x": confs[xi], "y": confs[yi], "p": iv.point, "ci_low": iv.low, "ci_high": iv.high})


def score_profiles(
    runs: pd.DataFrame,
    configs: Sequence[int],
    *,
    taus: np.ndarray | None = None,
    scale: stats.Scale = stats.CARTPOLE,
) -> pd.DataFrame:
    """Performance profiles of final eval returns: fraction of seeds scoring at least each tau, with 95% CI.

    Returns ``config, tau, fraction, ci_low, ci_high`` (Agarwal et al., 2021, sec. 5), by default at 101 taus
    from the task's lowest to its highest return (``scale``; CartPole-v1: 0 to 500, where tau = 500 is the share
    of seeds that reached the cap). Each fraction has its Clopper-Pearson interval
    (``intervals.profile_interval``, exact: no replicates).
    """
    mat, confs = seed_matrix(runs, "final_eval_return")
    taus = np.linspace(*scale.bounds(mat), PROFILE_POINTS) if taus is None else np.asarray(taus, np.float64)
    pos = {int(c): i for i, c in enumerate(confs)}
    sel = mat[[pos[int(c)] for c in configs]]
    iv = intervals.profile_interval(sel, taus)
    return pd.DataFrame(
        {
            "config": np.repeat(np.asarray(configs), len(taus)),
            "tau": np.tile(taus, len(configs)),
            "fraction": iv.point.ravel(),
            "ci_low": iv.low.ravel(),
            "ci_high": iv.high.ravel(),
        }
    )


def response_points(summary: pd.DataFrame, axes: Sequence[str], *, hue: str | None = None) -> pd.DataFrame:
    """Each config's final-return IQM with its 95% CI against each of ``axes`` (continuous ones), a row each.

    Returns ``axis, config, value, iqm, ci_low, ci_high, group``, sorted by axis (in ``axes`` order), then
    config; ``group`` is the config's value of the ``hue`` axis (``None`` without one). Configs without a final
    IQM (no evaluation) are left out; a config with one seed keeps its point with NaN ends.
    """
    s = summary[np.isfinite(summary["final_iqm"].to_numpy(np.float64))].sort_values("config")
    parts = []
    for a in axes:
        parts.append(
            pd.DataFrame(
                {
                    "axis": a,
                    "config": s["config"].to_numpy(),
                    "value": s[a].to_numpy(np.float64),
                    "iqm": s["final_iqm"].to_numpy(np.float64),
                    "ci_low": s["final_iqm_ci_low"].to_numpy(np.float64),
                    "ci_high": s["final_iqm_ci_high"].to_numpy(np.float64),
                    "group": s[hue].astype(object).to_numpy() if hue else None,
                }
            )
        )
    cols = ["axis", "config", "value", "iqm", "ci_low", "ci_high", "group"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)


def response_trends(
    points: pd.DataFrame,
    log_axes: Sequence[str] = (),
    *,
    n_grid: int = 101,
    n_boot: int = smooth.N_BOOT,
    seed: int = SEED,
    scale: stats.Scale = stats.CARTPOLE,
) -> pd.DataFrame:
    """The smoothed trend of ``response_points``' IQMs against each axis (per ``group``), with a 95% band.

    Per axis and group with at least ``smooth.MIN_POINTS`` distinct values: ``smooth.trend_band`` of the
    configs' final IQMs in the axis's own scale (``log10`` of the value for ``log_axes``), at ``n_grid`` points
    evenly spaced in that scale over the configs' range (no extrapolation), the bandwidth chosen by
    cross-validation (``smooth.choose_bandwidth``),
    the band a Bayesian bootstrap over configs (seeded: the same points give the same band), clipped to the
    possible returns. Returns ``axis, group, value, trend, band_low, band_high, bandwidth, n_configs``
    (``bandwidth`` in the axis's scale: decades for a log axis).
    """
    cols = ["axis", "group", "value", "trend", "band_low", "band_high", "bandwidth", "n_configs"]
    parts = []
    for (a, _), d in points.groupby(["axis", points["group"].map(repr)], sort=False):
        v = d["value"].to_numpy(np.float64)
        x = np.log10(v) if a in log_axes else v
        if np.unique(x).size < smooth.MIN_POINTS:
            continue
        grid = np.linspace(x.min(), x.max(), n_grid)
        y = d["iqm"].to_numpy(np.float64)
        h = smooth.choose_bandwidth(x, y)
        band = smooth.trend_band(x, y, grid, h=h, bounds=scale.bounds(y), n_boot=n_boot, seed=seed)
        parts.append(
            pd.DataFrame(
                {
                    "axis": a,
                    "group": [d["group"].iloc[0]] * n_grid,
                    "value": 10.0**grid if a in log_axes else grid,
                    "trend": band.point,
                    "band_low": band.low,
                    "band_high": band.high,
                    "bandwidth": h,
                    "n_configs": len(d),
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
