"""What the training function needs of an environment (``Env``), and what the analysis needs of a task (``Task``).

An environment is pure functions over pytrees, as gymnax and ``core.envs.cartpole`` write them:
``reset(key, params) -> (obs, state)`` and ``step(key, state, action, params) -> (obs, state, reward, terminated,
truncated, info)``. ``step`` never resets: it returns the true next observation, and the caller decides what to do
at an episode's end (a truncated episode's learner bootstraps from its real final observation). ``terminated`` is
the task's own end (the pole fell, the goal was reached); ``truncated`` is the time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Task(NamedTuple):
    """A task's facts, the one place they are written: the engine records them in the manifest, and the analysis
    reads them there (it imports neither ``core`` nor gymnax).

    ``low``/``high`` bound an episode's return (``high`` None: no upper bound, as MinAtar's scores); ``solved`` is
    the return the task counts as solved (None: no such threshold); ``random`` a uniformly random policy's mean
    return, measured (``tests/test_envs.py`` checks it), for normalising scores across tasks."""

    low: float | None  # None: unknown (a user environment that does not say)
    high: float | None
    solved: float | None
    random: float | None

    def record(self) -> dict[str, Any]:
        return self._asdict()


class Env(NamedTuple):
    """An environment as the training function uses it (hashable: a ``Trainer`` closes over it)."""

    name: str
    obs_shape: tuple[int, ...]  # one observation's shape: (4,) for CartPole, (10, 10, C) for MinAtar
    num_actions: int
    max_steps: int  # the episode limit: an episode is truncated at this step
    params: Any  # the environment's parameters (a pytree), the episode limit included
    reset: Callable[..., tuple[Any, Any]]
    step: Callable[..., tuple[Any, Any, Any, Any, Any, Any]]
    task: Task
    # Observations hold only 0 and 1 (MinAtar's images): the replay buffer stores them as uint8, a quarter of
    # float32's memory and checkpoint, and gives the learner the same float32 values back.
    binary_obs: bool = False
    # Fixed bounds of each observation coordinate, (lows, highs), for rescaling to [-1, 1] (static field
    # obs_rescale); None where the environment has none.
    obs_bounds: tuple[tuple[float, ...], tuple[float, ...]] | None = None

    @property
    def obs_size(self) -> int:
        """Floats in one observation, flattened (how the replay buffer stores it)."""
        size = 1
        for d in self.obs_shape:
            size *= d
        return size

    @property
    def is_image(self) -> bool:
        """A [height, width, channels] observation (MinAtar's), which a convolutional network takes."""
        return len(self.obs_shape) == 3
