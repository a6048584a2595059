"""Throughput benchmark of the sweep engine on the default DQN config, with its baselines, in one process.

``python -m sweep.bench [--quick] [--json PATH] [--out DIR]`` (``make bench``, ``make bench ARGS=--quick``)
prints a table and writes every figure to ``results/bench/<UTC time>.json`` (and to ``--json PATH``):

* the engine's aggregate env steps/s and gradient updates/s for N concurrent runs (the scaling curve), measured
  the way a sweep runs them: a ``sweep.compute.program.GroupProgram`` (vmapped ``Trainer.run``, sharded, state
  donated), a warm-up past ``learning_starts``, then steady-state chunks of K env steps, each timed to
  ``block_until_ready``;
* FLOPs per env step from XLA's cost analysis of one gradient update plus one acting forward pass (checked
  against a hand count), hence the achieved FLOP/s, and the roofline fraction against this machine's fp32
  matmul peak, measured in the same process;
* the ceiling of the update's dominant matmul shape (N runs x [batch, hidden] @ [hidden, hidden], each run its
  own weights, sharded like the runs, nothing else computed): how far the step's FLOP/s could go on this machine;
* two baselines on the same config, timed interleaved with the engine at the reference N so that their ratios
  share the machine's load: "sequential" (the same jitted single-run training, run after run) and "host loop"
  (the tutorial DQN: gymnasium CartPole-v1 stepped from Python, a ``collections.deque`` replay buffer, the engine's
  own update and epsilon schedule; gymnasium is the ``bench`` extra, which ``make bench`` installs);
* memory: peak RSS, and device bytes per run from the compiled chunk program against what a run must hold;
* the replay buffer's ``add`` under vmap inside a ``lax.scan``: its cost must not grow with the capacity.

Timings are medians of repeated chunks. The benchmark is a measurement, not a test: nothing here asserts a speed.
Modules: ``measure`` (counts and measurements), ``baselines`` (what is timed), ``run`` (``run_bench``), ``table``
(the printed table), ``__main__`` (the command line).
"""

from sweep.bench.baselines import EngineBench, HostLoopBench, MissingExtra, SequentialBench
from sweep.bench.measure import (
    cost_flops,
    hand_update_flops,
    measure_buffer_add,
    measure_flops,
    mlp_forward_flops,
    needed_bytes_per_run,
)
from sweep.bench.run import FULL, QUICK, REQUIRED_KEYS, BenchConfig, run_bench
from sweep.bench.table import format_table

__all__ = [
    "FULL",
    "QUICK",
    "REQUIRED_KEYS",
    "BenchConfig",
    "EngineBench",
    "HostLoopBench",
    "MissingExtra",
    "SequentialBench",
    "cost_flops",
    "format_table",
    "hand_update_flops",
    "measure_buffer_add",
    "measure_flops",
    "mlp_forward_flops",
    "needed_bytes_per_run",
    "run_bench",
]
