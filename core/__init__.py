"""Pure JAX core: CartPole-v1, a replay buffer, DQN and one jittable, vmappable training function.

``core`` knows nothing about grids, files or devices.
"""

from core import buffer, cartpole
from core.config import (
    EPS_SCHEDULES,
    FIELDS,
    LOSSES,
    STATIC_FIELDS,
    TRACED_FIELDS,
    Field,
    HParams,
    StaticConfig,
    hparams_as_arrays,
    is_positive_int,
    validate_hparams,
    validate_static,
)
from core.dqn import Transition, epsilon, make_network, make_optimizer, target_update, td_loss
from core.train import Learner, StepOutputs, Trainer, TrainState, make_train

__all__ = [
    "EPS_SCHEDULES",
    "FIELDS",
    "LOSSES",
    "STATIC_FIELDS",
    "TRACED_FIELDS",
    "Field",
    "HParams",
    "Learner",
    "StaticConfig",
    "StepOutputs",
    "TrainState",
    "Trainer",
    "Transition",
    "buffer",
    "cartpole",
    "epsilon",
    "hparams_as_arrays",
    "is_positive_int",
    "make_network",
    "make_optimizer",
    "make_train",
    "target_update",
    "td_loss",
    "validate_hparams",
    "validate_static",
]
