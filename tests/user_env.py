"""A tiny environment written the gymnax way, for the test of user environments (a helper module, not a test
module): ``env = "user_env:make_corridor"`` trains on it.

A corridor of ``length`` cells: the agent starts in the middle, moves left (action 0) or right (action 1), and the
episode ends with reward 1 when it reaches the right end; every other step gives 0. Observation: [position / length].
"""

import dataclasses

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class CorridorParams:
    length: int = 6
    max_steps_in_episode: int = 20

    def replace(self, **kw):
        return dataclasses.replace(self, **kw)


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class CorridorState:
    position: jax.Array
    time: jax.Array


class Corridor:
    num_actions = 2

    def reset_env(self, key, params):
        state = CorridorState(jnp.int32(params.length // 2), jnp.int32(0))
        return self._obs(state, params), state

    def step_env(self, key, state, action, params):
        position = jnp.clip(state.position + 2 * action - 1, 0, params.length)
        state = CorridorState(position, state.time + 1)
        terminated = position == params.length
        return self._obs(state, params), state, terminated.astype(jnp.float32), terminated, {}

    def is_truncated(self, state, params):
        return state.time >= params.max_steps_in_episode

    def _obs(self, state, params):
        return jnp.array([state.position / params.length], jnp.float32)


def make_corridor():
    return Corridor(), CorridorParams()


make_corridor.task = {"low": 0.0, "high": 1.0, "solved": 1.0, "random": None}


def make_nothing():
    return 42
