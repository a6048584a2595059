"""Proportional prioritized replay (Schaul et al., "Prioritized Experience Replay", ICLR 2016) over the ring buffer.

``init / add / sample_indices / set_priorities / importance_weights``, pure functions over a pytree state like
``core.buffer``'s. The priorities live in a sum tree of branching factor ``BRANCHING``: each node holds the sum of
its ``BRANCHING`` children, the leaves are the slots' priorities. Drawing ``B`` slots with probability
``p_i / sum p`` walks ``B`` paths from the root (``depth`` gathers of ``[B, BRANCHING]`` rows); setting ``B``
priorities recomputes the ``B`` paths from the leaves up. Both cost O(B log N) and stay in place under ``vmap``
inside ``lax.scan``. A cumulative sum with a binary search costs O(N) per draw instead: measured under vmap, a
replay step (add, draw 64, write 64 priorities) was 2.2x slower than with this tree at 10,000 slots and 4.3x at
100,000, and a binary tree 2.6x and 1.4x slower than one of 16 children per node, whose paths are 4 nodes long at
10,000 slots and 5 at 100,000 (BENCHMARKS.md, "Prioritized replay"; ``python -m sweep.bench.replay``).

Every node is recomputed from its children (never updated by differences), so the sums do not drift.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from core import buffer as ring
from core.config import check_positive_int

BRANCHING = 16  # children per sum-tree node (chosen by measurement: module docstring)


class PrioritizedState(NamedTuple):
    ring: ring.BufferState  # the items, the write position and the filled size
    tree: tuple[jax.Array, ...]  # sum-tree levels, root's children first, leaves last: [n_0], ..., [n_leaves]
    max_priority: jax.Array  # [] float32, the largest priority set so far (1 before any): new items get it


def level_sizes(capacity: int, branching: int = BRANCHING) -> tuple[int, ...]:
    """The sizes of the tree's levels, top first: each a multiple of ``branching``, the last >= ``capacity``,
    each level holding one node per ``branching`` nodes of the level below, the top exactly ``branching``."""
    sizes = [math.ceil(capacity / branching) * branching]
    while sizes[-1] > branching:
        sizes.append(math.ceil(sizes[-1] // branching / branching) * branching)
    return tuple(reversed(sizes))


def init(capacity: int, example: Any, branching: int = BRANCHING) -> PrioritizedState:
    """An empty prioritized buffer of ``capacity`` slots shaped like ``example`` (all priorities 0)."""
    check_positive_int("capacity", capacity)
    if not (isinstance(branching, int) and branching >= 2):
        raise ValueError(f"branching must be an integer of at least 2, got {branching!r}")
    tree = tuple(jnp.zeros((n,), jnp.float32) for n in level_sizes(capacity, branching))
    return PrioritizedState(ring.init(capacity, example), tree, jnp.ones((), jnp.float32))


def _branching(tree: tuple[jax.Array, ...]) -> int:
    return tree[0].shape[0]  # the top level is exactly one node's children (level_sizes)


def priorities(state: PrioritizedState) -> jax.Array:
    """[capacity] float32, every slot's priority (0 for an empty slot)."""
    return state.tree[-1][: ring.capacity_of(state.ring)]


def total(state: PrioritizedState) -> jax.Array:
    """[] float32, the sum of all priorities."""
    return jnp.sum(state.tree[0])


def _set_leaves(tree: tuple[jax.Array, ...], idx: jax.Array, values: jax.Array) -> tuple[jax.Array, ...]:
    """Sets leaves ``idx`` [n] to ``values`` [n] and recomputes their ancestors. A slot drawn twice gets the
    larger of its values whatever the order of the writes: every write of a repeated slot carries the same
    value, so results do not depend on how a backend orders a scatter with repeated indices. (A zero-then-max
    pair of scatters does the same but is not done in place: it copied the leaves, 5x slower at 100,000 slots.)"""
    k = _branching(tree)
    levels = list(tree)
    idx, values = _largest_per_slot(idx, values)
    levels[-1] = levels[-1].at[idx].set(values)
    node = idx
    for d in range(len(levels) - 2, -1, -1):
        node = node // k
        levels[d] = levels[d].at[node].set(levels[d + 1].reshape(-1, k)[node].sum(axis=-1))
    return tuple(levels)


def _largest_per_slot(idx: jax.Array, values: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(idx, values)`` with each value replaced by the largest value given for its slot. A batch compares every
    pair (n^2, cheap for a batch); a bulk write sorts (n log n)."""
    n = idx.shape[0]
    if n <= 1024:
        same = idx[:, None] == idx[None, :]  # [n, n]
        return idx, jnp.max(jnp.where(same, values[None, :], -jnp.inf), axis=1)
    order = jnp.lexsort((values, idx))  # by slot, then value: each slot's largest value comes last
    idx, values = idx[order], values[order]
    last = jnp.append(idx[1:] != idx[:-1], True)  # [n] the last entry of its slot
    last_pos = jax.lax.cummin(jnp.where(last, jnp.arange(n), n), reverse=True)
    return idx, values[last_pos]


def add(state: PrioritizedState, item: Any) -> PrioritizedState:
    """Writes one item at the ring position (the oldest is overwritten when full) with the largest priority
    set so far, so that every new transition is replayed at least once soon (Schaul et al., section 3.3)."""
    tree = _set_leaves(state.tree, state.ring.pos[None], state.max_priority[None])
    return PrioritizedState(ring.add(state.ring, item), tree, state.max_priority)


def sample_indices(state: PrioritizedState, key: jax.Array, batch_size: int) -> tuple[jax.Array, jax.Array]:
    """``batch_size`` slots drawn with probability proportional to their priorities, stratified as in Schaul et al.
    (one draw in each of ``batch_size`` equal segments of the total priority): ([B] int32 slots, [B] float32
    probabilities ``p_i / sum p``). Only filled slots can be drawn; an empty buffer gives slot 0."""
    ring._check_batch_size(state.ring, batch_size)
    k = _branching(state.tree)
    mass = total(state)
    u = (jnp.arange(batch_size, dtype=jnp.float32) + jax.random.uniform(key, (batch_size,))) * (mass / batch_size)
    node = jnp.zeros((batch_size,), jnp.int32)
    upto = jnp.triu(jnp.ones((k, k), jnp.float32))  # children @ upto: inclusive prefix sums
    for level in state.tree:
        children = level.reshape(-1, k)[node]  # [B, k]
        below = jnp.matmul(children, upto, precision=jax.lax.Precision.HIGHEST)  # [B, k] mass up to each child
        passed = below <= u[:, None]  # [B, k] the children wholly below u: a prefix
        j = jnp.minimum(jnp.sum(passed, axis=-1), k - 1).astype(jnp.int32)
        u = u - jnp.where(j > 0, jnp.take_along_axis(below, jnp.maximum(j - 1, 0)[:, None], axis=-1)[:, 0], 0.0)
        node = node * k + j
    # Rounding can carry a draw past the last filled slot (its cumulative sums differ from the stored ones in
    # the last bit): keep it on the last filled slot, which has a positive priority.
    idx = jnp.minimum(node, jnp.maximum(state.ring.size - 1, 0))
    return idx, state.tree[-1][idx] / mass


def set_priorities(state: PrioritizedState, idx: jax.Array, values: jax.Array) -> PrioritizedState:
    """Sets the priorities of slots ``idx`` [B] to ``values`` [B] (positive); the largest priority so far
    follows."""
    tree = _set_leaves(state.tree, idx, values)
    return PrioritizedState(state.ring, tree, jnp.maximum(state.max_priority, jnp.max(values)))


def importance_weights(probs: jax.Array, size: jax.Array, beta: jax.Array) -> jax.Array:
    """[B] importance-sampling weights ``(size * P(i)) ^ -beta``, divided by their largest value in the batch so
    that they only ever scale an update down (Schaul et al., section 3.4)."""
    w = jnp.power(size.astype(jnp.float32) * probs, -beta)
    return w / jnp.max(w)
