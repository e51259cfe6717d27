"""One output-naming rule for the CLI and the desktop (images, scans and audio alike)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from core import io
from core.cli import main
from core.documents import AudioDoc, ImageDoc, Provenance
from core.io.naming import output_name, suggest_output


def test_output_names(tmp_path):
    assert output_name(Path("/x/photo.png"), "denoise") == Path("/x/photo_denoise.png")
    assert output_name(Path("/x/brain.nii.gz"), "upscale") == Path("/x/brain_upscale.nii.gz")
    assert output_name(Path("/x/IM0001"), "denoise", ".dcm") == Path("/x/IM0001_denoise.dcm")
    assert output_name(tmp_path, "denoise") == tmp_path.with_name(f"{tmp_path.name}_denoise")
    # A lossy source's repair is saved losslessly: encoding it again would add artifacts back.
    assert output_name(Path("/x/scan.JPG"), "dejpeg") == Path("/x/scan_dejpeg.png")
    assert output_name(Path("/x/call.ogg"), "fill-gap") == Path("/x/call_fill-gap.flac")


def test_a_taken_name_gets_a_number_and_an_unrepaired_document_is_a_copy(tmp_path):
    source = tmp_path / "take.wav"
    doc = AudioDoc(np.zeros((16, 1), np.float32), 8000, path=source, format="WAV")
    assert suggest_output(doc) == tmp_path / "take_copy.wav"
    doc.provenance = [Provenance(method="ar", task="fill-gap")]
    (tmp_path / "take_fill-gap.wav").write_bytes(b"")
    assert suggest_output(doc) == tmp_path / "take_fill-gap_2.wav"
    assert suggest_output(ImageDoc(np.zeros((1, 2, 2, 1), np.float32))) is None


def test_the_cli_and_the_suggestion_agree(datasets, tmp_path):
    source = tmp_path / "photo.png"
    shutil.copyfile(datasets / "images" / "bench" / "Set12" / "01.png", source)
    repaired = io.read(source)
    repaired.provenance = [Provenance(method="denoise-nlmeans", task="denoise")]
    for _ in range(2):  # the second run finds the first output and numbers its own
        expected = suggest_output(repaired)
        assert main(["repair", str(source), "--task", "denoise", "--method", "denoise-nlmeans"]) == 0
        assert expected.is_file()
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "photo.png",
        "photo_denoise.png",
        "photo_denoise_2.png",
    ]


def test_several_repairs_name_each_task_done_since_the_file_was_read(datasets, tmp_path):
    """After denoise, a detection, inpaint and denoise again, the name says every repair once, in
    order; the denoise recorded in the Lacuna output it was read from is in its name already."""
    from core.io.provenance import source_of

    source = tmp_path / "photo.png"
    shutil.copyfile(datasets / "images" / "bench" / "Set12" / "01.png", source)
    assert main(["repair", str(source), "--task", "denoise", "--method", "denoise-nlmeans"]) == 0
    doc = io.read(tmp_path / "photo_denoise.png")
    assert [step.task for step in doc.provenance] == ["denoise"]  # its history, from another file
    assert suggest_output(doc) == tmp_path / "photo_denoise_copy.png"
    own = source_of(doc)
    for task in ("inpaint", "detect", "denoise", "inpaint"):
        doc.provenance.append(Provenance(method="m", task=task, source=own))
    assert suggest_output(doc) == tmp_path / "photo_denoise_inpaint_denoise.png"
    assert suggest_output(doc, "upscale") == tmp_path / "photo_denoise_upscale.png"


def test_a_folder_is_saved_as_its_format_writes_it(datasets, tmp_path):
    """A DICOM series folder becomes a folder; a folder of film frames a folder of frames too: a film
    scan in, a film scan out (walk-through 45: a PNG master sequence was offered as an .mkv)."""
    import pytest

    pytest.importorskip("av")
    film = tmp_path / "film"
    shutil.copytree(datasets / "video" / "oldfilm" / "001", film)
    frames = io.read(film)
    assert suggest_output(frames, "deflicker") == tmp_path / "film_deflicker"
    series = next(p for p in (datasets / "medical").rglob("*") if p.is_dir() and "head" in p.name.lower())
    assert suggest_output(io.read(series), "denoise") == series.with_name(f"{series.name}_denoise")
    mask = tmp_path / "dot.png"
    from PIL import Image

    dot = np.zeros(frames.info.height * frames.info.width, np.uint8)
    dot[:50] = 255
    Image.fromarray(dot.reshape(frames.info.height, frames.info.width)).save(mask)
    args = ["repair", str(film), "--task", "inpaint", "--method", "inpaint-telea", "--mask", str(mask)]
    assert main([*args, "--frames", "0"]) == 0
    written = sorted(p.name for p in (tmp_path / "film_inpaint").iterdir())
    assert written == sorted(p.name for p in film.iterdir())  # each frame under its own number
    untouched = film / written[1]
    assert (tmp_path / "film_inpaint" / written[1]).read_bytes() == untouched.read_bytes()


def test_two_enlargements_are_named_by_their_scale_in_the_cli_the_app_and_batch(datasets, tmp_path):
    """×2 after ×4 was 'comic_upscale (2).png': which is which was not in the name."""
    from core.batch.recipe import Recipe
    from core.batch.worker import Job, output_path

    source = tmp_path / "comic.png"
    shutil.copyfile(datasets / "images" / "bench" / "Set14" / "comic.png", source)
    for scale in ("4", "2"):
        args = [
            "repair",
            str(source),
            "--task",
            "upscale",
            "--method",
            "upscale-bicubic",
            "--param",
            f"scale={scale}",
        ]
        assert main(args) == 0
    assert (
        main(["repair", str(source), "--task", "upscale", "--method", "upscale-bicubic"]) == 0
    )  # its default
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "comic.png",
        "comic_upscale_x2.png",
        "comic_upscale_x2_2.png",
        "comic_upscale_x4.png",
    ]
    doc = io.read(source)
    doc.provenance = [Provenance(method="upscale-bicubic", task="upscale", params={"scale": 3})]
    assert suggest_output(doc) == tmp_path / "comic_upscale_x3.png"
    recipe = Recipe("upscale", "upscale-bicubic", {"scale": 4})
    job = Job("a/comic.png", "image", str(source), str(tmp_path / "out"), recipe)
    assert output_path(job) == tmp_path / "out" / "a" / "comic_upscale_x4.png"


def test_a_record_names_its_source_without_dot_dot(datasets, tmp_path):
    """A walk-through's record said "/home/../files/old.png", as the path was typed."""
    from core.io.provenance import source_of

    (tmp_path / "home").mkdir()
    source = tmp_path / "photo.png"
    shutil.copyfile(datasets / "images" / "bench" / "Set12" / "01.png", source)
    doc = io.read(tmp_path / "home" / ".." / "photo.png")
    assert source_of(doc) == str(source)
    # Through a symbolic link, "link/.." is not the link's folder's parent: the path stays as named.
    elsewhere = tmp_path / "deep" / "er"
    elsewhere.mkdir(parents=True)
    (tmp_path / "link").symlink_to(elsewhere)
    shutil.copyfile(source, tmp_path / "deep" / "photo.png")
    through_link = io.read(tmp_path / "link" / ".." / "photo.png")
    assert source_of(through_link) == str(tmp_path / "link" / ".." / "photo.png")


def test_o_naming_a_folder_writes_the_default_name_inside_it(datasets, tmp_path, capsys):
    """`-o out/` was refused ("is a folder; name the file to write"); as `cp FILE DIR/` does, a folder
    (existing, or written with a trailing slash) takes the name the result would get beside its input."""
    from PIL import Image

    picture = datasets / "images" / "bench" / "Set12" / "05.png"
    mask = tmp_path / "dot.png"
    dot = np.zeros(Image.open(picture).size[::-1], np.uint8)
    dot[100:104, 100:104] = 255
    Image.fromarray(dot).save(mask)
    out = tmp_path / "repaired"
    out.mkdir()
    args = ["repair", str(picture), "--task", "inpaint", "--method", "inpaint-telea", "--mask", str(mask)]
    assert main([*args, "-o", str(out)]) == 0
    assert (out / "05_inpaint.png").is_file()
    first = (out / "05_inpaint.png").read_bytes()
    # A second run never replaces it unasked: numbered as beside the input (walk-through 47: refused)
    assert main([*args, "-o", str(out)]) == 0
    assert (out / "05_inpaint.png").read_bytes() == first and (out / "05_inpaint_2.png").is_file()
    before = (out / "05_inpaint.png").stat().st_ino, (out / "05_inpaint.png").stat().st_mtime_ns
    assert main([*args, "-o", str(out), "--overwrite"]) == 0  # asked: the default name is replaced
    after = (out / "05_inpaint.png").stat().st_ino, (out / "05_inpaint.png").stat().st_mtime_ns
    assert after != before and not (out / "05_inpaint_3.png").exists()
    speech = datasets / "audio" / "speech" / "bench" / "3005-163389-0000.wav"
    gap = ["repair", str(speech), "--task", "fill-gap", "--method", "fill-gap-ar", "--gap", "1.00:1.03"]
    assert main([*gap, "-o", f"{out}/"]) == 0
    assert (out / "3005-163389-0000_fill-gap.wav").is_file()
    assert main([*gap, "-o", f"{tmp_path / 'missing'}/"]) == 2  # a folder is not made up
    assert "does not exist" in capsys.readouterr().err


def test_a_series_given_a_folder_of_other_files_goes_inside_it_not_over_it(datasets, tmp_path, capsys):
    """A review: a DICOM series is written as a folder, and `-o results --overwrite` replaced a
    folder of the person's own files (keep.txt was gone). Only an earlier result is replaced."""
    results = tmp_path / "results"
    results.mkdir()
    (results / "keep.txt").write_text("mine")
    args = [
        "repair",
        str(datasets / "medical/head_ct_ge"),
        "--task",
        "denoise",
        "--method",
        "denoise-bilateral",
    ]
    assert main([*args, "-o", str(results), "--overwrite"]) == 0
    assert (results / "keep.txt").read_text() == "mine"
    assert (results / "head_ct_ge_denoise").is_dir()
    earlier = str(results / "head_ct_ge_denoise")
    assert main([*args, "-o", earlier]) == 2  # an earlier result: replaced only when asked
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "-o", earlier, "--overwrite"]) == 0
    assert not (results / "head_ct_ge_denoise" / "head_ct_ge_denoise").exists()
    # The README's `lacuna repair ct/ -o ct_denoised/`: a new folder's name ending in "/" is the series'
    # folder, as `cp -r` makes it (walk-through 53: refused, the folder to put it in did not exist)
    assert main([*args, "-o", f"{tmp_path / 'ct_denoised'}/"]) == 0
    written = sorted((tmp_path / "ct_denoised").iterdir())
    assert len([p for p in written if p.suffix == ".dcm" or p.is_file()]) >= 28
    assert not (tmp_path / "ct_denoised" / "head_ct_ge_denoise").exists()
