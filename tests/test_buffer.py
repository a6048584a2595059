"""Replay buffer: ring overwrite, sampling from filled slots only, static size checks, vmapped use."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import buffer


def _item(i):
    return {"obs": jnp.full((3,), i, jnp.float32), "action": jnp.int32(i)}


def test_init_shapes_and_dtypes():
    state = buffer.init(5, _item(0))
    assert state.data["obs"].shape == (5, 3) and state.data["obs"].dtype == jnp.float32
    assert state.data["action"].shape == (5,) and state.data["action"].dtype == jnp.int32
    assert int(state.pos) == 0 and int(state.size) == 0
    assert buffer.capacity_of(state) == 5


def test_ring_overwrites_oldest_when_full():
    state = buffer.init(4, _item(0))
    add = jax.jit(buffer.add)
    for i in range(1, 7):  # six adds into four slots
        state = add(state, _item(i))
    # Slots 0, 1 were overwritten by items 5, 6; slots 2, 3 still hold 3, 4.
    np.testing.assert_array_equal(np.asarray(state.data["action"]), [5, 6, 3, 4])
    np.testing.assert_array_equal(np.asarray(state.data["obs"][:, 0]), [5, 6, 3, 4])
    assert int(state.pos) == 2 and int(state.size) == 4


def test_samples_only_filled_slots():
    state = buffer.init(100, _item(0))
    for i in range(1, 4):
        state = buffer.add(state, _item(i))
    batch = jax.jit(buffer.sample, static_argnums=2)(state, jax.random.key(0), 64)
    actions = np.asarray(batch["action"])
    assert set(actions.tolist()) == {1, 2, 3}  # never the empty (zero) slots, and every filled one is drawn
    np.testing.assert_array_equal(np.asarray(batch["obs"][:, 0]), actions)  # leaves gathered consistently
    assert not bool(buffer.can_sample(state, 4)) and bool(buffer.can_sample(state, 3))


@pytest.mark.parametrize(
    ("capacity", "batch", "field"),
    [(0, 1, "capacity"), (-3, 1, "capacity"), (4, 5, "batch_size"), (4, 0, "batch_size")],
)
def test_invalid_static_sizes_name_the_field(capacity, batch, field):
    with pytest.raises(ValueError, match=field):
        state = buffer.init(capacity, _item(0))
        buffer.sample(state, jax.random.key(0), batch)


def test_vmapped_buffers_are_independent():
    states = jax.vmap(lambda _: buffer.init(3, _item(0)))(jnp.arange(2))
    items = {"obs": jnp.ones((2, 3)) * jnp.array([[10.0], [20.0]]), "action": jnp.array([10, 20], jnp.int32)}
    states = jax.jit(jax.vmap(buffer.add))(states, items)
    np.testing.assert_array_equal(np.asarray(states.data["action"]), [[10, 0, 0], [20, 0, 0]])
    np.testing.assert_array_equal(np.asarray(states.size), [1, 1])


def test_sample_indices_are_the_filled_slots():
    state = buffer.init(100, _item(0))
    for i in range(1, 6):
        state = buffer.add(state, _item(i))
    idx = np.asarray(jax.jit(buffer.sample_indices, static_argnums=2)(state, jax.random.key(0), 64))
    assert set(idx.tolist()) == {0, 1, 2, 3, 4}


def test_sequences_follow_the_ring_and_mark_what_was_added_after():
    state = buffer.init(4, _item(0))
    for i in range(1, 7):  # six adds into four slots: slots hold items 5, 6, 3, 4 and the next write is slot 2
        state = buffer.add(state, _item(i))
    items, stored = jax.jit(buffer.sequences, static_argnums=2)(state, jnp.array([2, 3, 1]), 3)
    # From item 3 (slot 2): items 3, 4, 5; from item 4 (slot 3): 4, 5, 6; from the newest, 6 (slot 1): only 6.
    np.testing.assert_array_equal(np.asarray(items["action"]), [[3, 4, 5], [4, 5, 6], [6, 3, 4]])
    np.testing.assert_array_equal(np.asarray(stored), [[1, 1, 1], [1, 1, 1], [1, 0, 0]])
    assert items["obs"].shape == (3, 3, 3)


def test_sequences_of_a_buffer_not_yet_full():
    state = buffer.init(10, _item(0))
    for i in range(1, 4):  # slots 0-2 hold items 1-3
        state = buffer.add(state, _item(i))
    items, stored = buffer.sequences(state, jnp.array([0, 1]), 3)
    np.testing.assert_array_equal(np.asarray(items["action"]), [[1, 2, 3], [2, 3, 0]])
    np.testing.assert_array_equal(np.asarray(stored), [[1, 1, 1], [1, 1, 0]])
