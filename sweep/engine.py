"""Runs a sweep: the run folder, the plan's programs and waves, then the loop (ask the schedule what to train
next, run that chunk, record its outputs, checkpoint), then the tables, report and ``DONE`` marker.

A run's results depend only on (its config, its seed): its key is ``fold_in(key(base_seed), seed)``, the
same for every config (common random numbers), and nothing in its computation mixes runs; with the per-device
batch shape fixed (``sweep.plan.default_runs_per_device``), neither the device count (2 or more), the waves or
chunks, nor its neighbours in the batch change a bit of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import jax
import numpy as np

from analysis.tables.run import write_parquet, write_tables
from common.errors import UserError, option
from common.files import WriteError, jsonable
from core import HParams, TrainState, is_positive_int
from sweep import cluster
from sweep.cluster import supervisor
from sweep.compute.devices import fetch, is_lead, make_mesh, on_lead
from sweep.compute.layout import Layout
from sweep.compute.program import GroupProgram, diverged_runs
from sweep.plan import Plan, Wave, hparams_batch, make_plan, run_keys, size, too_large
from sweep.progress import Estimates
from sweep.schedules import SCHEDULERS, make_schedule
from sweep.schedules.base import Chunk, Schedule
from sweep.spec.grid import Grid
from sweep.store import checkpoint
from sweep.store import run_folder as folders
from sweep.store.manifest import Invocations, Timings, make_manifest, runs_frame
from sweep.store.parked import Parked
from sweep.store.records import Records


class OptionError(UserError):
    """An option of the sweep (not of its grid) that is not allowed; one sentence."""


@dataclasses.dataclass(frozen=True)
class Options:
    out: Path = Path("results")
    run_id: str | None = None
    chunk_steps: int = 5_000
    resume: Path | None = None
    runs_per_device: int | None = None  # runs each device holds in a wave; None: the platform's default
    progress: bool = True
    base_seed: int = 0
    report: bool = True  # figures and report.html at the end (tables are always written)
    large: bool = False  # run a sweep beyond sweep.plan.LARGE too

    def check(self) -> None:
        """OptionError naming the first option that is not allowed."""
        for name in ("chunk_steps", "runs_per_device"):
            value = getattr(self, name)
            if value is None and name == "runs_per_device":
                continue
            if not is_positive_int(value):
                raise OptionError(f"{option(name)} must be a positive integer, got {value!r}")


def intent(grid: Grid, options: Options) -> dict[str, Any]:
    """What this process is about to run, JSON-able: every process of a cluster must state the same."""
    device = jax.local_devices()[0]
    return jsonable(
        {
            "grid": {
                "name": grid.name,
                "seeds": grid.seeds,
                "config": grid.config,
                "axes": grid.axes,
                "space": grid.space,
                "search": grid.search.record(),
                "points": {str(i): point for i, point in enumerate(grid.points)},
                "variants": grid.variants,
            },
            "options": {
                "out": str(options.out),
                "run_id": options.run_id,
                "resume": None if options.resume is None else str(options.resume),
                "chunk_steps": options.chunk_steps,
                "runs_per_device": options.runs_per_device,
                "base_seed": options.base_seed,
                "report": options.report,
                "large": options.large,
            },
            "code": cluster.code_fingerprint(),
            "versions": {"jax": jax.__version__, "jaxlib": metadata.version("jaxlib")},
            "devices": {"platform": device.platform, "kind": device.device_kind, "local": jax.local_device_count()},
        }
    )


def run_sweep(grid: Grid, options: Options = Options(), *, file_grid: Grid | None = None) -> Path:
    """Trains every run of ``grid``; returns the run folder with its tables (and report).

    On several processes, they first check that they all run the same sweep (``sweep.cluster.runtime.agree``). A new
    run folder that fails before its first checkpoint (or its tables) is removed again, with the parents this
    call made; a folder being resumed is never removed. A sweep stopped by a signal raises
    ``sweep.cluster.runtime.Stopped``, which names its run folder.
    """
    options.check()
    cluster.agree(intent(grid, options))
    if options.resume is not None:
        check = lambda: folders.check_resume(grid, Path(options.resume), SCHEDULERS)  # noqa: E731
        found = folders.resume_from_check(on_lead(check), SCHEDULERS)
        if is_lead() and found.description_changed:
            print(f"note: the grid's description changed since {options.resume} started; the new one is recorded",
                  file=sys.stderr)  # fmt: skip
        if is_lead() and found.status == "tables":
            print(
                f"note: {options.resume} has tables but no {folders.DONE} marker and no checkpoint (it was stopped "
                "while writing its results); training it again from the start",
                file=sys.stderr,
            )
        return _stoppable(found.run_dir, lambda: _Sweep(make_plan(found.grid), found.run_dir, options, file_grid))

    new = folders.NewFolder.from_check(on_lead(lambda: folders.NewFolder.check(grid, options.out, options.run_id)))
    try:
        # Everything that can fail on the grid's values fails here, before the run folder exists.
        plan = make_plan(grid)
        hparams_batch(plan.configs)
        cost = size(plan, jax.device_count(), jax.devices()[0].platform, options.runs_per_device)
        if not options.large and (over := too_large(cost)):
            raise OptionError(
                f"this sweep has {over}: {cost.describe(jax.device_count())}; if that is what you mean, run it "
                f"with {option('large')}"
            )
        on_lead(lambda: new.create(grid, file_grid or grid))
        return _stoppable(new.run_dir, lambda: _Sweep(plan, new.run_dir, options, file_grid, new), resume=False)
    except Exception as err:
        if is_lead():
            new.undo()
        if isinstance(err, cluster.Stopped) and not new.kept:
            err.run_dir = None  # the folder held nothing worth resuming and was removed
        raise


def _stoppable(run_dir: Path, make: Callable[[], _Sweep], *, resume: bool = True) -> Path:
    """Runs the sweep ``make()`` builds; Ctrl-C or SIGTERM become ``Stopped`` naming ``run_dir``, unless they come
    once the sweep has finished (its DONE marker written): it is then returned as finished."""
    cluster.note_run_dir(run_dir, folders.DONE)
    try:
        return make().run(resume=resume)
    except KeyboardInterrupt as err:
        if cluster.finished():
            return run_dir
        why = f"interrupted ({err.args[0]})" if err.args else "interrupted"
        raise cluster.Stopped(why, run_dir, checkpoint.exists(run_dir)) from None


@contextlib.contextmanager
def _signals_deferred():
    """SIGINT and SIGTERM are noted and dropped while the block runs (in the main thread, where Python runs signal
    handlers): the block is the end of a finished sweep, which a signal must not cut in half."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = (signal.SIGINT, signal.SIGTERM)
    before = {s: signal.signal(s, lambda *_: None) for s in caught}
    try:
        yield
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@dataclasses.dataclass
class _Live:
    """The wave being trained and its device state."""

    group: int
    wave: int
    states: TrainState


class _Sweep:
    """One invocation's sweep: its layout (programs and waves), schedule, records and timings."""

    def __init__(self, plan: Plan, run_dir: Path, options: Options, file_grid: Grid | None, new=None):
        self.plan, self.run_dir, self.options, self.file_grid, self.new = plan, run_dir, options, file_grid, new
        self.mesh = make_mesh()
        self.layout = Layout(plan, self.mesh, options.chunk_steps, options.runs_per_device, on_compile=self._compiling)
        self.hparams = hparams_batch(plan.configs)
        self.records = Records(plan.n_runs)
        self.state_leaves: list[np.ndarray] | None = None  # a checkpointed wave's state, until restored
        self.before = Timings(0.0, 0.0, 0)  # what earlier invocations spent (from the checkpoint)
        self.invocations = Invocations()
        self.run_seconds, self.host_seconds, self.env_steps, self.seq = 0.0, 0.0, 0, 0
        self.parked = Parked(run_dir / checkpoint.CHECKPOINT)
        self.schedule: Schedule = self._schedule(None)
        self.bar = None
        self.estimates = Estimates(len(plan.groups))

    def _schedule(self, position: dict[str, Any] | None) -> Schedule:
        return make_schedule(self.plan, self.layout, self.records, self.options.chunk_steps, position)

    def _compiling(self, g: int) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"compiling group {g + 1}/{len(self.plan.groups)}")
            self.bar.refresh()

    def run(self, *, resume: bool) -> Path:
        if resume:
            self._restore()
        from tqdm import tqdm

        platform = self.mesh.devices.flat[0].platform
        cost = size(self.plan, self.mesh.size, platform, self.options.runs_per_device)
        planned = self.schedule.planned_steps()
        if is_lead():
            kind = self.mesh.devices.flat[0].device_kind
            hosts = f" on {jax.process_count()} processes" if jax.process_count() > 1 else ""
            print(f"devices: {self.mesh.size} x {kind} ({platform}){hosts}", file=sys.stderr)
            print(f"{self.plan.grid.name}: {cost.describe(self.mesh.size)}", file=sys.stderr)
            full = self.plan.full_env_steps
            if planned != full:
                share = f"{planned / full:.0%} of the full grid's {full:,}"
                print(f"{self.plan.grid.search.scheduler.name}: {planned:,} env steps ({share})", file=sys.stderr)
        done = self.schedule.steps_done()
        self.bar = tqdm(
            total=planned,
            initial=done,
            unit=" steps",
            unit_scale=True,
            desc=f"{self.plan.grid.name}: {self.plan.n_runs} runs",
            disable=not (self.options.progress and is_lead()),
            dynamic_ncols=True,
            smoothing=0.3,
        )
        try:
            self._loop(self.bar, planned - done)
        finally:
            self.bar.close()
        on_lead(self._finish)  # the others wait for it, and hear of a failure
        return self.run_dir

    def _restore(self) -> None:
        loaded = checkpoint.load(self.run_dir, self.plan.n_runs)
        if loaded is None:
            return
        meta, self.records, self.state_leaves = loaded
        problem = checkpoint.layout_error(meta, str(self.options.resume), self.mesh.size, self.options.runs_per_device)
        if problem:
            raise checkpoint.CheckpointError(problem)
        self.layout = Layout(
            self.plan,
            self.mesh,
            self.options.chunk_steps,
            self.options.runs_per_device,
            Layout.decoded(meta["group_runs_per_device"]),
            on_compile=self._compiling,
        )
        self.parked = checkpoint.parked_states(self.run_dir, meta["parked"])
        self.schedule = self._schedule(meta["schedule"])
        self.before = Timings(meta["compile_seconds"], meta["run_seconds"], meta["env_steps"], meta["host_seconds"])
        self.invocations.earlier = list(meta.get("invocations", []))
        self.seq = meta["seq"]

    def _loop(self, bar, steps_left: int) -> None:
        live: _Live | None = None
        supervisor.report_status("training")
        n_groups = len(self.plan.groups)
        while (chunk := self.schedule.next()) is not None:
            waves = self.schedule.waves(chunk.group)  # the group's program is compiled on its first chunk
            wave, program = waves[chunk.wave], self.layout.program(chunk.group)
            if live is None or (live.group, live.wave) != (chunk.group, chunk.wave):
                where = f"group {chunk.group + 1}/{n_groups}, wave {chunk.wave + 1}/{len(waves)}"
                if stage := self.schedule.stage():
                    where = f"{stage}, {where}"
                bar.set_postfix_str(f"{where} of {len(wave.runs)} runs")
                live = _Live(chunk.group, chunk.wave, self._start(program, wave, chunk))
            t_chunk, compiling = time.perf_counter(), self.layout.compile_seconds()
            live.states = self._train(live.states, program, wave, chunk)
            bar.update(chunk.n_steps * len(wave.runs))
            if self.schedule.wave_done(chunk.group, chunk.wave):
                final = fetch(live.states)
                self.records.mark_diverged(wave.runs, diverged_runs(final, wave.size)[: len(wave.runs)])
                t0 = time.perf_counter()
                if self.schedule.keeps_state(chunk.group, chunk.wave):  # its runs may go on after the boundary
                    name = f"parked-{self.seq + 1:06d}.npz"
                    self.parked.park(name, wave.runs, jax.tree.leaves(final), program.batched_leaves())
                self.schedule.at_boundary(self.parked)
                self.host_seconds += time.perf_counter() - t0
                live = None
                if self.schedule.next() is None:
                    break
                t0 = time.perf_counter()
                self._checkpoint(None)
                self.host_seconds += time.perf_counter() - t0
            else:
                t0 = time.perf_counter()
                self._checkpoint(fetch(live.states))
                self.host_seconds += time.perf_counter() - t0
            updating = chunk.start + chunk.n_steps - max(chunk.start, program.static.learning_starts)
            if 2 * updating >= chunk.n_steps:  # at least half the chunk updates, as most of training does
                compiling = self.layout.compile_seconds() - compiling  # a chunk length met for the first time
                seconds = time.perf_counter() - t_chunk - compiling
                self._estimate(chunk.group, steps_left, chunk.n_steps * len(wave.runs), seconds)
            if stop := cluster.stop_requested():  # every process stops after the same checkpoint
                process, signame = stop
                raise cluster.Stopped(f"stopped at the request of process {process} ({signame})", self.run_dir, True)

    def _estimate(self, group: int, steps_left: int, steps: int, seconds: float) -> None:
        """Process 0 prints the training time left after a chunk of ``group`` (``progress.Estimates`` says when)."""
        if not is_lead():
            return
        uncompiled = sum(1 for g in range(len(self.plan.groups)) if self.layout.wave_size(g) is None)
        text = self.estimates.line(group, max(0, steps_left - self.env_steps), steps, seconds, uncompiled)
        if text is not None:
            self.bar.write(text, file=sys.stderr) if not self.bar.disable else print(text, file=sys.stderr)

    def _start(self, program: GroupProgram, wave: Wave, chunk: Chunk) -> TrainState:
        """The wave's state at ``chunk.start``: fresh at step 0, its runs' parked states at the start of a
        stretch, else the checkpointed one."""
        runs = wave.padded_runs()
        runs = np.where(runs >= 0, runs, wave.runs[0])  # padding repeats a real run; its rows are dropped
        if chunk.start > 0 and self.state_leaves is None and all(r in self.parked for r in wave.runs):
            states = program.restore(self.parked.take(runs, program.batched_leaves()))
            self.parked.forget(wave.runs)  # from the next checkpoint on, the live wave holds them
            return states
        if chunk.start > 0:
            if self.state_leaves is None:
                raise checkpoint.CheckpointError(
                    f"the checkpoint in {self.run_dir / checkpoint.CHECKPOINT} has no state for its unfinished "
                    "wave; remove that folder to train this sweep again from the start, or start a new run"
                )
            states, self.state_leaves = program.restore(self.state_leaves), None
            return states
        keys = run_keys(self.plan.seed_of(runs), self.options.base_seed)
        configs = self.plan.config_of(runs)
        return program.init(keys, HParams(*[x[configs] for x in self.hparams]))

    def _train(self, states: TrainState, program: GroupProgram, wave: Wave, chunk: Chunk) -> TrainState:
        """Runs one chunk, records its outputs and tells the schedule."""
        compiled = program.compiled(chunk.n_steps)
        t0 = time.perf_counter()
        states, outputs = compiled(states)
        jax.block_until_ready(outputs)
        t1 = time.perf_counter()
        outputs = fetch(outputs)
        self.records.add_chunk(outputs, wave.padded_runs(), chunk.start)
        self.run_seconds += t1 - t0
        self.host_seconds += time.perf_counter() - t1
        self.env_steps += chunk.n_steps * len(wave.runs)
        self.schedule.finished(chunk)
        return states

    def _timings(self) -> Timings:
        return Timings(
            self.before.compile_seconds + self.layout.compile_seconds(),
            self.before.run_seconds + self.run_seconds,
            self.before.env_steps + self.env_steps,
            self.before.host_seconds + self.host_seconds,
        )

    def _invocations(self) -> list[dict[str, Any]]:
        return self.invocations.record(self.layout.compile_seconds(), self.run_seconds, self.env_steps)

    def _checkpoint(self, host_state: TrainState | None) -> None:
        """Process 0 saves the records, the schedule's position and the live wave's state (if any); the others
        wait for it and hear of a failure."""
        self.seq += 1
        meta = {
            "seq": self.seq,
            "schedule": self.schedule.position(),
            "n_devices": self.mesh.size,
            "runs_per_device": self.options.runs_per_device,
            "group_runs_per_device": self.layout.record(),
            **self._timings()._asdict(),
            "invocations": self._invocations(),
        }
        # Where it stands, also at the top level for readers of latest.json (not a stretch schedule's history).
        meta.update(
            {k: v for k, v in self.schedule.position().items() if k in ("stretch", "group", "wave", "steps_done")}
        )
        leaves = None if host_state is None else jax.tree.leaves(host_state)

        def save() -> None:
            had_one = checkpoint.exists(self.run_dir)
            try:
                checkpoint.save(self.run_dir, meta, self.records, leaves, self.parked)
            except WriteError as err:
                kept = (
                    f"its previous checkpoint is kept: continue with {option('resume_command', '--resume')} "
                    f"{self.run_dir} once it can be written"
                    if had_one
                    else "nothing was kept"
                )
                raise WriteError(f"{err}; the sweep stopped and {kept}") from None

        on_lead(save)
        self.parked.written()
        if self.new is not None:
            self.new.kept = True
        checkpoint.fault_hook(supervisor.is_worker())

    def _finish(self) -> None:
        """Process 0 writes the tables, the report, the ``latest`` link and the DONE marker, then removes the
        checkpoint. The order makes a kill at any point recoverable: the checkpoint stays until the marker is
        written, so a folder without the marker is resumed (or trained again) to the same tables."""
        if not is_lead():
            return
        if self.new is not None:
            self.new.kept = True
        wave_sizes = [self.layout.wave_size(g) for g in range(len(self.plan.groups))]
        manifest = make_manifest(
            self.plan, self.file_grid, self.mesh, wave_sizes, self._timings(), self.run_dir, self._invocations()
        )
        entries, tables = self.schedule.results()  # a search's own tables (rungs, PBT lineage) and their summary
        manifest.update(entries)
        for name, frame in tables.items():
            write_parquet(self.run_dir / name, frame, manifest)
        write_tables(
            self.run_dir,
            runs=runs_frame(self.plan, self.records.diverged, self.schedule.stopped_at()),
            axes=self.plan.grid.axis_names,
            episodes=self.records.episodes(),
            evals=self.records.evals(),
            manifest=manifest,
        )
        if self.options.report:
            from analysis.pages.report import report  # imports the plotting libraries, which tables need not

            try:
                report(self.run_dir)
            except WriteError as err:
                raise WriteError(
                    f"{err}; the tables are written but not the report: continue with "
                    f"{option('resume_command', '--resume')} "
                    f"{self.run_dir} once it can be written (or python -m analysis report {self.run_dir})"
                ) from None
        folders.update_latest(self.run_dir)
        with _signals_deferred():  # the marker and the checkpoint's removal go together, whatever a signal says
            folders.mark_done(self.run_dir)
            checkpoint.remove(self.run_dir)
