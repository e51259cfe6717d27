"""`lacuna repair` checks where and how it will write before it computes; `--overwrite` replaces an
output, never the input (issue 16)."""

from __future__ import annotations

import shutil

import pytest

import core.repair
from core.cli import main


@pytest.fixture
def photo(tmp_path, datasets):
    path = tmp_path / "photo.png"
    shutil.copyfile(datasets / "images" / "bench" / "Set12" / "01.png", path)
    return path


@pytest.fixture
def never_computed(monkeypatch):
    """Fails the test if the repair itself starts."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the repair ran although the output could not be written")

    monkeypatch.setattr(core.repair, "run_repair", forbidden)


EXISTS = "existing.png: already exists; choose another name or allow replacing it (--overwrite)"
REPAIR = ["repair", "--task", "denoise", "--method", "denoise-nlmeans"]


@pytest.mark.parametrize(
    "output, message",
    [
        ("existing.png", EXISTS),
        ("no/such/folder/result.png", "does not exist"),
        ("photo.png", "refusing to overwrite the original"),
    ],
)
def test_output_problems_are_found_before_computing(photo, never_computed, capsys, output, message):
    (photo.parent / "existing.png").write_bytes(b"keep me")
    code = main([*REPAIR, str(photo), "-o", str(photo.parent / output)])
    err = capsys.readouterr().err
    assert code == 2 and message in err, err
    assert (photo.parent / "existing.png").read_bytes() == b"keep me"


def test_the_input_is_never_overwritten_even_with_overwrite(photo, never_computed, capsys):
    before = photo.read_bytes()
    assert main([*REPAIR, str(photo), "-o", str(photo), "--overwrite"]) == 2
    assert "refusing to overwrite the original" in capsys.readouterr().err
    assert photo.read_bytes() == before


def test_overwrite_replaces_an_existing_output_and_its_record(photo, capsys):
    out = photo.parent / "out.png"
    out.write_bytes(b"old result")
    (photo.parent / "out.png.lacuna.json").write_text("{}")
    assert main([*REPAIR, str(photo), "-o", str(out), "--overwrite"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "denoise-nlmeans" in (photo.parent / "out.png.lacuna.json").read_text()


def test_the_default_name_is_chosen_before_computing_and_never_replaces(photo, capsys):
    taken = photo.parent / "photo_denoise.png"
    taken.write_bytes(b"an earlier result")
    assert main([*REPAIR, str(photo)]) == 0
    assert taken.read_bytes() == b"an earlier result"
    assert (photo.parent / "photo_denoise_2.png").is_file()


def test_a_segmentation_is_refused_not_repaired(datasets, tmp_path, capsys, never_computed):
    """A walk-through's `repair liver.dcm --task denoise` wrote a 'denoised' copy of a label map."""
    seg = datasets / "medical" / "liver.dcm"
    for task in ("denoise", "inpaint"):
        assert main(["repair", str(seg), "-o", str(tmp_path / f"{task}.dcm"), "--task", task]) == 2
        assert "holds a segmentation (a label per pixel), not a picture" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_filling_slices_of_a_single_picture_is_refused_before_running(datasets, tmp_path, capsys):
    ct = datasets / "medical" / "693_UNCI.dcm"
    assert main(["repair", str(ct), "-o", str(tmp_path / "f.dcm"), "--task", "fill-slice"]) == 2
    err = capsys.readouterr().err
    assert "fill-slice needs a volume with at least two slices" in err and "running" not in err
    photo = datasets / "images" / "bench" / "Set12" / "01.png"
    assert main(["repair", str(photo), "-o", str(tmp_path / "f.png"), "--task", "fill-slice"]) == 2
    assert "at least two slices" in capsys.readouterr().err
    clip = datasets / "video" / "bench" / "realshort.mp4"  # a review: this one crashed with a TypeError
    assert main(["repair", str(clip), "-o", str(tmp_path / "f.mkv"), "--task", "fill-slice"]) == 2
    assert "fill-slice works on volume, not on this video" in capsys.readouterr().err


def test_several_frames_for_a_one_frame_format_are_refused_before_the_repair(
    tmp_path, capsys, never_computed
):
    """A walk-through: an animated GIF saved as .png was refused only after its frames were repaired."""
    from PIL import Image

    frames = [Image.new("RGB", (24, 16), (40 * k, 80, 120)) for k in range(3)]
    gif = tmp_path / "moving.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    assert main([*REPAIR, str(gif), "-o", str(tmp_path / "still.png")]) == 2
    err = capsys.readouterr().err
    assert "PNG holds one frame but the image has 3; save it as .tif" in err and "running" not in err
    assert not (tmp_path / "still.png").exists()
