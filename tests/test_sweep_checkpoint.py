"""Checkpoints: the layout check a resume makes, and what an unreadable checkpoint says."""

import numpy as np
import pytest

from sweep import cli
from sweep.store import checkpoint
from sweep.store.records import Records


def _layout(*args):
    """``layout_error``'s sentence as the command line prints it (None where the layouts agree)."""
    message = checkpoint.layout_error(*args)
    return None if message is None else checkpoint.CheckpointError(message).render(cli.FLAGS)


def test_layout_error_names_the_device_count_or_runs_per_device_to_resume_with():
    meta = {"n_devices": 4, "runs_per_device": None}
    assert _layout(meta, "R", 4, None) is None
    assert _layout(meta, "R", 2, None) == (
        "R was checkpointed on 4 devices, but this machine gives 2; resume it on 4 devices (on a CPU host, "
        "--cpu-devices 4)"
    )
    without = "R was started without --runs-per-device; resume it without --runs-per-device too"
    assert _layout(meta, "R", 4, 2) == without
    meta = {"n_devices": 4, "runs_per_device": 1}
    assert _layout(meta, "R", 4, None).endswith("resume it with --runs-per-device 1")


def _records(n_runs, run, step):
    """Records of one evaluation of ``run`` at ``step``."""
    rec = Records(n_runs)

    class Out:
        episode_done = np.zeros((1, 1), bool)
        episode_return = episode_length = np.zeros((1, 1), np.float32)
        eval_done = np.ones((1, 1), bool)
        eval_return = np.array([[float(step)]], np.float32)

    rec.add_chunk(Out, np.array([run]), first_step=step - 1)
    return rec


def test_save_then_load_gives_back_records_state_and_meta(tmp_path):
    rec = _records(3, 0, 10)
    rec.mark_diverged(np.array([1, 2]), np.array([True, False]))
    leaves = [np.arange(6, dtype=np.float32).reshape(3, 2), np.array([7], np.int32)]
    meta = {"seq": 4, "schedule": {"group": 0, "wave": 1, "steps_done": 200}, "max": float("inf")}
    checkpoint.save(tmp_path, meta, rec, leaves)
    got_meta, got_rec, got_leaves = checkpoint.load(tmp_path, 3)
    assert got_meta["schedule"] == {"group": 0, "wave": 1, "steps_done": 200} and got_meta["seq"] == 4
    assert got_meta["max"] == "inf"  # strict JSON
    np.testing.assert_array_equal(got_rec.diverged, [False, True, False])
    np.testing.assert_array_equal(got_rec.evals()["step"], [10])
    for a, b in zip(leaves, got_leaves, strict=True):
        np.testing.assert_array_equal(a, b)
    # The next checkpoint adds a part and drops the state; only the files latest.json names are left.
    checkpoint.save(tmp_path, {**meta, "seq": 5}, rec, None)
    names = sorted(p.name for p in (tmp_path / checkpoint.CHECKPOINT).glob("*.npz"))
    assert names == ["rec-0-000004.npz", "rec-0-000005.npz"]
    assert checkpoint.load(tmp_path, 3)[2] is None
    checkpoint.remove(tmp_path)
    assert checkpoint.load(tmp_path, 3) is None and list(tmp_path.iterdir()) == []


def test_each_checkpoint_writes_what_is_new_and_parts_merge_in_base_16(tmp_path, monkeypatch):
    written = []
    real = checkpoint.atomic_write

    def counting(path, write):
        real(path, write)
        written.append((path.name, path.stat().st_size))

    monkeypatch.setattr(checkpoint, "atomic_write", counting)
    n, rec = 300, Records(300)
    for seq in range(1, n + 1):  # one evaluation of run seq-1 per checkpoint
        more = _records(n, seq - 1, seq)
        rec.ev = {k: rec.ev[k] + more.ev[k] for k in rec.ev}
        checkpoint.save(tmp_path, {"seq": seq, "schedule": {}}, rec, None)
    meta, back, _ = checkpoint.load(tmp_path, n)
    np.testing.assert_array_equal(back.evals()["run"], np.arange(n))
    np.testing.assert_array_equal(back.evals()["step"], np.arange(1, n + 1))
    # 300 = 1 x 256 + 2 x 16 + 12: one part of level 2, two of level 1 and twelve of level 0.
    assert [p["level"] for p in meta["records"]] == [2, 1, 1] + [0] * 12
    assert len(list((tmp_path / checkpoint.CHECKPOINT).glob("*.npz"))) == 15
    # Every record is written once as new and once per merge level above it: 300 + 288 + 256 row writes, not
    # the 45,150 of rewriting every record at every checkpoint.
    part_rows = {0: 1, 1: 16, 2: 256}
    rows = sum(part_rows[int(name.split("-")[1])] for name, _ in written if name.startswith("rec-"))
    assert rows == 300 + 18 * 16 + 256


def test_unreadable_archive_is_one_sentence(tmp_path):
    ckpt = tmp_path / checkpoint.CHECKPOINT
    ckpt.mkdir()
    (ckpt / checkpoint.LATEST).write_text('{"file": "ckpt-000001.npz"}')
    (ckpt / "ckpt-000001.npz").write_bytes(b"PK\x03\x04 truncated")
    for read in (lambda: checkpoint.load(tmp_path, 2), lambda: checkpoint.peek(tmp_path)):
        with pytest.raises(checkpoint.CheckpointError, match="cannot be read.*start a new run"):
            read()


def test_parked_states_come_back_as_the_checkpoint_recorded_them(tmp_path):
    from sweep.store.parked import Parked

    folder = tmp_path / checkpoint.CHECKPOINT
    parked = Parked(folder)
    batched = [True, False]
    parked.park("a.npz", [0, 1], [np.array([10.0, 11.0]), np.array(5)], batched)
    parked.park("b.npz", [1], [np.array([21.0]), np.array(5)], batched)  # run 1 parked again: b holds it now
    assert parked.record() == {"a.npz": [0], "b.npz": [1]}
    assert not folder.exists()  # kept in memory until a checkpoint writes them
    parked.flush()
    back = checkpoint.parked_states(tmp_path, parked.record())
    np.testing.assert_array_equal(back.take(np.array([0, 1, 1]), batched)[0], [10.0, 21.0, 21.0])
    (folder / "b.npz").write_bytes(b"not an archive")
    with pytest.raises(checkpoint.CheckpointError, match="cannot be read"):
        checkpoint.parked_states(tmp_path, {"a.npz": [0], "b.npz": [1]})
