"""The figures of sampled (continuous) axes: ``aggregate.response_points`` / ``response_trends``, ``scatter`` and
how ``report`` chooses them, on synthetic sampled sweeps (no JAX)."""

import numpy as np
import pandas as pd
import pytest
from test_analysis_space import sampled_sweep, trend
from test_analysis_tables import sweep

import analysis
from analysis.figures import scatter
from analysis.figures.style import save
from analysis.figures.sweep import run_title
from analysis.stats import smooth
from analysis.summaries import aggregate

PNG = b"\x89PNG\r\n\x1a\n"
ALWAYS = {"learning_curves_eval", "learning_curves_train", "ranking", "probability_of_improvement"}
ALWAYS |= {"score_distributions"}


def _figures(run_dir):
    return {p.stem: p.read_bytes() for p in (run_dir / "figures").iterdir()}


def _trends(t, seed=0):
    """The response figure's frames of a loaded sweep, as the report computes them."""
    cont = [a for a in t.axes if t.scales[a].continuous]
    hue = scatter.response_hue(t.summary, [a for a in t.axes if a not in cont])
    points = aggregate.response_points(t.summary, cont, hue=hue)
    return points, aggregate.response_trends(points, [a for a in cont if t.scales[a].log], seed=seed)


def test_a_sampled_sweep_draws_each_config_as_a_point_not_heatmaps(tmp_path):
    analysis.write_tables(tmp_path, **sampled_sweep(40, 2))
    html = analysis.report(tmp_path).read_text()
    figs = _figures(tmp_path)
    # Continuous axes get the response figure and the pair scatter plots, not heatmaps or sensitivity panels.
    assert set(figs) == ALWAYS | {"sampled_pairs", "sampled_response"}
    assert all(b[:8] == PNG for b in figs.values())
    assert html.count("data:image/png;base64,") == len(figs)
    assert html.index("figures/sampled_pairs.png") < html.index("figures/ranking.png")
    assert html.index("figures/ranking.png") < html.index("figures/sampled_response.png")
    assert "sobol samples of lr, eps_end" in html  # the title: no "lr × eps_end" grid
    assert '<th class="l">search</th><td class="l">sobol, 40 samples (sampler seed 0)</td>' in html
    assert "lr log-uniform [0.0001, 0.01]; eps_end uniform [0.0, 0.2]" in html
    assert len(pd.read_parquet(tmp_path / "summary.parquet")) == 40


def test_the_trend_of_noiseless_returns_is_the_true_trend(tmp_path):
    # Every seed of a config returns trend(lr) = 100 + 150 (log10 lr + 4): the IQMs lie on a line in log10 lr,
    # which the local-linear smoother reproduces exactly, and every reweighting of the configs too.
    analysis.write_tables(tmp_path, **sampled_sweep(40, 3, noise=0.0))
    points, trends = _trends(analysis.load(tmp_path))
    lr_points = points[points["axis"] == "lr"]
    np.testing.assert_allclose(lr_points["iqm"], trend(lr_points["value"]), atol=1e-3)  # float32 returns
    lr = trends[trends["axis"] == "lr"]
    assert len(lr) == 101 and lr["n_configs"].eq(40).all()
    assert lr["value"].min() == pytest.approx(lr_points["value"].min())
    assert lr["value"].max() == pytest.approx(lr_points["value"].max())
    np.testing.assert_allclose(np.diff(np.log10(lr["value"])), np.diff(np.log10(lr["value"]))[0])  # log-spaced
    np.testing.assert_allclose(lr["trend"], trend(lr["value"]), atol=1e-3)
    np.testing.assert_allclose(lr["band_low"], lr["trend"], atol=1e-3)
    np.testing.assert_allclose(lr["band_high"], lr["trend"], atol=1e-3)
    # The bandwidth is in decades: Silverman's rule of log10(lr), times the widest factor (exact fits tie).
    h0 = smooth.bandwidth(np.log10(lr_points["value"].to_numpy()))
    assert lr["bandwidth"].iloc[0] == pytest.approx(smooth.BANDWIDTH_FACTORS[-1] * h0)


def test_the_band_holds_the_trend_and_the_figure_data_are_deterministic(tmp_path):
    analysis.write_tables(tmp_path, **sampled_sweep(40, 3, noise=30.0))
    t = analysis.load(tmp_path)
    points, trends = _trends(t)
    lr = trends[trends["axis"] == "lr"]
    assert (lr["band_low"] <= lr["trend"]).all() and (lr["trend"] <= lr["band_high"]).all()
    assert (lr["band_high"] - lr["band_low"] > 1.0).all()
    # Same tables, same numbers; another replicate seed moves the band.
    again_points, again = _trends(analysis.load(tmp_path))
    pd.testing.assert_frame_equal(points, again_points)
    pd.testing.assert_frame_equal(trends, again)
    other = _trends(t, seed=1)[1]
    assert not np.array_equal(other["band_low"], trends["band_low"])
    np.testing.assert_array_equal(other["trend"], trends["trend"])
    # And the same figures, to the byte: the report's, and those drawn again from the tables read back.
    analysis.report(tmp_path)
    t = analysis.load(tmp_path)
    title = run_title(t)
    hue = scatter.response_hue(t.summary, [])
    save(scatter.response(*_trends(t), t.scales, title=title, hue=hue), tmp_path / "response.png")
    save(scatter.pairs(t.summary, t.axes, t.scales, title=title), tmp_path / "pairs.png")
    figs = _figures(tmp_path)
    assert (tmp_path / "response.png").read_bytes() == figs["sampled_response"]
    assert (tmp_path / "pairs.png").read_bytes() == figs["sampled_pairs"]


def test_the_band_holds_the_true_trend_in_most_sweeps():
    # 20 sweeps of 60 configs whose IQMs scatter (sd 20) about trend(lr): on average the 95% band holds the
    # true line at most points (each sweep's band misses it at all points or none together, so it is the
    # average that is near 95%, here 94%).
    covered = []
    for s in range(20):
        rng = np.random.default_rng(s)
        lr = 10 ** rng.uniform(-4, -2, 60)
        iqm = trend(lr) + rng.normal(0, 20, 60)
        summary = pd.DataFrame({"config": np.arange(60), "lr": lr, "final_iqm": iqm})
        summary = summary.assign(final_iqm_ci_low=iqm - 40, final_iqm_ci_high=iqm + 40)
        t = aggregate.response_trends(aggregate.response_points(summary, ["lr"]), ["lr"])
        truth = trend(t["value"])
        covered.append(((t["band_low"] <= truth) & (truth <= t["band_high"])).mean())
    assert np.mean(covered) >= 0.9
    assert min(covered) < 1.0  # not a band so wide that it always holds the line


def test_figures_of_continuous_axes_use_their_scales(tmp_path):
    # lr is log-uniform, eps_end uniform, target_period an integer log-uniform draw: three pairs in a lower
    # triangle, log axes where the space is log-scaled, one trend per axis.
    data = sampled_sweep(30, 2)
    rng = np.random.default_rng(1)
    period = np.round(10 ** rng.uniform(1, 3, 30)).astype(np.int64)
    data["runs"]["target_period"] = period[data["runs"]["config"]]
    data["manifest"]["space"]["target_period"] = {"dist": "log_uniform", "low": 10, "high": 1000, "integer": True}
    data["axes"] = data["manifest"]["axes"] = ["lr", "eps_end", "target_period"]
    analysis.write_tables(tmp_path, **data)
    t = analysis.load(tmp_path)
    fig = scatter.pairs(t.summary, t.axes, t.scales, title="t")
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.collections and ax.get_label() != "<colorbar>"]
    assert len(panels) == 3
    scales = {(ax.get_xlabel(), ax.get_ylabel()): (ax.get_xscale(), ax.get_yscale()) for ax in panels}
    assert scales[("", "final ε")] == ("log", "linear")  # lr on x, shared with the panel below
    assert scales[("learning rate (Adam step size)", "target update period (updates)")] == ("log", "log")
    assert scales[("final ε", "")] == ("linear", "log")
    points, trends = _trends(t)
    assert trends.groupby("axis").size().to_dict() == {"lr": 101, "eps_end": 101, "target_period": 101}
    fig = scatter.response(points, trends, t.scales, title="t")
    assert [ax.get_xscale() for ax in fig.axes[:3]] == ["log", "linear", "log"]
    assert fig.axes[0].get_xlim()[0] < 1e-4 < 1e-2 < fig.axes[0].get_xlim()[1]  # the space's bounds shown


def test_a_mix_of_continuous_and_discrete_axes(tmp_path):
    # Two choice axes: their heatmap and sensitivity panels pool the sampled configs; the response figure
    # colours by hidden_sizes, with one trend per value; the learning curves show the top configs.
    choices = {"hidden_sizes": ["64x64", "128x128"], "double_q": [False, True]}
    analysis.write_tables(tmp_path, **sampled_sweep(32, 2, choices=choices))
    analysis.report(tmp_path)
    assert set(_figures(tmp_path)) == ALWAYS | {"heatmap_final_iqm", "sensitivity", "sampled_pairs"} | {
        "sampled_response"
    }
    t = analysis.load(tmp_path)
    cells = aggregate.pair_heatmaps(t.summary, t.runs, ["hidden_sizes", "double_q"])
    assert len(cells) == 4 and cells["n_configs"].sum() == 32
    points, trends = _trends(t)
    assert set(points["group"]) == {"64x64", "128x128"}
    assert trends.groupby("axis")["group"].nunique().to_dict() == {"lr": 2, "eps_end": 2}
    layout = analysis.figures.runs.curve_layout(t.summary, t.axes, continuous=True)
    assert layout.hue == "label" and len(layout.configs) == 8


@pytest.mark.parametrize("n_seeds", [1, 3])
def test_one_continuous_axis_draws_no_pairs(tmp_path, n_seeds):
    # A single sampled axis: the response figure alone; one seed gives points without intervals.
    data = sampled_sweep(10, n_seeds)
    data["runs"] = data["runs"].drop(columns="eps_end")
    data["axes"] = data["manifest"]["axes"] = ["lr"]
    analysis.write_tables(tmp_path, **data)
    analysis.report(tmp_path)
    figs = set(_figures(tmp_path))
    assert "sampled_response" in figs and "sampled_pairs" not in figs and "sensitivity" not in figs
    points, _ = _trends(analysis.load(tmp_path))
    assert points["ci_low"].isna().all() == (n_seeds == 1)


def test_a_grid_sweep_keeps_its_figures(tmp_path):
    # A grid's manifest has no space, or an empty one: the figures are those a grid always had, to the byte.
    data = sweep({"lr": [1e-4, 1e-3], "eps_end": [0.01, 0.1]}, n_seeds=2)
    runs = {}
    for name, manifest in (("none", data["manifest"]), ("empty", {**data["manifest"], "space": {}})):
        d = tmp_path / name
        d.mkdir()
        analysis.write_tables(d, **dict(data, manifest=manifest))
        analysis.report(d)
        runs[name] = _figures(d)
    assert set(runs["none"]) == ALWAYS | {"heatmap_final_iqm", "sensitivity"}
    assert runs["empty"] == runs["none"]
    assert "swept lr × eps_end" in (tmp_path / "none" / "report.html").read_text()
