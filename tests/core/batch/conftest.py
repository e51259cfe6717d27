"""Fixtures of the batch tests: the mixed archive (`batch_archive`) and one uninterrupted run of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_archive import RECIPE, build_archive, tree_digest

from core.batch import Batch, BatchRequest


@pytest.fixture(scope="session")
def archive(tmp_path_factory, datasets) -> Path:
    root = build_archive(tmp_path_factory.mktemp("archive") / "archive", datasets)
    assert sum(1 for p in root.rglob("*") if p.is_file()) == 200
    return root


@pytest.fixture(scope="session")
def reference(archive, tmp_path_factory):
    """An uninterrupted run in this process (one worker)."""
    before = tree_digest(archive)
    output = tmp_path_factory.mktemp("reference") / "out"
    summary = Batch(BatchRequest(archive, output, **RECIPE)).run()
    return output, summary, before
