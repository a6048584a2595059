"""The DQN options as a whole: with every option off a run is bitwise what it was before the options existed; the
prioritized-replay hyperparameters do nothing while it is off; with every option on a short run learns.

The bitwise record (``tests/data/dqn_options_off.json``) holds digests of training outputs and final parameters
made with the core of commit d1f3c05, before prioritized replay, n-step returns and dueling heads were added.
XLA's CPU code depends on the processor's vector instructions and on jaxlib's version, so the comparison runs only
where both match a record; elsewhere the test is skipped and says why
(``python tests/test_dqn_options.py --write CHECKOUT`` adds this machine's record from the core at CHECKOUT).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import HParams, StaticConfig, hparams_as_arrays, make_train

RECORD = Path(__file__).parent / "data" / "dqn_options_off.json"
_BASE = dict(
    total_steps=1_500, buffer_capacity=1_000, batch_size=32, hidden_sizes=(32, 32), learning_starts=200,
    eval_every=500, eval_episodes=2,
)  # fmt: skip
# Static variants that existed before the options; each trains three runs with different traced values.
VARIANTS = {
    "plain": {},
    "double_huber_exponential": dict(double_q=True, loss="huber", eps_schedule="exponential"),
    "train_every_4": dict(train_every=4, hidden_sizes=(64, 64), batch_size=64),
}
_HPARAMS = (
    dict(),
    dict(lr=3e-3, gamma=0.9, target_period=7, tau=0.5),
    dict(eps_end=0.2, max_grad_norm=10.0, lr_decay=0.0),
)


def _machine() -> dict:
    from sweep.store.manifest import cpu  # here, not at the top: --write imports this module from an old checkout

    return {"jaxlib": metadata.version("jaxlib"), "cpu_flags": cpu()["simd"]}


@functools.cache
def _programs(static: StaticConfig):
    train = make_train(static)
    axes = train.state_axes()
    init = jax.jit(jax.vmap(train.init, out_axes=axes))
    run = jax.jit(jax.vmap(lambda s: train.run(s, static.total_steps), in_axes=(axes,), out_axes=(axes, 0)))
    return init, run


def _train(static_kw: dict, hparams: list[dict]):
    """(final states, outputs) of ``len(hparams)`` vmapped runs of ``_BASE`` updated with ``static_kw``."""
    init, run = _programs(StaticConfig(**{**_BASE, **static_kw}))
    hp = jax.tree.map(lambda *x: jnp.stack(x), *[hparams_as_arrays(HParams(**h)) for h in hparams])
    return run(init(jax.random.split(jax.random.key(7), len(hparams)), hp))


def digests() -> dict[str, str]:
    """sha256 of every variant's outputs, online and target parameters and optimiser state."""
    out = {}
    for name, kw in VARIANTS.items():
        state, outputs = _train(kw, list(_HPARAMS))
        h = hashlib.sha256()
        for leaf in jax.tree.leaves((outputs, state.params, state.target_params, state.opt_state)):
            h.update(np.asarray(leaf).tobytes())
        out[name] = h.hexdigest()
    return out


@pytest.mark.slow
def test_with_the_options_off_runs_are_bitwise_the_recorded_ones():
    records = json.loads(RECORD.read_text())["records"]
    record = next((r for r in records if r["machine"] == _machine()), None)
    if record is None:
        pytest.skip(f"no record was made on this machine ({_machine()}); records: {[r['machine'] for r in records]}")
    assert digests() == record["digests"]


def test_prioritized_replay_hyperparameters_do_nothing_while_it_is_off():
    kw = dict(total_steps=600, learning_starts=100, eval_every=300, hidden_sizes=(16,))
    a = _train(kw, [dict(), dict(lr=3e-3)])
    b = _train(kw, [dict(per_alpha=0.0, per_beta=1.0, per_eps=0.5), dict(lr=3e-3, per_alpha=1.0, per_beta=0.0)])
    for x, y in zip(jax.tree.leaves((a[0].params, a[1])), jax.tree.leaves((b[0].params, b[1])), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_with_every_option_on_a_short_run_learns():
    # Prioritized replay, 3-step returns, dueling heads and double Q-learning, 4 seeds of 6,000 steps (~10 s):
    # every seed's final greedy return must be well above the random policy's (about 22).
    kw = dict(
        total_steps=6_000, buffer_capacity=5_000, learning_starts=500, eval_every=3_000, eval_episodes=5,
        per=True, n_step=3, dueling=True, double_q=True,
    )  # fmt: skip
    _, out = _train(kw, [dict(eps_decay_fraction=0.2)] * 4)
    out = jax.device_get(out)
    final = out.eval_return[:, out.eval_done[0]][:, -1]
    assert np.all(final > 100), final


if __name__ == "__main__":
    # python tests/test_dqn_options.py --write CHECKOUT [LABEL]: adds this machine's record, made with the core at
    # CHECKOUT (a checkout from before the options, e.g. git archive d1f3c05), LABEL saying which it was.
    if len(sys.argv) not in (3, 4) or sys.argv[1] != "--write":
        sys.exit("usage: python tests/test_dqn_options.py --write CHECKOUT [LABEL]")
    root = Path(sys.argv[2]).resolve()
    code = f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import test_dqn_options as t; "
    code += "print(json.dumps(t.digests()))"
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    label = sys.argv[3] if len(sys.argv) == 4 else str(root)
    new = {"machine": _machine(), "made_from": label, "digests": json.loads(proc.stdout.strip().splitlines()[-1])}
    records = json.loads(RECORD.read_text())["records"] if RECORD.is_file() else []
    records = [r for r in records if r["machine"] != _machine()] + [new]
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps({"records": records}, indent=1) + "\n")
    print(f"wrote {RECORD}")
