"""Prioritized replay: the sum tree, sampling frequencies against priorities, importance weights, max priority for new
transitions, the trainer's priorities and importance exponent."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import (
    HParams,
    StaticConfig,
    Transition,
    hparams_as_arrays,
    importance_exponent,
    make_train,
    prioritized,
)
from core.rows import pack_transition
from core.train import Learner, Trainer


def _item(i):
    return {"x": jnp.float32(i)}


def _filled(capacity, n, branching=prioritized.BRANCHING):
    state = prioritized.init(capacity, _item(0), branching)
    return jax.lax.fori_loop(0, n, lambda i, s: prioritized.add(s, _item(i)), state) if n else state


def _tree_is_consistent(state):
    """Every node equals the sum of its children (as float32 sums of the stored children)."""
    k = state.tree[0].shape[0]
    for parent, children in zip(state.tree[:-1], state.tree[1:], strict=True):
        sums = np.asarray(children).reshape(-1, k).sum(axis=1, dtype=np.float32)
        np.testing.assert_allclose(np.asarray(parent)[: len(sums)], sums, rtol=1e-6)
        assert not np.any(np.asarray(parent)[len(sums) :])


@pytest.mark.parametrize(("capacity", "branching"), [(1, 16), (16, 16), (17, 16), (10_000, 16), (300, 2), (100, 3)])
def test_levels_cover_the_capacity(capacity, branching):
    sizes = prioritized.level_sizes(capacity, branching)
    assert sizes[0] == branching and sizes[-1] >= capacity
    assert all(s % branching == 0 for s in sizes)
    assert all(hi * branching >= lo for hi, lo in zip(sizes[:-1], sizes[1:], strict=False))  # room for every parent


def test_new_items_get_the_largest_priority_so_far():
    state = _filled(40, 5, branching=4)
    np.testing.assert_array_equal(np.asarray(prioritized.priorities(state))[:6], [1, 1, 1, 1, 1, 0])
    state = prioritized.set_priorities(state, jnp.array([0, 3]), jnp.array([0.25, 7.0]))
    state = prioritized.add(state, _item(5))  # slot 5 gets 7, the largest priority set so far
    np.testing.assert_array_equal(np.asarray(prioritized.priorities(state))[:7], [0.25, 1, 1, 7, 1, 7, 0])
    assert float(prioritized.total(state)) == pytest.approx(0.25 + 1 + 1 + 7 + 1 + 7)
    _tree_is_consistent(state)


def test_a_slot_drawn_twice_keeps_the_larger_priority_and_the_tree_stays_consistent():
    state = _filled(50, 50, branching=3)
    idx = jnp.array([4, 9, 4, 49, 9], jnp.int32)
    state = jax.jit(prioritized.set_priorities)(state, idx, jnp.array([2.0, 0.5, 3.0, 0.1, 0.25]))
    pri = np.asarray(prioritized.priorities(state))
    assert (pri[4], pri[9], pri[49]) == (3.0, 0.5, np.float32(0.1))
    _tree_is_consistent(state)


@pytest.mark.parametrize("branching", [2, 3, 16])
def test_sampling_frequencies_follow_the_priorities(branching):
    # 30 of 100 slots filled, with priorities 0 (never drawn) to 10; the 70 empty slots must never be drawn.
    priorities = np.asarray(jax.random.randint(jax.random.key(1), (30,), 0, 11), np.float32)
    state = _filled(100, 30, branching)
    state = prioritized.set_priorities(state, jnp.arange(30), jnp.asarray(priorities))
    draws, batch = 500, 64
    keys = jax.random.split(jax.random.key(0), draws)
    idx, probs = jax.jit(jax.vmap(lambda k: prioritized.sample_indices(state, k, batch)))(keys)
    counts = np.bincount(np.asarray(idx).ravel(), minlength=100)
    expected = priorities / priorities.sum() * draws * batch
    assert counts[30:].sum() == 0 and np.all(counts[:30][priorities == 0] == 0)
    drawn = priorities > 0
    chi2 = float(np.sum((counts[:30][drawn] - expected[drawn]) ** 2 / expected[drawn]))
    # The 99.9% quantile of chi-square with (number of drawable slots - 1) degrees of freedom: 27 slots here
    # give 26 degrees of freedom and a quantile of 54.05. Stratified draws vary less than independent ones, so a
    # correct sampler stays well below it; a sampler off by one slot or ignoring priorities is far above it.
    assert int(drawn.sum()) - 1 == 26
    assert chi2 < 54.05, chi2
    np.testing.assert_allclose(np.asarray(probs), priorities[np.asarray(idx)] / priorities.sum(), rtol=1e-5)


def test_vmapped_buffers_sample_their_own_priorities():
    # Two runs' buffers: run 0 puts all mass on slot 2, run 1 on slot 7.
    states = jax.vmap(lambda _: _filled(10, 10, branching=4))(jnp.arange(2))
    values = jnp.stack([jnp.zeros(10).at[2].set(1.0), jnp.zeros(10).at[7].set(5.0)])
    states = jax.vmap(prioritized.set_priorities)(states, jnp.tile(jnp.arange(10), (2, 1)), values)
    idx, probs = jax.jit(jax.vmap(lambda s, k: prioritized.sample_indices(s, k, 8)))(
        states, jax.random.split(jax.random.key(3), 2)
    )
    assert set(np.asarray(idx[0]).tolist()) == {2} and set(np.asarray(idx[1]).tolist()) == {7}
    np.testing.assert_array_equal(np.asarray(probs), 1.0)


def test_importance_weights_by_hand():
    probs = jnp.array([0.5, 0.25, 0.125])
    w = prioritized.importance_weights(probs, jnp.int32(8), jnp.float32(0.5))
    # (8 p)^-0.5 = [1/2, 1/sqrt(2), 1], divided by the largest, 1.
    np.testing.assert_allclose(np.asarray(w), [0.5, 2**-0.5, 1.0], rtol=1e-6)
    uniform = prioritized.importance_weights(jnp.full((4,), 0.25), jnp.int32(4), jnp.float32(1.0))
    np.testing.assert_allclose(np.asarray(uniform), 1.0)


def test_importance_exponent_rises_linearly_to_one():
    hp = hparams_as_arrays(HParams(per_beta=0.4))
    static = StaticConfig(total_steps=1000, eval_every=100, per=True)
    values = [float(importance_exponent(jnp.int32(t), hp, static)) for t in (0, 250, 1000, 2000)]
    np.testing.assert_allclose(values, [0.4, 0.55, 1.0, 1.0], rtol=1e-6)


def _fixed_q_trainer(static, q_values):
    """A trainer whose 'network' reads Q-values from its params by observation id (obs[0])."""

    def apply(params, obs):
        return params["q"][obs[..., 0].astype(jnp.int32)]

    trainer = make_train(static)
    net = hk.Transformed(init=lambda *_: {"q": jnp.asarray(q_values, jnp.float32)}, apply=apply)
    return Trainer(static=trainer.static, env_params=trainer.env_params, network=net)


def test_the_trainer_sets_priorities_from_td_errors():
    # Slot 0: obs 0 -> obs 1, action 1, reward 1, not terminal. Q(0) = [1, 3], Q(1) = [2, 5]; gamma 0.9:
    # TD error 1 + 0.9 * 5 - 3 = 2.5, priority (2.5 + 0.01) ^ 0.5. Slot 1: terminal, TD error 1 - 3 = -2.
    static = StaticConfig(total_steps=10, buffer_capacity=4, batch_size=4, eval_every=10, per=True)
    trainer = _fixed_q_trainer(static, [[1.0, 3.0], [2.0, 5.0]])
    hp = hparams_as_arrays(HParams(gamma=0.9, per_alpha=0.5, per_eps=0.01))
    state = trainer.init(jax.random.key(0), hp)
    o0, o1 = jnp.array([0.0, 0, 0, 0]), jnp.array([1.0, 0, 0, 0])
    buf = state.buffer
    for term in (0.0, 1.0):
        buf = prioritized.add(buf, pack_transition(Transition(o0, jnp.int32(1), jnp.float32(1), jnp.float32(term), o1)))
    learner, new = jax.jit(trainer.learn_and_prioritize)(Learner.of(state), buf, hp, jax.random.key(1), state.step)
    by_slot = dict(zip(np.asarray(new.idx).tolist(), np.asarray(new.priorities).tolist(), strict=True))
    assert set(by_slot) == {0, 1}
    assert by_slot[0] == pytest.approx((2.5 + 0.01) ** 0.5, rel=1e-6)
    assert by_slot[1] == pytest.approx((2.0 + 0.01) ** 0.5, rel=1e-6)
    assert int(learner.update_count) == 1


def test_a_prioritized_run_writes_its_priorities_and_stays_finite():
    static = StaticConfig(
        total_steps=600, buffer_capacity=200, batch_size=16, hidden_sizes=(16,), learning_starts=50,
        eval_every=600, eval_episodes=1, per=True,
    )  # fmt: skip
    train = make_train(static)
    state, _ = jax.jit(train.run, static_argnums=1)(train.init(jax.random.key(0), HParams()), 600)
    pri = np.asarray(prioritized.priorities(state.buffer))
    assert np.all(pri > 0) and len(np.unique(pri)) > 100  # TD-error priorities, not the initial 1s
    assert float(state.buffer.max_priority) >= pri.max()  # the largest priority ever set, not only current ones
    _tree_is_consistent(state.buffer)
    assert not bool(state.diverged)


def test_a_bulk_write_with_repeated_slots_keeps_the_larger_priorities():
    # More than 1,024 writes take the sorting path; slot 7 is written three times, slot 2000 twice.
    state = _filled(3000, 3000)
    idx = jnp.concatenate([jnp.arange(3000), jnp.array([7, 7, 2000])])
    values = jnp.concatenate([jnp.full((3000,), 0.5), jnp.array([4.0, 2.0, 0.25])])
    state = jax.jit(prioritized.set_priorities)(state, idx, values)
    pri = np.asarray(prioritized.priorities(state))
    assert pri[7] == 4.0 and pri[2000] == 0.5 and pri[0] == 0.5 and np.sum(pri == 0.5) == 2999
    _tree_is_consistent(state)
