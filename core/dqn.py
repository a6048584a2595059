"""DQN pieces (Mnih et al., 2015): the Q-network (plain or dueling), the TD loss (one-step or n-step targets,
optionally importance-weighted), epsilon-greedy exploration, target updates.

Each function is pure and works on one run; the training loop vmaps them across runs.
"""

from __future__ import annotations

from typing import NamedTuple

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import optax
import rlax

from core.config import HParams, StaticConfig


class Transition(NamedTuple):
    obs: jax.Array  # [*obs_shape] float32, observation before the action ([4] for CartPole)
    action: jax.Array  # [] int32
    reward: jax.Array  # [] float32
    terminated: jax.Array  # [] float32, 1.0 if the episode ended in a terminal state (not a time limit)
    next_obs: jax.Array  # [*obs_shape] float32, the true next observation (never the reset one)


class PatchConv(hk.Module):
    """A ``k`` x ``k`` convolution, stride 1, no padding ("VALID"), as a matrix product of each position's patch:
    the same function and parameters (``w [k, k, in, out]``, ``b [out]``, initialised) as ``hk.Conv2D``, but
    XLA's CPU backend runs the product (and its gradient, and a batch of runs' vmapped copies) tens of times
    faster than a convolution of these small images. obs ``[..., height, width, in]`` -> ``[..., height - k + 1,
    width - k + 1, out]``."""

    def __init__(self, channels: int, kernel: int, name: str | None = None):
        super().__init__(name=name)
        self.channels, self.kernel = channels, kernel

    def __call__(self, x: jax.Array) -> jax.Array:
        k, (h, w, c) = self.kernel, x.shape[-3:]
        fan_in = k * k * c
        w_init = hk.initializers.TruncatedNormal(1.0 / np.sqrt(fan_in))  # hk.Conv2D's default
        weight = hk.get_parameter("w", (k, k, c, self.channels), x.dtype, init=w_init)
        bias = hk.get_parameter("b", (self.channels,), x.dtype, init=jnp.zeros)
        rows, cols = h - k + 1, w - k + 1
        patches = jnp.stack([x[..., i : i + rows, j : j + cols, :] for i in range(k) for j in range(k)], axis=-2)
        return patches.reshape(*x.shape[:-3], rows, cols, fan_in) @ weight.reshape(fan_in, self.channels) + bias


def factorised_noise(key: jax.Array, n_in: int, n_out: int) -> tuple[jax.Array, jax.Array]:
    """Fortunato et al. (2018)'s factorised Gaussian noise for an ``n_in`` x ``n_out`` layer: ``f(e_in) [n_in]``
    and ``f(e_out) [n_out]`` with e standard normal and f(x) = sign(x) sqrt(|x|); the weights' noise is their
    outer product, the bias's ``f(e_out)``."""
    k_in, k_out = jax.random.split(key)

    def f(e):
        return jnp.sign(e) * jnp.sqrt(jnp.abs(e))

    return f(jax.random.normal(k_in, (n_in,))), f(jax.random.normal(k_out, (n_out,)))


class NoisyLinear(hk.Module):
    """A dense layer with factorised Gaussian noise (Fortunato et al., 2018): ``y = x (mu_w + sigma_w * (f_in
    f_out^T)) + mu_b + sigma_b * f_out``, the noise from ``key``, or none (the mean weights) where ``key`` is None.
    mu starts uniform in +-1/sqrt(fan_in), sigma at ``sigma0`` / sqrt(fan_in) (the paper's factorised case)."""

    def __init__(self, size: int, sigma0: float, name: str | None = None):
        super().__init__(name=name)
        self.size, self.sigma0 = size, sigma0

    def __call__(self, x: jax.Array, key: jax.Array | None) -> jax.Array:
        n_in = x.shape[-1]
        bound = 1.0 / np.sqrt(n_in)
        mu_init = hk.initializers.RandomUniform(-bound, bound)
        sigma_init = hk.initializers.Constant(self.sigma0 / np.sqrt(n_in))
        w_mu = hk.get_parameter("w_mu", (n_in, self.size), x.dtype, init=mu_init)
        w_sigma = hk.get_parameter("w_sigma", (n_in, self.size), x.dtype, init=sigma_init)
        b_mu = hk.get_parameter("b_mu", (self.size,), x.dtype, init=mu_init)
        b_sigma = hk.get_parameter("b_sigma", (self.size,), x.dtype, init=sigma_init)
        if key is None:
            return x @ w_mu + b_mu
        f_in, f_out = factorised_noise(key, n_in, self.size)
        if x.ndim == 1:  # one observation (acting): x (sigma_w * f_in f_out^T) as two vector products, no matrix
            return x @ w_mu + b_mu + ((x * f_in) @ w_sigma) * f_out + b_sigma * f_out
        # A batch (an update): the noisy matrix formed once, then one product where the vector form costs two.
        return x @ (w_mu + w_sigma * jnp.outer(f_in, f_out)) + b_mu + b_sigma * f_out


class NoisyMLP(hk.Module):
    """``hk.nets.MLP`` with ``NoisyLinear`` layers (ReLU between), each layer's noise its own fold of ``key``."""

    def __init__(self, sizes: tuple[int, ...], sigma0: float, activate_final: bool = False, name: str | None = None):
        super().__init__(name=name)
        self.sizes, self.sigma0, self.activate_final = tuple(sizes), sigma0, activate_final

    def __call__(self, x: jax.Array, key: jax.Array | None) -> jax.Array:
        for i, size in enumerate(self.sizes):
            layer_key = None if key is None else jax.random.fold_in(key, i)
            x = NoisyLinear(size, self.sigma0, name=f"noisy_linear_{i}")(x, layer_key)
            if i < len(self.sizes) - 1 or self.activate_final:
                x = jax.nn.relu(x)
        return x


GLOROT = hk.initializers.VarianceScaling(1.0, "fan_avg", "uniform")  # Glorot and Bengio (2010)'s uniform


def make_network(
    hidden_sizes: tuple[int, ...],
    num_actions: int,
    dueling: bool = False,
    *,
    obs_ndim: int = 1,
    conv: bool = False,
    num_atoms: int = 0,
    noisy_sigma: float = 0.0,
    obs_bounds: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
    dueling_split: str = "hidden",
    weight_init: str = "haiku",
) -> hk.Transformed:
    """A Q-network, obs [..., *obs_shape] -> Q-values [..., num_actions], ReLU hidden layers; with ``num_atoms``
    (C51), the logits of each action's return distribution, [..., num_actions, num_atoms] (``q_values`` gives
    their means).

    ``obs_ndim``: the observation's dimensions (1: a vector; 3: a [height, width, channels] image, flattened for
    an MLP). ``conv``: MinAtar's network first (Young and Tian, 2019): one 3 x 3 convolution of 16 channels,
    stride 1, ReLU, flattened; then the MLP layers of ``hidden_sizes`` (the paper's: one of 128). Dueling (Wang et
    al., 2016): with ``dueling_split = "hidden"`` the last hidden layer is split into a value stream and an
    advantage stream (each ``hidden_sizes[-1]`` wide, on the shared layers before it); with ``"output"`` every
    hidden layer is shared and only the output layer splits (Dopamine's classic-control networks); the streams
    are joined by ``dueling_q`` (per action). ``weight_init``: the dense layers' initial weights, ``"haiku"``
    (truncated normal, stddev 1 / sqrt(fan_in)) or ``"glorot"`` (Glorot uniform, Dopamine's); noisy layers keep
    the paper's, the convolution Haiku's; biases start at zero.
    ``noisy_sigma`` > 0: every dense layer a ``NoisyLinear``; the network then takes the noise's key after the
    observation (``apply(params, obs, key)``; without one, the mean weights). ``obs_bounds`` (lows, highs): the
    observation first rescaled from them to [-1, 1]."""
    noisy = noisy_sigma > 0

    w_init = GLOROT if weight_init == "glorot" else None  # None: hk.Linear's own

    def mlp(sizes, stream, name=None, activate_final=False):  # a dense stack; noisy ones draw from their stream
        if not noisy:
            relu = jax.nn.relu
            return lambda x, key: hk.nets.MLP(
                sizes, w_init=w_init, activation=relu, activate_final=activate_final, name=name
            )(x)
        return lambda x, key: NoisyMLP(sizes, noisy_sigma, activate_final, name=name or "noisy_mlp")(
            x, None if key is None else jax.random.fold_in(key, stream)
        )

    def features(obs):
        if obs_bounds is not None:
            low, high = (jnp.asarray(b, jnp.float32) for b in obs_bounds)
            obs = 2.0 * (obs - low) / (high - low) - 1.0
        if conv:
            x = jax.nn.relu(PatchConv(16, 3, name="conv")(obs))
            return x.reshape(*obs.shape[: obs.ndim - 3], -1)
        if obs_ndim > 1:
            return obs.reshape(*obs.shape[: obs.ndim - obs_ndim], -1)
        return obs  # a vector, as it comes: CartPole's networks are what they always were

    atoms = max(num_atoms, 1)

    def per_atom(x):  # [..., actions * atoms] -> [..., actions, atoms] (C51's logits)
        return x.reshape(*x.shape[:-1], -1, num_atoms)

    def q_fn(obs, key=None):
        out = mlp((*hidden_sizes, num_actions * atoms), 0)(features(obs), key)
        return per_atom(out) if num_atoms else out

    def dueling_fn(obs, key=None):
        # The streams' own hidden layer (split "hidden") or none (split "output": every hidden layer shared).
        shared, heads = (hidden_sizes[:-1], hidden_sizes[-1:]) if dueling_split == "hidden" else (hidden_sizes, ())
        obs = features(obs)
        torso = mlp(shared, 0, "torso", activate_final=True)(obs, key) if shared else obs
        if num_atoms:  # per atom: logits = V + A - mean_a A (Hessel et al., 2018)
            value = mlp((*heads, num_atoms), 1, "value")(torso, key)  # [..., atoms]
            advantages = mlp((*heads, num_actions * num_atoms), 2, "advantage")(torso, key)
            return dueling_q(value, per_atom(advantages), axis=-2)
        value = mlp((*heads, 1), 1, "value")(torso, key)[..., 0]
        advantages = mlp((*heads, num_actions), 2, "advantage")(torso, key)
        return dueling_q(value, advantages)

    return hk.without_apply_rng(hk.transform(dueling_fn if dueling else q_fn))


def network_kind(network: str, obs_shape: tuple[int, ...]) -> str:
    """``network`` (``StaticConfig.network``) resolved for observations of ``obs_shape``: "auto" is
    "minatar_conv" for an image (height x width x channels) and "mlp" otherwise; ValueError (naming the field)
    where the network does not fit the observation."""
    image = len(obs_shape) == 3
    if network == "auto":
        return "minatar_conv" if image else "mlp"
    if network == "minatar_conv" and not image:
        raise ValueError(
            f"network 'minatar_conv' needs an image observation (height x width x channels), and this environment "
            f"gives {'x'.join(map(str, obs_shape))}; use network 'mlp' or 'auto'"
        )
    return network


def rescale_bounds(
    obs_rescale: bool, env_name: str, obs_bounds: tuple[tuple[float, ...], tuple[float, ...]] | None
) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The bounds the static field ``obs_rescale`` rescales ``env_name``'s observations from (None when off);
    ValueError, naming the field, for an environment that has none."""
    if not obs_rescale:
        return None
    if obs_bounds is None:
        raise ValueError(f"obs_rescale needs fixed observation bounds, and {env_name} has none (only CartPole, "
                         "Acrobot and MountainCar do)")  # fmt: skip
    return obs_bounds


def dueling_q(value: jax.Array, advantages: jax.Array, axis: int = -1) -> jax.Array:
    """Q = V + (A - mean_a A): value [...], advantages [..., A] -> Q [..., A]. Subtracting the mean makes V and A
    identifiable (mean_a Q = V) and is the variant Wang et al. (2016, eq. 9) found more stable than the max.
    ``axis=-2``: C51's logits, value [..., atoms] and advantages [..., A, atoms], combined atom by atom."""
    return jnp.expand_dims(value, axis) + advantages - jnp.mean(advantages, axis=axis, keepdims=True)


def atoms(hparams: HParams, num_atoms: int) -> jax.Array:
    """C51's support: [num_atoms] returns evenly spaced from ``v_min`` to ``v_max``."""
    return jnp.linspace(hparams.v_min, hparams.v_max, num_atoms, dtype=jnp.float32)


def q_values(out: jax.Array, hparams: HParams, static: StaticConfig) -> jax.Array:
    """Q-values [..., A] from the network's output: itself, or with C51 each action's mean return under its
    distribution (softmax of the logits [..., A, atoms] over ``atoms``)."""
    if not static.distributional:
        return out
    return jnp.sum(jax.nn.softmax(out, axis=-1) * atoms(hparams, static.num_atoms), axis=-1)


def make_optimizer(hparams: HParams, static: StaticConfig) -> optax.GradientTransformation:
    """Global-norm clipping then Adam (its epsilon ``adam_eps``), its step size decaying linearly from ``lr`` to
    ``lr * (1 - lr_decay)`` over the run's gradient updates. The hyperparameters may be traced: the state's
    structure does not depend on their values, so one optimizer state fits every run of a vmapped batch."""
    n_updates = max(1, (static.total_steps - static.learning_starts) // static.train_every)

    def step_size(count):
        progress = jnp.minimum(count.astype(jnp.float32) / n_updates, 1.0)
        return hparams.lr * (1.0 - hparams.lr_decay * progress)

    return optax.chain(optax.clip_by_global_norm(hparams.max_grad_norm), optax.adam(step_size, eps=hparams.adam_eps))


def epsilon(step: jax.Array, hparams: HParams, static: StaticConfig) -> jax.Array:
    """Exploration rate after ``step`` env steps.

    linear: eps_start -> eps_end over the first ``eps_decay_fraction * total_steps`` steps, then constant.
    exponential: eps_end + (eps_start - eps_end) * exp(-5 step / horizon), i.e. within 0.7% of the gap to
    eps_end at the same horizon.
    hyperbolic: eps_end + (eps_start - eps_end) / (1 + step / horizon), half the gap at the horizon (the inverse
    scaling decay of the jym DQN article, eps_end + (eps_start - eps_end) / (1 + k t), with k = 1 / horizon).
    """
    horizon = jnp.maximum(hparams.eps_decay_fraction * static.total_steps, 1.0)
    frac = step.astype(jnp.float32) / horizon
    if static.eps_schedule == "linear":
        mix = jnp.clip(1.0 - frac, 0.0, 1.0)
    elif static.eps_schedule == "hyperbolic":
        mix = 1.0 / (1.0 + frac)
    else:
        mix = jnp.exp(-5.0 * frac)
    return hparams.eps_end + (hparams.eps_start - hparams.eps_end) * mix


def importance_exponent(step: jax.Array, hparams: HParams, static: StaticConfig) -> jax.Array:
    """Prioritized replay's importance-sampling exponent after ``step`` env steps: ``per_beta`` at step 0, going
    linearly to ``per_beta_end`` at ``total_steps`` (by default 1, Schaul et al., 2016: full correction by the end
    of learning; ``per_beta_end = per_beta`` keeps it constant)."""
    progress = jnp.minimum(step.astype(jnp.float32) / static.total_steps, 1.0)
    return hparams.per_beta + (hparams.per_beta_end - hparams.per_beta) * progress


def noisy_apply(
    network: hk.Transformed, params: hk.Params, obs: jax.Array, key: jax.Array | None, draw: int, static: StaticConfig
):
    """``network.apply(params, obs)``, with a noisy network's noise from ``key`` folded with ``draw`` (each of an
    update's passes its own: 0 online, 1 target, 2 the online network's selection); without a key, no noise.
    With ``noisy_draw = "once"`` every pass, the greedy evaluation's included, takes the one draw of
    ``once_noise_key()`` whatever ``key`` is: the one place that rule lives."""
    if static.noisy and static.noisy_draw == "once":
        return network.apply(params, obs, once_noise_key())
    if key is None:
        return network.apply(params, obs)
    return network.apply(params, obs, jax.random.fold_in(key, draw))


def once_noise_key() -> jax.Array:
    """The key of ``noisy_draw = "once"``'s one draw: a constant, as the study's code drew from PRNGKey(0)."""
    return jax.random.key(0)


def td_errors(
    online_params: hk.Params,
    target_params: hk.Params,
    batch: Transition,
    discount: jax.Array,
    static: StaticConfig,
    network: hk.Transformed,
    noise_key: jax.Array | None = None,
) -> jax.Array:
    """[B] TD errors ``reward + discount * Q_target(next_obs, a*) - Q(obs, action)`` of a batch (leaves [B, ...]);
    ``a*`` is the target network's greedy action, or the online network's with double Q-learning, which selects
    the next action with the online network and evaluates it with the target network (van Hasselt et al., 2016).
    The target carries no gradient. ``noise_key``: noisy networks' draws (see ``noisy_apply``)."""
    q_tm1 = noisy_apply(network, online_params, batch.obs, noise_key, 0, static)  # [B, A]
    q_t_target = noisy_apply(network, target_params, batch.next_obs, noise_key, 1, static)  # [B, A]
    if static.double_q:
        q_t_selector = noisy_apply(network, online_params, batch.next_obs, noise_key, 2, static)  # [B, A]
        return jax.vmap(rlax.double_q_learning)(q_tm1, batch.action, batch.reward, discount, q_t_target, q_t_selector)
    return jax.vmap(rlax.q_learning)(q_tm1, batch.action, batch.reward, discount, q_t_target)


def categorical_losses(
    online_params: hk.Params,
    target_params: hk.Params,
    batch: Transition,
    discount: jax.Array,
    hparams: HParams,
    static: StaticConfig,
    network: hk.Transformed,
    noise_key: jax.Array | None = None,
) -> jax.Array:
    """[B] C51 losses of a batch (leaves [B, ...]): the cross-entropy between the distribution of ``Q(obs, action)``
    and the target, ``reward + discount * Z(next_obs, a*)`` projected onto the support (rlax's
    ``categorical_q_learning``; ``categorical_double_q_learning`` with double Q-learning, ``a*`` then the online
    network's greedy action). ``a*`` is greedy in the distributions' means; the target carries no gradient."""
    z = atoms(hparams, static.num_atoms)
    logits_tm1 = noisy_apply(network, online_params, batch.obs, noise_key, 0, static)  # [B, A, atoms]
    logits_t = noisy_apply(network, target_params, batch.next_obs, noise_key, 1, static)  # [B, A, atoms]
    if static.double_q:
        selector = q_values(noisy_apply(network, online_params, batch.next_obs, noise_key, 2, static), hparams, static)
        loss = jax.vmap(rlax.categorical_double_q_learning, in_axes=(None, 0, 0, 0, 0, None, 0, 0))
        return loss(z, logits_tm1, batch.action, batch.reward, discount, z, logits_t, selector)
    loss = jax.vmap(rlax.categorical_q_learning, in_axes=(None, 0, 0, 0, 0, None, 0))
    return loss(z, logits_tm1, batch.action, batch.reward, discount, z, logits_t)


def _losses(td: jax.Array, static: StaticConfig) -> jax.Array:
    if static.loss == "huber":
        return rlax.huber_loss(td, 1.0)
    return rlax.l2_loss(td)  # 0.5 * td^2


def td_loss(
    online_params: hk.Params,
    target_params: hk.Params,
    batch: Transition,
    hparams: HParams,
    static: StaticConfig,
    network: hk.Transformed,
    noise_key: jax.Array | None = None,
) -> jax.Array:
    """Mean one-step TD loss over a batch of transitions (leaves [B, ...]); ``noise_key``: noisy networks' draws.

    Bootstraps with discount = gamma * (1 - terminated): a transition cut by the time limit is not terminal
    and bootstraps from its next state.
    """
    discount = hparams.gamma * (1.0 - batch.terminated)  # [B]
    if static.distributional:
        losses = categorical_losses(online_params, target_params, batch, discount, hparams, static, network, noise_key)
        return jnp.mean(losses)
    td = td_errors(online_params, target_params, batch, discount, static, network, noise_key)
    return jnp.mean(_losses(td, static))


def weighted_td_loss(
    online_params: hk.Params,
    target_params: hk.Params,
    batch: Transition,
    discount: jax.Array,
    weights: jax.Array | None,
    static: StaticConfig,
    network: hk.Transformed,
    hparams: HParams | None = None,
    noise_key: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """(mean of ``weights * loss(td)``, the [B] TD errors) for a batch whose [B] bootstrap ``discount`` is given
    (n-step targets: ``n_step_target``); ``weights`` None weighs every transition 1. With C51 (``hparams``
    needed for its support) the [B] cross-entropies take the TD errors' place, as prioritized replay's priorities
    too (Hessel et al., 2018)."""
    if static.distributional:
        losses = categorical_losses(online_params, target_params, batch, discount, hparams, static, network, noise_key)
        return jnp.mean(losses if weights is None else weights * losses), losses
    td = td_errors(online_params, target_params, batch, discount, static, network, noise_key)
    losses = _losses(td, static)
    return jnp.mean(losses if weights is None else weights * losses), td


def n_step_target(
    reward: jax.Array, terminated: jax.Array, end: jax.Array, stored: jax.Array, gamma: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The n-step return of one transition from the n stored steps that start with it (each [n]):
    ``(sum_{k<K} gamma^k reward_k, gamma^K (1 - terminated_{K-1}), K - 1)``, K the number of steps used.

    ``end`` marks a step that ended its episode (terminated or cut by the time limit) and ``stored`` a step that
    is in the buffer (the newest transitions have fewer than n - 1 successors yet). The return stops after
    the episode's last step or the last stored step: it then bootstraps from that step's next observation
    with discount gamma^K, unless the episode terminated there (discount 0). A transition cut by the time
    limit thus bootstraps from the true final observation, one cut by termination does not. rlax's
    ``n_step_bootstrapped_returns`` computes the same along a trajectory; this is one transition's, to vmap.
    """
    n = reward.shape[0]
    # Step k is used if it is stored and no earlier step ended the episode.
    go_on = jnp.concatenate([jnp.ones((1,), jnp.float32), 1.0 - end[:-1].astype(jnp.float32)])  # [n]
    used = jnp.cumprod(go_on * stored.astype(jnp.float32)) > 0  # [n]
    powers = gamma ** jnp.arange(n, dtype=jnp.float32)  # [n]
    last = jnp.sum(used).astype(jnp.int32) - 1
    ret = jnp.sum(jnp.where(used, powers * reward, 0.0))
    return ret, gamma ** (last + 1).astype(jnp.float32) * (1.0 - terminated[last]), last


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
