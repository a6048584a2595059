"""Dueling heads: Q = V + A - mean(A), by hand and through the network's own streams."""

import jax
import jax.numpy as jnp
import numpy as np

from core import dueling_q, make_network


def test_dueling_identity_by_hand():
    q = dueling_q(jnp.array([2.0, -1.0]), jnp.array([[1.0, 3.0], [0.0, 0.0]]))
    np.testing.assert_allclose(np.asarray(q), [[1.0, 3.0], [-1.0, -1.0]])


def test_mean_q_is_the_value_and_centred_q_is_the_centred_advantage():
    kv, ka = jax.random.split(jax.random.key(0))
    value, adv = jax.random.normal(kv, (5,)), jax.random.normal(ka, (5, 3))
    q = dueling_q(value, adv)
    np.testing.assert_allclose(np.asarray(q.mean(-1)), np.asarray(value), atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(q - q.mean(-1, keepdims=True)), np.asarray(adv - adv.mean(-1, keepdims=True)), atol=1e-6
    )


def _mlp(params, prefix, x, n_layers):
    for i in range(n_layers):
        layer = params[f"{prefix}/~/linear_{i}"]
        x = x @ layer["w"] + layer["b"]
        if i < n_layers - 1:
            x = jax.nn.relu(x)
    return x


def test_the_network_joins_a_value_and_an_advantage_stream():
    net = make_network((32, 16), 2, dueling=True)
    obs = jax.random.normal(jax.random.key(1), (7, 4))
    params = net.init(jax.random.key(2), obs)
    assert {k: v["w"].shape for k, v in params.items()} == {
        "torso/~/linear_0": (4, 32),
        "value/~/linear_0": (32, 16),
        "value/~/linear_1": (16, 1),
        "advantage/~/linear_0": (32, 16),
        "advantage/~/linear_1": (16, 2),
    }
    torso = jax.nn.relu(obs @ params["torso/~/linear_0"]["w"] + params["torso/~/linear_0"]["b"])
    value = _mlp(params, "value", torso, 2)[:, 0]
    adv = _mlp(params, "advantage", torso, 2)
    np.testing.assert_allclose(np.asarray(net.apply(params, obs)), np.asarray(dueling_q(value, adv)), atol=1e-5)


def test_shifting_the_advantages_leaves_q_unchanged_shifting_the_value_shifts_it():
    net = make_network((8,), 2, dueling=True)  # one hidden layer: the two streams read the observation itself
    obs = jax.random.normal(jax.random.key(3), (6, 4))
    params = net.init(jax.random.key(4), obs)
    assert "torso/~/linear_0" not in params
    q = net.apply(params, obs)
    shifted = jax.tree.map(lambda x: x, params)
    shifted["advantage/~/linear_1"] = dict(params["advantage/~/linear_1"], b=params["advantage/~/linear_1"]["b"] + 5.0)
    np.testing.assert_allclose(np.asarray(net.apply(shifted, obs)), np.asarray(q), atol=1e-5)
    shifted["value/~/linear_1"] = dict(params["value/~/linear_1"], b=params["value/~/linear_1"]["b"] + 2.0)
    np.testing.assert_allclose(np.asarray(net.apply(shifted, obs)), np.asarray(q) + 2.0, atol=1e-5)


def test_the_plain_network_is_unchanged():
    net = make_network((8, 4), 2)
    params = net.init(jax.random.key(0), jnp.zeros(4))
    assert list(params) == ["mlp/~/linear_0", "mlp/~/linear_1", "mlp/~/linear_2"]


def test_split_at_the_output_shares_every_hidden_layer():
    # Dopamine's classic-control networks (the Revisiting Rainbow study's): both hidden layers shared, the value
    # and advantage streams one linear layer each; with C51, per atom.
    net = make_network((32, 16), 2, dueling=True, dueling_split="output")
    obs = jax.random.normal(jax.random.key(5), (7, 4))
    params = net.init(jax.random.key(6), obs)
    assert {k: v["w"].shape for k, v in params.items()} == {
        "torso/~/linear_0": (4, 32),
        "torso/~/linear_1": (32, 16),
        "value/~/linear_0": (16, 1),
        "advantage/~/linear_0": (16, 2),
    }
    torso = jax.nn.relu(_mlp(params, "torso", obs, 2))
    value, adv = _mlp(params, "value", torso, 1)[:, 0], _mlp(params, "advantage", torso, 1)
    np.testing.assert_allclose(np.asarray(net.apply(params, obs)), np.asarray(dueling_q(value, adv)), atol=1e-5)
    c51 = make_network((32, 16), 2, dueling=True, dueling_split="output", num_atoms=5)
    shapes = {k: v["w"].shape for k, v in c51.init(jax.random.key(6), obs).items()}
    assert shapes["value/~/linear_0"] == (16, 5) and shapes["advantage/~/linear_0"] == (16, 10)
