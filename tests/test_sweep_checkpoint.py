"""Checkpoints: the layout check a resume makes, and what an unreadable checkpoint says."""

import numpy as np
import pytest

from sweep import checkpoint, cli
from sweep.records import Records


def _layout(*args):
    """``layout_error``'s sentence as the command line prints it (None where the layouts agree)."""
    message = checkpoint.layout_error(*args)
    return None if message is None else checkpoint.CheckpointError(message).render(cli.FLAGS)


def test_layout_error_compares_wave_sizes_and_names_the_fix():
    # 6 runs checkpointed on 8 devices (one wave of 8); 1 device cuts one wave of 6: same count, other size.
    meta = {"n_units": 1, "wave_sizes": [8], "n_devices": 8, "runs_per_device": None}
    msg = _layout(meta, "R", [6], 1, [6])
    # Here 1 device holding 8 runs (6 and 2 of padding) cuts the same wave.
    assert msg.startswith("R was checkpointed on 8 devices in waves of 8 runs")
    assert msg.endswith("resume it with --runs-per-device 8")
    # 4 devices with --runs-per-device 1 (two waves of 4): the same value here, or 2 on 2 devices.
    meta = {"n_units": 2, "wave_sizes": [4, 4], "n_devices": 4, "runs_per_device": 1}
    assert "waves of 2 x 4 runs" in _layout(meta, "R", [8], 4, [6])
    assert _layout(meta, "R", [8], 4, [6]).endswith("resume it with --runs-per-device 1")
    assert _layout(meta, "R", [6], 2, [6]).endswith("resume it with --runs-per-device 2")
    assert _layout(meta, "R", [4, 4], 2, [6]) is None


def test_save_then_load_gives_back_records_state_and_meta(tmp_path):
    rec = Records(3)
    rec.diverged[1] = True
    leaves = [np.arange(6, dtype=np.float32).reshape(3, 2), np.array([7], np.int32)]
    meta = {"seq": 4, "schedule": {"wave": 1, "steps_done": 200}, "wave_sizes": [4, 4], "max": float("inf")}
    checkpoint.save(tmp_path, meta, rec, leaves)
    got_meta, got_rec, got_leaves = checkpoint.load(tmp_path, 3)
    assert got_meta["schedule"] == {"wave": 1, "steps_done": 200} and got_meta["seq"] == 4
    assert got_meta["max"] == "inf"  # strict JSON
    np.testing.assert_array_equal(got_rec.diverged, [False, True, False])
    for a, b in zip(leaves, got_leaves, strict=True):
        np.testing.assert_array_equal(a, b)
    # The next checkpoint replaces the archive; only the one latest.json names is left.
    checkpoint.save(tmp_path, {**meta, "seq": 5}, rec, None)
    assert [p.name for p in (tmp_path / checkpoint.CHECKPOINT).glob("*.npz")] == ["ckpt-000005.npz"]
    assert checkpoint.load(tmp_path, 3)[2] is None
    checkpoint.remove(tmp_path)
    assert checkpoint.load(tmp_path, 3) is None and list(tmp_path.iterdir()) == []


def test_unreadable_archive_is_one_sentence(tmp_path):
    ckpt = tmp_path / checkpoint.CHECKPOINT
    ckpt.mkdir()
    (ckpt / checkpoint.LATEST).write_text('{"file": "ckpt-000001.npz"}')
    (ckpt / "ckpt-000001.npz").write_bytes(b"PK\x03\x04 truncated")
    for read in (lambda: checkpoint.load(tmp_path, 2), lambda: checkpoint.peek(tmp_path)):
        with pytest.raises(checkpoint.CheckpointError, match="cannot be read.*start a new run"):
            read()
