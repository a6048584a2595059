"""``analysis.stats.intervals``: hand-computed ends, the all-at-500 and one-seed cases, NaN, ties and seed pairing
(no JAX).

With every seed at 500 the replicates are ``500 * (1 - W0)`` for the mean, where the atom's weight ``W0`` is
Beta(1, n): the lower end is ``500 * 0.025 ** (1 / n)``. Ends are Monte Carlo quantiles, so hand-computed values
are checked with many replicates and a tolerance of a few Monte Carlo standard errors.
"""

import numpy as np
import pytest
from scipy import stats as sps

from analysis.stats import bootstrap, compared, intervals, point
from analysis.stats.improvement import benjamini_hochberg, holm, improvement

nan = np.nan
MANY = 20_000  # replicates for the hand-computed ends: a Beta quantile's Monte Carlo error is then ~1.5 returns


def test_all_at_500_mean_lower_end_is_what_unseen_seeds_could_do():
    for n in (5, 10, 32):
        iv = intervals.interval(np.full(n, 500.0), "mean", n_boot=MANY)
        assert iv.point == 500.0 and iv.high == 500.0
        assert iv.low == pytest.approx(500 * 0.025 ** (1 / n), abs=5.0), n  # 239.1, 345.8, 445.6


def test_all_at_500_iqm_and_median_say_500_only_when_the_seeds_rule_out_less():
    # IQM < 500 needs more than a quarter of the population below 500: 10 seeds all at 500 cannot rule that out
    # (0.75 ** 10 = 5.6% > 2.5%), 16 can (1.0%). The atom's weight W0 ~ Beta(1, 10) has 97.5% quantile
    # q = 1 - 0.025 ** 0.1 = 0.3085; with W0 = q at 0 the IQM is 500 * (0.75 - q) / 0.5 = 441.5.
    ten = intervals.intervals_of(np.full(10, 500.0), ["iqm", "median"], n_boot=MANY)
    q = 1 - 0.025**0.1
    assert ten["iqm"].low == pytest.approx(500 * (0.75 - q) / 0.5, abs=5.0) and ten["iqm"].high == 500.0
    assert ten["median"].low == ten["median"].high == 500.0  # median < 500 would make this 0.5 ** 10 likely
    sixteen = intervals.interval(np.full(16, 500.0), "iqm")
    assert sixteen.low == sixteen.high == 500.0  # exactly: the cap is kept exact despite float32 weights
    five = intervals.interval(np.full(5, 500.0), "median")  # 0.5 ** 5 = 3.1% > 2.5%: anything goes
    assert five.low == 0.0 and five.high == 500.0


def test_two_equal_seeds_hand_computed():
    # Scores (400, 400): replicates are 400 (1 - W0) (lower) and 400 + 100 W0 (upper), W0 ~ Beta(1, 2), whose
    # 97.5% quantile is 1 - sqrt(0.025): ends 400 sqrt(0.025) = 63.2 and 400 + 100 (1 - sqrt(0.025)) = 484.2.
    iv = intervals.interval(np.array([400.0, 400.0]), "mean", n_boot=MANY)
    assert iv.point == 400.0
    assert iv.low == pytest.approx(400 * np.sqrt(0.025), abs=2.0)
    assert iv.high == pytest.approx(400 + 100 * (1 - np.sqrt(0.025)), abs=2.0)


def test_shortfall_interval_uses_the_shortfalls_worst_cases():
    # All at 500: no shortfall; the upper end is the atom's weight times the largest shortfall, 475.
    iv = intervals.interval(np.full(10, 500.0), "shortfall", n_boot=MANY)
    assert iv.point == 0.0 and iv.low == 0.0
    assert iv.high == pytest.approx(475 * (1 - 0.025**0.1), abs=3.0)  # 146.5


def test_one_seed_gives_no_interval_and_nan_seeds_are_missing():
    x = np.array([[420.0, nan, nan], [nan, nan, nan], [500.0, 500.0, nan]])
    iv = intervals.interval(x, "mean", n_boot=MANY)
    np.testing.assert_array_equal(iv.point[:2], [420.0, nan])
    assert np.all(np.isnan(iv.low[:2])) and np.all(np.isnan(iv.high[:2]))
    # Two valid seeds at 500: the ends of 2 seeds (500 * sqrt(0.025) = 79), not of 3.
    assert iv.low[2] == pytest.approx(500 * np.sqrt(0.025), abs=3.0) and iv.high[2] == 500.0


def test_ends_contain_the_point_and_bounds_are_checked():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 500, (20, 7))
    for name, iv in intervals.intervals_of(x, intervals.STATISTICS, n_boot=300).items():
        assert np.all((iv.low <= iv.point) & (iv.point <= iv.high) & (iv.low < iv.high)), name
        assert np.all((iv.low >= 0) & (iv.high <= 500)), name
    with pytest.raises(ValueError, match="within bounds"):
        intervals.interval(np.array([1.0, 600.0]))
    assert intervals.widened((0.0, 500.0), np.array([nan, 600.0, -1.0])) == (-1.0, 600.0)
    with pytest.raises(ValueError, match="statistic must be one of"):
        intervals.interval(np.ones(3), "mode")
    with pytest.raises(ValueError, match="confidence must be in"):
        intervals.interval(np.ones(3), confidence=95)


def test_a_row_gets_the_same_interval_alone_or_in_a_batch_and_in_any_chunk(monkeypatch):
    # Rows share the seed weights of a call (pairing), so a row alone with the same seed gives bitwise the same
    # ends; the weights are drawn once per call, so chunking the rows to bound memory changes nothing.
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 500, (6, 9))
    x[2, 5:] = nan
    batch = intervals.intervals_of(x, ["mean", "iqm", "median"], n_boot=200, seed=3)
    monkeypatch.setattr(intervals, "_CHUNK_ELEMENTS", 1)
    monkeypatch.setattr(bootstrap, "_CHUNK_ELEMENTS", 1)
    for i in range(len(x)):
        alone = intervals.intervals_of(x[i], ["mean", "iqm", "median"], n_boot=200, seed=3)
        for k in batch:
            assert (batch[k].low[i], batch[k].high[i]) == (alone[k].low, alone[k].high)
    other = intervals.interval(x, "iqm", n_boot=200, seed=4)
    assert not np.array_equal(other.low, batch["iqm"].low)


def test_curve_bands_stay_finite_where_most_runs_are_missing():
    # 20 runs, 3 points: at point 1 only runs 0 and 1 have a value, at point 2 only run 0. A resample of whole
    # runs drawn with replacement would often hold neither run 0 nor 1 (NaN band); weights never lose them.
    x = np.full((20, 3), nan)
    x[:, 0] = np.linspace(100, 500, 20)
    x[:2, 1] = [200.0, 300.0]
    x[0, 2] = 250.0
    iv = intervals.curve_interval(x, "iqm", n_boot=500)
    assert np.all(np.isfinite(iv.low[:2])) and np.all(np.isfinite(iv.high[:2]))
    assert iv.point[2] == 250.0 and np.isnan(iv.low[2]) and np.isnan(iv.high[2])  # one run: no band
    # Whole runs: a run that scores r at every point gives the same ends at every point.
    flat = intervals.curve_interval(np.tile(np.arange(8.0)[:, None] * 50, (1, 4)), "mean", n_boot=300)
    np.testing.assert_allclose(flat.low, flat.low[0])
    np.testing.assert_allclose(flat.high, flat.high[0])


def test_pooled_interval_of_one_stratum_is_the_plain_interval():
    # The mean's; the pooled IQM and median keep the worst-case atom, where one config's use the bootstrap.
    x = np.random.default_rng(2).uniform(0, 500, (3, 12))
    for m in ("mean",):
        one = intervals.pooled_interval(x[..., None], m, n_boot=300, seed=5)
        plain = intervals.interval(x, m, n_boot=300, seed=5)
        for u, v in zip(one, plain, strict=True):
            np.testing.assert_array_equal(u, v)


def test_pooled_interval_pairs_configs_by_seed():
    # Two configs scoring alike on each seed move together, so pooling them adds little information; the same
    # scores with one config's seeds reversed (a seed good for one is bad for the other) nearly cancel, and give
    # a narrower pooled interval. An interval that resampled the configs independently could not tell them apart.
    x = np.linspace(100, 500, 32)
    alike = intervals.pooled_interval(np.stack([x, x], axis=-1), "mean", n_boot=4000)
    opposed = intervals.pooled_interval(np.stack([x, x[::-1]], axis=-1), "mean", n_boot=4000)
    assert alike.point == opposed.point
    assert alike.high - alike.low > 1.3 * (opposed.high - opposed.low)


def test_proportion_interval_is_clopper_pearson():
    # 10 of 10 solved: the lower end 0.025 ** 0.1 = 0.6915 says up to 31% of such seeds could still fail.
    low, high = intervals.proportion_interval(np.array([10, 0, 4, 1]), np.array([10, 10, 10, 1]))
    np.testing.assert_allclose(low[:2], [0.025**0.1, 0.0])
    np.testing.assert_allclose(high[:2], [1.0, 1 - 0.025**0.1])
    exact = sps.binomtest(4, 10).proportion_ci(confidence_level=0.95, method="exact")
    np.testing.assert_allclose([low[2], high[2]], [exact.low, exact.high])
    assert np.isnan(low[3]) and np.isnan(high[3])  # one seed: no interval


def test_profile_interval_counts_at_least_tau():
    iv = intervals.profile_interval(np.array([500.0, 500.0, 320.0, nan]), [0.0, 400.0, 500.0])
    np.testing.assert_allclose(iv.point, [1.0, 2 / 3, 2 / 3])
    exact = sps.binomtest(2, 3).proportion_ci(method="exact")
    np.testing.assert_allclose([iv.low[2], iv.high[2]], [exact.low, exact.high])
    assert iv.high[0] == 1.0 and iv.low[0] == pytest.approx(0.025 ** (1 / 3))


# ---------------------------------------------------------------------------------------------------------------
# P(X > Y) paired by seed (analysis.stats.improvement)
# ---------------------------------------------------------------------------------------------------------------
def test_improvement_by_hand():
    # x = (1, 2), y = (1, 0): P = (0.5 + 1 + 1 + 1) / 4 = 0.875, the 1-1 tie counting 1/2; P(Y > X) = 0.125.
    # Placements: x_1 = 1 has y's below it 1 + 1/2 (the tie), x_2 = 2 has 2; y_1 = 1 has x's below it 1/2, y_2 none:
    # Z = ((1.5 - 0.5) / 2, (2 - 0) / 2) = (0.5, 1.0), mean 0.75 = 2 P - 1, variance 0.125, so se = 0.25; with one
    # degree of freedom (t = 12.7) that interval covers all of [0, 1]. Unpaired: the shares P = (1.5, 2) / 2 and
    # Q = (0.5, 0) / 2 give var 0.03125 / 2 + 0.03125 / 2 = 0.03125 on Welch's 2 degrees of freedom, a shorter t
    # interval (t se 0.76 against 3.18): that one is taken.
    xy = improvement(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    yx = improvement(np.array([1.0, 0.0]), np.array([1.0, 2.0]))
    assert xy.point == 0.875 and yx.point == 0.125
    var, df = 0.03125, 2.0
    assert sps.t.ppf(0.975, df) * np.sqrt(var) < sps.t.ppf(0.975, 1) * 0.25
    h, dh = np.arcsin(np.sqrt(0.875)), 0.5 / np.sqrt(0.875 * 0.125)
    assert xy.low == pytest.approx(np.sin(h - sps.t.ppf(0.975, df) * np.sqrt(var) * dh) ** 2) and xy.high == 1.0
    assert xy.pvalue == pytest.approx(yx.pvalue)
    # Three seeds, by hand on the arcsine scale: x = (3, 5, 4), y = (1, 2, 6): P = 6 / 9; Z = (2/3 - 0, 2/3 - 0,
    # 2/3 - 1) = (2/3, 2/3, -1/3), var 1/3, se 1/3; h = asin(sqrt(2/3)), h' = 1 / (2 sqrt(2/9)).
    r = improvement(np.array([3.0, 5.0, 4.0]), np.array([1.0, 2.0, 6.0]))
    p, se, t = 2 / 3, 1 / 3, sps.t.ppf(0.975, 2)
    h, dh = np.arcsin(np.sqrt(p)), 0.5 / np.sqrt(p * (1 - p))
    assert r.point == pytest.approx(p)
    assert r.low == pytest.approx(np.sin(max(h - t * se * dh, 0.0)) ** 2)
    assert r.high == pytest.approx(np.sin(min(h + t * se * dh, np.pi / 2)) ** 2)
    assert r.pvalue == pytest.approx(2 * sps.t.sf(abs(h - np.pi / 4) / (se * dh), 2))


def test_improvement_takes_the_unpaired_variance_where_it_gives_the_shorter_interval():
    # Six seeds whose two configs run against each other (a seed good for x is poor for y): the paired variance
    # var(Z) / n = 0.0489 on 5 degrees of freedom, Brunner-Munzel's var(P) / n + var(Q) / n = 0.0261 on Welch's
    # 8.8. The unpaired t se (0.367) is shorter than the paired one (0.569), so the interval is the arcsine-scale t
    # interval with it, nested in the paired one (the package's until 2026-12-07).
    x = np.array([310.0, 500.0, 180.0, 500.0, 420.0, 260.0])
    y = np.array([240.0, 90.0, 500.0, 150.0, 200.0, 330.0])
    w = (x[:, None] > y[None, :]) + 0.5 * (x[:, None] == y[None, :])
    big_p, big_q = w.mean(axis=1), (1.0 - w).mean(axis=0)  # x_i's share of y's below it; y_j's of x's below it
    p, n = w.mean(), 6
    paired = (big_p - big_q).var(ddof=1) / n
    vx, vy = big_p.var(ddof=1) / n, big_q.var(ddof=1) / n
    df = (vx + vy) ** 2 / ((vx**2 + vy**2) / (n - 1))
    t = sps.t.ppf(0.975, df)
    assert t * np.sqrt(vx + vy) < sps.t.ppf(0.975, n - 1) * np.sqrt(paired)
    h, dh = np.arcsin(np.sqrt(p)), 0.5 / np.sqrt(p * (1 - p))
    r = improvement(x, y)
    assert r.low == pytest.approx(np.sin(h - t * np.sqrt(vx + vy) * dh) ** 2)
    assert r.high == pytest.approx(np.sin(h + t * np.sqrt(vx + vy) * dh) ** 2)
    assert r.pvalue == pytest.approx(2 * sps.t.sf(abs(h - np.pi / 4) / (np.sqrt(vx + vy) * dh), df))
    before_low, before_high = compared.paired_munzel(x[None], y[None])
    assert before_low[0] < r.low < r.point < r.high <= before_high[0]
    # Paired the other way (seeds alike): the paired variance is the smaller, and it is the one used.
    x2 = np.sort(x)
    y2 = np.sort(y)
    w2 = (x2[:, None] > y2[None, :]) + 0.5 * (x2[:, None] == y2[None, :])
    z2 = w2.mean(axis=1) - (1.0 - w2).mean(axis=0)
    se2, p2 = np.sqrt(z2.var(ddof=1) / n), w2.mean()
    h2, dh2 = np.arcsin(np.sqrt(p2)), 0.5 / np.sqrt(p2 * (1 - p2))
    assert improvement(x2, y2).low == pytest.approx(np.sin(h2 - sps.t.ppf(0.975, n - 1) * se2 * dh2) ** 2)


def test_improvement_without_variance_all_at_500_and_separated():
    # Every pair tied (both configs at 500 on 10 seeds): P = 0.5 and the interval is 1/2 -+ (1 - a) / 2 with
    # a = 0.025 ** (1 / 10). Complete separation: [a, 1] (10 wins in 10, Clopper-Pearson), p-value 2 / 2 ** 10.
    a = 0.025**0.1
    tie = improvement(np.full(10, 500.0), np.full(10, 500.0))
    assert tie.point == 0.5 and tie.pvalue == 1.0
    assert tie.low == pytest.approx(0.5 * a) and tie.high == pytest.approx(1 - 0.5 * a)
    sep = improvement(np.full(10, 500.0), np.full(10, 20.0))
    assert (sep.point, sep.high) == (1.0, 1.0) and sep.low == pytest.approx(a) and sep.pvalue == pytest.approx(2**-9)


def test_improvement_pairs_runs_by_seed_and_agrees_with_its_pvalue():
    # X beats Y by about 20 on every seed: pairing sees that X's good seeds are Y's good seeds too, so the paired
    # interval is far narrower than for the same scores paired at random (Y's seeds reversed).
    rng = np.random.default_rng(3)
    y = rng.uniform(50, 450, 16)
    x = y + 20 + rng.normal(0, 5, 16)
    paired, crossed = improvement(x, y), improvement(x, y[::-1])
    assert paired.point == crossed.point
    assert paired.low > 0.5 > crossed.low and paired.high - paired.low < 0.3 * (crossed.high - crossed.low)
    # The p-value is at most 0.05 exactly when the interval excludes 1/2, over many rows.
    xs, ys = rng.uniform(0, 500, (2, 400, 8))
    xs[:200] += 120
    r = improvement(np.minimum(xs, 500), ys)
    np.testing.assert_array_equal(r.pvalue <= 0.05, (r.low > 0.5) | (r.high < 0.5))
    with pytest.raises(ValueError, match="same seeds"):
        improvement(np.ones(3), np.ones(4))
    one = improvement(np.array([400.0, nan]), np.array([300.0, 200.0]))  # one seed with both: no interval
    assert one.point == 1.0 and np.isnan(one.low) and np.isnan(one.high) and np.isnan(one.pvalue)


def test_holm_and_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005, nan])
    # Holm at 0.05 over 4: 0.005 <= 0.0125, 0.01 <= 0.0167, then 0.03 > 0.025 stops.
    np.testing.assert_array_equal(holm(p), [True, False, False, True, False])
    # BH at 0.05: sorted 0.005, 0.01, 0.03, 0.04 against 0.0125, 0.025, 0.0375, 0.05: all four pass.
    np.testing.assert_array_equal(benjamini_hochberg(p), [True, True, True, True, False])
    np.testing.assert_array_equal(benjamini_hochberg(np.array([0.2, 0.03, 0.9])), [False, False, False])


def test_pooled_expanded_iqm_is_its_seed_bootstrap_by_brute_force():
    # Two strata (tasks) on 9 seeds, one run missing: replicate b draws the k = 9 seeds with a run, the j-th draw
    # the floor(u[b, j] k)-th of them, and pools both strata's runs on the drawn seeds; the ends are the
    # replicates' quantiles at the expanded levels of 9 seeds.
    rng = np.random.default_rng(3)
    groups = np.stack([rng.uniform(0, 1, 9), rng.uniform(0.5, 1.5, 9)])  # [T, S]
    groups[1, 4] = np.nan
    n_boot, seed = 400, 11
    u = np.random.default_rng(seed).random((n_boot, 9))
    reps = []
    for b in range(n_boot):
        drawn = np.minimum((u[b] * 9).astype(int), 8)
        runs = groups[:, drawn].ravel()
        reps.append(point.iqm(runs[~np.isnan(runs)][None])[0])
    level = bootstrap.expanded_level(np.array([9]), 0.95)[0]
    want = np.quantile(reps, [level, 1.0 - level])
    kw = dict(bounds=(0.0, 1.5), n_boot=n_boot, seed=seed)
    iv = intervals.pooled_interval(groups.T[None], "iqm", method="expanded", **kw)
    np.testing.assert_allclose([iv.low[0], iv.high[0]], want)
    # The same group beside others gets the same ends; the atom's interval is another (and wider here).
    batch = np.stack([groups.T, groups.T[::-1], groups.T * 0.5])
    again = intervals.pooled_interval(batch, "iqm", method="expanded", **kw)
    assert (again.low[0], again.high[0]) == (iv.low[0], iv.high[0])
    atom = intervals.pooled_interval(groups.T[None], "iqm", **kw)
    assert atom.high[0] - atom.low[0] > iv.high[0] - iv.low[0]


def test_pooled_expanded_keeps_the_atom_below_its_seed_count_for_the_mean_and_median_and_for_constant_tasks():
    x = np.random.default_rng(4).uniform(0, 500, (2, 12, 3))  # [G, S, T]
    few = x[:, : intervals.POOL_BOOTSTRAP_MIN_SEEDS - 1]
    stuck = x.copy()
    stuck[0, :, 1] = 0.0  # group 0: its second task stuck at one value on every seed
    stuck[1] = np.array([0.2, 0.5, 0.9])  # group 1: every task constant (every resample the same pool)
    at_cap = np.full((1, 8, 3), 500.0)  # every run at the top (8 seeds: the atom still allows for a failure)
    for scores, statistic in ((few, "iqm"), (x, "mean"), (x, "median"), (stuck, "iqm"), (at_cap, "iqm")):
        a = intervals.pooled_interval(scores, statistic, n_boot=300, seed=2)
        b = intervals.pooled_interval(scores, statistic, n_boot=300, seed=2, method="expanded")
        for u, v in zip(a, b, strict=True):
            np.testing.assert_array_equal(u, v)
    # Beside a bootstrapped group, a group kept on the atom gets the atom's ends all the same.
    mixed = intervals.pooled_interval(np.stack([x[0], stuck[0]]), "iqm", n_boot=300, seed=2, method="expanded")
    alone = intervals.pooled_interval(stuck[:1], "iqm", n_boot=300, seed=2)
    assert (mixed.low[1], mixed.high[1]) == (alone.low[0], alone.high[0])
    assert (mixed.low[0], mixed.high[0]) != (alone.low[0], alone.high[0])
    # Where every resample of seeds gives the same pool, the interval still has a width (the atom's).
    for scores in (stuck[1:], at_cap):
        iv = intervals.pooled_interval(scores, "iqm", n_boot=300, seed=2, method="expanded")
        assert np.all(iv.high - iv.low > 0.01 * np.ptp(scores, axis=(1, 2)).clip(1.0))
    with pytest.raises(ValueError, match="method must be atom or expanded"):
        intervals.pooled_interval(x, "iqm", method="bootstrap")
