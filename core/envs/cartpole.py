"""CartPole-v1 as pure functions, numerically the same as gymnasium's ``CartPoleEnv`` + ``TimeLimit(500)``.

``reset(key, params)`` and ``step(key, state, action, params)`` are pure and jittable; ``EnvState`` and
``EnvParams`` are pytrees, so physics constants can be vmapped like any other argument.

``step`` never resets: it returns the true next observation, and the caller decides what to do at the end of an
episode (the learner must see the real final observation of a truncated episode to bootstrap from it).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

NUM_ACTIONS = 2
OBS_SIZE = 4


class EnvParams(NamedTuple):
    """Physical constants of CartPole-v1 (gymnasium's values) and the episode limit."""

    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length
    force_mag: float = 10.0
    tau: float = 0.02  # seconds between state updates (explicit Euler)
    theta_threshold_radians: float = 12 * 2 * math.pi / 360
    x_threshold: float = 2.4
    max_steps_in_episode: int = 500


class EnvState(NamedTuple):
    x: jax.Array  # [] float32, cart position
    x_dot: jax.Array  # [] float32, cart velocity
    theta: jax.Array  # [] float32, pole angle (radians)
    theta_dot: jax.Array  # [] float32, pole angular velocity
    time: jax.Array  # [] int32, steps taken in this episode


def observation(state: EnvState) -> jax.Array:
    """The observation [x, x_dot, theta, theta_dot] as float32, shape [4]."""
    return jnp.stack([state.x, state.x_dot, state.theta, state.theta_dot]).astype(jnp.float32)


def reset(key: jax.Array, params: EnvParams = EnvParams()) -> tuple[jax.Array, EnvState]:
    """A fresh episode: the four state variables uniform in [-0.05, 0.05), time 0. Returns (obs [4], state)."""
    del params  # the reset distribution does not depend on the physics
    x, x_dot, theta, theta_dot = jax.random.uniform(key, (4,), jnp.float32, -0.05, 0.05)
    state = EnvState(x, x_dot, theta, theta_dot, jnp.zeros((), jnp.int32))
    return observation(state), state


class StepInfo(NamedTuple):
    """Kept empty-ish on purpose: CartPole has nothing more to report than the flags."""

    time: jax.Array  # [] int32, steps taken in this episode after this step


def step(
    key: jax.Array, state: EnvState, action: jax.Array, params: EnvParams = EnvParams()
) -> tuple[jax.Array, EnvState, jax.Array, jax.Array, jax.Array, StepInfo]:
    """One Euler step of CartPole-v1.

    Args:
      key: unused (CartPole is deterministic); kept so every environment shares one signature.
      state: the current state.
      action: [] int, 0 pushes left, 1 pushes right.
      params: physical constants.

    Returns:
      (obs [4] float32, next_state, reward [] float32, terminated [] bool, truncated [] bool, info).
      The reward is 1.0 on every step, including the one that terminates. ``terminated`` when
      |x| > x_threshold or |theta| > theta_threshold_radians. ``truncated`` when this step is the
      ``max_steps_in_episode``-th of the episode, as gymnasium's ``TimeLimit`` sets it (so both flags can be
      true on the 500th step if the pole also falls then; bootstrapping looks at ``terminated`` alone).
    """
    del key
    force = jnp.where(action == 1, params.force_mag, -params.force_mag)
    total_mass = params.masspole + params.masscart
    polemass_length = params.masspole * params.length
    costheta = jnp.cos(state.theta)
    sintheta = jnp.sin(state.theta)
    temp = (force + polemass_length * jnp.square(state.theta_dot) * sintheta) / total_mass
    thetaacc = (params.gravity * sintheta - costheta * temp) / (
        params.length * (4.0 / 3.0 - params.masspole * jnp.square(costheta) / total_mass)
    )
    xacc = temp - polemass_length * thetaacc * costheta / total_mass

    # Explicit Euler, positions from the old velocities (gymnasium's "euler" integrator).
    x = state.x + params.tau * state.x_dot
    x_dot = state.x_dot + params.tau * xacc
    theta = state.theta + params.tau * state.theta_dot
    theta_dot = state.theta_dot + params.tau * thetaacc
    time = state.time + 1
    next_state = EnvState(
        x.astype(jnp.float32),
        x_dot.astype(jnp.float32),
        theta.astype(jnp.float32),
        theta_dot.astype(jnp.float32),
        time,
    )

    terminated = (
        (next_state.x < -params.x_threshold)
        | (next_state.x > params.x_threshold)
        | (next_state.theta < -params.theta_threshold_radians)
        | (next_state.theta > params.theta_threshold_radians)
    )
    truncated = time >= params.max_steps_in_episode
    reward = jnp.ones((), jnp.float32)
    return observation(next_state), next_state, reward, terminated, truncated, StepInfo(time)
