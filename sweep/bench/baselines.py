"""What the benchmark times: the engine's program for N runs, and the two baselines it is compared with."""

from __future__ import annotations

import collections
import time

import jax
import jax.numpy as jnp
import numpy as np

from common.errors import UserError
from core import HParams, Learner, StaticConfig, Transition, cartpole, epsilon, hparams_as_arrays, make_train
from sweep.bench.measure import mesh_for
from sweep.compute.program import GroupProgram
from sweep.plan import hparams_batch, run_keys


class MissingExtra(UserError):
    """An optional dependency the benchmark needs is not installed."""


class EngineBench:
    """N runs of the default config, compiled and run as the sweep engine does (a ``GroupProgram``)."""

    def __init__(self, static: StaticConfig, n_runs: int, chunk_steps: int, n_devices: int | None = None):
        """``n_devices``: the first devices of the engine's mesh to use (default: as many as divide N)."""
        self.n_runs, self.chunk_steps = n_runs, chunk_steps
        mesh = mesh_for(n_runs, n_devices)
        self.n_devices = mesh.size
        self.group = GroupProgram(static, mesh, wave_size=n_runs)
        keys = run_keys(np.arange(n_runs), base_seed=0)
        self.states = self.group.init(keys, hparams_batch([HParams()._asdict()] * n_runs))
        self.compiled = self.group.compiled(chunk_steps)
        self.compile_s = self.group.compile_seconds
        self.steps_done = 0

    def chunk(self) -> float:
        """Runs one chunk of K steps; returns its seconds (outputs and state ready)."""
        t0 = time.perf_counter()
        self.states, outputs = self.compiled(self.states)
        jax.block_until_ready((self.states, outputs))
        self.steps_done += self.chunk_steps
        return time.perf_counter() - t0

    def warm_up(self, learning_starts: int) -> None:
        """Chunks until every later chunk lies wholly after ``learning_starts`` (updates in every step)."""
        while self.steps_done <= learning_starts:
            self.chunk()


def interleaved(
    statics: dict[str, StaticConfig], n_runs: int, chunk_steps: int, repeats: int, on_compiled=None
) -> dict[str, tuple[EngineBench, list[float]]]:
    """Each named config's ``EngineBench`` of ``n_runs`` runs, warmed up past its ``learning_starts``, then
    ``repeats`` chunks of each timed in turn, so that their ratios share the machine's load: ``{name: (bench,
    chunk seconds)}``. ``on_compiled(name, bench)`` is called as each is ready."""
    benches = {}
    for name, static in statics.items():
        eb = EngineBench(static, n_runs, chunk_steps)
        eb.warm_up(static.learning_starts)
        benches[name] = (eb, [])
        if on_compiled is not None:
            on_compiled(name, eb)
    for _ in range(repeats):
        for eb, times in benches.values():
            times.append(eb.chunk())
    return benches


class SequentialBench:
    """Baseline (a): the same training, one run at a time: ``jax.jit(trainer.run)`` on one run's state, called in
    a Python loop over the runs."""

    def __init__(self, static: StaticConfig, n_runs: int, chunk_steps: int):
        self.trainer = make_train(static)
        self.chunk_steps = chunk_steps
        self.run = jax.jit(self.trainer.run, static_argnums=1)
        keys = run_keys(np.arange(n_runs), base_seed=0)
        init = jax.jit(self.trainer.init)
        self.states = [init(jnp.asarray(k), HParams()) for k in keys]
        t0 = time.perf_counter()
        jax.block_until_ready(self.run.lower(self.states[0], chunk_steps).compile())
        self.compile_s = time.perf_counter() - t0
        self.steps_done = 0

    def round(self) -> float:
        """Each run advances one chunk of K steps, run after run; returns the round's seconds."""
        t0 = time.perf_counter()
        for i, state in enumerate(self.states):
            state, outputs = self.run(state, self.chunk_steps)
            self.states[i] = jax.block_until_ready(state)
            jax.block_until_ready(outputs)
        self.steps_done += self.chunk_steps
        return time.perf_counter() - t0

    def warm_up(self, learning_starts: int) -> None:
        while self.steps_done <= learning_starts:
            self.round()


class HostLoopBench:
    """Baseline (b): the tutorial DQN. A gymnasium CartPole-v1 stepped from Python, a ``collections.deque`` replay
    buffer (maxlen = capacity), epsilon-greedy with a jitted Q forward (computed on greedy steps only, as tutorials
    do) and a jitted gradient update, one per ``train_every`` env steps once ``learning_starts`` have passed, its
    batch sampled with numpy. The update (``Trainer.update``: same network, loss, Adam and target update) and the
    epsilon schedule (``core.epsilon``, tabulated for every step up front) are the engine's own."""

    @staticmethod
    def check_installed() -> None:
        """MissingExtra (one sentence saying how to install it) unless gymnasium can be imported."""
        try:
            import gymnasium  # noqa: F401
        except ImportError:
            raise MissingExtra(
                "the host-loop baseline needs gymnasium, which is not installed; run make venv (or pip install -c "
                "constraints.txt -e .)"
            ) from None

    def __init__(self, static: StaticConfig, seed: int = 0):
        self.check_installed()
        import gymnasium as gym

        self.static = static
        trainer = make_train(static)
        self.hp = hparams_as_arrays(HParams())
        self.env = gym.make("CartPole-v1")
        self.rng = np.random.default_rng(seed)
        self.obs, _ = self.env.reset(seed=seed)
        state = jax.jit(trainer.init)(jax.random.key(seed), self.hp)
        self.learner = Learner.of(state)
        steps = jnp.arange(static.total_steps + 1, dtype=jnp.int32)
        self.epsilons = np.asarray(jax.jit(jax.vmap(lambda t: epsilon(t, self.hp, static)))(steps))
        self.memory: collections.deque = collections.deque(maxlen=static.buffer_capacity)
        self.steps_done = 0
        self.q = jax.jit(trainer.network.apply)
        self.update = jax.jit(trainer.update)

    def _epsilon(self) -> float:
        return float(self.epsilons[min(self.steps_done, len(self.epsilons) - 1)])

    def _sample(self) -> Transition:
        idx = self.rng.integers(len(self.memory), size=self.static.batch_size)
        items = [self.memory[i] for i in idx]
        return Transition(
            obs=np.stack([t[0] for t in items]).astype(np.float32),
            action=np.asarray([t[1] for t in items], np.int32),
            reward=np.asarray([t[2] for t in items], np.float32),
            terminated=np.asarray([t[3] for t in items], np.float32),
            next_obs=np.stack([t[4] for t in items]).astype(np.float32),
        )

    def steps(self, n: int) -> float:
        """Runs ``n`` env steps (with their updates); returns the seconds (last update ready)."""
        t0 = time.perf_counter()
        for _ in range(n):
            if self.rng.random() < self._epsilon():
                action = int(self.rng.integers(cartpole.NUM_ACTIONS))
            else:
                action = int(np.argmax(np.asarray(self.q(self.learner.params, self.obs))))
            next_obs, reward, terminated, truncated, _ = self.env.step(action)
            self.memory.append((self.obs, action, float(reward), float(terminated), next_obs))
            self.obs = next_obs
            if terminated or truncated:
                self.obs, _ = self.env.reset()
            self.steps_done += 1
            if self.steps_done >= self.static.learning_starts and self.steps_done % self.static.train_every == 0:
                self.learner = self.update(self.learner, self._sample(), self.hp)
        jax.block_until_ready(self.learner.params)
        return time.perf_counter() - t0

    def warm_up(self) -> None:
        """Fills the buffer up to ``learning_starts`` and compiles the update."""
        self.steps(self.static.learning_starts + 1)
