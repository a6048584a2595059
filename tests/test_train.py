"""The training function: reproducibility (vmapped == alone, chunked == one-shot), bookkeeping, DQN pieces."""

import functools

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rlax

from core import (
    HParams,
    StaticConfig,
    Transition,
    epsilon,
    hparams_as_arrays,
    make_network,
    make_train,
    target_update,
    td_loss,
)

SMALL = StaticConfig(
    total_steps=1200,
    buffer_capacity=300,
    batch_size=16,
    hidden_sizes=(16, 16),
    learning_starts=100,
    train_every=2,
    eval_every=400,
    eval_episodes=2,
)
HPS = [
    HParams(),
    HParams(lr=3e-3, gamma=0.9, target_period=7),
    HParams(eps_end=0.2, tau=0.1, target_period=1),
]


def _stack(hps):
    return jax.tree.map(lambda *x: jnp.stack(x), *[hparams_as_arrays(h) for h in hps])


def _assert_trees_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@functools.cache
def _trainer():
    return make_train(SMALL)


@functools.cache
def _single():
    return jax.jit(_trainer())


def test_vmapped_runs_equal_runs_alone_bitwise():
    train = _trainer()
    keys = jax.random.split(jax.random.key(42), len(HPS))
    batched = jax.jit(jax.vmap(train))(keys, _stack(HPS))
    for i, hp in enumerate(HPS):
        alone = _single()(keys[i], hp)
        _assert_trees_equal(jax.tree.map(lambda x, i=i: x[i], batched), alone)


def test_engine_vmap_with_a_shared_step_counter_equals_runs_alone():
    # The sweep engine keeps the step counter unbatched so schedule predicates stay branches.
    train = _trainer()
    keys = jax.random.split(jax.random.key(42), len(HPS))
    axes = train.state_axes()
    states = jax.jit(jax.vmap(train.init, out_axes=axes))(keys, _stack(HPS))
    assert states.step.shape == ()
    run = jax.jit(jax.vmap(lambda s: train.run(s, SMALL.total_steps), in_axes=(axes,), out_axes=(axes, 0)))
    final, outputs = run(states)
    assert int(final.step) == SMALL.total_steps
    for i, hp in enumerate(HPS):
        _assert_trees_equal(jax.tree.map(lambda x, i=i: x[i], outputs), _single()(keys[i], hp))


def test_chunked_equals_one_shot_bitwise():
    train = _trainer()
    key, hp = jax.random.key(5), HPS[1]
    run = jax.jit(train.run, static_argnums=1)
    one_state, one_out = run(train.init(key, hp), SMALL.total_steps)
    state, chunks = train.init(key, hp), []
    for n in (150, 250, 401, 399):  # uneven chunks straddling learning_starts and evaluations
        state, out = run(state, n)
        chunks.append(out)
    _assert_trees_equal(jax.tree.map(lambda *x: jnp.concatenate(x), *chunks), one_out)
    _assert_trees_equal(state, one_state)


def test_outputs_depend_on_the_key():
    a = _single()(jax.random.key(1), HPS[0])
    b = _single()(jax.random.key(2), HPS[0])
    assert not np.array_equal(np.asarray(a.episode_done), np.asarray(b.episode_done))
    _assert_trees_equal(a, _single()(jax.random.key(1), HPS[0]))


def test_episode_and_evaluation_bookkeeping():
    train = _trainer()
    state, out = jax.jit(train.run, static_argnums=1)(train.init(jax.random.key(3), HPS[0]), SMALL.total_steps)
    out = jax.device_get(out)
    done = np.flatnonzero(out.episode_done)  # the steps at which an episode ended
    eps = {"episode_return": out.episode_return[done], "episode_length": out.episode_length[done], "end_step": done + 1}
    # Every env step belongs to exactly one episode: completed ones plus the one in progress.
    assert eps["episode_length"].sum() + int(state.episode_length) == SMALL.total_steps
    np.testing.assert_array_equal(eps["episode_return"], eps["episode_length"].astype(np.float32))
    np.testing.assert_array_equal(np.diff(np.concatenate([[0], eps["end_step"]])), eps["episode_length"])
    assert len(eps["end_step"]) > 10
    # Evaluations after 400, 800 and 1200 env steps, with returns a CartPole policy can get.
    np.testing.assert_array_equal(np.flatnonzero(out.eval_done) + 1, [400, 800, 1200])
    evals = out.eval_return[out.eval_done]
    assert np.all((evals >= 8) & (evals <= 500))
    assert int(state.update_count) == (SMALL.total_steps - SMALL.learning_starts) // SMALL.train_every + 1
    assert not bool(state.diverged)


def test_exploding_learning_rate_is_flagged_not_raised():
    static = StaticConfig(
        total_steps=400, buffer_capacity=100, batch_size=8, hidden_sizes=(8,), learning_starts=10,
        eval_every=400, eval_episodes=1, loss="mse",
    )  # fmt: skip
    train = make_train(static)
    hp = HParams(lr=1e30, max_grad_norm=float("inf"), gamma=1.0, target_period=1)
    state, out = jax.jit(train.run, static_argnums=1)(train.init(jax.random.key(0), hp), 400)
    assert bool(state.diverged)
    assert out.eval_return.shape == (400,)


def test_epsilon_schedules_hand_values():
    hp = hparams_as_arrays(HParams(eps_start=1.0, eps_end=0.1, eps_decay_fraction=0.5))
    linear = StaticConfig(total_steps=1000, eval_every=100)
    values = [float(epsilon(jnp.int32(t), hp, linear)) for t in (0, 250, 500, 900)]
    np.testing.assert_allclose(values, [1.0, 0.55, 0.1, 0.1], rtol=1e-6)
    expo = StaticConfig(total_steps=1000, eval_every=100, eps_schedule="exponential")
    values = [float(epsilon(jnp.int32(t), hp, expo)) for t in (0, 100, 500)]
    np.testing.assert_allclose(values, [1.0, 0.1 + 0.9 * np.exp(-1.0), 0.1 + 0.9 * np.exp(-5.0)], rtol=1e-5)
    # hyperbolic: eps_end + (eps_start - eps_end) / (1 + t / horizon), horizon 500 steps (k = 1 / 500).
    hyper = StaticConfig(total_steps=1000, eval_every=100, eps_schedule="hyperbolic")
    values = [float(epsilon(jnp.int32(t), hp, hyper)) for t in (0, 500, 1500)]
    np.testing.assert_allclose(values, [1.0, 0.1 + 0.9 / 2, 0.1 + 0.9 / 4], rtol=1e-6)


def test_target_update_hard_copy_and_polyak():
    target, online = {"w": jnp.zeros(3)}, {"w": jnp.ones(3)}
    hard = hparams_as_arrays(HParams(target_period=4, tau=1.0))
    np.testing.assert_array_equal(target_update(target, online, jnp.int32(3), hard)["w"], 0.0)
    np.testing.assert_array_equal(target_update(target, online, jnp.int32(8), hard)["w"], 1.0)
    soft = hparams_as_arrays(HParams(target_period=1, tau=0.25))
    np.testing.assert_allclose(target_update(target, online, jnp.int32(5), soft)["w"], 0.25)


def _fixed_q_network(q_values):
    """A 'network' whose output ignores the observation: params hold the Q-values per observation id."""

    def apply(params, obs):
        return params["q"][obs[..., 0].astype(jnp.int32)]

    return hk.Transformed(init=None, apply=apply), {"q": jnp.asarray(q_values, jnp.float32)}


def test_td_loss_bootstraps_through_truncation_but_not_termination():
    # obs id 0 -> next obs id 1 (Q = [2, 5]); online Q(0) = [1, 3]. Action 1, reward 1, gamma 0.9.
    net, params = _fixed_q_network([[1.0, 3.0], [2.0, 5.0]])
    obs = jnp.array([[0.0, 0, 0, 0]])
    nxt = jnp.array([[1.0, 0, 0, 0]])
    hp = hparams_as_arrays(HParams(gamma=0.9))
    mse = StaticConfig(total_steps=10, eval_every=10, loss="mse")

    def loss(terminated):
        batch = Transition(obs, jnp.array([1]), jnp.array([1.0]), jnp.array([terminated]), nxt)
        return float(td_loss(params, params, batch, hp, mse, net))

    # Truncated (not terminated): target = 1 + 0.9 * 5 = 5.5, td = 2.5, loss = 0.5 * 2.5^2.
    np.testing.assert_allclose(loss(0.0), 0.5 * 2.5**2, rtol=1e-6)
    # Terminated: target = 1, td = -2.
    np.testing.assert_allclose(loss(1.0), 0.5 * 2.0**2, rtol=1e-6)
    # Huber with delta 1 on td = 2.5: 2.5 - 0.5.
    huber = StaticConfig(total_steps=10, eval_every=10, loss="huber")
    batch = Transition(obs, jnp.array([1]), jnp.array([1.0]), jnp.array([0.0]), nxt)
    np.testing.assert_allclose(float(td_loss(params, params, batch, hp, huber, net)), 2.0, rtol=1e-6)


def test_double_q_selects_with_online_and_evaluates_with_target():
    net, online = _fixed_q_network([[1.0, 3.0], [9.0, 0.0]])  # online prefers action 0 at next obs
    _, target = _fixed_q_network([[1.0, 3.0], [2.0, 5.0]])  # target prefers action 1 (max 5)
    batch = Transition(jnp.zeros((1, 4)), jnp.array([1]), jnp.array([1.0]), jnp.array([0.0]), jnp.ones((1, 4)))
    hp = hparams_as_arrays(HParams(gamma=0.5))
    static = dict(total_steps=10, eval_every=10, loss="mse")
    plain = float(td_loss(online, target, batch, hp, StaticConfig(**static), net))
    double = float(td_loss(online, target, batch, hp, StaticConfig(**static, double_q=True), net))
    expected_double = 1.0 + 0.5 * 2.0 - 3.0  # Q_target(next, argmax_a Q_online(next, a) = 0)
    np.testing.assert_allclose(double, 0.5 * expected_double**2, rtol=1e-6)
    np.testing.assert_allclose(plain, 0.5 * (1.0 + 0.5 * 5.0 - 3.0) ** 2, rtol=1e-6)
    # rlax agrees on the same numbers.
    td = rlax.double_q_learning(jnp.array([1.0, 3.0]), 1, 1.0, 0.5, jnp.array([2.0, 5.0]), jnp.array([9.0, 0.0]))
    np.testing.assert_allclose(float(td), expected_double, rtol=1e-6)


def test_network_shapes():
    net = make_network((8, 4), 2)
    params = net.init(jax.random.key(0), jnp.zeros(4))
    assert [p["w"].shape for p in params.values()] == [(4, 8), (8, 4), (4, 2)]
    assert net.apply(params, jnp.zeros((5, 4))).shape == (5, 2)


def test_run_rejects_a_bad_chunk_length():
    train = _trainer()
    with pytest.raises(ValueError, match="n_steps"):
        train.run(train.init(jax.random.key(0), HParams()), 0)


def _random_policy_return(n_episodes=200):
    """Mean return of the uniformly random policy on CartPole-v1, measured with our env."""
    from core import cartpole

    def episode(key):
        k_reset, k_act = jax.random.split(key)
        obs, state = cartpole.reset(k_reset)

        def body(carry, k):
            state, alive, ret = carry
            action = jax.random.randint(k, (), 0, 2)
            _, state, reward, term, trunc, _ = cartpole.step(k, state, action)
            return (state, alive & ~(term | trunc), ret + jnp.where(alive, reward, 0.0)), None

        (_, _, ret), _ = jax.lax.scan(body, (state, True, 0.0), jax.random.split(k_act, 500))
        return ret

    return float(jnp.mean(jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(11), n_episodes))))


def test_a_few_seeds_learn_clearly_better_than_random():
    # A short, small run (~8 s with compilation); the full learning figure is a benchmark (README).
    static = StaticConfig(
        total_steps=6000, buffer_capacity=5000, batch_size=32, hidden_sizes=(32, 32), learning_starts=500,
        eval_every=3000, eval_episodes=5,
    )  # fmt: skip
    train = make_train(static)
    # In so short a run exploration has to outlast learning_starts by a margin: decay it over the first 20%
    # (1,200 steps) rather than the default 10%, which would end it 100 steps after the first update.
    hp = HParams(eps_decay_fraction=0.2)
    hp = jax.tree.map(lambda x: jnp.broadcast_to(x, (4,)), hparams_as_arrays(hp))
    out = jax.device_get(jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 4), hp))
    final = out.eval_return[:, out.eval_done[0]][:, -1]
    random_return = _random_policy_return()
    assert 15 < random_return < 30  # about 22 for CartPole-v1
    assert np.all(final > 4 * random_return), (final, random_return)


def test_packed_transitions_round_trip():
    from core.rows import PACKED_SIZE, pack_transition, unpack_transitions

    t = Transition(
        obs=jnp.array([0.1, -0.2, 0.03, 4.0], jnp.float32),
        action=jnp.int32(1),
        reward=jnp.float32(1.0),
        terminated=jnp.float32(1.0),
        next_obs=jnp.array([5.0, 6.0, -7.0, 8.5], jnp.float32),
    )
    row = pack_transition(t)
    assert row.shape == (PACKED_SIZE,) and row.dtype == jnp.float32
    back = unpack_transitions(jnp.stack([row, row]))  # batched, as the sampler returns them
    for field in Transition._fields:
        np.testing.assert_array_equal(getattr(back, field)[0], getattr(t, field))
    assert back.action.dtype == jnp.int32 and back.obs.shape == (2, 4)
    # With n-step returns a row also carries the episode's end (terminated or cut by the time limit).
    row = pack_transition(t, jnp.bool_(True))
    assert row.shape == (PACKED_SIZE + 1,) and float(row[PACKED_SIZE]) == 1.0
    for field in Transition._fields:
        np.testing.assert_array_equal(getattr(unpack_transitions(row), field), getattr(t, field))
