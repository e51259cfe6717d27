"""Issue 20, item 8: no traceback and no library internals reach a person, whatever goes wrong."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

import core.io as io
from core.cli import main as cli_main
from core.errors import MAX_REASON, ReadError, WriteError, reason

TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"


def _report_without_pixels(path, modality_element: bytes):
    """A Basic Text SR (no pixels) whose Modality element is replaced by `modality_element`."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = TEXT_SR
    ds.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    ds.SOPClassUID = TEXT_SR
    ds.SOPInstanceUID = "1.2.3.4"
    ds.Modality = "SR"
    ds.save_as(path, enforce_file_format=True)
    data = path.read_bytes()
    start = data.index(b"\x08\x00\x60\x00CS\x02\x00SR")
    path.write_bytes(data[:start] + modality_element + data[start + 10 :])


def test_info_on_a_dicom_without_pixels_and_an_undecodable_element(tmp_path, capsys):
    path = tmp_path / "report.dcm"
    _report_without_pixels(path, b"\x08\x00\x60\x00FD\x03\x00abc")  # 3 bytes cannot be a float64
    assert cli_main(["info", str(path)]) == 0
    captured = capsys.readouterr()
    assert "dicom-object" in captured.out and "Basic Text SR Storage" in captured.out
    assert "modality" in captured.out and "(unreadable)" in captured.out
    assert "Traceback" not in captured.err


def test_a_full_disk_during_a_series_write_is_one_line(datasets, tmp_path):
    series = tmp_path / "series"
    series.mkdir()
    for source in sorted((datasets / "medical" / "head_ct_ge").glob("*.dcm"))[:3]:
        shutil.copy(source, series / source.name)
    document = io.read(series)
    write_element = pydicom.filewriter.write_data_element

    def disk_full_at_pixels(fp, element, *args, **kwargs):
        if element.tag == 0x7FE00010:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_element(fp, element, *args, **kwargs)

    with mock.patch("pydicom.filewriter.write_data_element", disk_full_at_pixels):
        with pytest.raises(WriteError) as info:
            io.write(document, tmp_path / "out")
    message = str(info.value)
    assert message == "out: cannot write (the disk is full)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series"]  # nothing half-written left


def test_stdout_closed_early_is_not_a_traceback(datasets):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `lacuna info FILE | head -0`: nobody reads
    try:
        done = subprocess.run(
            [sys.executable, "-m", "core.cli", "info", str(datasets / "medical" / "liver.dcm")],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.stderr == b""
    assert done.returncode == 141


def test_reasons_are_short_and_name_the_os_error():
    wrapped = OSError(
        "With tag (7FE0,0010) got exception: [Errno 28]\nTraceback (most recent call last): ..."
    )
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert reason(wrapped) == "the disk is full"
    assert reason(PermissionError(errno.EACCES, "Permission denied")) == "permission denied"
    long = reason(ValueError("x" * 500 + "\nsecond line"))
    assert len(long) == MAX_REASON and "\n" not in long


FOUND = Path(__file__).parents[1] / "fuzz" / "found"


def test_damaged_compressed_dicom_pixels_are_named_not_quoted():
    """The decoders' own texts (offsets, markers, 'decompression bomb DOS attack') stay out of the one
    line; it says which encoding is damaged."""
    with pytest.raises(ReadError) as info:
        io.read(FOUND / "dicom-openjpeg-prints-on-stderr.dcm")
    assert str(info.value) == (
        "dicom-openjpeg-prints-on-stderr.dcm: its JPEG 2000 Image Compression pixel data is damaged; "
        "no decoder could read it"
    )
    with pytest.raises(ReadError) as info:
        io.read(FOUND / "dicom-gdcm-aborts-on-damaged-jpeg.dcm")
    assert str(info.value).endswith(
        ": its JPEG Baseline (Process 1) pixel data is damaged; no decoder could read it"
    )


def test_frames_the_file_does_not_have_are_one_line_before_anything_runs(datasets, tmp_path, capsys):
    """`--frames 3` on a single photo was an IndexError traceback; on a clip, frames past its end
    were silently dropped."""
    photo = datasets / "images" / "real_damage" / "old_a.png"
    args = ["repair", str(photo), "-o", str(tmp_path / "x.png"), "--task", "denoise", "--frames", "3"]
    assert cli_main([*args, "--method", "denoise-bilateral"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no frame 3" in err and "one frame, 0" in err
    assert "running" not in err and not (tmp_path / "x.png").exists()
    from core.errors import MethodError
    from core.repair import run_repair

    with pytest.raises(MethodError, match="no frame 1"):  # the engine refuses them too (desktop, batch)
        run_repair(io.read(photo), "denoise", method="denoise-bilateral", frames=[0, 1])


def test_the_record_says_which_mask_and_frames_a_repair_was_limited_to(datasets, tmp_path):
    import json

    import numpy as np
    from PIL import Image

    photo = datasets / "images" / "real_damage" / "old_a.png"
    width, height = Image.open(photo).size
    hole = np.zeros((height, width), np.uint8)
    hole[10:20, 10:20] = 255
    Image.fromarray(hole).save(tmp_path / "scratch.png")
    out = tmp_path / "out.png"
    args = ["repair", str(photo), "-o", str(out), "--task", "inpaint", "--method", "inpaint-telea"]
    assert cli_main([*args, "--mask", str(tmp_path / "scratch.png"), "--frames", "0"]) == 0
    step = json.loads((tmp_path / "out.png.lacuna.json").read_text())["steps"][-1]
    assert step["selection"] == "mask scratch.png; frame 0 (counted from 0)"


def test_a_method_that_cannot_run_is_refused_before_anything_is_said_to_run(datasets, tmp_path, capsys):
    """A wrong task for the file, or nothing marked for a method that needs it: one line that says
    how to mark it on the command line, and no 'running ... on cpu' before it (user walk-through)."""
    photo = datasets / "images" / "real_damage" / "old_a.png"
    out = ["-o", str(tmp_path / "x.png")]
    assert cli_main(["repair", str(photo), *out, "--task", "fill-gap"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fill-gap works on audio, not on this image" in err
    # a film task on a photo says what a photo's dust and scratches take (walk-through 45)
    assert cli_main(["repair", str(photo), *out, "--task", "remove-dust"]) == 2
    err = capsys.readouterr().err
    assert (
        err.count("\n") == 1
        and "not on this image; a picture's dust and scratches: --task inpaint --detect" in err
    )
    assert cli_main(["repair", str(photo), *out, "--task", "scratches"]) == 2  # the damage by its name
    err = capsys.readouterr().err
    assert "unknown task 'scratches'" in err and "--task inpaint --detect" in err
    assert cli_main(["repair", str(photo), *out, "--task", "inpaint", "--method", "inpaint-telea"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--mask FILE or --detect" in err and "running" not in err
    # An all-black mask marks nothing either (it ran, and "changed nothing").
    from PIL import Image

    Image.new("L", Image.open(photo).size).save(tmp_path / "black.png")
    inpaint = ["--task", "inpaint", "--method", "inpaint-telea", "--mask", str(tmp_path / "black.png")]
    assert cli_main(["repair", str(photo), *out, *inpaint]) == 2
    assert "nothing is marked" in capsys.readouterr().err
    # A range backwards is refused, not read as no frame at all.
    assert cli_main(["repair", str(photo), *out, "--task", "denoise", "--frames", "5-3"]) == 2
    assert "from its first frame to its last" in capsys.readouterr().err


def test_the_record_names_its_source_by_an_absolute_path(datasets, tmp_path, monkeypatch):
    """Run from another folder with a relative input, the sidecar named the source relative to the
    working directory, which points nowhere from the sidecar's own folder (user walk-through)."""
    import json
    import shutil

    shutil.copyfile(datasets / "images" / "bench" / "Set5" / "baby_GT.png", tmp_path / "baby.png")
    monkeypatch.chdir(tmp_path)
    args = [
        "repair",
        "baby.png",
        "-o",
        "out/baby_denoised.png",
        "--task",
        "denoise",
        "--method",
        "denoise-bilateral",
    ]
    (tmp_path / "out").mkdir()
    assert cli_main(args) == 0
    record = json.loads((tmp_path / "out" / "baby_denoised.png.lacuna.json").read_text())
    assert record["source"] == str(tmp_path / "baby.png") == record["steps"][-1]["source"]
    # and by content: a path says nothing once either file is renamed or moved (walk-through 43)
    import hashlib

    assert record["source_sha256"] == hashlib.sha256((tmp_path / "baby.png").read_bytes()).hexdigest()


def test_a_gap_past_the_end_of_a_recording_is_refused_in_seconds(datasets, tmp_path, capsys):
    """It was refused in samples ('396900..441000 ... 0..235201 samples'), after 'running ...'."""
    digit = datasets / "audio" / "bench" / "digits" / "0_yweweler_0.wav"
    args = ["repair", str(digit), "-o", str(tmp_path / "g.wav"), "--task", "fill-gap", "--gap", "9:10"]
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "only 0.388 s long" in err and "running" not in err
    # One that only runs past the end is filled to it, and says so (it had been cut silently).
    args[-1] = "0.3:10"
    assert cli_main(args) == 0
    assert "--gap '0.3:10' runs past the end (0.388 s): filled to it" in capsys.readouterr().err


def test_a_classical_method_is_not_said_to_run_on_a_torch_device(datasets, tmp_path, capsys):
    photo = datasets / "images" / "bench" / "Set5" / "baby_GT.png"
    args = ["repair", str(photo), "-o", str(tmp_path / "b.png"), "--task", "denoise", "--method"]
    assert cli_main([*args, "denoise-bilateral"]) == 0
    err = capsys.readouterr().err
    assert "running denoise-bilateral\n" in err and "CUDA" not in err


def test_models_takes_a_task_to_list(capsys):
    """`lacuna models inpaint` was an argparse 'invalid choice' (user walk-through)."""
    assert cli_main(["models", "inpaint", "--json"]) == 0
    import json

    assert {row["task"] for row in json.loads(capsys.readouterr().out)} == {"inpaint"}
    assert cli_main(["models", "paint"]) == 2
    assert "not list, import or a task" in capsys.readouterr().err


def test_a_repair_that_finds_nothing_to_change_exits_3_and_writes_nothing(datasets, tmp_path, capsys):
    """A walk-through's script over an archive counted an undamaged recording as a failure: --detect
    finding nothing exited 2, like a broken file. Exit 3 tells "nothing to repair" apart."""
    from PIL import Image

    corner = tmp_path / "corner.png"  # a clean, smooth corner of a bench photo
    Image.open(datasets / "images" / "bench" / "CBSD68" / "102061.png").crop((0, 0, 96, 96)).save(corner)
    speech = datasets / "audio" / "speech" / "bench" / "3005-163389-0000.wav"
    trace = tmp_path / "none_lost.txt"
    trace.write_text("0\n" * 400)
    runs = {
        "picture": ["repair", str(corner), "--task", "inpaint", "--detect"],
        "recording": ["repair", str(speech), "--task", "fill-gap", "--detect", "--threshold", "1000"],
        "trace": ["repair", str(speech), "--task", "fill-gap", "--loss-trace", str(trace)],
    }
    for name, args in runs.items():
        out = tmp_path / f"{name}_out{Path(args[1]).suffix}"
        assert cli_main([*args, "-o", str(out)]) == 3, name
        assert "lacuna: nothing written: " in capsys.readouterr().err, name
        assert not out.exists(), name
    # a trace that marks nothing beside a --gap: the gap is still filled (it exited 3, "undamaged")
    gap = [*runs["trace"], "--gap", "1.00:1.03", "--method", "fill-gap-ar"]
    assert cli_main([*gap, "-o", str(tmp_path / "gap.wav")]) == 0
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    assert cli_main(["repair", str(broken), "--task", "inpaint", "--detect"]) == 2  # a failure stays 2


def test_dot_names_the_folder_one_stands_in_and_an_inventory_txt_is_not_a_trace(
    datasets, tmp_path, capsys, monkeypatch
):
    """`lacuna info .` and `lacuna repair .` in a reel's folder ended in a traceback ("PosixPath('.')
    has an empty name"); `lacuna info inventory.txt` read an archive's inventory as a loss trace."""
    pytest.importorskip("av")
    reel = tmp_path / "reel001"
    reel.mkdir()
    for path in sorted((datasets / "video/oldfilm/001").iterdir())[:3]:
        shutil.copy(path, reel)
    monkeypatch.chdir(reel)
    assert cli_main(["info", "."]) == 0
    assert "a film's frames" in capsys.readouterr().out
    out = tmp_path / "out"
    out.mkdir()
    assert cli_main(["repair", ".", "--task", "deflicker", "-o", str(out)]) == 0
    assert (out / "reel001_deflicker").is_dir()  # named after the folder; a film scan out
    (reel / "notes").mkdir()
    monkeypatch.chdir(reel / "notes")
    capsys.readouterr()
    # ".." is the reel too (it had been named ".._deflicker.mkv", a hidden file): the same name, taken,
    # so numbered as the default place numbers it
    assert cli_main(["repair", "..", "--task", "deflicker", "-o", f"{out}/"]) == 0
    assert (out / "reel001_deflicker_2").is_dir() and not list(out.glob(".*"))
    inventory = tmp_path / "inventory.txt"
    inventory.write_text("Accession 1987/14\nBox 3: glass plates\n")
    assert cli_main(["info", str(inventory)]) == 2
    assert "inventory.txt: not a file Lacuna reads" in capsys.readouterr().err
    trace = tmp_path / "call_is_lost.txt"
    trace.write_text("0\n1\n1\n0\n")
    assert cli_main(["info", str(trace)]) == 0
    assert "2 of 4 lost" in capsys.readouterr().out
