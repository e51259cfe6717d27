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


def test_a_taken_name_gets_a_number_and_an_unrepaired_document_is_a_copy(tmp_path):
    source = tmp_path / "take.wav"
    doc = AudioDoc(np.zeros((16, 1), np.float32), 8000, path=source, format="WAV")
    assert suggest_output(doc) == tmp_path / "take_copy.wav"
    doc.provenance = [Provenance(method="ar", task="fill-gap")]
    (tmp_path / "take_fill-gap.wav").write_bytes(b"")
    assert suggest_output(doc) == tmp_path / "take_fill-gap (2).wav"
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
        "photo_denoise (2).png",
        "photo_denoise.png",
    ]
