"""The compiled program of one static group: ``init`` and ``chunk`` of its training function, vmapped over one
wave of runs and sharded over the device mesh, the state donated from chunk to chunk.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from core import FIELDS, TRACED_FIELDS, HParams, StaticConfig, TrainState, make_train
from sweep.compute.devices import AXIS, put


class GroupProgram:
    """One static group's compiled programs over a fixed wave size (a multiple of the mesh's size)."""

    def __init__(self, static: StaticConfig, mesh: Mesh, wave_size: int):
        self.static = static
        self.trainer = make_train(static)
        self.wave_size = wave_size
        self.runs_per_device = wave_size // mesh.size
        axes = self.trainer.state_axes()
        batched, replicated = NamedSharding(mesh, P(AXIS)), NamedSharding(mesh, P())
        self.batched = batched
        # Every field sharded over the runs but those the runs share (the step counter: Trainer.state_axes).
        self.state_shardings = TrainState(*(replicated if a is None else batched for a in axes))
        self._init = jax.jit(
            jax.vmap(self.trainer.init, out_axes=axes),
            in_shardings=(batched, batched),
            out_shardings=self.state_shardings,
        )
        trainer = self.trainer

        def chunk(states, n_steps):
            return jax.vmap(lambda s: trainer.run(s, n_steps), in_axes=(axes,), out_axes=(axes, 0))(states)

        self._chunk = jax.jit(
            chunk,
            static_argnums=1,
            in_shardings=(self.state_shardings,),
            out_shardings=(self.state_shardings, batched),
            donate_argnums=0,
        )
        self._compiled: dict[int, Any] = {}
        self.compile_seconds = 0.0

    def state_shapes(self) -> TrainState:
        """Shapes and dtypes of a wave's state."""
        keys = jax.ShapeDtypeStruct((self.wave_size, 2), jnp.uint32)
        hp = HParams(*[jax.ShapeDtypeStruct((self.wave_size,), FIELDS[f].dtype) for f in TRACED_FIELDS])
        return jax.eval_shape(self._init, keys, hp)

    def _leaf_shardings(self) -> TrainState:
        return _expand(self.state_shardings, self.state_shapes())

    def leaf_fields(self) -> list[str]:
        """The ``TrainState`` field of each leaf of a wave's state (in ``jax.tree.leaves`` order); a traced
        hyperparameter's leaf is ``hparams.<name>``."""
        shapes, out = self.state_shapes(), []
        for field in TrainState._fields:
            if field == "hparams":
                out += [f"hparams.{name}" for name in HParams._fields]
            else:
                out += [field] * len(jax.tree.leaves(getattr(shapes, field)))
        return out

    def batched_leaves(self) -> list[bool]:
        """For each leaf of a wave's state (in ``jax.tree.leaves`` order): does it hold one row per run? (All
        but the step counter, which the runs share: ``Trainer.state_axes``.)"""
        flags = TrainState(*(a is not None for a in self.trainer.state_axes()))
        return jax.tree.leaves(_expand(flags, self.state_shapes()))

    def compiled(self, n_steps: int):
        """The chunk program advancing a wave by ``n_steps`` env steps: ``states -> (states, outputs)``, outputs
        with [wave_size, n_steps] leaves. Compiled once per ``n_steps``."""
        if n_steps not in self._compiled:
            t0 = time.perf_counter()
            shapes = jax.tree.map(
                lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh),
                self.state_shapes(),
                self._leaf_shardings(),
            )
            self._compiled[n_steps] = self._chunk.lower(shapes, n_steps).compile()
            self.compile_seconds += time.perf_counter() - t0
        return self._compiled[n_steps]

    def init(self, keys: np.ndarray, hparams: HParams) -> TrainState:
        """A wave's initial state from [wave_size, 2] raw keys and [wave_size] hyperparameter arrays."""
        t0 = time.perf_counter()
        states = self._init(put(keys, self.batched), jax.tree.map(lambda x: put(x, self.batched), hparams))
        jax.block_until_ready(states)
        self.compile_seconds += time.perf_counter() - t0  # mostly compilation; init itself is cheap
        return states

    def restore(self, leaves: list[np.ndarray]) -> TrainState:
        """A wave's state from its host leaves (as checkpointed), sharded as ``init`` shards it."""
        treedef = jax.tree.structure(self.state_shapes())
        shardings = jax.tree.leaves(self._leaf_shardings())
        return jax.tree.unflatten(treedef, [put(x, s) for x, s in zip(leaves, shardings, strict=True)])


def _expand(prefix: Any, full: Any) -> Any:
    """A prefix pytree (one value per TrainState field) broadcast to the leaves of ``full``."""
    return jax.tree.map(lambda p, sub: jax.tree.map(lambda _: p, sub), prefix, full, is_leaf=lambda x: x is None)


def diverged_runs(final: TrainState, wave_size: int) -> np.ndarray:
    """[wave_size] bool from a wave's final host state: the run saw a non-finite loss, or its parameters or
    target parameters are no longer finite."""
    finite = np.ones(wave_size, bool)
    for leaf in jax.tree.leaves((final.params, final.target_params)):
        finite &= np.isfinite(leaf.reshape(wave_size, -1)).all(axis=1)
    return np.asarray(final.diverged) | ~finite


def bytes_per_run(compiled, runs_per_device: int) -> float:
    """Device bytes one run needs, from the compiled chunk program's memory analysis, which counts the bytes
    of one device: those of its ``runs_per_device`` runs (the wave size over the device count). nan where the
    backend gives no memory analysis."""
    try:
        mem = compiled.memory_analysis()
    except Exception:  # noqa: BLE001 - backends without memory analysis
        mem = None
    if mem is None:
        return float("nan")
    total = mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
    total -= getattr(mem, "alias_size_in_bytes", 0)  # donated state is counted once
    return total / runs_per_device
