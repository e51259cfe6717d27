"""Writing outputs: the user's umask, the sidecar's overwrite rules, exclusive creation against a racing
writer, stale temporary files of killed writes (issue 20 items 2, 5, 7; issue 15's umask defect)."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import PIL.Image
import pytest

import core.io as io
from core.errors import WriteError
from core.io.atomic import atomic_folder, atomic_write


@pytest.fixture
def photo(tmp_path, datasets):
    path = tmp_path / "photo.png"
    with PIL.Image.open(datasets / "images" / "bench" / "Set12" / "01.png") as im:
        im.crop((0, 0, 64, 48)).save(path)
    return path


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    before = os.umask(0o022)
    yield set_mask
    os.umask(before)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, file_mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_outputs_get_the_users_umask(photo, tmp_path, umask, mask, file_mode):
    umask(mask)
    out = io.write(io.read(photo), tmp_path / "out.png")
    assert mode(out) == file_mode
    assert mode(out.with_name("out.png.lacuna.json")) == file_mode


def test_a_dicom_series_folder_gets_the_users_umask(tmp_path, datasets, umask):
    umask(0o022)
    volume = io.read(datasets / "medical" / "head_ct_ge")
    out = io.write(volume, tmp_path / "series_out")
    assert out.is_dir() and mode(out) == 0o755
    assert all(mode(f) == 0o644 for f in out.iterdir())


def test_the_sidecar_never_replaces_the_input(photo, tmp_path):
    """An input named X.lacuna.json written to X: the sidecar X.lacuna.json would be the input itself."""
    source = tmp_path / "scan.png.lacuna.json"
    photo.rename(source)
    before = source.read_bytes()
    doc = io.read(source)
    with pytest.raises(WriteError, match="original"):
        io.write(doc, tmp_path / "scan.png")
    with pytest.raises(WriteError, match="original"):
        io.write(doc, tmp_path / "scan.png", overwrite=True)
    assert source.read_bytes() == before and not (tmp_path / "scan.png").exists()
    renamed = io.write(doc, tmp_path / "scan.png", overwrite_policy="rename")
    assert renamed.name == "scan_2.png" and source.read_bytes() == before


def test_an_existing_sidecar_is_not_replaced_without_overwrite(photo, tmp_path):
    sidecar = tmp_path / "out.png.lacuna.json"
    sidecar.write_text('{"mine": true}')
    doc = io.read(photo)
    with pytest.raises(WriteError, match="out.png.lacuna.json: already exists"):
        io.write(doc, tmp_path / "out.png")
    assert sidecar.read_text() == '{"mine": true}' and not (tmp_path / "out.png").exists()
    assert io.write(doc, tmp_path / "out.png", overwrite_policy="rename").name == "out_2.png"
    io.write(doc, tmp_path / "out.png", overwrite=True)
    assert '"steps"' in sidecar.read_text()


def test_a_second_writer_gets_a_clear_error_not_a_silent_replacement(tmp_path):
    target = tmp_path / "result.png"

    def racing_write(tmp):
        target.write_bytes(b"the other process's result")  # finished while this one was writing
        tmp.write_bytes(b"this process's result")

    with pytest.raises(WriteError, match="another program created this file"):
        atomic_write(target, racing_write)
    assert target.read_bytes() == b"the other process's result"
    assert [p.name for p in tmp_path.iterdir()] == ["result.png"]  # no temp file left


def test_a_second_folder_writer_gets_a_clear_error(tmp_path):
    target = tmp_path / "series"
    with pytest.raises(WriteError, match="another program created this file"):
        with atomic_folder(target) as folder:
            (folder / "a.dcm").write_bytes(b"mine")
            target.mkdir()
            (target / "b.dcm").write_bytes(b"theirs")
    assert [p.name for p in target.iterdir()] == ["b.dcm"]
    assert [p.name for p in tmp_path.iterdir()] == ["series"]


KILLED_WRITER = """
import sys, time
from pathlib import Path
from core.io.atomic import atomic_write

def slow(tmp):
    tmp.write_bytes(b"x" * 1_000_000)
    print("writing", flush=True)
    time.sleep(600)

atomic_write(Path(sys.argv[1]), slow)
"""


def test_temp_files_of_a_killed_write_are_removed_and_reported(tmp_path, caplog):
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "big.tif")], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "writing"
    child.send_signal(signal.SIGKILL)
    child.wait()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert len(leftovers) == 1 and leftovers[0].stat().st_size == 1_000_000
    with caplog.at_level(logging.WARNING, logger="lacuna"):
        atomic_write(tmp_path / "other.txt", lambda tmp: tmp.write_text("ok"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.txt"]
    assert leftovers[0].name in caplog.text and "interrupted write" in caplog.text


def test_a_temp_file_of_a_live_writer_is_left_alone(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "big.tif")], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "writing"
        atomic_write(tmp_path / "other.txt", lambda tmp: tmp.write_text("ok"))
        assert len([p for p in tmp_path.iterdir() if p.name.startswith(".")]) == 1
    finally:
        child.kill()
        child.wait()


def test_an_old_temp_file_from_another_machine_is_left_for_a_day(tmp_path):
    foreign = tmp_path / ".x.png.abcdef-1-0123abcd.lacuna-tmp.png"
    foreign.write_bytes(b"partial")
    atomic_write(tmp_path / "y.txt", lambda tmp: tmp.write_text("ok"))
    assert foreign.exists()
    old = time.time() - 2 * 24 * 3600
    os.utime(foreign, (old, old))
    atomic_write(tmp_path / "z.txt", lambda tmp: tmp.write_text("ok"))
    assert not foreign.exists()


def test_data_written_is_what_was_asked(tmp_path):
    arr = (np.arange(48 * 64) % 251).astype(np.uint8).reshape(48, 64)
    PIL.Image.fromarray(arr).save(tmp_path / "a.png")
    out = io.write(io.read(tmp_path / "a.png"), tmp_path / "b.png")
    np.testing.assert_array_equal(np.asarray(PIL.Image.open(out)), arr)
