"""Bad configuration raises ValueError naming the field."""

import math

import pytest

from core import HParams, StaticConfig, make_train, validate_hparams


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(total_steps=0), "total_steps"),
        (dict(total_steps=-5), "total_steps"),
        (dict(total_steps=1.5), "total_steps"),
        (dict(buffer_capacity=0), "buffer_capacity"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_size=128, buffer_capacity=64), "batch_size"),
        (dict(hidden_sizes=()), "hidden_sizes"),
        (dict(hidden_sizes=(64, 0)), "hidden_sizes"),
        (dict(hidden_sizes=[64]), "hidden_sizes"),
        (dict(learning_starts=-1), "learning_starts"),
        (dict(train_every=0), "train_every"),
        (dict(eval_every=0), "eval_every"),
        (dict(eval_every=20, total_steps=10), "eval_every"),
        (dict(eval_episodes=0), "eval_episodes"),
        (dict(loss="l1"), "loss"),
        (dict(double_q="yes"), "double_q"),
        (dict(eps_schedule="cosine"), "eps_schedule"),
        (dict(n_step=0), "n_step"),
        (dict(n_step=2.0), "n_step"),
        (dict(n_step=20, buffer_capacity=10, batch_size=8), "n_step"),
        (dict(dueling=1), "dueling"),
        (dict(per="true"), "per"),
    ],
)
def test_bad_static_config(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        StaticConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        (dict(lr=-1e-3), "lr"),
        (dict(lr=0.0), "lr"),
        (dict(lr=math.nan), "lr"),
        (dict(gamma=1.5), "gamma"),
        (dict(eps_start=-0.1), "eps_start"),
        (dict(eps_end=2.0), "eps_end"),
        (dict(eps_decay_fraction=0.0), "eps_decay_fraction"),
        (dict(target_period=0), "target_period"),
        (dict(target_period=2.5), "target_period"),
        (dict(tau=0.0), "tau"),
        (dict(max_grad_norm=-1.0), "max_grad_norm"),
        (dict(per_alpha=1.5), "per_alpha"),
        (dict(per_alpha=-0.1), "per_alpha"),
        (dict(per_beta=2.0), "per_beta"),
        (dict(per_eps=0.0), "per_eps"),
        (dict(per_eps=math.inf), "per_eps"),
    ],
)
def test_bad_hparams(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field}\b"):
        validate_hparams(HParams(**kwargs))


def test_bad_hparams_in_a_batch_and_at_init():
    with pytest.raises(ValueError, match="lr must be a positive number, got -0.5"):
        validate_hparams(HParams(lr=[1e-3, -0.5, 1e-4]))
    import jax

    with pytest.raises(ValueError, match="^gamma"):
        make_train(StaticConfig(total_steps=10, eval_every=10)).init(jax.random.key(0), HParams(gamma=-1.0))


def test_the_dqn_options_name_what_is_allowed():
    with pytest.raises(ValueError, match=r"^n_step must be a positive integer, got 0$"):
        StaticConfig(n_step=0)
    with pytest.raises(ValueError, match=r"^n_step \(20\) must not exceed buffer_capacity \(10\)$"):
        StaticConfig(n_step=20, buffer_capacity=10, batch_size=8)
    with pytest.raises(ValueError, match=r"^per_alpha must be a number in \[0, 1\], got 1.5$"):
        validate_hparams(HParams(per_alpha=1.5))
    allowed = "one of linear, exponential, hyperbolic"
    with pytest.raises(ValueError, match=rf"^eps_schedule must be {allowed}, got 'cosine'$"):
        StaticConfig(eps_schedule="cosine")


def test_every_option_is_in_the_one_table():
    from core import FIELDS

    assert {n: FIELDS[n].traced for n in ("n_step", "dueling", "per", "per_alpha", "per_beta", "per_eps")} == {
        "n_step": False, "dueling": False, "per": False, "per_alpha": True, "per_beta": True, "per_eps": True,
    }  # fmt: skip
    assert [FIELDS[n].default for n in ("n_step", "dueling", "per")] == [1, False, False]  # off by default


def test_defaults_are_valid():
    validate_hparams(HParams())
    validate_hparams(HParams(max_grad_norm=math.inf))  # clipping off
    assert StaticConfig().hidden_sizes == (64, 64)
