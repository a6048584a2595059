"""CartPole-v1 parity with gymnasium (the reference), truncation, reset bounds."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

from core import cartpole


def _time_limit(env):
    while not isinstance(env, TimeLimit):
        env = env.env
    return env


def _balance(obs):
    """A PD controller that keeps the pole up for far more than 500 steps."""
    x, x_dot, theta, theta_dot = obs
    return int(theta * 10.0 + theta_dot * 2.0 + x * 0.1 + x_dot * 0.5 > 0)


def _gym_transitions(n_episodes, seed):
    """Runs gymnasium's CartPole-v1 with a mix of policies; returns what went in and what came out."""
    env = gym.make("CartPole-v1")
    limit = _time_limit(env)
    rng = np.random.default_rng(seed)
    rows = []
    for ep in range(n_episodes):
        obs, _ = env.reset(seed=int(rng.integers(1 << 30)))
        # Random, biased-random and near-balancing policies reach different parts of the state space.
        p_right = rng.uniform(0.2, 0.8)
        balance = ep % 3 == 0
        done = False
        while not done:
            state = np.array(env.unwrapped.state, dtype=np.float64)
            time = limit._elapsed_steps
            if balance and rng.uniform() > 0.1:
                action = _balance(obs)
            else:
                action = int(rng.uniform() < p_right)
            obs, reward, terminated, truncated, _ = env.step(action)
            rows.append((state, time, action, obs, reward, terminated, truncated))
            done = terminated or truncated
    env.close()
    return rows


def test_step_matches_gymnasium_over_random_trajectories():
    rows = _gym_transitions(n_episodes=120, seed=0)
    assert len(rows) > 3000
    states = np.stack([r[0] for r in rows]).astype(np.float32)
    state = cartpole.EnvState(
        x=jnp.asarray(states[:, 0]),
        x_dot=jnp.asarray(states[:, 1]),
        theta=jnp.asarray(states[:, 2]),
        theta_dot=jnp.asarray(states[:, 3]),
        time=jnp.asarray([r[1] for r in rows], jnp.int32),
    )
    actions = jnp.asarray([r[2] for r in rows], jnp.int32)
    step = jax.jit(jax.vmap(cartpole.step, in_axes=(None, 0, 0, None)))
    obs, _, reward, terminated, truncated, _ = step(jax.random.key(0), state, actions, cartpole.EnvParams())

    assert obs.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(obs), np.stack([r[3] for r in rows]), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(np.asarray(reward), np.array([r[4] for r in rows], np.float32))
    gym_terminated = np.array([r[5] for r in rows])
    gym_truncated = np.array([r[6] for r in rows])
    np.testing.assert_array_equal(np.asarray(terminated), gym_terminated)
    np.testing.assert_array_equal(np.asarray(truncated), gym_truncated)
    # The sample must exercise every outcome, or the flag comparison proves little.
    assert gym_terminated.sum() > 50 and gym_truncated.sum() >= 1


def _rollout(policy_params, n_steps):
    """Our env under the balancing controller, no resets; returns per-step flags."""

    def body(carry, _):
        obs, state = carry
        x, x_dot, theta, theta_dot = obs
        action = (theta * 10.0 + theta_dot * 2.0 + x * 0.1 + x_dot * 0.5 > 0).astype(jnp.int32)
        obs, state, reward, terminated, truncated, _ = cartpole.step(jax.random.key(0), state, action, policy_params)
        return (obs, state), (terminated, truncated, reward)

    obs, state = cartpole.reset(jax.random.key(3), policy_params)
    _, flags = jax.lax.scan(body, (obs, state), None, length=n_steps)
    return flags


def test_truncation_at_exactly_step_500_under_a_balancing_controller():
    terminated, truncated, reward = jax.jit(_rollout, static_argnums=1)(cartpole.EnvParams(), 520)
    terminated, truncated = np.asarray(terminated), np.asarray(truncated)
    assert not terminated[:500].any(), "the controller should balance for 500 steps"
    assert not truncated[:499].any()
    assert truncated[499], "the 500th step must be truncated"
    np.testing.assert_array_equal(np.asarray(reward), 1.0)

    # gymnasium's TimeLimit agrees on the same controller.
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=0)
    for t in range(1, 501):
        obs, _, term, trunc, _ = env.step(_balance(obs))
        assert not term
        assert trunc == (t == 500)


def test_episode_limit_is_a_param_and_params_vmap():
    params = cartpole.EnvParams(max_steps_in_episode=50)
    _, truncated, _ = jax.jit(_rollout, static_argnums=1)(params, 60)
    assert np.flatnonzero(np.asarray(truncated))[0] == 49

    # A batch of physics constants: heavier gravity makes the pole fall sooner from the same state.
    gravity = jnp.array([9.8, 30.0])
    batch = cartpole.EnvParams()._replace(gravity=gravity)
    axes = cartpole.EnvParams(*([None] * len(cartpole.EnvParams._fields)))._replace(gravity=0)
    state = cartpole.EnvState(*(jnp.float32(v) for v in (0.0, 0.0, 0.05, 0.0)), jnp.int32(0))
    step = jax.vmap(cartpole.step, in_axes=(None, None, None, axes))
    obs, *_ = step(jax.random.key(0), state, jnp.int32(0), batch)
    assert obs[1, 3] > obs[0, 3] > 0  # angular velocity grows faster under stronger gravity


def test_reset_bounds_dtype_and_keys():
    keys = jax.random.split(jax.random.key(7), 4096)
    obs, state = jax.jit(jax.vmap(cartpole.reset, in_axes=(0, None)))(keys, cartpole.EnvParams())
    obs = np.asarray(obs)
    assert obs.shape == (4096, 4) and obs.dtype == np.float32
    assert obs.min() >= -0.05 and obs.max() <= 0.05
    assert obs.min() < -0.049 and obs.max() > 0.049  # covers the range, not a constant
    np.testing.assert_array_equal(np.asarray(state.time), 0)
    assert len(np.unique(obs[:, 0])) > 4000  # different keys, different starts


@pytest.mark.parametrize("action", [0, 1])
def test_one_hand_computed_step(action):
    # From the upright state at rest, force +-10 N: thetaacc = -costheta*temp / (l (4/3 - mp/M)),
    # temp = F/M, and positions do not move on the first Euler step.
    state = cartpole.EnvState(*(jnp.float32(0.0) for _ in range(4)), jnp.int32(0))
    obs, new, reward, terminated, truncated, _ = cartpole.step(jax.random.key(0), state, jnp.int32(action))
    force = 10.0 if action == 1 else -10.0
    total = 1.1
    temp = force / total
    thetaacc = -temp / (0.5 * (4.0 / 3.0 - 0.1 / total))
    xacc = temp - 0.05 * thetaacc / total
    np.testing.assert_allclose(np.asarray(obs), [0.0, 0.02 * xacc, 0.0, 0.02 * thetaacc], rtol=1e-6)
    assert int(new.time) == 1 and float(reward) == 1.0 and not terminated and not truncated
