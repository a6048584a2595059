"""``analysis.stats.smooth``: the local-linear trend, its bandwidth and its bootstrap band, on hand-checked data."""

import math

import numpy as np
import pytest

from analysis.stats import smooth


def test_bandwidth_is_silvermans_rule():
    # x = 0..4: sd (ddof 1) = sqrt(2.5) = 1.581, IQR = 3 - 1 = 2 -> 2 / 1.34 = 1.493 is the smaller spread;
    # h = 1.06 * 1.493 * 5^(-1/5).
    assert smooth.bandwidth(np.arange(5.0)) == pytest.approx(1.06 * (2 / 1.34) * 5**-0.2)
    # Quartiles that coincide (four equal values and one other) leave the sd: 0.4472.
    x = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    assert smooth.bandwidth(x) == pytest.approx(1.06 * math.sqrt(0.2) * 5**-0.2)
    assert math.isnan(smooth.bandwidth(np.ones(4)))


def test_local_linear_at_a_symmetric_point_is_the_kernel_average():
    # x = -1, 0, 1 and y = x^2 with h = 1: at 0 the offsets are symmetric, so the line is flat and its value is
    # the kernel-weighted mean, (2 e^-1/2) / (1 + 2 e^-1/2) = 0.5481.
    x = np.array([-1.0, 0.0, 1.0])
    fit = smooth.local_linear(x, x**2, np.array([0.0]), 1.0)
    w = math.exp(-0.5)
    assert fit[0] == pytest.approx(2 * w / (1 + 2 * w), rel=1e-12)


@pytest.mark.parametrize("h", [0.3, 1.0, 5.0])
def test_local_linear_reproduces_a_line_exactly_even_at_the_edges(h):
    # Uneven x; the line is recovered at any bandwidth, also a little beyond the points, where a kernel average
    # would bend towards the inside.
    x = np.array([0.0, 0.1, 0.15, 0.7, 0.9, 2.0])
    grid = np.linspace(-0.3, 2.1, 13)
    np.testing.assert_allclose(smooth.local_linear(x, 100 + 50 * x, grid, h), 100 + 50 * grid, rtol=1e-9)


def test_a_zero_weight_drops_a_point():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1, 12), rng.normal(0, 1, 12)
    grid = np.linspace(0, 1, 7)
    w = np.ones(12)
    w[3] = 0.0
    dropped = smooth.local_linear(np.delete(x, 3), np.delete(y, 3), grid, 0.2)
    np.testing.assert_allclose(smooth.local_linear(x, y, grid, 0.2, weights=w), dropped, rtol=1e-10)
    # Rows of 2-D weights are separate fits.
    both = smooth.local_linear(x, y, grid, 0.2, weights=np.stack([np.ones(12), w]))
    np.testing.assert_allclose(both[0], smooth.local_linear(x, y, grid, 0.2))
    np.testing.assert_allclose(both[1], dropped, rtol=1e-10)


def test_cv_errors_are_the_errors_of_refits_without_each_point():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(0, 1, 9), rng.normal(0, 1, 9)
    refits = [smooth.local_linear(np.delete(x, i), np.delete(y, i), x[i : i + 1], 0.25)[0] for i in range(9)]
    np.testing.assert_allclose(smooth.cv_errors(x, y, 0.25), (y - np.array(refits)) ** 2, rtol=1e-9)


def test_the_bandwidth_follows_the_noise_not_only_the_spread():
    rng = np.random.default_rng(3)
    x = rng.uniform(-4, -2, 60)
    h0 = smooth.bandwidth(x)
    # A noiseless line: every bandwidth fits exactly, the tie goes to the widest.
    assert smooth.choose_bandwidth(x, 100 + 50 * x) == pytest.approx(8 * h0)
    # A narrow peak: a narrow kernel (below Silverman's).
    peak = 100 + 300 * np.exp(-0.5 * ((x + 3) / 0.15) ** 2) + rng.normal(0, 5, 60)
    assert smooth.choose_bandwidth(x, peak) < h0
    # No effect at all: a wide kernel and a nearly straight trend, in (nearly) every draw of the noise; the
    # smallest cross-validation error alone would chase the noise of about a third of them.
    wide = [smooth.choose_bandwidth(x, rng.normal(300, 50, 60)) >= 2 * h0 for _ in range(20)]
    assert sum(wide) >= 18


def test_band_of_a_noiseless_line_is_the_line():
    # Every reweighting of points on a line fits the same line: trend and band are the line itself.
    x = np.linspace(-4, -2, 25)
    grid = np.linspace(-4, -2, 11)
    band = smooth.trend_band(x, 200 + 100 * (x + 3), grid, n_boot=200)
    np.testing.assert_allclose(band.point, 200 + 100 * (grid + 3), rtol=1e-9)
    np.testing.assert_allclose(band.low, band.point, atol=1e-6)
    np.testing.assert_allclose(band.high, band.point, atol=1e-6)


def test_band_holds_the_estimate_and_mostly_the_true_trend_of_noisy_points():
    # A gentle curve under noise of sd 20: the band holds the smoothed trend everywhere and the true curve at
    # most points (a pointwise band of the trend does not allow for smoothing's bias, so not at all of them).
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 3, 150)
    truth = lambda v: 250 + 150 * np.sin(v)  # noqa: E731
    y = truth(x) + rng.normal(0, 20, x.size)
    grid = np.linspace(x.min(), x.max(), 51)
    band = smooth.trend_band(x, y, grid, seed=0)
    assert np.all(band.low <= band.point) and np.all(band.point <= band.high)
    assert np.all(band.high - band.low > 1.0)  # noisy points: a band of some width
    inside = (band.low <= truth(grid)) & (truth(grid) <= band.high)
    assert inside.mean() >= 0.8
    assert np.max(np.abs(band.point - truth(grid))) < 20


def test_band_is_seeded_and_clipped_to_the_bounds():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, 30)
    y = np.clip(300 + 400 * x + rng.normal(0, 30, 30), 0, 500)
    grid = np.linspace(0, 1, 21)
    a = smooth.trend_band(x, y, grid, bounds=(0, 500), seed=0)
    b = smooth.trend_band(x, y, grid, bounds=(0, 500), seed=0)
    c = smooth.trend_band(x, y, grid, bounds=(0, 500), seed=1)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.low, c.low)
    assert a.high.max() == 500 and np.all(a.high <= 500)  # the line would pass 500 near x = 1
    assert smooth.trend_band(x, y, grid).high.max() > 500


def test_too_few_distinct_values_give_no_trend():
    band = smooth.trend_band(np.array([1.0, 1.0, 2.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0]), np.linspace(1, 2, 5))
    assert np.all(np.isnan(band.point)) and np.all(np.isnan(band.low)) and np.all(np.isnan(band.high))
    # NaN points are left out: three finite points of three distinct values remain.
    x, y = np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, np.nan])
    np.testing.assert_allclose(smooth.trend_band(x, y, np.array([0.5]), n_boot=50).point, [1.5])
