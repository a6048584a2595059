"""The environments beyond CartPole-v1 (``core.envs``): parity with gymnasium for CartPole-v0, Acrobot-v1 and
MountainCar-v0; the table of built-ins agrees with what gymnax makes; a researcher's own environment trains.

Parity: gymnasium's environment is run over whole episodes (policies that reach both its termination and its
time limit), recording its state and elapsed steps before each step; this package's step from each recorded state
(cast to float32) must give gymnasium's next observation within a tolerance, and the same reward, terminated and
truncated flags, step for step. Acrobot is chaotic, so two trajectories in float32 and float64 part after some
dozens of steps; starting each step from gymnasium's own state compares every transition of the episode instead
(as tests/test_cartpole.py does for CartPole-v1). The MinAtar games are not in gymnasium: gymnax tests its MinAtar
against the ``minatar`` package itself (gymnax's tests/minatar), which is what this package relies on for them.
"""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.wrappers import TimeLimit

from core import HParams, StaticConfig, make_train
from core.envs import BUILTINS, EnvError, describe, make_env

# |ours - gymnasium's| of an observation coordinate after one step from the same state, over the episodes below
# (float32 against float64), measured on 2026-12-06: at most 2.4e-7 for CartPole-v0, 9.5e-7 for Acrobot-v1 (its
# angular velocities reach about 20, where a float32 step's rounding is 1e-6) and 1.2e-7 for MountainCar-v0; the
# tolerances are about four times that.
TOLERANCE = {"CartPole-v0": 1e-6, "Acrobot-v1": 4e-6, "MountainCar-v0": 5e-7}


def _time_limit(env):
    while not isinstance(env, TimeLimit):
        env = env.env
    return env


def _policy(name, state, rng):
    """Half the episodes random (they reach the time limit), half a controller that ends them early."""
    if rng.uniform() < 0.3:
        return int(rng.integers(3 if name != "CartPole-v0" else 2))
    if name == "Acrobot-v1":  # pump energy with the second joint's swing: up in about 100 steps
        return 2 if state[3] > 0 else 0
    if name == "MountainCar-v0":  # push along the velocity: at the flag in about 150 steps
        return 2 if state[1] > 0 else 0
    x, x_dot, theta, theta_dot = state
    return int(theta * 10.0 + theta_dot * 2.0 + x * 0.1 + x_dot * 0.5 > 0)


def _gym_rows(name, episodes, seed=0):
    env = gym.make(name)
    limit = _time_limit(env)
    rng = np.random.default_rng(seed)
    rows = []
    for ep in range(episodes):
        env.reset(seed=int(rng.integers(1 << 30)))
        controlled = ep % 2 == 0
        done = False
        while not done:
            state, time = np.array(env.unwrapped.state, np.float64), limit._elapsed_steps
            action = _policy(name, state, rng) if controlled else int(rng.integers(env.action_space.n))
            obs, reward, terminated, truncated, _ = env.step(action)
            rows.append((state, time, action, obs, reward, terminated, truncated))
            done = terminated or truncated
    env.close()
    return rows


def _states(name, states, times):
    s = jnp.asarray(states, jnp.float32)
    t = jnp.asarray(times, jnp.int32)
    if name == "CartPole-v0":
        from core.envs import cartpole

        return cartpole.EnvState(s[:, 0], s[:, 1], s[:, 2], s[:, 3], t)
    if name == "Acrobot-v1":
        from gymnax.environments.classic_control.acrobot import EnvState

        return EnvState(joint_angle1=s[:, 0], joint_angle2=s[:, 1], velocity_1=s[:, 2], velocity_2=s[:, 3], time=t)
    from gymnax.environments.classic_control.mountain_car import EnvState

    return EnvState(position=s[:, 0], velocity=s[:, 1], time=t)


@pytest.mark.parametrize("name", ["CartPole-v0", "Acrobot-v1", "MountainCar-v0"])
def test_every_step_matches_gymnasium(name):
    rows = _gym_rows(name, episodes=16)
    env = make_env(name)
    state = _states(name, np.stack([r[0] for r in rows]), [r[1] for r in rows])
    actions = jnp.asarray([r[2] for r in rows], jnp.int32)
    keys = jax.random.split(jax.random.key(0), len(rows))
    obs, _, reward, terminated, truncated, _ = jax.jit(jax.vmap(env.step, in_axes=(0, 0, 0, None)))(
        keys, state, actions, env.params
    )
    np.testing.assert_allclose(np.asarray(obs), np.stack([r[3] for r in rows]), atol=TOLERANCE[name], rtol=0)
    np.testing.assert_array_equal(np.asarray(reward), np.array([r[4] for r in rows], np.float32))
    gym_terminated, gym_truncated = np.array([r[5] for r in rows]), np.array([r[6] for r in rows])
    np.testing.assert_array_equal(np.asarray(terminated), gym_terminated)
    np.testing.assert_array_equal(np.asarray(truncated) & ~gym_terminated, gym_truncated & ~gym_terminated)
    # The episodes must reach both ends, or the flags prove little.
    assert gym_terminated.sum() >= 4 and gym_truncated.sum() >= 4, (gym_terminated.sum(), gym_truncated.sum())


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_the_table_of_builtins_agrees_with_the_environment(name):
    env, info = make_env(name), describe(name)
    assert (env.obs_shape, env.num_actions, env.max_steps, env.task, env.obs_bounds) == tuple(info)
    assert (env.obs_bounds is not None) == (name.split("-")[0] in ("CartPole", "Acrobot", "MountainCar"))
    assert env.binary_obs == name.endswith("-MinAtar")
    obs, state = env.reset(jax.random.key(1))
    assert obs.shape == info.obs_shape and obs.dtype == jnp.float32
    _, _, reward, terminated, truncated, _ = env.step(jax.random.key(2), state, jnp.int32(0), env.params)
    assert reward.dtype == jnp.float32 and terminated.dtype == jnp.bool_ and not bool(truncated)


def test_an_episode_limit_changes_the_limit_and_the_bounds():
    env = make_env("MountainCar-v0", 600)
    assert env.max_steps == 600 and env.task.low == -600.0 and env.params.max_steps_in_episode == 600
    assert make_env("CartPole-v1", 100).task.high == 100.0 and make_env("CartPole-v1") is make_env("CartPole-v1")


def test_a_user_environment_trains():
    static = StaticConfig(env="user_env:make_corridor", total_steps=600, learning_starts=100, eval_every=300,
                          eval_episodes=2, hidden_sizes=(16,), buffer_capacity=200, batch_size=16)  # fmt: skip
    env = make_env(static.env)
    assert env.obs_shape == (1,) and env.num_actions == 2 and env.max_steps == 20 and env.task.high == 1.0
    out = jax.jit(make_train(static))(jax.random.key(0), HParams(lr=3e-3))
    returns = np.asarray(out.episode_return)[np.asarray(out.episode_done)]
    assert len(returns) > 10 and set(np.unique(returns)) <= {0.0, 1.0}
    assert float(np.asarray(out.eval_return)[np.asarray(out.eval_done)][-1]) == 1.0  # it learned to walk right


@pytest.mark.parametrize(
    ("name", "facts"),
    [("user_env:make_nothing", ["must return", "int"]), ("user_env:no_such", ["has no function no_such"]),
     ("no_such_module:make", ["cannot import no_such_module"])],
)  # fmt: skip
def test_a_user_environment_that_cannot_be_made_is_one_sentence(name, facts):
    with pytest.raises(EnvError) as err:
        make_env(name)
    assert all(f in str(err.value) for f in facts) and "\n" not in str(err.value)


def test_minatar_network_is_haikus_convolution_as_a_matrix_product():
    # PatchConv has hk.Conv2D's parameters, initial values and outputs (to float32 rounding), batched or not.
    import haiku as hk

    from core.dqn import PatchConv

    x = jax.random.normal(jax.random.PRNGKey(0), (5, 10, 10, 4))
    ref = hk.without_apply_rng(hk.transform(lambda o: hk.Conv2D(16, 3, padding="VALID", name="conv")(o)))
    mine = hk.without_apply_rng(hk.transform(lambda o: PatchConv(16, 3, name="conv")(o)))
    p_ref, p_mine = ref.init(jax.random.PRNGKey(1), x), mine.init(jax.random.PRNGKey(1), x)
    assert jax.tree.structure(p_ref) == jax.tree.structure(p_mine)
    for a, b in zip(jax.tree.leaves(p_ref), jax.tree.leaves(p_mine), strict=True):
        np.testing.assert_array_equal(a, b)
    params = jax.tree.map(lambda a: a + 0.1, p_ref)  # a non-zero bias too
    for obs in (x, x[0]):
        want, got = ref.apply(params, obs), mine.apply(params, obs)
        assert got.shape == want.shape == (*obs.shape[:-3], 8, 8, 16)
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", [n for n in BUILTINS if n.endswith("-MinAtar")])
def test_minatar_observations_are_zeros_and_ones(name):
    # What lets the replay buffer keep them as uint8 (Env.binary_obs): a reset and 200 random steps of 2 copies
    # see nothing but 0 and 1.
    env = make_env(name)
    assert env.binary_obs

    def step(state, key):
        k_act, k_step = jax.random.split(key)
        action = jax.random.randint(k_act, (), 0, env.num_actions)
        obs, state, *_ = env.step(k_step, state, action, env.params)
        return state, obs

    def episode(key):
        k0, k1 = jax.random.split(key)
        obs, state = env.reset(k0, env.params)
        return obs, jax.lax.scan(step, state, jax.random.split(k1, 200))[1]

    first, later = jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(0), 2))
    values = np.unique(np.concatenate([np.asarray(first).ravel(), np.asarray(later).ravel()]))
    assert set(values.tolist()) <= {0.0, 1.0} and 1.0 in values


def test_binary_observations_stored_as_uint8_train_bitwise_as_float32():
    # Breakout's images in a uint8 buffer (a quarter of the memory and checkpoint) give the learner the same
    # values as float32 rows: the same outputs and parameters, bit for bit. With 3-step returns and prioritized
    # replay, the rows are read by slot, in sequences, with their end flags (uniform sampling reads them with
    # the same tree-wide gather).
    n_step = 3
    static = StaticConfig(env="Breakout-MinAtar", total_steps=400, learning_starts=100, buffer_capacity=200,
                          batch_size=8, hidden_sizes=(16,), eval_every=200, eval_episodes=1, n_step=n_step,
                          per=True)  # fmt: skip
    results = {}
    for binary in (True, False):
        trainer = make_train(static)
        trainer.__dict__["env"] = trainer.env._replace(binary_obs=binary)  # the cached environment, marked or not
        state, outputs = jax.jit(lambda s, t=trainer: t.run(s, 400))(trainer.init(jax.random.key(3), HParams()))
        results[binary] = state, outputs
    stored = {b: [(x.dtype, x.shape) for x in jax.tree.leaves(results[b][0].buffer.ring.data)] for b in results}
    assert stored[True] == [(np.uint8, (200, 800)), (np.float32, (200, 3 + (n_step > 1)))]
    assert stored[False] == [(np.float32, (200, 803 + (n_step > 1)))]
    assert float(results[True][1].episode_return.sum()) > 0  # episodes ended and scored
    for a, b in zip(jax.tree.leaves((results[True][1], results[True][0].params)),
                    jax.tree.leaves((results[False][1], results[False][0].params)), strict=True):  # fmt: skip
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
