"""Statistics of ``analysis.stats`` on tiny hand-checked arrays, plus a bootstrap coverage simulation."""

import numpy as np
import pytest
from scipy import stats as sps

from analysis import stats

nan = np.nan


# --- aggregate metrics ----------------------------------------------------------------------------


def test_iqm_hand_computed():
    # n=4 drops one each side; n=5 drops one (floor(5/4)); n=8 drops two: the outlier 100 never counts.
    assert stats.iqm(np.array([4.0, 1.0, 3.0, 2.0])) == pytest.approx(2.5)
    assert stats.iqm(np.array([1.0, 2.0, 3.0, 4.0, 5.0])) == pytest.approx(3.0)
    assert stats.iqm(np.array([1, 2, 3, 4, 100, 5, 6, 7.0])) == pytest.approx(4.5)
    assert stats.iqm(np.array([7.0])) == pytest.approx(7.0)


def test_iqm_matches_scipy_trim_mean_row_by_row():
    x = np.random.default_rng(0).normal(size=(6, 13))
    for n in range(1, 14):
        expected = [sps.trim_mean(row[:n], 0.25) for row in x]
        np.testing.assert_allclose(stats.iqm(x[:, :n]), expected)


def test_aggregates_ignore_nan_per_row():
    x = np.array([[1.0, 2.0, 3.0, 4.0], [nan, 2.0, nan, 6.0], [nan, nan, nan, nan]])
    np.testing.assert_allclose(stats.iqm(x), [2.5, 4.0, nan])
    np.testing.assert_allclose(stats.mean(x), [2.5, 4.0, nan])
    np.testing.assert_allclose(stats.median(x), [2.5, 4.0, nan])
    np.testing.assert_allclose(stats.median(np.array([3.0, nan, 1.0, 2.0])), 2.0)


def test_optimality_gap_fraction_and_profile():
    x = np.array([400.0, 500.0, 475.0, nan])
    assert stats.optimality_gap(x) == pytest.approx(25.0)  # (75 + 0 + 0) / 3 below 475
    assert stats.optimality_gap(x, threshold=500.0) == pytest.approx(125.0 / 3)
    assert stats.fraction_above(x) == pytest.approx(2 / 3)
    prof = stats.performance_profile(np.array([100.0, 200.0, 300.0, 400.0]), [0.0, 150.0, 400.0])
    np.testing.assert_allclose(prof, [1.0, 0.75, 0.0])  # strictly greater than tau


def test_probability_of_improvement_hand_computed():
    # pairs (1,1) tie 0.5, (1,0) 1, (2,1) 1, (2,0) 1 -> 3.5 / 4
    p = stats.probability_of_improvement(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    assert p == pytest.approx(0.875)
    x, y = np.random.default_rng(1).normal(size=(2, 5, 7))
    np.testing.assert_allclose(stats.probability_of_improvement(x, y) + stats.probability_of_improvement(y, x), 1.0)
    assert stats.probability_of_improvement(np.array([3.0, nan]), np.array([1.0, 5.0])) == pytest.approx(0.5)


# --- bootstrap ------------------------------------------------------------------------------------


def test_bootstrap_ci_is_seeded_vectorised_and_brackets_the_point():
    x = np.random.default_rng(2).normal(300, 50, size=(5, 3, 10))
    a = stats.bootstrap_ci(x, "iqm", n_boot=300, seed=7)
    b = stats.bootstrap_ci(x, "iqm", n_boot=300, seed=7)
    c = stats.bootstrap_ci(x, "iqm", n_boot=300, seed=8)
    assert a.point.shape == a.low.shape == (5, 3)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a.low, c.low)
    np.testing.assert_allclose(a.point, stats.iqm(x))
    assert np.all((a.low <= a.point) & (a.point <= a.high) & (a.low < a.high))


def test_bootstrap_of_constant_scores_is_a_point():
    iv = stats.bootstrap_ci(np.full((2, 6), 42.0), "mean", n_boot=50)
    np.testing.assert_allclose([iv.point, iv.low, iv.high], 42.0)


def test_stratified_bootstrap_resamples_within_each_task():
    # Task 0 scores 0, task 1 scores 10: resampling within tasks keeps three of each, so every replicate's
    # mean is 5. Pooling the six runs and resampling them together would not.
    scores = np.array([[0.0, 10.0], [0.0, 10.0], [0.0, 10.0]])  # [runs, tasks]
    iv = stats.stratified_bootstrap_ci(scores, "mean", n_boot=200)
    np.testing.assert_allclose([iv.point, iv.low, iv.high], 5.0)
    pooled = stats.bootstrap_ci(scores.ravel(), "mean", n_boot=200)
    assert pooled.low < 5.0 < pooled.high


def test_bootstrap_replicates_keep_each_rows_count_of_runs():
    # A replicate of a row with 3 valid runs (one NaN pad) has exactly 3 runs.
    count = lambda s: np.sum(~np.isnan(s), axis=-1).astype(float)
    x = np.array([[1.0, 2.0, 3.0, nan], [1.0, 2.0, 3.0, 4.0]])
    iv = stats.bootstrap_ci(x, count, n_boot=100)
    np.testing.assert_allclose(iv.low, [3, 4])
    np.testing.assert_allclose(iv.high, [3, 4])


def test_several_statistics_share_replicates():
    x = np.random.default_rng(3).normal(size=(4, 9))
    both = stats.stratified_bootstrap_cis(x[..., None], ["mean", "iqm"], n_boot=200, seed=1)
    alone = stats.stratified_bootstrap_ci(x[..., None], "iqm", n_boot=200, seed=1)
    np.testing.assert_allclose(both["iqm"].low, alone.low)
    np.testing.assert_allclose(both["iqm"].high, alone.high)


def test_curve_cis_resample_whole_runs():
    # Run r scores r at every point, so every replicate gives the same value at every point: bands are flat.
    scores = np.tile(np.arange(8.0)[:, None], (1, 5))  # [runs, points]
    iv = stats.curve_cis(scores, "mean", n_boot=300)
    assert iv.point.shape == (5,)
    np.testing.assert_allclose(iv.low, iv.low[0])
    np.testing.assert_allclose(iv.high, iv.high[0])
    assert iv.low[0] < 3.5 < iv.high[0]


def test_probability_of_improvement_ci():
    iv = stats.probability_of_improvement_ci(np.array([5.0, 6.0, 7.0]), np.array([1.0, 2.0]), n_boot=100)
    np.testing.assert_allclose([iv.point, iv.low, iv.high], 1.0)
    x, y = np.random.default_rng(4).normal(size=(2, 3, 12))
    iv = stats.probability_of_improvement_ci(x, y, n_boot=300)
    assert iv.point.shape == (3,)
    assert np.all((iv.low <= iv.point) & (iv.point <= iv.high))


def test_probability_of_improvement_ci_hand_computed_with_ties():
    # x = (1, 2), y = (1, 0): P = (0.5 + 1 + 1 + 1) / 4 = 0.875 (the 1-1 tie counts 1/2). Resampling x and y
    # independently, P over the 16 equally likely pairs of resamples is 0.5 w.p. 1/16 (x = y = (1, 1)), 0.75
    # w.p. 4/16, 0.875 w.p. 4/16 and 1 w.p. 7/16. So the 2.5% / 97.5% quantiles are 0.5 and 1 and the 25% /
    # 75% ones 0.75 and 1; with 2,000 replicates the empirical quantiles land on these values.
    x, y = np.array([1.0, 2.0]), np.array([1.0, 0.0])
    iv = stats.probability_of_improvement_ci(x, y, n_boot=2000)
    np.testing.assert_allclose([iv.point, iv.low, iv.high], [0.875, 0.5, 1.0])
    iv = stats.probability_of_improvement_ci(x, y, n_boot=2000, confidence=0.5)
    np.testing.assert_allclose([iv.point, iv.low, iv.high], [0.875, 0.75, 1.0])
    iv = stats.probability_of_improvement_ci(y, x, n_boot=2000, confidence=0.5)  # P(Y > X) = 1 - P(X > Y)
    np.testing.assert_allclose([iv.point, iv.low, iv.high], [0.125, 0.0, 0.25])


@pytest.mark.parametrize("chunk", [1, 2000])
def test_intervals_do_not_depend_on_the_chunk_size(monkeypatch, chunk):
    # The replicates are drawn a chunk of configs at a time to bound memory: one config per chunk, or two, gives
    # the same numbers, bit for bit, as all configs in one chunk (the default here).
    rng = np.random.default_rng(6)
    x = rng.normal(300, 80, (5, 7, 2))
    x[1, 4:, 0] = nan
    curves = rng.normal(size=(4, 6, 3))

    def intervals():
        cis = stats.stratified_bootstrap_cis(x, ["mean", "iqm", "optimality_gap"], n_boot=50, seed=2)
        return [*cis.values(), stats.curve_cis(curves, "iqm", n_boot=40, seed=3)]

    expected = intervals()
    monkeypatch.setattr(stats, "_CHUNK_ELEMENTS", chunk)
    for want, have in zip(expected, intervals(), strict=True):
        for u, v in zip(want, have, strict=True):
            np.testing.assert_array_equal(u, v)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="statistic must be one of"):
        stats.bootstrap_ci(np.ones(3), "mode")
    with pytest.raises(ValueError, match="confidence must be in"):
        stats.bootstrap_ci(np.ones(3), confidence=95)


# --- coverage -------------------------------------------------------------------------------------


def _exponential_iqm() -> float:
    """IQM of Exp(1): 2 * integral of x e^-x over [ln 4/3, ln 4]."""
    q1, q3 = np.log(4 / 3), np.log(4.0)
    return 2 * ((q1 + 1) * np.exp(-q1) - (q3 + 1) * np.exp(-q3))


@pytest.mark.parametrize(
    "draw, true_iqm",
    [
        (lambda rng, shape: rng.normal(300.0, 60.0, shape), 300.0),  # symmetric: IQM = mean
        (lambda rng, shape: rng.exponential(1.0, shape), _exponential_iqm()),  # skewed, like returns
    ],
    ids=["normal", "exponential"],
)
def test_95_percent_interval_covers_the_true_iqm(draw, true_iqm):
    # 1,000 simulated configs of 40 seeds in one vectorised call; a nominal 95% interval should cover the
    # population IQM 93-97% of the time (binomial s.e. of the rate is 0.7%).
    sims = draw(np.random.default_rng(12345), (1000, 40))
    iv = stats.bootstrap_ci(sims, "iqm", n_boot=1000, seed=0)
    coverage = np.mean((iv.low <= true_iqm) & (true_iqm <= iv.high))
    assert 0.93 <= coverage <= 0.97, coverage
