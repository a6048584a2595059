"""``analysis.stats.seeds``: how many seeds would make two configs' difference clear, on hand-reasoned cases (no
JAX)."""

import numpy as np
import pytest

from analysis.stats import seeds

nan = np.nan


def test_configs_that_never_tie_need_about_eight_seeds():
    # X always 500, Y always 10: every simulated sweep of n seeds is a complete separation, whose interval's
    # lower end is 0.025 ** (1 / n) (n wins in n, Clopper-Pearson). That exceeds 0.5 from n = 6 (n = 5: 0.48),
    # and 6 is a seed count tried.
    res = seeds.seeds_to_separate(np.full(12, 500.0), np.full(12, 10.0))
    assert res.seeds == 6 and res.p == 1.0 and res.n_pairs == 12 and res.clear_now == 1.0
    assert "clear at 95% with these 12 seeds" in seeds.sentence(res, clear=True)


def test_a_smaller_difference_needs_more_seeds():
    rng = np.random.default_rng(0)
    y, noise = rng.uniform(100, 500, 16), rng.normal(0, 80, 16)  # X = Y + a gain + noise, seed for seed
    big = seeds.seeds_to_separate(np.clip(y + 150 + noise, 0, 500), y)
    small = seeds.seeds_to_separate(np.clip(y + 30 + noise, 0, 500), y)
    assert big.seeds is not None and small.seeds is not None and big.seeds < small.seeds
    text = seeds.sentence(small, clear=False)
    assert text.startswith(f"About {small.seeds} seeds per config would make the difference clear at 95%")


def test_no_difference_or_too_few_pairs_gives_no_number():
    same = seeds.seeds_to_separate(np.full(8, 500.0), np.full(8, 500.0))
    assert same.seeds is None and same.p == 0.5
    assert "show no difference at all" in seeds.sentence(same, clear=False)
    # Only seed 0 has both returns (NaN = missing): no estimate.
    few = seeds.seeds_to_separate(np.array([500.0, nan, 300.0]), np.array([100.0, 200.0, nan]))
    assert few.seeds is None and few.n_pairs == 1
    assert seeds.sentence(few, clear=False).startswith("Too few seeds")


def test_alike_configs_need_more_than_the_largest_count_tried():
    # Two draws from one uniform population: P = 0.505. Telling 0.505 from 0.5 needs P's standard error, about
    # 0.41 / sqrt(n) for such scores, under 0.0025: n > 25,000 seeds, far beyond the largest count tried.
    x, y = np.random.default_rng(5).uniform(0, 500, (2, 32))
    res = seeds.seeds_to_separate(x, y, n_sims=50)
    assert res.p == pytest.approx(0.5049, abs=1e-4) and res.seeds is None
    assert seeds.sentence(res, clear=False).startswith(f"Even {seeds.MAX_SEEDS:,} seeds per config")


def test_the_answer_is_seeded_and_checks_its_input():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(200, 500, 10), rng.uniform(100, 450, 10)
    assert seeds.seeds_to_separate(x, y) == seeds.seeds_to_separate(x, y)
    with pytest.raises(ValueError, match="one shape"):
        seeds.seeds_to_separate(np.ones(3), np.ones(4))
