"""``python -m analysis coverage``: its true values by hand, and a small run of the study with loose bounds."""

import numpy as np
import pytest

from analysis.stats import coverage, intervals

P = coverage.POPULATIONS


def test_true_values_hand_computed():
    # 80% at 500, 20% U(100, 400): mean 0.8 * 500 + 0.2 * 250 = 450; IQM and median 500 (the top 80% is 500).
    cap80 = P["80% at 500, 20% U(100, 400)"]
    assert coverage.true_value(cap80, "mean") == pytest.approx(450.0)
    assert coverage.true_value(cap80, "iqm") == pytest.approx(500.0)
    assert coverage.true_value(cap80, "shortfall") == pytest.approx(0.2 * (475 - 250))
    # 70% at 500, 10% U(9, 30), 20% U(150, 450): Q rises from 375 to 450 over [0.25, 0.3], then 500, so the IQM
    # is 2 * (0.05 * 412.5 + 0.45 * 500) = 491.25.
    assert coverage.true_value(P["70% at 500, 10% U(9, 30), 20% U(150, 450)"], "iqm") == pytest.approx(491.25)
    assert coverage.true_value(cap80, "475.0") == pytest.approx(0.8)
    # All at 500 against 95% at 500: a tie 95% of the time (1/2 each), a win otherwise: 0.95 / 2 + 0.05.
    p = coverage.true_improvement(P["all at 500"], P["95% at 500, 5% U(9, 30)"])
    assert p == pytest.approx(0.525)


def test_draws_are_correlated_within_a_seed_as_asked():
    rng = np.random.default_rng(0)
    q = P["N(250, 100) clipped to [0, 500]"]
    x, y = coverage.draw([q, q], 0.9, 1, 4000, rng)[:, 0]
    assert np.corrcoef(x, y)[0, 1] > 0.85
    x, y = coverage.draw([q, q], 0.0, 1, 4000, rng)[:, 0]
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.06


@pytest.fixture(scope="module")
def small_study():
    return coverage.study(reps=120, seed_counts=[10], n_boot=500, seed=1)


def test_small_study_meets_the_target_loosely_where_the_percentile_bootstrap_does_not(small_study):
    mine = [r for r in small_study if r["method"] == "package"]
    # 120 sweeps per cell: a true 95% coverage reads below 0.87 with probability under 0.1%.
    assert min(r["coverage"] for r in mine) >= 0.87
    assert min(r["coverage"] for r in mine) >= intervals.MEASURED_MIN_COVERAGE[10] - 0.08
    statistics = {r["statistic"] for r in mine}
    assert statistics == {*coverage.STATISTICS, *coverage.SHARES, coverage.CURVE, "P(X > Y)", "pooled IQM"}
    # Rare collapses (5% of seeds): most 10-seed sweeps have none, and a percentile bootstrap then gives
    # [500, 500] for a mean of 476 (the package's interval reaches down to what unseen seeds could do).
    old = next(
        r
        for r in small_study
        if (r["statistic"], r["population"], r["method"]) == ("mean", "95% at 500, 5% U(9, 30)", "percentile")
    )
    assert old["coverage"] < 0.6
    text = coverage.tables(small_study)
    assert "| **any interval printed** |" in text and "| 95% at 500, 5% U(9, 30) | percentile |" in text


def test_command_line_rejects_bad_arguments_in_one_line(capsys):
    assert coverage.main(["--reps", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m analysis coverage: error: --reps") and err.count("\n") == 1
    assert coverage.main(["--seeds", "1", "5"]) == 2
    assert "seed counts of 2 or more" in capsys.readouterr().err


def test_seed_count_check_reports_guesses_and_the_true_share_at_each_count():
    text = coverage.seed_count_check(draws=2, n=8, reps=30, seed=2)
    assert text.startswith("\nSeed counts guessed from 8 seeds")
    rows = [line for line in text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    shares = {int(r.split("|")[1]): float(r.split("|")[2]) for r in rows}
    assert min(shares) == 36 and max(shares) == 172
    assert shares[172] > shares[36]  # P(X > Y) = 0.6: 172 seeds nearly always tell, 36 seldom


def test_auc_intervals_cover_auc_shaped_populations_loosely():
    rows = coverage.auc_check(reps=100, seed_counts=(10,))
    assert len(rows) == 3 * len(coverage.AUC_POPULATIONS)
    assert min(r["coverage"] for r in rows) >= 0.88, rows  # nominal 95%; the full check measures 0.96 or more
    assert all(0 < r["width"] < 1 for r in rows)
    table = coverage.auc_table(rows)
    assert "| 30% at 1, 70% U(0.5, 1) | iqm |" in table and "10 seeds" in table
