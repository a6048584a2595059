"""Pure JAX core: the environments (``envs``: CartPole, gymnax's classic control and MinAtar, a user's own), a
replay buffer, DQN and one jittable, vmappable training function.

``core`` knows nothing about grids, files or devices.
"""

from core import buffer, envs, prioritized
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
from core.dqn import (
    Transition,
    dueling_q,
    epsilon,
    importance_exponent,
    make_network,
    make_optimizer,
    n_step_target,
    target_update,
    td_errors,
    td_loss,
    weighted_td_loss,
)
from core.envs import cartpole
from core.train import Learner, PriorityUpdate, StepOutputs, Trainer, TrainState, make_train

__all__ = [
    "envs",
    "EPS_SCHEDULES",
    "FIELDS",
    "LOSSES",
    "STATIC_FIELDS",
    "TRACED_FIELDS",
    "Field",
    "HParams",
    "Learner",
    "PriorityUpdate",
    "StaticConfig",
    "StepOutputs",
    "TrainState",
    "Trainer",
    "Transition",
    "buffer",
    "cartpole",
    "dueling_q",
    "epsilon",
    "hparams_as_arrays",
    "importance_exponent",
    "is_positive_int",
    "make_network",
    "make_optimizer",
    "make_train",
    "n_step_target",
    "prioritized",
    "target_update",
    "td_errors",
    "td_loss",
    "validate_hparams",
    "validate_static",
    "weighted_td_loss",
]
