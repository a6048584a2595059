"""How a transition is stored in the replay buffer, one row per transition.

A transition is stored as one row of float32: obs (flattened), action, reward, terminated, next_obs (11 floats
for CartPole): a sampled transition is then one gather from one place in memory instead of five (+4-5% env
steps/s at 32-128 runs on one device, once the buffers of many runs outgrow the caches). Actions are exact as
floats. n-step returns need to know where episodes ended, also by the time limit: their rows carry one more
float, the episode's end (terminated or truncated). An environment whose observations hold only 0 and 1
(``Env.binary_obs``: MinAtar's images, 800 of a row's 803 floats) stores a row as two parts instead, the two
observations as uint8 and the scalars (action, reward, terminated, end) as float32: a quarter of the memory and
of the checkpoint, and the same float32 values back.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from core.config import StaticConfig
from core.dqn import Transition
from core.envs import Env, cartpole


def packed_size(obs_size: int) -> int:
    """Floats of a packed transition whose observations hold ``obs_size`` floats."""
    return 2 * obs_size + 3


PACKED_SIZE = packed_size(cartpole.OBS_SIZE)  # CartPole's


def row_size(static: StaticConfig, obs_size: int = cartpole.OBS_SIZE) -> int:
    """Floats per stored transition: ``packed_size``, plus the episode-end flag with n-step returns."""
    return packed_size(obs_size) + (static.n_step > 1)


def empty_row(static: StaticConfig, env: Env) -> jax.Array | tuple[jax.Array, jax.Array]:
    """A stored transition of zeros, shaped as ``pack_transition`` packs one of ``env``'s (the buffer's example)."""
    if env.binary_obs:
        return jnp.zeros((2 * env.obs_size,), jnp.uint8), jnp.zeros((3 + (static.n_step > 1),), jnp.float32)
    return jnp.zeros((row_size(static, env.obs_size),), jnp.float32)


def pack_transition(
    t: Transition, end: jax.Array | None = None, binary_obs: bool = False
) -> jax.Array | tuple[jax.Array, jax.Array]:
    """One transition -> [PACKED_SIZE] float32, or [PACKED_SIZE + 1] with the episode-end flag ``end``. With
    ``binary_obs`` (observations of 0 and 1 only): ([2 * obs_size] uint8 observations, [3 (+1)] float32 action,
    reward, terminated (and end))."""
    scalars = jnp.stack([t.action.astype(jnp.float32), t.reward, t.terminated])
    tail = [] if end is None else [jnp.asarray(end, jnp.float32)[None]]
    if binary_obs:
        images = jnp.concatenate([t.obs.reshape(-1), t.next_obs.reshape(-1)]).astype(jnp.uint8)
        return images, jnp.concatenate([scalars.astype(jnp.float32), *tail])
    parts = [t.obs.reshape(-1), scalars, t.next_obs.reshape(-1), *tail]
    return jnp.concatenate(parts).astype(jnp.float32)


def unpack_transitions(
    rows: jax.Array | tuple[jax.Array, jax.Array], obs_shape: tuple[int, ...] = (cartpole.OBS_SIZE,)
) -> Transition:
    """[..., packed_size (+1)] float32, or the two parts of binary observations' rows -> a Transition with leading
    dims [...] (inverse of ``pack_transition``; observations back in ``obs_shape`` as float32; the end flag, if
    any, is ``end_flags(rows, ...)``)."""
    n = math.prod(obs_shape)
    if isinstance(rows, tuple):
        images, scalars = rows
        lead = scalars.shape[:-1]
        images = images.astype(jnp.float32)
        obs, action, reward, terminated, next_obs = (
            images[..., :n], scalars[..., 0], scalars[..., 1], scalars[..., 2], images[..., n:]
        )  # fmt: skip
    else:
        lead = rows.shape[:-1]
        obs, action, reward, terminated = rows[..., :n], rows[..., n], rows[..., n + 1], rows[..., n + 2]
        next_obs = rows[..., n + 3 : packed_size(n)]
    return Transition(
        obs=obs.reshape(*lead, *obs_shape),
        action=action.astype(jnp.int32),
        reward=reward,
        terminated=terminated,
        next_obs=next_obs.reshape(*lead, *obs_shape),
    )


def end_flags(rows: jax.Array | tuple[jax.Array, jax.Array], obs_size: int) -> jax.Array:
    """The episode-end flags of rows packed with one (n-step returns): [...] float32."""
    if isinstance(rows, tuple):
        return rows[1][..., 3]
    return rows[..., packed_size(obs_size)]
