"""Point statistics of ``analysis.stats.point`` on tiny hand-checked arrays (their intervals:
test_analysis_intervals)."""

import numpy as np
import pytest
from scipy import stats as sps

from analysis.stats import point as stats

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


def test_shortfall_fraction_and_profile():
    x = np.array([400.0, 500.0, 475.0, nan])
    assert stats.shortfall(x) == pytest.approx(25.0)  # (75 + 0 + 0) / 3 below 475
    assert stats.shortfall(x, threshold=500.0) == pytest.approx(125.0 / 3)  # rliable's gap: 500 - mean here
    assert stats.shortfall(x, threshold=500.0) == pytest.approx(500.0 - stats.mean(x))
    assert stats.fraction_above(x) == pytest.approx(2 / 3)
    prof = stats.performance_profile(np.array([100.0, 200.0, 300.0, 400.0]), [0.0, 150.0, 400.0])
    np.testing.assert_allclose(prof, [1.0, 0.75, 0.25])  # at least tau: the run at 400 counts at tau = 400


def test_profile_at_the_cap_is_the_share_of_runs_that_reached_it():
    # Returns pile up at 500: "above 500" would always be 0, "at least 500" is the share at the cap.
    prof = stats.performance_profile(np.array([[500.0, 500.0, 320.0, nan], [9.0, 9.0, 9.0, 9.0]]), [500.0])
    np.testing.assert_allclose(prof[:, 0], [2 / 3, 0.0])


def test_median_is_the_median_seed_not_a_mean():
    # rliable's aggregate_median of one task is the mean over runs (median over tasks of per-task means).
    x = np.array([10.0, 20.0, 500.0])
    assert stats.median(x) == 20.0 and stats.mean(x) == pytest.approx(530 / 3)


def test_probability_of_improvement_hand_computed():
    # pairs (1,1) tie 0.5, (1,0) 1, (2,1) 1, (2,0) 1 -> 3.5 / 4
    p = stats.probability_of_improvement(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    assert p == pytest.approx(0.875)
    x, y = np.random.default_rng(1).normal(size=(2, 5, 7))
    np.testing.assert_allclose(stats.probability_of_improvement(x, y) + stats.probability_of_improvement(y, x), 1.0)
    assert stats.probability_of_improvement(np.array([3.0, nan]), np.array([1.0, 5.0])) == pytest.approx(0.5)
