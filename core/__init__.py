"""Pure JAX core: CartPole-v1, a replay buffer, DQN and one jittable, vmappable training function.

``core`` knows nothing about grids, files or devices.
"""

from core import buffer, cartpole
from core.config import (
    EPS_SCHEDULES,
    LOSSES,
    STATIC_FIELDS,
    TRACED_FIELDS,
    HParams,
    StaticConfig,
    validate_hparams,
    validate_static,
)
from core.dqn import Transition, epsilon, make_network, make_optimizer, target_update, td_loss
from core.train import StepOutputs, Trainer, TrainState, episodes_from_outputs, hparams_as_arrays, make_train

__all__ = [
    "EPS_SCHEDULES",
    "LOSSES",
    "STATIC_FIELDS",
    "TRACED_FIELDS",
    "HParams",
    "StaticConfig",
    "StepOutputs",
    "TrainState",
    "Trainer",
    "Transition",
    "buffer",
    "cartpole",
    "episodes_from_outputs",
    "epsilon",
    "hparams_as_arrays",
    "make_network",
    "make_optimizer",
    "make_train",
    "target_update",
    "td_loss",
    "validate_hparams",
    "validate_static",
]
