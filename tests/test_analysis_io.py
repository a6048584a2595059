"""``common.files`` as the analysis uses it: atomic, durable writes of its tables and text files (no JAX)."""

import errno
import os

import pandas as pd
import pytest

from analysis.tables import run as tables
from common.files import WriteError, atomic_write, atomic_write_text


def test_atomic_write_fsyncs_before_rename(tmp_path, monkeypatch):
    calls = []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append("fsync"), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), replace(a, b))[1])
    tables.write_parquet(tmp_path / "x.parquet", pd.DataFrame({"a": [1, 2]}), {"grid": "g"})
    assert calls == ["fsync", "replace"]
    assert pd.read_parquet(tmp_path / "x.parquet")["a"].tolist() == [1, 2]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "notes.txt"
    atomic_write_text(path, "old")

    def write_half(f):  # a writer that fails part-way, as on a full disk
        f.write(b"ne")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(WriteError, match="cannot write .*notes.txt.*No space left on device"):
        atomic_write(path, write_half)
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["notes.txt"]


def test_write_into_a_missing_folder_names_the_file(tmp_path):
    with pytest.raises(WriteError, match="cannot write .*nowhere.*x.parquet"):
        tables.write_parquet(tmp_path / "nowhere" / "x.parquet", pd.DataFrame({"a": [1]}), {})
    assert os.listdir(tmp_path) == []
