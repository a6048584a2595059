"""The prioritized-replay benchmark (``python -m sweep.bench.replay``): its cumulative-sum baseline draws what the
sum tree draws, and a tiny measurement has the shape the table and BENCHMARKS.md read."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import prioritized
from sweep.bench import replay


def test_the_cumsum_baseline_draws_the_slots_the_sum_tree_draws():
    state = prioritized.init(300, {"x": jnp.zeros(())})
    for i in range(200):
        state = prioritized.add(state, {"x": jnp.float32(i)})
    values = jax.random.uniform(jax.random.key(5), (200,)) + 0.1
    state = prioritized.set_priorities(state, jnp.arange(200), values)
    for seed in range(5):
        key = jax.random.key(seed)
        tree_idx, _ = prioritized.sample_indices(state, key, 64)
        flat_idx = replay.cumsum_sample(prioritized.priorities(state), key, 64, state.ring.size)
        # The same stratified draws: only a draw within rounding of a boundary may land one slot over.
        assert np.mean(np.asarray(tree_idx) == np.asarray(flat_idx)) >= 0.95
        assert np.all(np.abs(np.asarray(tree_idx) - np.asarray(flat_idx)) <= 1)


def test_a_tiny_sampler_measurement():
    out = replay.measure_samplers(64, ["sum tree k=4", "cumsum"], n_runs=2, steps=32, repeats=1)
    assert out["capacity"] == 64 and list(out["samplers"]) == ["sum tree k=4", "cumsum"]
    assert all(e["us_per_step"] > 0 for e in out["samplers"].values())
    assert out["samplers"]["sum tree k=4"]["vs_first"] == 1.0
    with pytest.raises(ValueError, match="unknown sampler"):
        replay.measure_samplers(64, ["bogus"], n_runs=1, steps=8, repeats=1)
