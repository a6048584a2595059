"""The environments a run can train on, by name (the static field ``env``).

* ``CartPole-v1`` and ``CartPole-v0`` (a 200-step limit): this package's own CartPole (``core.envs.cartpole``),
  numerically gymnasium's; ``CartPole-v1`` is every sweep's default, its runs bitwise what they always were.
* ``Acrobot-v1``, ``MountainCar-v0`` and the MinAtar games ``Breakout-MinAtar``, ``Asterix-MinAtar``,
  ``Freeway-MinAtar``, ``SpaceInvaders-MinAtar`` (10 x 10 x C images): gymnax's, behind ``core.envs.gymnax_env``.
* ``package.module:function``: a researcher's own environment. The function takes no argument and returns a
  gymnax-style environment and its parameters (``reset_env``, ``step_env``, ``is_truncated``, ``num_actions``);
  an optional ``task`` attribute of the function, a ``Task`` or a dict of its fields, gives its score bounds.

``BUILTINS`` holds each built-in environment's shape and task facts (``base.Task``), so that a grid is checked and
a manifest written without making the environment (gymnax imports flax and matplotlib); the random-policy returns
are the means of 1,000 episodes of uniformly random actions at the default episode limits, measured with gymnax.
"""

from __future__ import annotations

import functools
import importlib
import math
import re
from typing import NamedTuple

from core.envs import cartpole, gymnax_env
from core.envs.base import Env, Task


class Builtin(NamedTuple):
    """A built-in environment as the table knows it, without making it (no gymnax import): what a grid's check
    and the manifest need. ``make_env`` checks that the environment it makes agrees."""

    obs_shape: tuple[int, ...]
    num_actions: int
    max_steps: int  # the default episode limit
    task: Task
    obs_bounds: tuple[tuple[float, ...], tuple[float, ...]] | None = None  # for obs_rescale (Dopamine's)


# The bounds Dopamine rescales classic-control observations from (dopamine/discrete_domains/gym_lib.py), as the
# Revisiting Rainbow study trained with them: a velocity beyond them maps outside [-1, 1].
_CARTPOLE_BOUNDS = ((-2.4, -5.0, -math.pi / 12, -math.pi * 2), (2.4, 5.0, math.pi / 12, math.pi * 2))
_ACROBOT_BOUNDS = ((-1.0, -1.0, -1.0, -1.0, -5.0, -5.0), (1.0, 1.0, 1.0, 1.0, 5.0, 5.0))
_MOUNTAINCAR_BOUNDS = ((-1.2, -0.07), (0.6, 0.07))

BUILTINS: dict[str, Builtin] = {
    "CartPole-v1": Builtin((4,), 2, 500, Task(low=0.0, high=500.0, solved=475.0, random=21.9), _CARTPOLE_BOUNDS),
    "CartPole-v0": Builtin((4,), 2, 200, Task(low=0.0, high=200.0, solved=195.0, random=21.9), _CARTPOLE_BOUNDS),
    "Acrobot-v1": Builtin((6,), 3, 500, Task(low=-500.0, high=0.0, solved=-100.0, random=-499.2), _ACROBOT_BOUNDS),
    "MountainCar-v0": Builtin(
        (2,), 3, 200, Task(low=-200.0, high=0.0, solved=-110.0, random=-200.0), _MOUNTAINCAR_BOUNDS
    ),
    "Breakout-MinAtar": Builtin((10, 10, 4), 3, 1000, Task(low=0.0, high=None, solved=None, random=0.37)),
    "Asterix-MinAtar": Builtin((10, 10, 4), 5, 1000, Task(low=0.0, high=None, solved=None, random=0.52)),
    "Freeway-MinAtar": Builtin((10, 10, 7), 3, 2500, Task(low=0.0, high=None, solved=None, random=0.41)),
    "SpaceInvaders-MinAtar": Builtin((10, 10, 6), 4, 1000, Task(low=0.0, high=None, solved=None, random=4.13)),
}
TASKS: dict[str, Task] = {name: b.task for name, b in BUILTINS.items()}
ENV_NAMES = tuple(TASKS)
_USER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")  # package.module:function


class EnvError(ValueError):
    """An environment that cannot be made: an unknown name, a user module that does not import, a function that
    does not return an environment; one sentence."""


def is_env_name(name: object) -> bool:
    """A built-in name or the form of a user environment (``package.module:function``); whether the latter
    imports is ``make_env``'s question."""
    return isinstance(name, str) and (name in TASKS or bool(_USER.match(name)))


def _limited(name: str, task: Task, limit: int, default: int) -> Task:
    """A task's facts at the episode limit ``limit`` (``default``: its own). CartPole scores a point a step, so
    its return is at most the limit; Acrobot and MountainCar lose one a step, so theirs is at least minus the
    limit, which a random policy (which rarely ends an episode sooner) scores."""
    if limit == default:
        return task
    if name.startswith("CartPole"):
        return task._replace(high=float(limit))
    if task.low == -default:
        return task._replace(low=-float(limit), random=task.random * limit / default)
    return task


def _cartpole(name: str, limit: int) -> Env:
    """This package's CartPole truncated at ``limit`` steps."""
    params = cartpole.EnvParams(max_steps_in_episode=limit)
    task = _limited(name, TASKS[name], limit, BUILTINS[name].max_steps)
    return Env(name, (cartpole.OBS_SIZE,), cartpole.NUM_ACTIONS, limit, params, cartpole.reset, cartpole.step, task,
               obs_bounds=BUILTINS[name].obs_bounds)  # fmt: skip


class EnvInfo(NamedTuple):
    """What is known of an environment before it is made: its observation shape, action count, episode limit
    and task facts (``describe``)."""

    obs_shape: tuple[int, ...]
    num_actions: int
    max_steps: int
    task: Task
    obs_bounds: tuple[tuple[float, ...], tuple[float, ...]] | None = None


def describe(name: str, episode_limit: int = 0) -> EnvInfo:
    """``name``'s shape and facts at ``episode_limit`` (0: its own): from ``BUILTINS`` without making a built-in
    environment, by making a user's. EnvError for an unknown name or a user environment that cannot be made."""
    if name in BUILTINS:
        b = BUILTINS[name]
        limit = episode_limit or b.max_steps
        return EnvInfo(b.obs_shape, b.num_actions, limit, _limited(name, b.task, limit, b.max_steps), b.obs_bounds)
    env = make_env(name, episode_limit)
    return EnvInfo(env.obs_shape, env.num_actions, env.max_steps, env.task, env.obs_bounds)


@functools.lru_cache(maxsize=64)
def make_env(name: str, episode_limit: int = 0) -> Env:
    """The environment ``name`` (see the module docstring), truncated at ``episode_limit`` steps (0: its own
    limit). Cached: the same arguments give the same ``Env`` (a training function's static part)."""
    if name in ("CartPole-v1", "CartPole-v0"):
        return _cartpole(name, episode_limit or BUILTINS[name].max_steps)
    if name in BUILTINS:
        b = BUILTINS[name]
        limit = episode_limit or b.max_steps
        env = gymnax_env.make(name, _limited(name, b.task, limit, b.max_steps), limit)._replace(obs_bounds=b.obs_bounds)
        if (env.obs_shape, env.num_actions) != (b.obs_shape, b.num_actions):  # the table must tell the truth
            raise EnvError(f"{name}: gymnax gives {env.obs_shape} and {env.num_actions} actions, BUILTINS says "
                           f"{b.obs_shape} and {b.num_actions}")  # fmt: skip
        return env
    if not is_env_name(name):
        raise EnvError(f"unknown environment {name!r}; known: {', '.join(ENV_NAMES)}, or package.module:function")
    return _user_env(name, episode_limit)


def _user_env(name: str, episode_limit: int) -> Env:
    module_name, function_name = name.split(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as err:  # noqa: BLE001 - whatever a user's module raises on import is one sentence
        raise EnvError(f"environment {name!r}: cannot import {module_name} ({type(err).__name__}: {err})") from None
    make = getattr(module, function_name, None)
    if not callable(make):
        raise EnvError(f"environment {name!r}: {module_name} has no function {function_name}")
    try:
        made = make()
    except Exception as err:  # noqa: BLE001
        raise EnvError(f"environment {name!r}: {function_name}() failed ({type(err).__name__}: {err})") from None
    shape = "a gymnax-style environment and its params"
    if not (isinstance(made, tuple) and len(made) == 2):
        raise EnvError(f"environment {name!r}: {function_name}() must return {shape}, got {type(made).__name__}")
    env, params = made
    needed = ("reset_env", "step_env", "is_truncated", "num_actions")
    missing = [a for a in needed if not hasattr(env, a)]
    if missing or not hasattr(params, "max_steps_in_episode"):
        what = ", ".join(missing) or "params.max_steps_in_episode"
        raise EnvError(f"environment {name!r}: {function_name}() must return {shape} (missing {what})")
    task = getattr(make, "task", None)
    task = Task(**task) if isinstance(task, dict) else task or Task(low=None, high=None, solved=None, random=None)
    return gymnax_env.wrap(name, env, params, task, episode_limit or None)


__all__ = ["BUILTINS", "ENV_NAMES", "TASKS", "Env", "EnvError", "EnvInfo", "Task", "cartpole", "describe",
           "is_env_name", "make_env"]  # fmt: skip
