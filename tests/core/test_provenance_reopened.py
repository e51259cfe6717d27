"""Reopening a Lacuna output brings back its recorded history (from the file, else its sidecar)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core import io
from core.documents import Provenance


def repaired(doc):
    out = doc.with_samples(doc.samples) if doc.kind == "audio" else doc.with_pixels(doc.pixels)
    out.provenance = [Provenance(method="inpaint-telea", task="inpaint", params={"radius": 4}, version="t")]
    return out


@pytest.mark.parametrize(
    "relative, name",
    [
        ("images/bench/Set12/01.png", "out.png"),
        ("images/bench/Set12/01.png", "out.tif"),
        ("images/bench/Set12/01.png", "out.jpg"),
        ("medical/693_UNCI.dcm", "out.dcm"),
        ("medical/FLAIR.nii.gz", "out.nii.gz"),
        ("audio/bench/clips/3436-172162-0000.ogg", "out.flac"),
    ],
)
def test_a_reopened_output_has_its_history(datasets, tmp_path, relative, name):
    original = io.read(datasets / relative)
    assert original.provenance == []
    written = io.write(repaired(original), tmp_path / name)
    again = io.read(written)
    assert [(p.method, p.task, p.params) for p in again.provenance] == [
        ("inpaint-telea", "inpaint", {"radius": 4})
    ]


def test_the_file_speaks_for_itself_without_its_sidecar(datasets, tmp_path):
    source = io.read(datasets / "medical/693_UNCI.dcm")
    written = io.write(repaired(source), tmp_path / "out.dcm")
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.copy(written, moved / "alone.dcm")  # no sidecar beside it
    assert [p.method for p in io.read(moved / "alone.dcm").provenance] == ["inpaint-telea"]


def test_a_second_repair_extends_the_history(datasets, tmp_path):
    first = io.read(io.write(repaired(io.read(datasets / "images/bench/Set12/01.png")), tmp_path / "a.png"))
    second = first.with_pixels(np.clip(first.pixels + 1, 0, 255))
    second.provenance = [*first.provenance, Provenance(method="denoise-nlmeans", task="denoise")]
    again = io.read(io.write(second, tmp_path / "b.png"))
    assert [p.task for p in again.provenance] == ["inpaint", "denoise"]
