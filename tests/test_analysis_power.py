"""The power study (``analysis.stats.power``): its reference tests against scipy on hand-made rows, the
corrections for many comparisons on a hand-checked row, and small runs of the study with loose bounds."""

from math import comb

import numpy as np
import pytest
from scipy import stats as sps

from analysis.stats import compared, frontier, multiple, power
from analysis.stats import references as refs
from analysis.stats.coverage import frontier_pairs
from analysis.stats.improvement import benjamini_hochberg, holm
from analysis.stats.populations import draw as coverage_draw

RNG = np.random.default_rng(0)
# Hand-made rows: rounded returns (ties within and across configs), a continuous pair, a shifted pair.
TIED = np.round(RNG.normal(250, 100, (6, 9)), -2), np.round(RNG.normal(300, 100, (6, 9)), -2)
CONTINUOUS = RNG.normal(0, 1, (6, 10)), RNG.normal(0.8, 1, (6, 10))


@pytest.mark.parametrize("rows", [TIED, CONTINUOUS], ids=["ties", "continuous"])
def test_mann_whitney_is_scipys_normal_approximation(rows):
    x, y = rows
    expected = sps.mannwhitneyu(x, y, axis=-1, method="asymptotic").pvalue
    np.testing.assert_allclose(refs.mann_whitney_p(x, y), expected, rtol=1e-12)


def test_mann_whitney_of_all_tied_runs_is_one():
    assert refs.mann_whitney_p(np.full((1, 5), 500.0), np.full((1, 5), 500.0))[0] == 1.0


def test_wilcoxon_is_scipys_exact_test_without_ties_or_zeros():
    x, y = CONTINUOUS
    expected = sps.wilcoxon(x, y, axis=-1, method="exact").pvalue
    np.testing.assert_allclose(refs.wilcoxon_p(x, y, RNG), expected, rtol=1e-12)


def test_wilcoxon_above_the_exact_limit_uses_random_flips_close_to_the_exact_value():
    x, y = RNG.normal(0, 1, (4, 16)), RNG.normal(0.4, 1, (4, 16))
    expected = sps.wilcoxon(x, y, axis=-1, method="exact").pvalue
    np.testing.assert_allclose(refs.wilcoxon_p(x, y, RNG), expected, atol=0.035)  # 2,000 flips: SE <= 0.011


def test_wilcoxon_with_pratt_zeros_by_hand():
    # Differences 0, 1, -2, 3: |d| ranks 1, 2, 3, 4 (the zero ranked, then signed 0): T = 2 - 3 + 4 = 3. Of the 16
    # sign flips of (0, 2, 3, 4), those with |sum| >= 3: sums over +-2 +-3 +-4 (doubled for the zero's sign),
    # |2 + 3 + 4| = 9, |2 - 3 + 4| = 3, |-2 + 3 + 4| = 5, |2 + 3 - 4| = 1 and their negatives: 6 of 8.
    x, y = np.array([[5.0, 6.0, 3.0, 8.0]]), np.array([[5.0, 5.0, 5.0, 5.0]])
    assert refs.wilcoxon_p(x, y, RNG)[0] == pytest.approx(6 / 8)


def test_paired_permutation_is_scipys_exact_permutation_test():
    x, y = RNG.normal(0, 1, 7), RNG.normal(0.5, 1, 7)
    exact = sps.permutation_test(
        (x, y), lambda a, b: np.mean(a - b), permutation_type="samples", n_resamples=np.inf
    ).pvalue
    assert refs.paired_permutation_p(x[None], y[None], RNG)[0] == pytest.approx(exact)


@pytest.mark.parametrize("rows", [TIED, CONTINUOUS], ids=["ties", "continuous"])
def test_brunner_munzel_is_scipys(rows):
    x, y = rows
    np.testing.assert_allclose(refs.brunner_munzel_p(x, y), sps.brunnermunzel(x, y, axis=-1).pvalue, rtol=1e-9)


def test_brunner_munzel_without_variance_gets_the_permutation_p_value():
    # scipy leaves these undefined (NaN): complete separation is the most extreme of C(10, 5) arrangements.
    x, y = np.arange(5.0)[None], np.arange(5.0)[None] + 10
    assert refs.brunner_munzel_p(x, y)[0] == pytest.approx(2 / comb(10, 5))
    assert refs.brunner_munzel_p(np.full((1, 5), 500.0), np.full((1, 5), 500.0))[0] == 1.0


def test_rliable_bootstrap_separates_separated_runs_and_holds_half_for_equal_ones():
    x = np.array([[400.0, 410, 420, 430, 440, 450], [1, 2, 3, 4, 5, 6]])
    low, high = refs.percentile_bootstrap(x, np.array([[1.0, 2, 3, 4, 5, 6]] * 2), n_boot=500, rng=RNG)
    assert low[0] == high[0] == 1.0  # every resample of X beats every resample of Y
    assert low[1] < 0.5 < high[1]


def test_reference_tests_refuse_missing_seeds():
    with pytest.raises(ValueError, match="no missing seeds"):
        refs.mann_whitney_p(np.array([[1.0, np.nan]]), np.array([[1.0, 2.0]]))


def test_holm_and_benjamini_hochberg_on_a_hand_checked_row():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2])
    # Holm: 0.005 <= 0.05/5, 0.01 <= 0.05/4, then 0.03 > 0.05/3 stops. BH: the largest k with p_(k) <= 0.01 k is 4.
    assert holm(p, 0.05).tolist() == [True, False, False, True, False]
    assert benjamini_hochberg(p, 0.05).tolist() == [True, True, True, True, False]


def test_valid_references_and_power_ratios_from_hand_made_rows():
    def row(pair, kind, seeds, method, reject):
        return dict(pair=pair, rho=0.5, kind=kind, truth=0.6, seeds=seeds, method=method, reject=reject)

    rows = [row("null", "null", 8, m, 0.05) for m in (power.PACKAGE, *power.REFERENCES)]
    rows[1]["reject"] = 0.2  # Mann-Whitney U too liberal on a null: not a valid reference
    rates = (0.4, 0.9, 0.5, 0.8, 0.6, 0.3)  # the package, then each reference
    rows += [row("alt", "alt", 8, m, r) for m, r in zip((power.PACKAGE, *power.REFERENCES), rates, strict=True)]
    assert power.valid_references(rows, reps=1000) == list(power.REFERENCES[1:])
    (ratio,) = power.power_ratios(rows, reps=1000)
    assert ratio["best"] == "paired permutation (mean)" and ratio["best_ratio"] == pytest.approx(0.4 / 0.8)
    assert ratio["best_pxy"] == "Brunner-Munzel" and ratio["best_pxy_ratio"] == pytest.approx(0.4 / 0.6)


def test_size_adjusted_tests_hold_every_null_of_p_one_half():
    # Brunner-Munzel rejects 9% of a "P = 1/2, unequal" null at 5% (an exchangeable null 4%): at the largest
    # level where every null, both kinds, stays within the validity limit (0.064 at 1,000 sweeps) it rejects the
    # alternative 30% of the time, and the package's ratio is over that.
    levels = power.LEVELS

    def curve(at_alpha):  # a rejection curve rising linearly to its value at 5%
        return tuple(float(v) for v in at_alpha * levels / power.ALPHA)

    def row(pair, kind, method, at_alpha):
        return dict(pair=pair, rho=0.5, kind=kind, truth=0.6, seeds=8, method=method, reject=at_alpha,
                    reject_at=curve(at_alpha))  # fmt: skip

    rows = [row("null", "null", "Brunner-Munzel", 0.04), row("half", "half", "Brunner-Munzel", 0.09),
            row("alt", "alt", "Brunner-Munzel", 0.42), row("null", "null", "Mann-Whitney U", 0.03),
            row("half", "half", "Mann-Whitney U", 0.03), row("alt", "alt", "Mann-Whitney U", 0.25)]  # fmt: skip
    rows += [dict(pair="alt", rho=0.5, kind="alt", truth=0.6, seeds=8, method=power.PACKAGE, reject=0.27)]
    found = power.size_adjusted(rows, reps=1000)
    limit = power.ALPHA + 2 * np.sqrt(power.ALPHA * (1 - power.ALPHA) / 1000)
    level, rates = found["Brunner-Munzel", 8]
    i = int(np.flatnonzero(levels == level)[0])
    assert 0.09 * level / power.ALPHA <= limit < 0.09 * levels[i + 1] / power.ALPHA  # the largest such level
    assert rates["alt", 0.5] == pytest.approx(0.42 * level / power.ALPHA)
    assert found["Mann-Whitney U", 8][0] == power.ALPHA  # already valid on both nulls: unchanged
    (ratio,) = power.power_ratios(rows, reps=1000)
    assert ratio["adjusted"] == "Brunner-Munzel"
    assert ratio["adjusted_ratio"] == pytest.approx(0.27 / (0.42 * level / power.ALPHA))


@pytest.fixture(scope="module")
def small_power():
    issue, null = power.PAIRS[1], power.PAIRS[11]  # 75% vs 12% at 500, rho 0.5; both 60% at 500, rho 0.5
    assert issue.kind == "alt" and "12%" in issue.label and null.kind == "null" and null.rho == 0.5
    return power.power_study(reps=300, seed_counts=(8, 16), n_boot=300, seed=1, pairs=(issue, null))


def test_small_power_study_rejects_the_issues_pair_and_holds_the_null(small_power):
    rate = {(r["kind"], r["seeds"], r["method"]): r for r in small_power}
    # The issue's rows: 75% of seeds at 500 against 12% is clear at 16 seeds in most sweeps (measured: 0.9).
    assert rate["alt", 16, power.PACKAGE]["reject"] > 0.5
    assert rate["alt", 16, power.PACKAGE]["reject"] > rate["alt", 8, power.PACKAGE]["reject"]
    for n in (8, 16):
        assert rate["null", n, power.PACKAGE]["reject"] <= 0.10
        assert rate["null", n, "Mann-Whitney U"]["reject"] <= 0.10
        for kind in ("alt", "null"):
            assert rate[kind, n, power.PACKAGE]["coverage"] >= 0.9
    # The candidates, measured beside the package's at 8 and 16 seeds: without the arcsine transform the interval
    # reaches less far towards 1/2, so it rejects the issue's pair at least as often; on the null all cover.
    plain, permutation, before, boot_t, bca = power.CANDIDATES
    for n in (8, 16):
        assert rate["alt", n, plain]["reject"] >= rate["alt", n, power.PACKAGE]["reject"]
        # The package's interval is the paired one or a shorter one around the same centre (arcsine scale):
        # nested in it, so it rejects at least as often, and at rho 0.5 the unpaired variance is seldom shorter.
        assert rate["alt", n, power.PACKAGE]["reject"] >= rate["alt", n, before]["reject"]
        for m in (plain, permutation, before, boot_t):
            assert rate["null", n, m]["coverage"] >= 0.9 and rate["null", n, m]["reject"] <= 0.10
        assert rate["null", n, bca]["coverage"] >= 0.85
    text = power.power_tables(small_power, reps=300)
    assert "Valid references" in text
    assert "| Munzel studentised permutation | 16 |" in text and "| bootstrap-t (arcsine) | 8 |" in text
    assert "Size-adjusted tests of P(X > Y) = 1/2" in text
    assert "| 75% at 500 + U(150, 450) vs 12% at 500 + U(200, 450), rho 0.5 | 16 |" in text


def test_frontier_reproduces_the_power_study_and_its_narrower_intervals_reject_more(small_power):
    issue, null = power.PAIRS[1], power.PAIRS[11]
    rows = frontier.frontier_study(reps=300, pairs=(issue, null), seed_counts=(8, 16), seed=1)
    mine = {(r["kind"], r["seeds"], r["method"]): r for r in rows}
    theirs = {(r["kind"], r["seeds"], r["method"]): r for r in small_power}
    plain = power.CANDIDATES[0]
    for kind in ("alt", "null"):
        for n in (8, 16):
            # The same draws as the power study's cells: its package, plain-t and test rows to the last digit.
            for member, method in ((("kappa", 1.0), power.PACKAGE), (("lambda", 0.0), plain)):
                assert mine[kind, n, member]["reject"] == theirs[kind, n, method]["reject"]
                assert mine[kind, n, member]["coverage"] == theirs[kind, n, method]["coverage"]
            for test in frontier.TESTS:
                assert mine[kind, n, test]["reject"] == theirs[kind, n, test]["reject"]
            # A smaller t multiplier gives an interval nested in the larger one's: it rejects at least as often.
            rates = [mine[kind, n, ("kappa", k)]["reject"] for k in sorted(frontier.KAPPAS)]
            assert rates == sorted(rates, reverse=True)
    assert mine["alt", 8, ("kappa", 0.8)]["reject"] > mine["alt", 8, ("kappa", 1.0)]["reject"]
    found = {(m["family"], m["value"]): m for m in frontier.choice(rows, reps=300)}
    package = found["kappa", 1.0]
    assert package["coverage"][8][0] == min(mine[k, 8, ("kappa", 1.0)]["coverage"] for k in ("alt", "null"))
    # One alternative: the ratio is the package's rate over the better of Mann-Whitney and Brunner-Munzel.
    best = max(mine["alt", 16, t]["reject"] for t in frontier.TESTS)
    assert package["ratio"][16][0] == pytest.approx(mine["alt", 16, ("kappa", 1.0)]["reject"] / best)
    assert package["meets"] == (
        min(package["coverage"][n][0] for n in (8, 16)) >= power.TARGET
        and min(package["ratio"][n][0] for n in (8, 16)) >= frontier.POWER_TARGET
    )
    assert package["meets_adjusted"] == (
        min(package["coverage"][n][0] for n in (8, 16)) >= power.TARGET
        and min(package["adjusted"][n][0] for n in (8, 16)) >= frontier.POWER_TARGET
    )
    # Size-adjusted levels are at most 5%: with both tests valid here, never a stronger reference than the raw.
    assert all(package["adjusted"][n][0] >= package["ratio"][n][0] - 1e-12 for n in (8, 16))
    text = frontier.frontier_table(rows, reps=300)
    assert "| package (Munzel, arcsine scale) | " in text and "| package, t multiplier x 0.9 | " in text


def test_many_comparisons_show_the_corrections_at_work():
    rows = multiple.multi_study(reps=300, seed_counts=(16,), seed=2)
    a = {r["rule"]: r for r in rows if r["design"] == "vs reference"}
    b = {r["rule"]: r for r in rows if r["design"] == "best vs others"}
    # Against a fixed reference: 7 true nulls, so per-comparison decisions err somewhere in many tables; Holm
    # holds the family-wise error at 5%, Benjamini-Hochberg finds more of the worse configs than Holm.
    assert a["per comparison"]["fwer"] > 0.1 and a["Holm"]["fwer"] <= 0.05
    assert a["Benjamini-Hochberg"]["power"] >= a["Holm"]["power"] > 0.05
    assert a["per comparison"]["power"] > a["Benjamini-Hochberg"]["power"]
    # The best of 16 equal configs against the rest: most per-comparison tables mark some config clearly worse.
    assert b["per comparison"]["any_false"] > 0.4 and b["Holm"]["any_false"] < 0.1
    assert b["Bonferroni over all 120 pairs"]["any_false"] <= b["Holm"]["any_false"]
    assert "| 16 | Holm |" in multiple.multi_tables(rows, reps=300)


def test_the_candidate_intervals_are_their_definitions_by_brute_force():
    # One tied row of 7 pairs: Munzel's estimate and standard error from the wins matrix directly; the plain t
    # interval p -+ t se, and the permutation one p -+ q se with q over all 2^7 swaps within pairs.
    rng = np.random.default_rng(5)
    x, y = np.round(rng.normal(300, 100, 7), -1), np.round(rng.normal(250, 100, 7), -1)

    def munzel(a, b):
        w = (a[:, None] > b[None, :]) + 0.5 * (a[:, None] == b[None, :])
        z = w.mean(axis=1) - (1.0 - w.mean(axis=0))  # x_i's placement among the y's less y_i's among the x's
        return w.mean(), np.sqrt(z.var(ddof=1) / a.size)

    p, se = munzel(x, y)
    t = sps.t.ppf(0.975, 6)
    low, high = compared.plain_munzel(x[None], y[None])
    assert np.allclose([low[0], high[0]], [max(p - t * se, 0.0), min(p + t * se, 1.0)])
    stats = []
    for bits in range(2**7):
        swap = ((bits >> np.arange(7)) & 1).astype(bool)
        ps, ss = munzel(np.where(swap, y, x), np.where(swap, x, y))
        stats.append(abs(ps - 0.5) / ss if ss > 0 else (np.inf if ps != 0.5 else 0.0))
    q = np.quantile(stats, 0.95, method="higher")
    low, high = compared.permutation_munzel(x[None], y[None], np.random.default_rng(0))
    assert np.allclose([low[0], high[0]], [max(p - q * se, 0.0), min(p + q * se, 1.0)])
    assert q != t  # the permutation's own critical value, not the t one


def test_the_permutation_candidate_is_exact_where_the_pairs_are_exchangeable():
    # Continuous runs, the two configs of a seed exchangeable: within-pair swaps leave the law unchanged, so the
    # permutation interval excludes 1/2 in 5% of sweeps up to the swaps' discreteness (600 sweeps: SE 0.009).
    rng = np.random.default_rng(7)
    z = rng.normal(size=(600, 8))
    x, y = z + rng.normal(size=(600, 8)), z + rng.normal(size=(600, 8))
    low, high = compared.permutation_munzel(x, y, rng)
    assert 0.02 <= np.mean((low > 0.5) | (high < 0.5)) <= 0.08


def test_negative_correlation_costs_the_unpaired_variance_coverage():
    # draw's negative rho: the second config's normal scores take -sqrt(-rho) z (correlation about rho).
    rng = np.random.default_rng(4)
    x, y = coverage_draw([lambda u: u, lambda u: u], -0.6, 1, 20_000, rng)[:, 0]
    assert np.corrcoef(sps.norm.ppf(x), sps.norm.ppf(y))[0, 1] == pytest.approx(-0.6, abs=0.02)
    with pytest.raises(ValueError, match="exactly two"):
        coverage_draw([lambda u: u] * 3, -0.3, 1, 4, rng)
    # Beta against clipped normal at rho -0.6, 16 seeds: the pairing's covariance is negative, the unpaired
    # variance leaves it out, so the package's interval (which takes that variance where shorter) covers less than
    # the paired one alone (measured at 1,000 sweeps: 0.870 against 0.921), and both less than at rho 0.5.
    pair = next(p for p in frontier_pairs() if p.label.startswith("500 x Beta(5, 1.5) vs N(250, 100)"))
    rows = power.negative_study(reps=400, pairs=(pair,), seed_counts=(16,), seed=3)
    cov = {(r["rho"], r["method"]): r["coverage"] for r in rows}
    before = power.CANDIDATES[2]
    assert cov[-0.6, power.PACKAGE] < cov[-0.6, before] - 0.02
    assert cov[-0.6, power.PACKAGE] < 0.93
    assert "| -0.6 | 16 |" in power.negative_table(rows, reps=400)
