"""`lacuna bench inpaint` on a real photo set and a real DICOM series (classical methods, few images)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from core.bench import inpaint as bench


def test_bench_on_photos_reports_hole_and_image_scores_and_draws_the_figure(datasets, tmp_path, capsys):
    figure = tmp_path / "fig.png"
    argv = ["--set", str(datasets / "images/bench/CBSD68"), "--masks", "thick", "--limit", "1"]
    argv += ["--method", "inpaint-telea", "inpaint-ns", "--json", "--figure", str(figure)]
    assert bench.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["summary"]) == {"thick/inpaint-telea", "thick/inpaint-ns"}
    for row in report["images"]:
        # The fill is worse inside the hole than over the image, where most pixels are exact.
        assert 5 < row["psnr_hole"] < row["psnr"] < 60
        assert 0 < row["ssim_hole"] < row["ssim"] <= 1
        assert row["seconds"] > 0
    with Image.open(figure) as im:
        assert im.width > im.height  # input, mask and two methods side by side
        grid = np.asarray(im.convert("RGB"))
    assert (grid == (255, 0, 255)).all(axis=-1).any()  # the holes are shown in magenta


def test_bench_on_a_dicom_series_scores_every_frame(datasets, capsys):
    argv = ["--set", str(datasets / "medical/emri_small.dcm"), "--masks", "medium", "--limit", "3"]
    argv += ["--method", "inpaint-biharmonic", "--json"]
    assert bench.main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["images"]
    assert [row["image"] for row in rows] == ["emri_small[0]", "emri_small[1]", "emri_small[2]"]
    assert all(np.isfinite(row["psnr_hole"]) for row in rows)
    # Scores are means over the frames; the time is the median, so one slow first frame cannot skew it.
    summary = report["summary"]["medium/inpaint-biharmonic"]
    assert summary["psnr_hole"] == round(float(np.mean([r["psnr_hole"] for r in rows])), 3)
    assert summary["seconds"] == round(float(np.median([r["seconds"] for r in rows])), 3)


def test_photo_samples_are_scored_on_the_8bit_scale(datasets):
    samples = bench.load_samples(datasets / "images/bench/CBSD68", limit=2)
    assert [s["peak"] for s in samples] == [255.0, 255.0]
    assert samples[0]["truth"].shape[-1] == 3


def test_bench_on_a_volume_scores_held_back_slices_inside_the_body_in_its_units(datasets, capsys):
    from core.bench.inpaint_volume import holes
    from core.bench.scan_slices import body_masks
    from core.io import read

    flair = datasets / "medical/FLAIR.nii.gz"
    argv = ["--set", str(flair), "--masks", "medium", "--limit", "3", "--json"]
    assert bench.main([*argv, "--method", "inpaint-slices", "inpaint-biharmonic"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = {row["method"]: row for row in report["images"]}
    assert rows["inpaint-slices"]["slices"] == 3 and rows["inpaint-slices"]["hole pixels"] > 500
    # Errors in the volume's units inside the holes: a fill from the slices around beats biharmonic.
    assert 0 < rows["inpaint-slices"]["MAE (stored units)"] < rows["inpaint-biharmonic"]["MAE (stored units)"]
    doc = read(flair)
    chosen, mask = holes(doc, "medium", 3)
    assert len(set(chosen)) == 3 and all(b - a >= 2 for a, b in zip(chosen, chosen[1:]))  # none adjacent
    assert not (mask & ~body_masks(doc.pixels)).any()  # never in air or padding
    assert not mask[[k for k in range(mask.shape[0]) if k not in chosen]].any()
