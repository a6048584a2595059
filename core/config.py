"""Configuration, split in two, and the one table of every hyperparameter (``FIELDS``):

* ``StaticConfig``: a frozen dataclass of everything that fixes a shape, a loop length or the structure of the
  computation. Changing one of these means compiling another program.
* ``HParams``: a pytree of scalars that are traced, so one compiled program can be vmapped over many values.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from core.envs import ENV_NAMES, is_env_name

LOSSES = ("huber", "mse")
NETWORKS = ("auto", "mlp", "minatar_conv")  # core.dqn.make_network builds them
EPS_SCHEDULES = ("linear", "exponential", "hyperbolic")
DUELING_SPLITS = ("hidden", "output")  # where dueling's streams part (core.dqn.make_network)
WEIGHT_INITS = ("haiku", "glorot")
NOISY_DRAWS = ("step", "once")  # when noisy networks draw their noise (core.train, core.dqn.noisy_apply)


@dataclasses.dataclass(frozen=True)
class StaticConfig:
    """Fields that fix shapes, loop lengths or the program's structure."""

    total_steps: int = 50_000  # env steps per run
    buffer_capacity: int = 10_000  # replay buffer slots
    batch_size: int = 64  # transitions per gradient update
    hidden_sizes: tuple[int, ...] = (64, 64)  # MLP hidden layer widths
    learning_starts: int = 1_000  # env steps before the first update
    train_every: int = 1  # env steps between updates
    eval_every: int = 5_000  # env steps between greedy evaluations
    eval_episodes: int = 10  # fresh greedy episodes per evaluation (mean recorded)
    double_q: bool = False  # double Q-learning target (van Hasselt et al., 2016)
    # "mse" (0.5 td^2) or "huber" (delta 1). MSE is the default: with reward 1 per step, terminal transitions
    # are rare and carry large negative TD errors; Huber caps their weight and Q drifts above 1 / (1 - gamma).
    loss: str = "mse"
    eps_schedule: str = "linear"  # "linear", "exponential" or "hyperbolic" (see core.dqn.epsilon)
    # The DQN family's improvements; all off by default, and off they leave a run bitwise what it was.
    n_step: int = 1  # n-step returns: rewards of up to n steps, then bootstrap (Sutton 1988; Hessel et al. 2018)
    dueling: bool = False  # value and advantage streams, Q = V + A - mean(A) (Wang et al., 2016)
    # Where they part: "hidden", each stream its own last hidden layer (Wang et al.'s); "output", every hidden
    # layer shared and only the output layer split (Dopamine's classic-control networks).
    dueling_split: str = "hidden"
    per: bool = False  # proportional prioritized replay (Schaul et al., 2016); see per_alpha, per_beta, per_eps
    # Distributional C51 (Bellemare et al., 2017): the network gives each action a distribution over num_atoms
    # returns evenly spaced from v_min to v_max, learnt by cross-entropy with the projected target distribution;
    # actions are greedy in its mean. The loss field does not apply (huber is refused).
    distributional: bool = False
    num_atoms: int = 51
    # Noisy networks (Fortunato et al., 2018): every dense layer's weights get factorised Gaussian noise, scaled by
    # learnt sigmas that start at noisy_sigma / sqrt(fan_in); fresh noise from the run's key at every acting step
    # and every update (online and target networks their own draws), none at greedy evaluation.
    noisy: bool = False
    noisy_sigma: float = 0.5
    # "step": the noise above, fresh at every pass. "once": one draw, the same for every pass of every run and its
    # greedy evaluation, never redrawn (what the Revisiting Rainbow study's released code does).
    noisy_draw: str = "step"
    # The task (core.envs): a built-in name or "package.module:function" (a researcher's own environment).
    env: str = "CartPole-v1"
    network: str = "auto"  # "mlp", "minatar_conv" (images), or "auto": the one that fits the observation
    episode_limit: int = 0  # env steps at which an episode is truncated; 0: the environment's own limit
    obs_rescale: bool = False  # observations rescaled to [-1, 1] from the env's fixed bounds (Dopamine's), in the net
    # Dense layers' initial weights: "haiku" (truncated normal, stddev 1 / sqrt(fan_in)) or "glorot" (uniform,
    # Dopamine's); noisy layers keep the paper's initialisation.
    weight_init: str = "haiku"

    def __post_init__(self):
        validate_static(self)


class HParams(NamedTuple):
    """Traced hyperparameters: each leaf is a scalar (or, batched, a [runs] array)."""

    lr: Any = 1e-3  # Adam step size at the first update
    # Linear decay of the step size over the run's updates (0: constant, 1: down to zero). Decaying to zero
    # steadies the final policy: 24 seeds solved 92% with it, 79% without (IQM 500 both).
    lr_decay: Any = 1.0
    gamma: Any = 0.99  # discount
    eps_start: Any = 1.0  # exploration rate at step 0
    eps_end: Any = 0.05  # exploration rate after the decay
    # Fraction of total_steps over which epsilon decays. A short decay leaves most of the run near eps_end to
    # refine the policy: at 50k steps, seeds 0-31 solved 84% at 0.1 (mean final return 477), 75% at 0.2 (456)
    # and about 64% at 0.5; double Q-learning did worse at both 0.1 and 0.2.
    eps_decay_fraction: Any = 0.1
    target_period: Any = 100  # updates between target-network updates
    tau: Any = 1.0  # target <- (1 - tau) target + tau online at each target update (1.0: hard copy)
    # Global-norm gradient clipping; off by default: clipping at 10 or 100 slowed the corrections of
    # overestimated Q-values enough to lose seeds (24-seed IQM 454 at 100 vs 500 unclipped).
    max_grad_norm: Any = float("inf")
    # Prioritized replay (used only with per = true): transition i is drawn with probability p_i / sum p, where
    # p_i = (|TD error| + per_eps) ^ per_alpha (new transitions: the largest p so far); the loss is weighted by
    # (N P(i)) ^ -beta / max over the batch, beta annealed linearly from per_beta to 1 over the run.
    per_alpha: Any = 0.6
    per_beta: Any = 0.4
    per_eps: Any = 1e-6
    # The importance-sampling exponent's value at the run's end (1: full correction, Schaul et al.; per_beta for a
    # constant exponent, as Dopamine's 0.5).
    per_beta_end: Any = 1.0
    adam_eps: Any = 1e-8  # Adam's epsilon (optax's default; Dopamine's classic-control agents use 3.125e-4)
    # The support of C51's return distributions (used only with distributional = true): num_atoms returns from
    # v_min to v_max. The defaults hold every return of the classic-control tasks at gamma 0.99 (|Q| <= 100).
    v_min: Any = -100.0
    v_max: Any = 100.0


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def is_positive_int(v: Any) -> bool:
    """True for an integer (Python or numpy, not a bool) above zero."""
    return _is_int(v) and v > 0


def check_positive_int(name: str, value: Any) -> int:
    """``value``, or ValueError naming ``name`` unless it is a positive integer."""
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _non_negative_int(v: Any) -> bool:
    return _is_int(v) and v >= 0


def _in_unit_interval(v: np.ndarray) -> np.ndarray:
    return (v >= 0) & (v <= 1)


@dataclasses.dataclass(frozen=True)
class Field:
    """One hyperparameter: what it is, its type and what values it allows.

    ``kind`` is the type a grid file gives it: "int", "float", "bool", "str" or "ints" (a tuple of integers).
    Traced fields compute as ``dtype`` (int32 or float32); ``check`` tests a value (for traced fields an array of
    any shape, elementwise) and ``allowed`` says in words what passes.
    """

    name: str
    traced: bool
    kind: str
    default: Any
    check: Callable[[Any], Any]
    allowed: str

    @property
    def dtype(self) -> type | None:
        """The numpy dtype a traced field computes in (None for static fields)."""
        if not self.traced:
            return None
        return np.int32 if self.kind == "int" else np.float32


def _static(name: str, kind: str, check: Callable[[Any], bool], allowed: str) -> Field:
    return Field(name, False, kind, getattr(StaticConfig, name), check, allowed)


def _traced(name: str, kind: str, check: Callable[[np.ndarray], np.ndarray], allowed: str) -> Field:
    return Field(name, True, kind, HParams._field_defaults[name], check, allowed)


# The one table of hyperparameters: the grid parser, the engine's batching and validation all read it.
FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        _static("total_steps", "int", is_positive_int, "a positive integer"),
        _static("buffer_capacity", "int", is_positive_int, "a positive integer"),
        _static("batch_size", "int", is_positive_int, "a positive integer"),
        _static(
            "hidden_sizes",
            "ints",
            lambda v: isinstance(v, tuple) and len(v) > 0 and all(is_positive_int(w) for w in v),
            "a non-empty tuple of positive integers",
        ),
        _static("learning_starts", "int", _non_negative_int, "a non-negative integer"),
        _static("train_every", "int", is_positive_int, "a positive integer"),
        _static("eval_every", "int", is_positive_int, "a positive integer"),
        _static("eval_episodes", "int", is_positive_int, "a positive integer"),
        _static("double_q", "bool", lambda v: isinstance(v, bool), "true or false"),
        _static("loss", "str", lambda v: v in LOSSES, f"one of {', '.join(LOSSES)}"),
        _static("eps_schedule", "str", lambda v: v in EPS_SCHEDULES, f"one of {', '.join(EPS_SCHEDULES)}"),
        _static("n_step", "int", is_positive_int, "a positive integer"),
        _static("dueling", "bool", lambda v: isinstance(v, bool), "true or false"),
        _static("dueling_split", "str", lambda v: v in DUELING_SPLITS, f"one of {', '.join(DUELING_SPLITS)}"),
        _static("per", "bool", lambda v: isinstance(v, bool), "true or false"),
        _static("distributional", "bool", lambda v: isinstance(v, bool), "true or false"),
        _static("num_atoms", "int", lambda v: _is_int(v) and v >= 2, "an integer of at least 2"),
        _static("noisy", "bool", lambda v: isinstance(v, bool), "true or false"),
        _static(
            "noisy_sigma", "float", lambda v: isinstance(v, float) and math.isfinite(v) and v > 0, "a positive number"
        ),  # fmt: skip
        _static("noisy_draw", "str", lambda v: v in NOISY_DRAWS, f"one of {', '.join(NOISY_DRAWS)}"),
        _static("env", "str", is_env_name, f"one of {', '.join(ENV_NAMES)}, or package.module:function"),
        _static("network", "str", lambda v: v in NETWORKS, f"one of {', '.join(NETWORKS)}"),
        _static("episode_limit", "int", _non_negative_int, "a non-negative integer (0: the environment's own)"),
        _static("obs_rescale", "bool", lambda v: isinstance(v, bool), "true or false"),
        _static("weight_init", "str", lambda v: v in WEIGHT_INITS, f"one of {', '.join(WEIGHT_INITS)}"),
        _traced("lr", "float", lambda v: v > 0, "a positive number"),
        _traced("lr_decay", "float", _in_unit_interval, "a number in [0, 1]"),
        _traced("gamma", "float", _in_unit_interval, "a number in [0, 1]"),
        _traced("eps_start", "float", _in_unit_interval, "a number in [0, 1]"),
        _traced("eps_end", "float", _in_unit_interval, "a number in [0, 1]"),
        _traced("eps_decay_fraction", "float", lambda v: (v > 0) & (v <= 1), "a number in (0, 1]"),
        _traced("target_period", "int", lambda v: (v >= 1) & (v == np.round(v)), "a positive integer"),
        _traced("tau", "float", lambda v: (v > 0) & (v <= 1), "a number in (0, 1]"),
        _traced("max_grad_norm", "float", lambda v: v > 0, "a positive number (inf turns clipping off)"),
        _traced("per_alpha", "float", _in_unit_interval, "a number in [0, 1]"),
        _traced("per_beta", "float", _in_unit_interval, "a number in [0, 1]"),
        _traced("per_eps", "float", lambda v: v > 0, "a positive number"),
        _traced("per_beta_end", "float", _in_unit_interval, "a number in [0, 1]"),
        _traced("adam_eps", "float", lambda v: v > 0, "a positive number"),
        _traced("v_min", "float", lambda v: np.ones_like(v, bool), "a number"),
        _traced("v_max", "float", lambda v: np.ones_like(v, bool), "a number"),
    )
}
STATIC_FIELDS = tuple(f.name for f in dataclasses.fields(StaticConfig))
TRACED_FIELDS = HParams._fields
assert tuple(FIELDS) == STATIC_FIELDS + TRACED_FIELDS, "FIELDS must list every field of StaticConfig and HParams"
# A traced field that may be infinite (the others must be finite).
_MAY_BE_INFINITE = ("max_grad_norm",)


def validate_static(cfg: StaticConfig) -> None:
    """Raises ValueError naming the first invalid field of ``cfg``."""
    for name in STATIC_FIELDS:
        field, value = FIELDS[name], getattr(cfg, name)
        if not field.check(value):
            hint = ""
            if name == "env" and isinstance(value, str):  # a misspelt built-in: name the closest
                close = difflib.get_close_matches(value, ENV_NAMES, n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"{name} must be {field.allowed}, got {value!r}{hint}")
    if cfg.batch_size > cfg.buffer_capacity:
        raise ValueError(f"batch_size ({cfg.batch_size}) must not exceed buffer_capacity ({cfg.buffer_capacity})")
    if cfg.n_step > cfg.buffer_capacity:
        raise ValueError(f"n_step ({cfg.n_step}) must not exceed buffer_capacity ({cfg.buffer_capacity})")
    if cfg.distributional and cfg.loss == "huber":
        raise ValueError("loss 'huber' does not go with distributional = true: C51 learns by the cross-entropy of "
                         "its return distributions (leave loss at its default)")  # fmt: skip
    if cfg.eval_every > cfg.total_steps:
        raise ValueError(f"eval_every ({cfg.eval_every}) must not exceed total_steps ({cfg.total_steps})")


def validate_hparams(hparams: HParams) -> None:
    """Raises ValueError naming the first invalid hyperparameter. Works on scalars or [runs] arrays.

    Traced values (inside jit/vmap) cannot be checked and are skipped; the sweep engine checks concrete values
    before it traces anything.
    """
    for name in TRACED_FIELDS:
        field, value = FIELDS[name], getattr(hparams, name)
        if isinstance(value, jax.core.Tracer):
            continue
        arr = np.asarray(value, dtype=np.float64)
        bad = ~(np.isfinite(arr) | (np.isinf(arr) & (name in _MAY_BE_INFINITE))) | ~field.check(arr)
        if np.any(bad):
            first = float(arr.reshape(-1)[np.argmax(np.asarray(bad).reshape(-1))])
            integral = field.kind == "int" and math.isfinite(first) and first == int(first)
            raise ValueError(f"{name} must be {field.allowed}, got {int(first) if integral else first!r}")
    v_min, v_max = hparams.v_min, hparams.v_max
    if not isinstance(v_min, jax.core.Tracer) and not isinstance(v_max, jax.core.Tracer):
        lo, hi = np.asarray(v_min, np.float64), np.asarray(v_max, np.float64)
        if np.any(lo >= hi):
            i = np.argmax(np.broadcast_to(lo >= hi, np.broadcast(lo, hi).shape).reshape(-1))
            pair = np.broadcast_arrays(lo, hi)
            raise ValueError(f"v_min must be below v_max, got v_min {float(pair[0].reshape(-1)[i])!r} and v_max "
                             f"{float(pair[1].reshape(-1)[i])!r}")  # fmt: skip


def hparams_as_arrays(hparams: HParams, xp: Any = jnp) -> HParams:
    """The hyperparameters as arrays of their fields' dtypes (``FIELDS[name].dtype``: float32, int32), built
    with ``xp`` (``jax.numpy``, or numpy on the host), so every run's state has the same structure and dtype
    whatever Python numbers were given."""
    return HParams(**{name: xp.asarray(getattr(hparams, name), FIELDS[name].dtype) for name in TRACED_FIELDS})
