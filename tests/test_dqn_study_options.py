"""Options the Revisiting Rainbow study's settings need: Adam's epsilon as a field, a constant importance-sampling
exponent for prioritized replay (Dopamine's 0.5), a constant epsilon (``eps_start = eps_end``); their defaults keep
every run bitwise what it was (tests/test_sweep_golden.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import HParams, StaticConfig
from core.config import hparams_as_arrays
from core.dqn import epsilon, importance_exponent, make_optimizer


@pytest.mark.parametrize("adam_eps", [1e-8, 3.125e-4])
def test_adams_first_step_uses_the_fields_epsilon(adam_eps):
    # Adam's first update is -lr * g / (|g| + eps) (bias corrections cancel); no step-size decay here.
    hp = hparams_as_arrays(HParams(lr=0.1, lr_decay=0.0, adam_eps=adam_eps))
    opt = make_optimizer(hp, StaticConfig())
    params = {"w": jnp.zeros(3)}
    g = {"w": jnp.array([1e-3, -2e-4, 5.0])}
    updates, _ = opt.update(g, opt.init(params), params)
    want = -0.1 * np.asarray(g["w"], np.float64) / (np.abs(np.asarray(g["w"], np.float64)) + adam_eps)
    np.testing.assert_allclose(np.asarray(updates["w"]), want, rtol=1e-5)


def test_the_importance_exponent_goes_to_per_beta_end():
    static = StaticConfig(total_steps=1000, eval_every=1000)
    steps = jnp.array([0, 500, 1000, 2000])
    annealed = importance_exponent(steps, hparams_as_arrays(HParams(per_beta=0.4)), static)
    np.testing.assert_allclose(np.asarray(annealed), [0.4, 0.7, 1.0, 1.0], rtol=1e-6)
    constant = importance_exponent(steps, hparams_as_arrays(HParams(per_beta=0.5, per_beta_end=0.5)), static)
    np.testing.assert_allclose(np.asarray(constant), 0.5)


def test_a_constant_epsilon():
    hp = hparams_as_arrays(HParams(eps_start=0.01, eps_end=0.01))
    for schedule in ("linear", "exponential", "hyperbolic"):
        eps = jax.vmap(lambda t, s=schedule: epsilon(t, hp, StaticConfig(eps_schedule=s)))(jnp.arange(0, 50_000, 997))
        np.testing.assert_allclose(np.asarray(eps), 0.01, rtol=1e-6)
