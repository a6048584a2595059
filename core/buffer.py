"""A fixed-size ring replay buffer as pure functions over a pytree state.

``init / add / sample / can_sample``, in the style of flashbax's flat buffer. Shapes are fixed at ``init``;
``add`` writes one item at the ring position (overwriting the oldest item once full) with a dynamic update, which
XLA performs in place inside a ``lax.scan`` loop, also when the buffer is vmapped (one buffer per run).
``sample`` draws uniformly, with replacement, from the filled slots only; ``sequences`` reads the items that
followed given slots (n-step returns). ``core.prioritized`` is the prioritized variant.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from core.config import check_positive_int


class BufferState(NamedTuple):
    data: Any  # pytree of [capacity, ...] arrays, one leaf per field of the stored item
    pos: jax.Array  # [] int32, the slot the next add writes
    size: jax.Array  # [] int32, filled slots (<= capacity)


def capacity_of(state: BufferState) -> int:
    """The static capacity: the leading dimension of every stored leaf."""
    return jax.tree.leaves(state.data)[0].shape[0]


def init(capacity: int, example: Any) -> BufferState:
    """An empty buffer of ``capacity`` slots shaped like ``example`` (a pytree of arrays for one item)."""
    check_positive_int("capacity", capacity)
    data = jax.tree.map(lambda x: jnp.zeros((capacity,) + jnp.shape(x), jnp.asarray(x).dtype), example)
    return BufferState(data, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def add(state: BufferState, item: Any) -> BufferState:
    """Writes one item (same structure as ``example``) at ``pos``; the oldest item is overwritten when full."""
    capacity = capacity_of(state)
    data = jax.tree.map(
        lambda d, x: jax.lax.dynamic_update_index_in_dim(d, jnp.asarray(x, d.dtype), state.pos, axis=0),
        state.data,
        item,
    )
    pos = (state.pos + 1) % capacity
    size = jnp.minimum(state.size + 1, capacity)
    return BufferState(data, pos.astype(jnp.int32), size.astype(jnp.int32))


def can_sample(state: BufferState, batch_size: int) -> jax.Array:
    """[] bool: at least ``batch_size`` items are stored."""
    return state.size >= batch_size


def _check_batch_size(state: BufferState, batch_size: int) -> None:
    check_positive_int("batch_size", batch_size)
    capacity = capacity_of(state)
    if batch_size > capacity:
        raise ValueError(f"batch_size ({batch_size}) must not exceed the buffer capacity ({capacity})")


def sample_indices(state: BufferState, key: jax.Array, batch_size: int) -> jax.Array:
    """[batch_size] int32 slots drawn uniformly with replacement from the filled slots (slot 0 when empty)."""
    _check_batch_size(state, batch_size)
    return jax.random.randint(key, (batch_size,), 0, jnp.maximum(state.size, 1))


def sample(state: BufferState, key: jax.Array, batch_size: int) -> Any:
    """``batch_size`` items drawn uniformly with replacement from the filled slots: leaves [batch_size, ...].

    Raises ValueError if ``batch_size`` is not a positive integer or exceeds the capacity. Sampling from an
    empty buffer returns copies of slot 0 (zeros); callers gate on ``can_sample``.
    """
    idx = sample_indices(state, key, batch_size)
    return jax.tree.map(lambda d: jnp.take(d, idx, axis=0), state.data)


def sequences(state: BufferState, idx: jax.Array, length: int) -> tuple[Any, jax.Array]:
    """The items at slots ``idx, idx + 1, ..., idx + length - 1`` (ring order) for each of the [B] start slots
    ``idx``: leaves [B, length, ...], and [B, length] bool, True where that item was added after the start
    item (the start item itself is always True). Items added one per step in time order make these the
    ``length`` steps that followed each start, as far as they have been stored."""
    check_positive_int("length", length)
    capacity = capacity_of(state)
    offsets = jnp.arange(length, dtype=jnp.int32)  # [length]
    slots = (idx[:, None] + offsets) % capacity  # [B, length]
    items = jax.tree.map(lambda d: jnp.take(d, slots, axis=0), state.data)
    added_after = (state.pos - 1 - idx) % capacity  # [B] items stored after each start item
    return items, offsets <= added_after[:, None]
