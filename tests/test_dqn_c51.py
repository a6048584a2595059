"""Distributional C51 (``distributional = true``): the loss against the paper's projection written here in numpy,
greedy actions from the distributions' means, dueling per atom; a Rainbow run with every option (priorities from
the loss, noise scales learnt); off, every run is bitwise what it was (tests/test_sweep_golden.py)."""

import haiku as hk
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import HParams, StaticConfig, make_train
from core.config import hparams_as_arrays
from core.dqn import Transition, atoms, categorical_losses, make_network, q_values, td_loss


def _project(z, p, support):
    """Bellemare et al. (2017), Algorithm 1: the distribution ``p`` on atoms ``z`` onto ``support``."""
    v_min, v_max, n = support[0], support[-1], len(support)
    dz = (v_max - v_min) / (n - 1)
    m = np.zeros(n)
    for zj, pj in zip(np.clip(z, v_min, v_max), p, strict=True):
        b = (zj - v_min) / dz
        lo, hi = int(np.floor(b)), int(np.ceil(b))
        if lo == hi:
            m[lo] += pj
        else:
            m[lo] += pj * (hi - b)
            m[hi] += pj * (b - lo)
    return m


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _fixed_logits_network(table):
    """A "network" whose logits for observation [i, ...] are ``table[i]`` ([A, atoms])."""
    table = jnp.asarray(table, jnp.float32)
    return hk.Transformed(init=lambda *_: {}, apply=lambda params, obs: table[obs[..., 0].astype(jnp.int32)])


@pytest.mark.parametrize("double_q", [False, True])
def test_the_loss_is_the_cross_entropy_with_the_projected_target(double_q):
    rng = np.random.default_rng(0)
    n_atoms, n_actions = 5, 3
    online = rng.normal(size=(4, n_actions, n_atoms))  # logits of observations 0..3
    target = rng.normal(size=(4, n_actions, n_atoms))
    net = hk.Transformed(init=None, apply=lambda p, o: jnp.asarray(p, jnp.float32)[o[..., 0].astype(jnp.int32)])
    static = StaticConfig(distributional=True, num_atoms=n_atoms, double_q=double_q)
    hp = hparams_as_arrays(HParams(v_min=-2.0, v_max=2.0, gamma=0.9))
    support = np.linspace(-2.0, 2.0, n_atoms)
    obs, next_obs = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [2.0], [3.0]])
    # Rewards that push atoms past both ends of the support; the last transition is terminal: its target is the
    # reward alone.
    batch = Transition(jnp.asarray(obs, jnp.float32), jnp.array([0, 2, 1], jnp.int32),
                       jnp.array([0.5, -1.0, 3.0], jnp.float32), jnp.array([0.0, 0.0, 1.0], jnp.float32),
                       jnp.asarray(next_obs, jnp.float32))  # fmt: skip
    discount = 0.9 * (1.0 - np.asarray(batch.terminated))
    got = categorical_losses(online, target, batch, jnp.asarray(discount, jnp.float32), hp, static, net)
    want = []
    for i in range(3):
        nxt = int(next_obs[i, 0])
        selector = online[nxt] if double_q else target[nxt]  # double Q-learning: the online net picks a*
        a_star = int(np.argmax((_softmax(selector) * support).sum(-1)))
        m = _project(float(batch.reward[i]) + discount[i] * support, _softmax(target[nxt][a_star]), support)
        want.append(-(m * np.log(_softmax(online[int(obs[i, 0])][int(batch.action[i])]))).sum())
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)
    # td_loss, as the trainer's plain update calls it, is their mean (discount from gamma and terminated).
    np.testing.assert_allclose(float(td_loss(online, target, batch, hp, static, net)), np.mean(want), rtol=1e-5)


def test_greedy_actions_follow_the_distributions_means():
    # Action 0 has the single most likely atom (0.9 at 0), action 1 the higher mean (7.5): the mean decides.
    static = StaticConfig(distributional=True, num_atoms=3)
    hp = hparams_as_arrays(HParams(v_min=0.0, v_max=10.0))
    logits = jnp.log(jnp.array([[0.9, 0.1, 1e-9], [1e-9, 0.5, 0.5]]))  # [A, atoms]
    q = q_values(logits, hp, static)
    np.testing.assert_allclose(np.asarray(q), [0.1 * 5, 0.5 * 5 + 0.5 * 10], rtol=1e-4)
    assert int(jnp.argmax(q)) == 1 and int(jnp.argmax(jnp.max(logits, -1))) == 0
    np.testing.assert_allclose(np.asarray(atoms(hp, 3)), [0.0, 5.0, 10.0])


@pytest.mark.parametrize("dueling", [False, True])
def test_the_network_gives_each_action_a_distribution(dueling):
    net = make_network((8, 8), 3, dueling, num_atoms=7)
    obs = jax.random.normal(jax.random.key(0), (5, 4))
    params = net.init(jax.random.key(1), obs[0])
    logits = net.apply(params, obs)
    assert logits.shape == (5, 3, 7)
    if dueling:  # V + A - mean_a A, atom by atom: the mean over actions of the logits is the value stream's
        value = hk.without_apply_rng(hk.transform(
            lambda o: hk.nets.MLP((8, 7), activation=jax.nn.relu, name="value")(
                hk.nets.MLP((8,), activation=jax.nn.relu, activate_final=True, name="torso")(o))))  # fmt: skip
        v = value.apply({k: params[k] for k in params if k.startswith(("torso", "value"))}, obs)
        np.testing.assert_allclose(np.asarray(logits.mean(axis=1)), np.asarray(v), rtol=1e-5, atol=1e-5)


def test_a_rainbow_run_trains_finitely_prioritizes_by_its_loss_and_learns_its_noise():
    # Every option at once: C51, noisy networks, prioritized replay, 3-step returns, double Q-learning, dueling.
    static = StaticConfig(total_steps=600, buffer_capacity=200, batch_size=16, hidden_sizes=(16,), learning_starts=50,
                          eval_every=300, eval_episodes=2, distributional=True, num_atoms=11, per=True, n_step=3,
                          double_q=True, dueling=True, noisy=True)  # fmt: skip
    from core import prioritized

    train = make_train(static)
    start = train.init(jax.random.key(0), HParams(v_min=-10.0, v_max=110.0))
    state, out = jax.jit(train.run, static_argnums=1)(start, 600)
    assert not bool(state.diverged) and np.isfinite(np.asarray(out.eval_return)).all()
    pri = np.asarray(prioritized.priorities(state.buffer))
    assert np.all(pri > 0) and len(np.unique(pri)) > 50  # set from the cross-entropies, not the initial 1s
    last = ("value/noisy_linear_1", "advantage/noisy_linear_1")
    heads = sorted(v["w_mu"].shape for k, v in state.params.items() if k.endswith(last))
    assert heads == [(16, 11), (16, 2 * 11)]  # value: one distribution; advantages: one for each action
    for layer in state.params:
        for name in ("w_sigma", "b_sigma"):  # every noise scale learnt away from its initial value
            assert not np.allclose(state.params[layer][name], start.params[layer][name])
