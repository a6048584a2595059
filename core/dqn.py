"""DQN pieces (Mnih et al., 2015): the Q-network, the TD loss, epsilon-greedy exploration, target updates.

Each function is pure and works on one run; the training loop vmaps them across runs.
"""

from __future__ import annotations

from typing import NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
import optax
import rlax

from core.config import HParams, StaticConfig


class Transition(NamedTuple):
    obs: jax.Array  # [4] float32, observation before the action
    action: jax.Array  # [] int32
    reward: jax.Array  # [] float32
    terminated: jax.Array  # [] float32, 1.0 if the episode ended in a terminal state (not a time limit)
    next_obs: jax.Array  # [4] float32, the true next observation (never the reset one)


def make_network(hidden_sizes: tuple[int, ...], num_actions: int) -> hk.Transformed:
    """An MLP Q-network, obs [..., obs_size] -> Q-values [..., num_actions], ReLU hidden layers."""

    def q_fn(obs):
        return hk.nets.MLP((*hidden_sizes, num_actions), activation=jax.nn.relu)(obs)

    return hk.without_apply_rng(hk.transform(q_fn))


def make_optimizer(hparams: HParams, static: StaticConfig) -> optax.GradientTransformation:
    """Global-norm clipping then Adam, its step size decaying linearly from ``lr`` to ``lr * (1 - lr_decay)``
    over the run's gradient updates. The hyperparameters may be traced: the state's structure does not
    depend on their values, so one optimizer state fits every run of a vmapped batch."""
    n_updates = max(1, (static.total_steps - static.learning_starts) // static.train_every)

    def step_size(count):
        progress = jnp.minimum(count.astype(jnp.float32) / n_updates, 1.0)
        return hparams.lr * (1.0 - hparams.lr_decay * progress)

    return optax.chain(optax.clip_by_global_norm(hparams.max_grad_norm), optax.adam(step_size))


def epsilon(step: jax.Array, hparams: HParams, static: StaticConfig) -> jax.Array:
    """Exploration rate after ``step`` env steps.

    linear: eps_start -> eps_end over the first ``eps_decay_fraction * total_steps`` steps, then constant.
    exponential: eps_end + (eps_start - eps_end) * exp(-5 step / horizon), i.e. within 0.7% of the gap to
    eps_end at the same horizon.
    """
    horizon = jnp.maximum(hparams.eps_decay_fraction * static.total_steps, 1.0)
    frac = step.astype(jnp.float32) / horizon
    if static.eps_schedule == "linear":
        mix = jnp.clip(1.0 - frac, 0.0, 1.0)
    else:
        mix = jnp.exp(-5.0 * frac)
    return hparams.eps_end + (hparams.eps_start - hparams.eps_end) * mix


def td_loss(
    online_params: hk.Params,
    target_params: hk.Params,
    batch: Transition,
    hparams: HParams,
    static: StaticConfig,
    network: hk.Transformed,
) -> jax.Array:
    """Mean TD loss over a batch of transitions (leaves [B, ...]).

    Bootstraps with discount = gamma * (1 - terminated): a transition cut by the time limit is not terminal
    and bootstraps from its next state. Double Q-learning selects the next action with the online network
    and evaluates it with the target network (van Hasselt et al., 2016).
    """
    q_tm1 = network.apply(online_params, batch.obs)  # [B, A]
    q_t_target = network.apply(target_params, batch.next_obs)  # [B, A]
    discount = hparams.gamma * (1.0 - batch.terminated)  # [B]
    if static.double_q:
        q_t_selector = network.apply(online_params, batch.next_obs)  # [B, A]
        td = jax.vmap(rlax.double_q_learning)(q_tm1, batch.action, batch.reward, discount, q_t_target, q_t_selector)
    else:
        td = jax.vmap(rlax.q_learning)(q_tm1, batch.action, batch.reward, discount, q_t_target)
    if static.loss == "huber":
        losses = rlax.huber_loss(td, 1.0)
    else:
        losses = rlax.l2_loss(td)  # 0.5 * td^2
    return jnp.mean(losses)


def target_update(
    target_params: hk.Params, online_params: hk.Params, update_count: jax.Array, hparams: HParams
) -> hk.Params:
    """After the ``update_count``-th gradient update: every ``target_period`` updates, move the target towards
    the online network by ``tau`` (tau = 1 is a hard copy; target_period = 1 with small tau is Polyak
    averaging). The predicate may differ per run, so it is a select, which costs one pass over the params."""
    do = (update_count % hparams.target_period) == 0
    return jax.tree.map(
        lambda t, o: jnp.where(do, (1.0 - hparams.tau) * t + hparams.tau * o, t), target_params, online_params
    )
