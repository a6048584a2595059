"""The environments a run can train on, by name (the static field ``env``).

* ``CartPole-v1`` and ``CartPole-v0`` (a 200-step limit): this package's own CartPole (``core.envs.cartpole``),
  numerically gymnasium's; ``CartPole-v1`` is every sweep's default, its runs bitwise what they always were.
* ``Acrobot-v1``, ``MountainCar-v0`` and the MinAtar games ``Breakout-MinAtar``, ``Asterix-MinAtar``,
  ``Freeway-MinAtar``, ``SpaceInvaders-MinAtar`` (10 x 10 x C images): gymnax's, behind ``core.envs.gymnax_env``.
* ``package.module:function``: a researcher's own environment. The function takes no argument and returns a
  gymnax-style environment and its parameters (``reset_env``, ``step_env``, ``is_truncated``, ``num_actions``);
  an optional ``task`` attribute of the function, a ``Task`` or a dict of its fields, gives its score bounds.

``TASKS`` holds each built-in task's facts (``base.Task``); the random-policy returns are the means of 1,000
episodes of uniformly random actions at the default episode limits, measured with this package's environments.
"""

from __future__ import annotations

import functools
import importlib
import re

from core.envs import cartpole, gymnax_env
from core.envs.base import Env, Task

TASKS: dict[str, Task] = {
    "CartPole-v1": Task(low=0.0, high=500.0, solved=475.0, random=21.9),
    "CartPole-v0": Task(low=0.0, high=200.0, solved=195.0, random=21.9),
    "Acrobot-v1": Task(low=-500.0, high=0.0, solved=-100.0, random=-499.2),
    "MountainCar-v0": Task(low=-200.0, high=0.0, solved=-110.0, random=-200.0),
    "Breakout-MinAtar": Task(low=0.0, high=None, solved=None, random=0.37),
    "Asterix-MinAtar": Task(low=0.0, high=None, solved=None, random=0.52),
    "Freeway-MinAtar": Task(low=0.0, high=None, solved=None, random=0.41),
    "SpaceInvaders-MinAtar": Task(low=0.0, high=None, solved=None, random=4.13),
}
ENV_NAMES = tuple(TASKS)
_USER = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")  # package.module:function


class EnvError(ValueError):
    """An environment that cannot be made: an unknown name, a user module that does not import, a function that
    does not return an environment; one sentence."""


def is_env_name(name: object) -> bool:
    """A built-in name or the form of a user environment (``package.module:function``); whether the latter
    imports is ``make_env``'s question."""
    return isinstance(name, str) and (name in TASKS or bool(_USER.match(name)))


def _cartpole(name: str, limit: int) -> Env:
    """This package's CartPole truncated at ``limit`` steps (one point a step: the return is at most ``limit``)."""
    params = cartpole.EnvParams(max_steps_in_episode=limit)
    task = TASKS[name]._replace(high=float(limit))
    return Env(name, (cartpole.OBS_SIZE,), cartpole.NUM_ACTIONS, limit, params, cartpole.reset, cartpole.step, task)


def _limited(task: Task, limit: int, default: int) -> Task:
    """A task's bounds at another episode limit: a reward of -1 a step (Acrobot, MountainCar) bounds the
    return below by minus the limit."""
    if limit == default or task.low != -default:
        return task
    return task._replace(low=-float(limit), random=task.random * limit / default if task.random < 0 else task.random)


@functools.lru_cache(maxsize=64)
def make_env(name: str, episode_limit: int = 0) -> Env:
    """The environment ``name`` (see the module docstring), truncated at ``episode_limit`` steps (0: its own
    limit). Cached: the same arguments give the same ``Env`` (a training function's static part)."""
    if name in ("CartPole-v1", "CartPole-v0"):
        return _cartpole(name, episode_limit or (500 if name == "CartPole-v1" else 200))
    if name in TASKS:
        default = gymnax_env.make(name, TASKS[name])
        if not episode_limit or episode_limit == default.max_steps:
            return default
        env = gymnax_env.make(name, TASKS[name], episode_limit)
        return env._replace(task=_limited(TASKS[name], episode_limit, default.max_steps))
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
        env, params = make()
    except Exception as err:  # noqa: BLE001
        raise EnvError(f"environment {name!r}: {function_name}() failed ({type(err).__name__}: {err})") from None
    needed = ("reset_env", "step_env", "is_truncated", "num_actions")
    missing = [a for a in needed if not hasattr(env, a)]
    if missing or not hasattr(params, "max_steps_in_episode"):
        what = ", ".join(missing) or "params.max_steps_in_episode"
        raise EnvError(
            f"environment {name!r}: {function_name}() must return a gymnax-style environment and its params "
            f"(missing {what})"
        )
    task = getattr(make, "task", None)
    task = Task(**task) if isinstance(task, dict) else task or Task(low=None, high=None, solved=None, random=None)
    return gymnax_env.wrap(name, env, params, task, episode_limit or None)


__all__ = ["ENV_NAMES", "TASKS", "Env", "EnvError", "Task", "cartpole", "is_env_name", "make_env"]
