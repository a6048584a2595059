"""gymnax's environments (Lange, 2022) as ``core.envs.base.Env``: Acrobot-v1, MountainCar-v0 and the MinAtar
games (Young and Tian, 2019), pure and jittable; and any environment written the gymnax way (a user's).

gymnax 1.0's ``step_env`` returns the true next observation and the task's own end (``terminated``), and does not
reset; the time limit is ``is_truncated`` of the new state (``state.time >= params.max_steps_in_episode``), as
gymnasium's ``TimeLimit`` counts it. ``step`` here puts the two together in the order every environment of this
package uses. Observations and rewards are cast to float32.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from core.envs.base import Env, Task


def wrap(name: str, env: Any, params: Any, task: Task, max_steps: int | None = None, binary_obs: bool = False) -> Env:
    """A gymnax-style ``env`` with ``params`` (its episode limit ``max_steps`` if given) as an ``Env``;
    ``binary_obs``: its observations hold only 0 and 1 (see ``Env.binary_obs``)."""
    if max_steps:
        params = params.replace(max_steps_in_episode=max_steps)

    def reset(key: jax.Array, params: Any = params) -> tuple[jax.Array, Any]:
        obs, state = env.reset_env(key, params)
        return jnp.asarray(obs, jnp.float32), state

    def step(key: jax.Array, state: Any, action: jax.Array, params: Any = params):
        obs, state, reward, terminated, _ = env.step_env(key, state, action, params)
        truncated = jnp.asarray(env.is_truncated(state, params))
        obs, reward = jnp.asarray(obs, jnp.float32), jnp.asarray(reward, jnp.float32)
        return obs, state, reward, jnp.asarray(terminated, jnp.bool_), truncated, {}

    obs, _ = jax.eval_shape(reset, jax.random.key(0))
    return Env(name, tuple(obs.shape), int(env.num_actions), int(params.max_steps_in_episode), params, reset, step,
               task, binary_obs)  # fmt: skip


def make(name: str, task: Task, max_steps: int | None = None) -> Env:
    """gymnax's ``name`` with its default parameters (the episode limit ``max_steps`` if given). MinAtar's
    observations are 0/1 images (gymnax gives them as float32), so its games are marked ``binary_obs``."""
    import gymnax  # here: only the environments that need it import it (and flax with it)

    env, params = gymnax.make(name)
    return wrap(name, env, params, task, max_steps, binary_obs=name.endswith("-MinAtar"))
