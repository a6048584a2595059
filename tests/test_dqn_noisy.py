"""Noisy networks (``noisy = true``; Fortunato et al., 2018): the factorised noise's statistics and structure with
fixed keys, the initialisation, no noise without a key (greedy evaluation), fresh noise per draw when acting, or
one draw for everything with ``noisy_draw = "once"`` (the Revisiting Rainbow study's code); a noisy Rainbow run
learns its sigmas (tests/test_dqn_c51.py); off, every run is bitwise what it was (tests/test_sweep_golden.py)."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np

from core import HParams, StaticConfig, make_train
from core.dqn import NoisyLinear, Transition, factorised_noise, make_network, once_noise_key, td_errors


def _layer(sigma0=0.5, size=3):
    return hk.without_apply_rng(hk.transform(lambda x, key=None: NoisyLinear(size, sigma0, name="n")(x, key)))


def test_the_noise_is_factorised_with_the_papers_marginals():
    # f(e) = sign(e) sqrt(|e|), e ~ N(0, 1): mean 0, E f(e)^2 = E|e| = sqrt(2 / pi); 20,000 fixed draws.
    f_in, f_out = jax.vmap(lambda k: factorised_noise(k, 4, 3))(jax.random.split(jax.random.key(0), 20_000))
    assert f_in.shape == (20_000, 4) and f_out.shape == (20_000, 3)
    both = np.concatenate([np.asarray(f_in).ravel(), np.asarray(f_out).ravel()])
    assert abs(both.mean()) < 0.01 and abs(np.mean(both**2) - np.sqrt(2 / np.pi)) < 0.01
    assert abs(np.corrcoef(np.asarray(f_in)[:, 0], np.asarray(f_out)[:, 0])[0, 1]) < 0.03  # independent factors
    # The layer's weight noise is their outer product: with mu = 0 and sigma = 1 the rows of the identity read
    # the effective weight matrix, rank one, and the bias's noise is f_out.
    layer = _layer(size=3)
    shapes = jax.tree.map(jnp.shape, layer.init(jax.random.key(1), jnp.zeros((4,))))
    params = {
        "n": {"w_mu": jnp.zeros((4, 3)), "b_mu": jnp.zeros(3), "w_sigma": jnp.ones((4, 3)), "b_sigma": jnp.ones(3)}
    }
    assert jax.tree.map(jnp.shape, params) == shapes
    key = jax.random.key(2)
    f_in, f_out = factorised_noise(key, 4, 3)
    w = layer.apply(params, jnp.eye(4), key) - layer.apply(params, jnp.zeros((1, 4)), key)
    np.testing.assert_allclose(np.asarray(w), np.outer(f_in, f_out), rtol=1e-5, atol=1e-6)
    assert np.linalg.matrix_rank(np.asarray(w), tol=1e-5) == 1
    np.testing.assert_allclose(np.asarray(layer.apply(params, jnp.zeros((4,)), key)), np.asarray(f_out), rtol=1e-6)


def test_initial_values_and_no_noise_without_a_key():
    layer = _layer(sigma0=0.5, size=5)
    params = layer.init(jax.random.key(0), jnp.zeros((16,)))["n"]
    assert np.all(np.abs(params["w_mu"]) <= 0.25) and np.all(np.abs(params["b_mu"]) <= 0.25)  # 1 / sqrt(16)
    np.testing.assert_allclose(params["w_sigma"], 0.5 / 4)
    np.testing.assert_allclose(params["b_sigma"], 0.5 / 4)
    x = jax.random.normal(jax.random.key(1), (7, 16))
    mean = np.asarray(x @ params["w_mu"] + params["b_mu"])
    p = {"n": params}
    np.testing.assert_array_equal(np.asarray(layer.apply(p, x)), np.asarray(layer.apply(p, x)))  # deterministic
    np.testing.assert_allclose(np.asarray(layer.apply(p, x)), mean, rtol=1e-6, atol=1e-6)  # the mean weights
    a, b = (np.asarray(layer.apply(p, x, jax.random.key(k))) for k in (2, 3))
    assert not np.allclose(a, mean) and not np.allclose(a, b)  # each key its own draw...
    np.testing.assert_array_equal(a, np.asarray(layer.apply(p, x, jax.random.key(2))))  # ...the same for the same


def test_a_batch_and_one_observation_are_the_same_function_and_gradient():
    # An update's batch forms the noisy matrix and multiplies once; acting's single observation multiplies the
    # mean and the noise's factors as vectors. The same key gives each row of a batch what it gives alone, and
    # the same gradients.
    layer = _layer(sigma0=0.5, size=6)
    params = layer.init(jax.random.key(0), jnp.zeros((5,)))
    params = jax.tree.map(lambda p: p + 0.1 * jax.random.normal(jax.random.key(3), p.shape), params)
    x, key = jax.random.normal(jax.random.key(1), (9, 5)), jax.random.key(2)
    batch = np.asarray(layer.apply(params, x, key))
    rows = np.asarray(jax.vmap(lambda row: layer.apply(params, row, key))(x))
    np.testing.assert_allclose(batch, rows, rtol=1e-5, atol=1e-6)

    def loss_batch(p):
        return jnp.sum(jnp.sin(layer.apply(p, x, key)))

    def loss_rows(p):
        return jnp.sum(jnp.sin(jax.vmap(lambda row: layer.apply(p, row, key))(x)))

    grads, rows_grads = jax.grad(loss_batch)(params), jax.grad(loss_rows)(params)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(rows_grads), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
    assert np.abs(np.asarray(grads["n"]["w_sigma"])).max() > 1e-3  # the noise is learnt


def test_a_noisy_network_is_noisy_in_every_dense_layer_and_stream():
    net = make_network((8, 8), 2, True, noisy_sigma=0.5, num_atoms=3)
    obs = jnp.ones((4,))
    params = net.init(jax.random.key(0), obs)
    assert all("noisy_linear" in name for name in params) and {n.split("/")[0] for n in params} == {
        "torso", "value", "advantage"}  # fmt: skip
    assert net.apply(params, obs).shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(net.apply(params, obs)), np.asarray(net.apply(params, obs)))
    assert not np.allclose(np.asarray(net.apply(params, obs, jax.random.key(1))), np.asarray(net.apply(params, obs)))


def _first_actions(noisy, draw="step"):
    """The action of one step from the same state under 64 different run keys, with no epsilon."""
    static = StaticConfig(total_steps=400, buffer_capacity=8, batch_size=4, hidden_sizes=(8,), eval_every=400,
                          eval_episodes=1, noisy=noisy, noisy_sigma=2.0, noisy_draw=draw)  # fmt: skip
    train = make_train(static)
    state = train.init(jax.random.key(0), HParams(eps_start=0.0, eps_end=0.0))
    keys = jax.vmap(jax.random.key_data)(jax.random.split(jax.random.key(1), 64))
    # Row 0 of the buffer after one step: obs [4], then the action.
    step = jax.jit(jax.vmap(lambda k: train.run(state._replace(key=k), 1)[0].buffer.data[0, 4]))
    return np.asarray(step(keys))


def test_acting_draws_fresh_noise_from_the_runs_key():
    assert len(np.unique(_first_actions(noisy=False))) == 1  # greedy in the same network: the same action
    assert len(np.unique(_first_actions(noisy=True))) == 2  # each key its own noise, so both actions


def test_noise_drawn_once_is_the_same_for_every_run_key_and_every_pass():
    # noisy_draw = "once": no run key changes the acting noise, so every key acts alike...
    assert len(np.unique(_first_actions(noisy=True, draw="once"))) == 1
    # ...and an update's online and target passes see the same noise: with the same parameters, next_obs = obs and
    # no reward, the TD error is gamma max_a Q(s, a) - Q(s, a_taken) of one noisy Q. The per-step draw folds the
    # pass into its key: online 0, target 1.
    obs = jax.random.normal(jax.random.key(4), (16, 3))
    batch = Transition(obs, jnp.zeros(16, jnp.int32), jnp.zeros(16), jnp.zeros(16), obs)
    discount = jnp.full(16, 0.9)
    net = make_network((8,), 2, noisy_sigma=2.0)
    params = net.init(jax.random.key(0), obs[0])
    for draw, key in (("once", once_noise_key()), ("step", jax.random.key(5))):
        static = StaticConfig(hidden_sizes=(8,), noisy=True, noisy_sigma=2.0, noisy_draw=draw)
        td = np.asarray(td_errors(params, params, batch, discount, static, net, key))
        online, target = (key, key) if draw == "once" else (jax.random.fold_in(key, 0), jax.random.fold_in(key, 1))
        q, q_next = (np.asarray(net.apply(params, obs, k)) for k in (online, target))
        assert not np.allclose(q, np.asarray(net.apply(params, obs)), atol=1e-3)  # the draw is noisy
        np.testing.assert_allclose(td, 0.9 * q_next.max(axis=1) - q[:, 0], rtol=1e-5, atol=1e-5)
        assert np.allclose(q, q_next) == (draw == "once")


def test_greedy_evaluation_of_noise_drawn_once_evaluates_that_draw():
    # Noise drawn once is part of the trained network, so the greedy evaluation acts on it; per-step noise is
    # evaluated without noise.
    obs = jax.random.normal(jax.random.key(3), (10, 4))
    q = {}
    for draw in ("step", "once"):
        train = make_train(StaticConfig(hidden_sizes=(16,), noisy=True, noisy_sigma=2.0, noisy_draw=draw))
        params = train.init(jax.random.key(0), HParams()).params
        q[draw] = np.asarray(train.greedy_q(params, obs, HParams()))
        np.testing.assert_array_equal(q[draw], np.asarray(train.network.apply(params, obs, *(
            [once_noise_key()] if draw == "once" else []))))  # fmt: skip
    assert not np.allclose(q["step"], q["once"], atol=1e-3)
