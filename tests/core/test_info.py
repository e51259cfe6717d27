"""`lacuna info` on every shared medical file and audio clip, the bundled pydicom/nibabel test files,
images of each format and bit depth, and one-line errors (exit status 2) on the malformed ones."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import nibabel
import numpy as np
import PIL.Image
import pydicom
import pytest
import soundfile as sf
import tifffile

from core.cli import main
from core.errors import LacunaError
from core.info import describe, format_info

PYDICOM_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
NIBABEL_FILES = Path(nibabel.__file__).parent / "tests" / "data"
ROOT = Path(__file__).resolve().parents[2]


def info_json(path, capsys) -> dict:
    status = main(["info", "--json", str(path)])
    out, err = capsys.readouterr()
    assert status == 0, err
    return json.loads(out)


def info_error(path, capsys) -> str:
    status = main(["info", "--json", str(path)])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_every_shared_medical_file(datasets, capsys):
    files = sorted((datasets / "medical").glob("*.dcm"))
    assert len(files) >= 8
    for path in files:
        info = info_json(path, capsys)
        assert info["kind"] == "volume" and info["format"] == "DICOM", path.name
        assert info["shape"][0] >= 1 and info["value_range"] is not None
    seg = info_json(datasets / "medical" / "liver.dcm", capsys)
    assert seg["modality"] == "SEG" and seg["slices"] == 3
    ct = info_json(datasets / "medical" / "693_UNCI.dcm", capsys)
    assert (
        ct["window"] == [40, 100] and ct["modality"] == "CT" and ct["spacing"][1] == pytest.approx(0.478516)
    )
    us = info_json(datasets / "medical" / "US1_UNCR.dcm", capsys)
    assert us["channels"] == 3
    # shown as RGB, stored as a palette: both said (a walk-through read only "photometric RGB")
    assert main(["info", str(datasets / "medical" / "OBXXXX1A_2frame.dcm")]) == 0
    text = capsys.readouterr().out
    assert "photometric     RGB" in text and "stored colour   PALETTE COLOR" in text


def _pydicom_decodes(path: Path) -> bool | None:
    """True: pydicom decodes the pixels; False: it cannot; None: a valid object without pixels."""
    try:
        ds = pydicom.dcmread(path)
        if "PixelData" not in ds:
            return None
        ds.pixel_array  # noqa: B018
        return True
    except Exception:  # noqa: BLE001 - any failure means "pydicom cannot decode it"
        return False


def test_pydicom_bundled_files(capsys):
    files = sorted(PYDICOM_FILES.glob("*.dcm"))
    assert len(files) > 50
    checked = 0
    for path in files:
        decodes = _pydicom_decodes(path)
        status = main(["info", "--json", str(path)])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        if decodes is not False:  # pydicom reads it: so must we
            assert status == 0, f"{path.name}: {err}"
            assert json.loads(out)["kind"] in ("volume", "dicom-object")
            checked += 1
        else:  # pydicom cannot: we may still manage, or we fail in one clean line
            assert status in (0, 2)
            if status == 2:
                assert len(err.strip().splitlines()) == 1 and err.startswith(f"lacuna: {path.name}")
    assert checked > 40


def test_nibabel_bundled_volumes(capsys):
    names = [
        "anatomical.nii",
        "functional.nii",
        "example4d.nii.gz",
        "example_nifti2.nii.gz",
        "standard.nii.gz",
        "reoriented_anat_moved.nii",
        "test.mgz",
        "tiny.mnc",
        "minc1_4d.mnc",
    ]
    for name in names:
        info = info_json(NIBABEL_FILES / name, capsys)
        assert info["kind"] == "volume" and info["affine"], name
    four_d = info_json(NIBABEL_FILES / "example4d.nii.gz", capsys)
    assert four_d["volumes"] == 2 and four_d["orientation"] == "LAS"


def test_every_audio_bench_clip_and_a_sample_of_train(datasets, capsys):
    audio = datasets / "audio"
    files = sorted((audio / "bench" / "clips").glob("*.ogg")) + sorted(
        (audio / "bench" / "digits").glob("*.wav")
    )
    files += sorted((audio / "train" / "clips").glob("*.ogg"))[::3]
    files += sorted((audio / "train" / "digits").glob("*.wav"))[::100]
    assert len(files) > 500
    for path in files:
        info = info_json(path, capsys)
        assert info["kind"] == "audio" and info["sample_rate"] > 0 and info["duration"] > 0, path.name


def test_images_of_each_format_and_depth(tmp_path, capsys):
    rng = np.random.default_rng(3)
    made = {
        "gray8.png": rng.integers(0, 255, (9, 11), dtype=np.uint8),
        "gray16.png": rng.integers(0, 65535, (9, 11), dtype=np.uint16),
        "rgb8.jpg": rng.integers(0, 255, (9, 11, 3), dtype=np.uint8),
        "rgba8.webp": rng.integers(0, 255, (9, 11, 4), dtype=np.uint8),
        "rgb8.bmp": rng.integers(0, 255, (9, 11, 3), dtype=np.uint8),
    }
    for name, arr in made.items():
        PIL.Image.fromarray(arr).save(tmp_path / name)
    tifffile.imwrite(
        tmp_path / "pages16.tif",
        rng.integers(0, 65535, (4, 9, 11), dtype=np.uint16),
        photometric="minisblack",
    )
    tifffile.imwrite(
        tmp_path / "rgb16.tif", rng.integers(0, 65535, (9, 11, 3), dtype=np.uint16), photometric="rgb"
    )
    expected = {
        "gray8.png": ("uint8", 1, 1),
        "gray16.png": ("uint16", 1, 1),
        "rgb8.jpg": ("uint8", 3, 1),
        "rgba8.webp": ("uint8", 4, 1),
        "rgb8.bmp": ("uint8", 3, 1),
        "pages16.tif": ("uint16", 1, 4),
        "rgb16.tif": ("uint16", 3, 1),
    }
    for name, (dtype, channels, frames) in expected.items():
        info = info_json(tmp_path / name, capsys)
        assert (info["dtype"], info["channels"], info["frames"]) == (dtype, channels, frames), name
        assert info["shape"][1:3] == [9, 11]


def _malformed(tmp_path: Path) -> list[Path]:
    good = tmp_path / "good.png"
    PIL.Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)).save(good)
    cut = tmp_path / "truncated.png"
    cut.write_bytes(good.read_bytes()[:30])  # inside the header (a cut in the pixels is read, with a warning)
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros((0, 1), np.float32), 8000)

    def chunk(kind, payload):
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    bomb = tmp_path / "huge.png"
    bomb.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b"")
    )
    return [PYDICOM_FILES / "MR_truncated.dcm", PYDICOM_FILES / "badVR.dcm", cut, empty, bomb]


def test_malformed_files_fail_in_one_line(tmp_path, capsys):
    messages = [info_error(path, capsys) for path in _malformed(tmp_path)]
    assert (
        messages[0] == "lacuna: MR_truncated.dcm: pixel data is truncated (expected 8192 bytes, found 8130)"
    )
    assert messages[1].startswith("lacuna: badVR.dcm: invalid NumberOfFrames value '1A'")
    assert messages[2].startswith("lacuna: truncated.png: the image data is truncated")
    assert messages[3] == "lacuna: empty.wav: the file contains no audio samples (0 frames)"
    assert messages[4].startswith("lacuna: huge.png: declares 10,000,000,000 pixels, more than the limit")


def test_the_command_itself_prints_one_line_and_exits_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "core.cli", "info", str(PYDICOM_FILES / "badVR.dcm")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "lacuna: badVR.dcm: invalid NumberOfFrames value '1A'"


def test_folder_and_human_readable_text(datasets):
    folder = PYDICOM_FILES / "dicomdirtests"
    info = describe(folder)
    assert info["kind"] == "volume" and info["slices"] == 5 and len(info["series"]) > 1
    text = format_info(info)
    assert "* 5 file(s)" in text and "more series" in text
    ct = format_info(describe(datasets / "medical" / "693_UNCI.dcm"))
    assert "window (C/W)    40, 100" in ct and "modality        CT" in ct
    wav = format_info(describe(sorted((datasets / "audio" / "bench" / "digits").glob("*.wav"))[0]))
    assert "sample rate     8000 Hz" in wav and "subtype         PCM_16" in wav
    # a picture's size width first, labelled as a volume's is (it read "1 × 450 × 298 × 4")
    photo = format_info(describe(datasets / "images" / "real_damage" / "old_a.png"))
    assert "shape           298 × 450 pixels (width × height), 4 channels" in photo
    info = describe(datasets / "images" / "real_damage" / "old_a.png")
    assert info["shape"] == [1, 450, 298, 4]  # the JSON keeps Lacuna's own order


def test_a_clip_shows_its_frame_size_and_numbers_without_float_noise(datasets):
    pytest.importorskip("av")
    clip = format_info(describe(datasets / "video" / "bench" / "bikes.mp4", scan=False))
    assert "frame size      640 × 272 (yuv420p, 8-bit)" in clip and "frame rate      25\n" in clip
    assert "format          mp4\n" in clip  # FFmpeg's demuxer is 'mov,mp4,m4a,3gp,3g2,mj2'
    shear = format_info(describe(datasets / "medical" / "shear.nii.gz"))
    assert "type holds      -1024 .. 789\n" in shear  # it read 789.000059, below the data's 789.000061


def test_a_folder_of_photos_is_summarised_not_refused(datasets, tmp_path):
    """`lacuna info` on a folder of photos exited 2 ("holds no DICOM images"); it lists what batch
    repair would take from it."""
    info = describe(datasets / "images" / "real_damage")
    assert info["kind"] == "folder" and info["items"] == {"image": 10}
    assert "items           10 pictures" in format_info(info)
    with pytest.raises(LacunaError, match="no file in this folder"):
        describe(tmp_path)


def test_a_recording_lists_what_detection_would_fill(datasets, capsys):
    """As a video's info lists its damage: the real call's lost packets, as `repair --detect` finds them."""
    call = datasets / "audio" / "speech" / "plc" / "test_files" / "1214.wav"
    info = info_json(call, capsys)
    assert info["damage_summary"].startswith("89 dropouts on a 20 ms packet grid (a call's lost packets)")
    assert "dropout" not in info["damage_summary"].split("left as they are")[1]  # filled ones, trimmed
    # Its loss trace lies beside it: said, as --loss-trace would read it (a walk-through missed it).
    assert info["loss_trace"] == "1214_is_lost.txt: 117 of 468 packets of 20 ms lost"
    mostly_lost = info_json(call.with_name("54.wav"), capsys)["loss_trace"]
    assert mostly_lost.endswith(
        "78% of the recording is lost: what fills it is made up from what survives, not recovered"
    )
    assert "loss_trace" not in info_json(datasets / "audio/speech/bench" / _first_wav(datasets), capsys)


def _first_wav(datasets) -> str:
    return sorted((datasets / "audio/speech/bench").glob("*.wav"))[0].name


def test_a_sheared_nifti_reports_its_tilt_and_the_distance_between_slice_planes(datasets, capsys):
    """shear.nii.gz holds a CT tilted 18.5° in its affine: reported as DICOM's tilt is (a walk-through
    found it missing), with the planes' true distance (2.248 mm, not the axis' 2.371)."""
    info = info_json(datasets / "medical" / "shear.nii.gz", capsys)
    assert info["gantry_tilt"].startswith("18.50° (slices sheared; slice planes 2.248 mm apart")
    assert "gantry_tilt" not in info_json(datasets / "medical" / "FLAIR.nii.gz", capsys)


def test_a_loss_trace_is_described(datasets, tmp_path, capsys):
    """A walk-through: `lacuna info 1214_is_lost.txt` was refused as 'not a file Lacuna reads'."""
    from core.cli import main

    trace = datasets / "audio/speech/plc/test_files/1214_is_lost.txt"
    assert main(["info", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "loss trace" in out and "117 of 468 lost (25.0%)" in out and "longest 5" in out
    assert "1214.wav (9.36 s): read as 20 ms packets" in out
    bad = tmp_path / "bad.txt"
    bad.write_text("0\n2\n")
    assert main(["info", str(bad)]) == 2
    assert "line 2: a loss trace holds 0 or 1 per line" in capsys.readouterr().err


def test_a_result_says_it_is_a_reconstruction_and_of_what(datasets, tmp_path, capsys):
    """A walk-through's clinician ran `lacuna info` on a denoised CT series and on a concealed call and
    read exactly what the originals print: nothing said they were Lacuna's repairs."""
    series = tmp_path / "ct"
    series.mkdir()
    for path in sorted((datasets / "medical" / "head_ct_ge").iterdir())[:4]:
        (series / path.name).write_bytes(path.read_bytes())
    assert main(["repair", str(series), "-o", str(tmp_path / "ct_out"), "--task", "denoise",
                 "--method", "denoise-bilateral"]) == 0  # fmt: skip
    assert "repaired" not in describe(series)
    described = describe(tmp_path / "ct_out")
    assert described["repaired"] == "a reconstruction by Lacuna from ct: denoise with denoise-bilateral"
    capsys.readouterr()
    assert main(["info", str(tmp_path / "ct_out")]) == 0
    assert "repaired        a reconstruction by Lacuna from ct" in capsys.readouterr().out
    # a proposed mask records its detection, which is not a repair of anything (a review)
    from core.documents import Provenance
    from core.io import write_mask

    step = Provenance(method="detect-learned", task="detect", source="photo.png")
    mask = write_mask(np.zeros((8, 8), np.uint8), tmp_path / "m.png", provenance=[step])
    assert "repaired" not in describe(mask)


def test_a_jpeg_says_the_quality_its_blocks_were_saved_at(datasets, tmp_path, capsys):
    from PIL import Image

    with Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        for quality in (10, 75):
            im.convert("RGB").save(tmp_path / f"q{quality}.jpg", quality=quality)
    assert info_json(tmp_path / "q10.jpg", capsys)["jpeg_quality"] == 10
    assert abs(info_json(tmp_path / "q75.jpg", capsys)["jpeg_quality"] - 75) <= 3
    assert "jpeg_quality" not in info_json(datasets / "images" / "bench" / "CBSD68" / "101085.png", capsys)
