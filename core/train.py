"""One pure DQN training function on any of ``core.envs``' environments (CartPole-v1 by default):
``make_train(static) -> train(key, hparams)``.

The whole loop (acting, env stepping with explicit resets, replay buffer, updates, target updates, periodic
greedy evaluation) is one ``lax.scan`` inside ``jit``, so ``jax.vmap(train)`` trains many agents at once.
The same computation is available in resumable pieces, ``init(key, hparams) -> state`` and
``run(state, n_steps) -> (state, outputs)``; running in chunks gives bitwise the same outputs as one call.
Nothing in a run's computation reads another run's values, but on CPU XLA compiles sums and fused
multiply-adds differently for different batch shapes, so a run is bitwise the same beside any neighbours only
within a batch of the same shape: a caller that needs reproducible runs keeps that shape fixed.

Schedule predicates (learning started? an update step? an evaluation step?) depend only on the env step
counter, which every run of a batch shares. Vmap the state with ``state_axes()`` to keep that counter
unbatched, so these predicates stay real branches (``lax.cond``) instead of selects that compute both sides.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
import optax

from core import buffer as replay
from core import prioritized
from core.config import HParams, StaticConfig, check_positive_int, hparams_as_arrays, validate_hparams
from core.dqn import (
    Transition,
    epsilon,
    importance_exponent,
    make_network,
    make_optimizer,
    n_step_target,
    network_kind,
    noisy_apply,
    q_values,
    rescale_bounds,
    target_update,
    td_loss,
    weighted_td_loss,
)
from core.envs import Env, make_env
from core.rows import empty_row, end_flags, pack_transition, unpack_transitions


class TrainState(NamedTuple):
    """Everything a run carries from one env step to the next."""

    params: hk.Params  # online Q-network
    target_params: hk.Params  # target Q-network
    opt_state: optax.OptState
    # [capacity, row_size(static)] float32 packed transitions (two parts for binary observations; see
    # pack_transition); with per, a prioritized.PrioritizedState around them.
    buffer: replay.BufferState | prioritized.PrioritizedState
    env_state: Any  # the environment's state (a pytree: cartpole.EnvState for CartPole)
    obs: jax.Array  # [*obs_shape] float32, current observation ([4] for CartPole)
    episode_return: jax.Array  # [] float32, return of the episode in progress
    episode_length: jax.Array  # [] int32, length of the episode in progress
    update_count: jax.Array  # [] int32, gradient updates done
    diverged: jax.Array  # [] bool, a non-finite loss has been seen
    key: jax.Array  # [2] uint32, raw data of this run's PRNG key (split every step, never reused)
    hparams: HParams  # traced hyperparameters, [] each
    step: jax.Array  # [] int32, env steps done; shared by every run of a batch (see state_axes)


SHARED_FIELDS = ("step",)  # TrainState fields that every run of a batch shares (not vmapped: Trainer.state_axes)


class Learner(NamedTuple):
    """The fields of ``TrainState`` that a gradient update changes."""

    params: hk.Params
    target_params: hk.Params
    opt_state: optax.OptState
    update_count: jax.Array  # [] int32
    diverged: jax.Array  # [] bool

    @classmethod
    def of(cls, state: TrainState) -> Learner:
        return cls(*(getattr(state, f) for f in cls._fields))


class PriorityUpdate(NamedTuple):
    """New priorities for the slots a prioritized update sampled."""

    idx: jax.Array  # [batch_size] int32 slots
    priorities: jax.Array  # [batch_size] float32, (|TD error| + per_eps) ^ per_alpha


class StepOutputs(NamedTuple):
    """Per-env-step record; ``run`` stacks these along a leading [n_steps] axis."""

    episode_done: jax.Array  # [] bool, an episode ended at this step
    episode_return: jax.Array  # [] float32, its return (0 where not episode_done)
    episode_length: jax.Array  # [] int32, its length (0 where not episode_done)
    eval_done: jax.Array  # [] bool, a greedy evaluation ran after this step
    eval_return: jax.Array  # [] float32, its mean return (0 where not eval_done)


@dataclasses.dataclass(frozen=True, eq=False)  # hashed by identity: gymnax's parameters hold arrays
class Trainer:
    """``train(key, hparams) -> outputs`` for one run, plus its resumable pieces ``init`` and ``run``."""

    static: StaticConfig
    env_params: Any  # the environment's parameters (``self.env.params`` unless given)
    network: hk.Transformed

    @functools.cached_property
    def env(self) -> Env:
        """The environment ``static.env`` truncated at ``static.episode_limit`` (``core.envs.make_env``)."""
        return make_env(self.static.env, self.static.episode_limit)

    # -- the resumable pieces ------------------------------------------------------------------------------
    def init(self, key: jax.Array, hparams: HParams) -> TrainState:
        """A run's initial state. Consumes ``key``: the network, the first episode and the run's own stream
        each get a split of it."""
        validate_hparams(hparams)
        hparams = hparams_as_arrays(hparams)
        if not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.wrap_key_data(key)  # raw uint32 key data is accepted too
        k_net, k_env, k_run = jax.random.split(key, 3)
        obs, env_state = self.env.reset(k_env, self.env_params)
        params = self.network.init(k_net, obs)
        opt_state = make_optimizer(hparams, self.static).init(params)
        new_buffer = prioritized.init if self.static.per else replay.init
        return TrainState(
            params=params,
            target_params=params,
            opt_state=opt_state,
            buffer=new_buffer(self.static.buffer_capacity, empty_row(self.static, self.env)),
            env_state=env_state,
            obs=obs,
            episode_return=jnp.zeros((), jnp.float32),
            episode_length=jnp.zeros((), jnp.int32),
            update_count=jnp.zeros((), jnp.int32),
            diverged=jnp.zeros((), jnp.bool_),
            key=jax.random.key_data(k_run),  # plain uint32, so states checkpoint as ordinary arrays
            hparams=hparams,
            step=jnp.zeros((), jnp.int32),
        )

    def run(self, state: TrainState, n_steps: int) -> tuple[TrainState, StepOutputs]:
        """Advances a run by ``n_steps`` env steps (a static int). Outputs have a leading [n_steps] axis."""
        check_positive_int("n_steps", n_steps)
        return jax.lax.scan(lambda s, _: self._env_step(s), state, None, length=n_steps)

    def __call__(self, key: jax.Array, hparams: HParams) -> StepOutputs:
        """Trains one run for ``static.total_steps`` env steps; outputs have a leading [total_steps] axis."""
        _, outputs = self.run(self.init(key, hparams), self.static.total_steps)
        return outputs

    @staticmethod
    def state_axes() -> TrainState:
        """``in_axes``/``out_axes`` for vmapping a batch of states: every field batched on axis 0 except those in
        ``SHARED_FIELDS`` (the step counter), which all runs of a batch share. The one place this is decided:
        the engine's shardings and parked states read it from here."""
        return TrainState(*(None if f in SHARED_FIELDS else 0 for f in TrainState._fields))

    # -- one env step --------------------------------------------------------------------------------------
    def _env_step(self, state: TrainState) -> tuple[TrainState, StepOutputs]:
        static, hp = self.static, state.hparams
        key, k_explore, k_action, k_env, k_reset, k_sample, k_eval = jax.random.split(
            jax.random.wrap_key_data(state.key), 7
        )

        # Epsilon-greedy action.
        # Noisy networks act with fresh noise, drawn from a fold of the exploration key (no new split, so a run
        # without them keeps the key stream it always had).
        noise = self._noise_key(k_explore)
        q = q_values(noisy_apply(self.network, state.params, state.obs, noise, 0, static), hp, static)  # [A]
        eps = epsilon(state.step, hp, static)
        random_action = jax.random.randint(k_action, (), 0, self.env.num_actions, jnp.int32)
        explore = jax.random.uniform(k_explore) < eps
        action = jnp.where(explore, random_action, jnp.argmax(q).astype(jnp.int32))

        next_obs, env_state, reward, terminated, truncated, _ = self.env.step(
            k_env, state.env_state, action, self.env_params
        )
        transition = Transition(state.obs, action, reward, terminated.astype(jnp.float32), next_obs)
        done = terminated | truncated
        row = pack_transition(transition, done if static.n_step > 1 else None, self.env.binary_obs)
        buffer = (prioritized.add if static.per else replay.add)(state.buffer, row)

        # Episode bookkeeping; the caller-side reset keeps the true final observation in the buffer.
        episode_return = state.episode_return + reward
        episode_length = state.episode_length + 1
        reset_obs, reset_state = self.env.reset(k_reset, self.env_params)
        env_state = jax.tree.map(lambda r, s: jnp.where(done, r, s), reset_state, env_state)
        obs = jnp.where(done, reset_obs, next_obs)

        state = state._replace(
            buffer=buffer,
            env_state=env_state,
            obs=obs,
            episode_return=jnp.where(done, 0.0, episode_return),
            episode_length=jnp.where(done, 0, episode_length),
            key=jax.random.key_data(key),
            step=state.step + 1,
        )

        # A gradient update every train_every steps once learning has started: the predicate depends on the
        # shared step counter only.
        # Only the learner's fields go through the branch: with the whole state, XLA copied the replay buffers
        # in and out of it every step (leaving them out: +9.5% env steps/s at 128 runs on one device).
        do_update = (state.step >= static.learning_starts) & (state.step % static.train_every == 0)
        if static.per:
            learner, buffer = self._learn_prioritized(do_update, state, k_sample)
            state = state._replace(buffer=buffer, **learner._asdict())
        else:
            learner = jax.lax.cond(
                do_update, self.learn, lambda lrn, *_: lrn, Learner.of(state), state.buffer, state.hparams, k_sample
            )
            state = state._replace(**learner._asdict())

        do_eval = state.step % static.eval_every == 0
        eval_return = jax.lax.cond(
            do_eval,
            functools.partial(self._evaluate, hp=hp),
            lambda p, k: jnp.zeros((), jnp.float32),
            state.params,
            k_eval,
        )
        outputs = StepOutputs(
            episode_done=done,
            episode_return=jnp.where(done, episode_return, 0.0),
            episode_length=jnp.where(done, episode_length, 0),
            eval_done=do_eval,
            eval_return=eval_return,
        )
        return state, outputs

    def _learn_prioritized(
        self, do_update: jax.Array, state: TrainState, key: jax.Array
    ) -> tuple[Learner, prioritized.PrioritizedState]:
        """The update step with prioritized replay. The branch returns only the sampled slots' new priorities,
        which are written outside it: passing the sum tree through the branch would copy it (as it did the
        buffers). A step without an update rewrites slot 0's own priority, which changes nothing."""

        def skip(lrn, buf, *_):
            idx = jnp.zeros((self.static.batch_size,), jnp.int32)
            return lrn, PriorityUpdate(idx, prioritized.priorities(buf)[idx])

        learner, new = jax.lax.cond(
            do_update, self.learn_and_prioritize, skip, Learner.of(state), state.buffer, state.hparams, key, state.step
        )
        return learner, prioritized.set_priorities(state.buffer, new.idx, new.priorities)

    def learn(
        self, learner: Learner, buffer: replay.BufferState | prioritized.PrioritizedState, hp: HParams, key: jax.Array
    ) -> Learner:
        """One gradient update on a batch sampled from ``buffer`` with ``key`` (see ``update``); with prioritized
        replay, ``learn_and_prioritize`` also gives the sampled slots' new priorities."""
        static = self.static
        if not static.per and static.n_step == 1:
            batch = unpack_transitions(replay.sample(buffer, key, static.batch_size), self.env.obs_shape)
            return self.update(learner, batch, hp, key)
        return self.learn_and_prioritize(learner, buffer, hp, key, jnp.zeros((), jnp.int32))[0]

    def learn_and_prioritize(
        self,
        learner: Learner,
        buffer: replay.BufferState | prioritized.PrioritizedState,
        hp: HParams,
        key: jax.Array,
        step: jax.Array,
    ) -> tuple[Learner, PriorityUpdate | None]:
        """One gradient update after ``step`` env steps on a batch sampled from ``buffer`` with ``key``, with
        n-step targets if ``n_step`` > 1. With prioritized replay the batch is drawn in proportion to the
        priorities, the loss weighted by importance-sampling weights whose exponent goes linearly from
        ``per_beta`` at step 0 to 1 at ``total_steps``, and the sampled slots' new priorities are returned
        (None without prioritized replay)."""
        static, batch_size = self.static, self.static.batch_size
        if not static.per:
            idx = replay.sample_indices(buffer, key, batch_size)
            batch, discount = self._targets(buffer, idx, hp)
            return self._weighted_update(learner, batch, discount, None, hp, key)[0], None
        idx, probs = prioritized.sample_indices(buffer, key, batch_size)
        batch, discount = self._targets(buffer.ring, idx, hp)
        weights = prioritized.importance_weights(probs, buffer.ring.size, importance_exponent(step, hp, static))
        learner, td = self._weighted_update(learner, batch, discount, weights, hp, key)
        return learner, PriorityUpdate(idx, jnp.power(jnp.abs(td) + hp.per_eps, hp.per_alpha))

    def _targets(self, ring: replay.BufferState, idx: jax.Array, hp: HParams) -> tuple[Transition, jax.Array]:
        """The transitions at slots ``idx`` [B] and their [B] bootstrap discounts: one-step, or n-step returns
        (``core.dqn.n_step_target``) whose ``next_obs`` is the state they bootstrap from."""
        n = self.static.n_step
        if n == 1:
            rows = jax.tree.map(lambda d: jnp.take(d, idx, axis=0), ring.data)
            batch = unpack_transitions(rows, self.env.obs_shape)
            return batch, hp.gamma * (1.0 - batch.terminated)
        rows, stored = replay.sequences(ring, idx, n)  # [B, n, row], [B, n]
        steps = unpack_transitions(rows, self.env.obs_shape)  # leaves [B, n, ...]
        ret, discount, last = jax.vmap(n_step_target, in_axes=(0, 0, 0, 0, None))(
            steps.reward, steps.terminated, end_flags(rows, self.env.obs_size), stored, hp.gamma
        )
        pick = jax.vmap(lambda x, i: x[i])  # row ``last`` of each [n, ...] sequence
        batch = Transition(
            obs=steps.obs[:, 0],
            action=steps.action[:, 0],
            reward=ret,
            terminated=pick(steps.terminated, last),
            next_obs=pick(steps.next_obs, last),
        )
        return batch, discount

    def _noise_key(self, key: jax.Array | None) -> jax.Array | None:
        """Noisy networks' noise for an acting step or an update: a fold of its exploration or sampling ``key``
        (None without noisy networks; ``noisy_apply`` replaces it with the one draw of ``noisy_draw = "once"``)."""
        return jax.random.fold_in(key, 1) if self.static.noisy and key is not None else None

    def update(self, learner: Learner, batch: Transition, hp: HParams, key: jax.Array | None = None) -> Learner:
        """One gradient step of the TD loss on ``batch`` (leaves [batch_size, ...]), then the target update;
        ``key`` (the batch's sampling key) gives noisy networks their noise."""
        loss, grads = jax.value_and_grad(td_loss)(
            learner.params, learner.target_params, batch, hp, self.static, self.network, self._noise_key(key)
        )
        return self._apply(learner, loss, grads, hp)

    def _weighted_update(
        self,
        learner: Learner,
        batch: Transition,
        discount: jax.Array,
        weights: jax.Array | None,
        hp: HParams,
        key: jax.Array | None = None,
    ) -> tuple[Learner, jax.Array]:
        """``update`` with given [B] discounts and optional [B] loss weights; also returns the [B] TD errors."""
        (loss, td), grads = jax.value_and_grad(weighted_td_loss, has_aux=True)(
            learner.params, learner.target_params, batch, discount, weights, self.static, self.network, hp,
            self._noise_key(key),
        )  # fmt: skip
        return self._apply(learner, loss, grads, hp), td

    def _apply(self, learner: Learner, loss: jax.Array, grads: hk.Params, hp: HParams) -> Learner:
        updates, opt_state = make_optimizer(hp, self.static).update(grads, learner.opt_state, learner.params)
        params = optax.apply_updates(learner.params, updates)
        update_count = learner.update_count + 1
        return Learner(
            params=params,
            target_params=target_update(learner.target_params, params, update_count, hp),
            opt_state=opt_state,
            update_count=update_count,
            diverged=learner.diverged | ~jnp.isfinite(loss),
        )

    def greedy_q(self, params: hk.Params, obs: jax.Array, hp: HParams) -> jax.Array:
        """The Q-values the greedy evaluation acts on: without noise, or with noise drawn once (``noisy_draw =
        "once"``) that one draw, the network that was trained."""
        return q_values(noisy_apply(self.network, params, obs, None, 0, self.static), hp, self.static)

    def _evaluate(self, params: hk.Params, key: jax.Array, hp: HParams) -> jax.Array:
        """Mean return of ``eval_episodes`` fresh greedy episodes of up to ``max_steps_in_episode`` steps."""
        n, horizon = self.static.eval_episodes, int(self.env_params.max_steps_in_episode)
        obs, env_state = jax.vmap(self.env.reset, in_axes=(0, None))(jax.random.split(key, n), self.env_params)

        def body(carry, t):
            obs, env_state, alive, returns = carry
            q = self.greedy_q(params, obs, hp)  # [n, A]
            action = jnp.argmax(q, axis=-1).astype(jnp.int32)  # [n]
            # Each episode and step its own key (CartPole ignores it; gymnax's games draw from it).
            keys = jax.random.split(jax.random.fold_in(key, t), n)
            obs, env_state, reward, terminated, truncated, _ = jax.vmap(self.env.step, in_axes=(0, 0, 0, None))(
                keys, env_state, action, self.env_params
            )
            returns = returns + jnp.where(alive, reward, 0.0)
            alive = alive & ~(terminated | truncated)
            return (obs, env_state, alive, returns), None

        carry = (obs, env_state, jnp.ones((n,), jnp.bool_), jnp.zeros((n,), jnp.float32))
        (_, _, _, returns), _ = jax.lax.scan(body, carry, jnp.arange(horizon))
        return jnp.mean(returns)


def make_train(static: StaticConfig = StaticConfig(), env_params: Any = None) -> Trainer:
    """``train = make_train(static)``; ``train(key, hparams)`` trains one run, ``train.init`` and ``train.run``
    are its resumable pieces. ``static`` is validated (ValueError naming the field); ``env_params`` replaces the
    environment's own parameters (e.g. another gravity for CartPole)."""
    if not isinstance(static, StaticConfig):
        raise TypeError(f"static must be a StaticConfig, got {type(static).__name__}")
    env = make_env(static.env, static.episode_limit)
    return Trainer(
        static=static,
        env_params=env.params if env_params is None else env_params,
        network=make_network(static.hidden_sizes, env.num_actions, static.dueling, obs_ndim=len(env.obs_shape),
                             conv=network_kind(static.network, env.obs_shape) == "minatar_conv",
                             num_atoms=static.num_atoms if static.distributional else 0,
                             noisy_sigma=static.noisy_sigma if static.noisy else 0.0,
                             obs_bounds=rescale_bounds(static.obs_rescale, env.name, env.obs_bounds),
                             dueling_split=static.dueling_split, weight_init=static.weight_init),
    )  # fmt: skip
