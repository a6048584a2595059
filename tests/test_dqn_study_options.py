"""Options the Revisiting Rainbow study's settings need: Adam's epsilon as a field, a constant importance-sampling
exponent for prioritized replay (Dopamine's 0.5), a constant epsilon (``eps_start = eps_end``), Glorot-uniform
weights (``weight_init``) and dueling split at the output layer (``dueling_split``, tests/test_dqn_dueling.py);
their defaults keep every run bitwise what it was (tests/test_sweep_golden.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import HParams, StaticConfig
from core.config import hparams_as_arrays
from core.dqn import epsilon, importance_exponent, make_network, make_optimizer


@pytest.mark.parametrize("adam_eps", [1e-8, 3.125e-4])
def test_adams_first_step_uses_the_fields_epsilon(adam_eps):
    # Adam's first update is -lr * g / (|g| + eps) (bias corrections cancel); no step-size decay here.
    hp = hparams_as_arrays(HParams(lr=0.1, lr_decay=0.0, adam_eps=adam_eps))
    opt = make_optimizer(hp, StaticConfig())
    params = {"w": jnp.zeros(3)}
    g = {"w": jnp.array([1e-3, -2e-4, 5.0])}
    updates, _ = opt.update(g, opt.init(params), params)
    want = -0.1 * np.asarray(g["w"], np.float64) / (np.abs(np.asarray(g["w"], np.float64)) + adam_eps)
    np.testing.assert_allclose(np.asarray(updates["w"]), want, rtol=1e-5)


def test_the_importance_exponent_goes_to_per_beta_end():
    static = StaticConfig(total_steps=1000, eval_every=1000)
    steps = jnp.array([0, 500, 1000, 2000])
    annealed = importance_exponent(steps, hparams_as_arrays(HParams(per_beta=0.4)), static)
    np.testing.assert_allclose(np.asarray(annealed), [0.4, 0.7, 1.0, 1.0], rtol=1e-6)
    constant = importance_exponent(steps, hparams_as_arrays(HParams(per_beta=0.5, per_beta_end=0.5)), static)
    np.testing.assert_allclose(np.asarray(constant), 0.5)


def test_a_constant_epsilon():
    hp = hparams_as_arrays(HParams(eps_start=0.01, eps_end=0.01))
    for schedule in ("linear", "exponential", "hyperbolic"):
        eps = jax.vmap(lambda t, s=schedule: epsilon(t, hp, StaticConfig(eps_schedule=s)))(jnp.arange(0, 50_000, 997))
        np.testing.assert_allclose(np.asarray(eps), 0.01, rtol=1e-6)


@pytest.mark.parametrize("env", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0"])
def test_observations_rescaled_from_dopamines_bounds(env):
    # The network sees 2 (obs - low) / (high - low) - 1: the bounds map to -1 and 1.
    from core.envs import make_env

    bounds = make_env(env).obs_bounds
    low, high = (np.asarray(b, np.float32) for b in bounds)
    net = make_network((len(low),), 2, obs_bounds=bounds)
    params = net.init(jax.random.key(0), jnp.zeros(len(low)))
    feature = jax.jit(lambda o: 2.0 * (o - low) / (high - low) - 1.0)
    np.testing.assert_allclose(np.asarray(feature(jnp.asarray(low))), -1.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(feature(jnp.asarray(high))), 1.0, atol=1e-6)
    # The network with rescaling equals the network without it applied to the rescaled observation.
    plain = make_network((len(low),), 2)
    obs = jnp.asarray(np.random.default_rng(0).uniform(low, high), jnp.float32)
    np.testing.assert_allclose(
        np.asarray(net.apply(params, obs)), np.asarray(plain.apply(params, feature(obs))), rtol=1e-5, atol=1e-6
    )


def test_rescaling_an_environment_without_bounds_is_refused():
    from core import make_train

    with pytest.raises(ValueError, match="obs_rescale needs fixed observation bounds, and Breakout-MinAtar has none"):
        make_train(StaticConfig(env="Breakout-MinAtar", obs_rescale=True))
    make_train(StaticConfig(obs_rescale=True))  # CartPole-v1 has them


def test_glorot_weights_are_uniform_within_the_fan_average_bound():
    # Glorot uniform: U(-b, b), b = sqrt(6 / (fan_in + fan_out)), variance b^2 / 3; biases zero. The default
    # (Haiku's truncated normal, stddev 1 / sqrt(fan_in)) is unchanged and differs.
    obs = jnp.zeros((4,))
    glorot = make_network((256, 256), 2, weight_init="glorot").init(jax.random.key(0), obs)
    w = np.asarray(glorot["mlp/~/linear_1"]["w"])
    bound = np.sqrt(6 / 512)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() / (bound**2 / 3) - 1) < 0.02 and abs(w.mean()) < 0.002
    assert not np.any(np.asarray(glorot["mlp/~/linear_1"]["b"]))
    haiku = np.asarray(make_network((256, 256), 2).init(jax.random.key(0), obs)["mlp/~/linear_1"]["w"])
    assert abs(haiku.std() * np.sqrt(256) - 0.88) < 0.02  # a normal truncated at 2 stddevs keeps 0.88 of it
    noisy = make_network((256, 256), 2, noisy_sigma=0.5, weight_init="glorot").init(jax.random.key(0), obs)
    assert np.abs(np.asarray(noisy["noisy_mlp/noisy_linear_1"]["w_mu"])).max() <= 1 / 16  # the paper's, kept


def test_the_network_options_reach_the_trainer_and_bad_values_are_named():
    from core import make_train

    static = StaticConfig(total_steps=100, buffer_capacity=8, batch_size=4, hidden_sizes=(8, 8), eval_every=100,
                          dueling=True, dueling_split="output", weight_init="glorot")  # fmt: skip
    params = make_train(static).init(jax.random.key(0), HParams()).params
    assert set(params) == {"torso/~/linear_0", "torso/~/linear_1", "value/~/linear_0", "advantage/~/linear_0"}
    assert np.abs(np.asarray(params["torso/~/linear_1"]["w"])).max() <= np.sqrt(6 / 16)
    for field, value, allowed in (("dueling_split", "last", "hidden, output"), ("weight_init", "xavier", "haiku")):
        with pytest.raises(ValueError, match=f"{field} must be one of {allowed}"):
            StaticConfig(**{field: value})
