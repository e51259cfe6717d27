"""`lacuna batch --scheduler local`: the batch on a real Dask LocalCluster of two worker processes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from batch_archive import RECIPE

from core.batch import Batch, BatchRequest
from core.batch.manifest import FILE_NAME
from core.io import read

pytest.importorskip("distributed")


def test_a_batch_on_a_two_worker_dask_cluster_gives_the_local_results(archive, reference, tmp_path):
    include = ("photos/gray/roll1/*", "photos/broken.png")
    output = tmp_path / "out"
    request = BatchRequest(archive, output, include=include, **RECIPE)
    summary = Batch(request, workers=2, scheduler="local").run()
    assert (summary.succeeded, summary.failed) == (20, 1)
    assert "truncated" in summary.failures[0][1]

    db = sqlite3.connect(output / FILE_NAME)
    rows = db.execute("SELECT key, state, output, worker FROM items").fetchall()
    db.close()
    assert len({worker for *_, worker in rows}) == 2  # both worker processes repaired items
    reference_output = reference[0]
    for key, state, written, _ in rows:
        if state == "done":
            mine = read(written)
            theirs = read(reference_output / Path(written).relative_to(output.resolve()))
            assert np.array_equal(mine.pixels, theirs.pixels), key

    again = Batch(request, workers=2, scheduler="local").run()  # resumes: nothing left but the failure
    assert (again.succeeded, again.failed, again.done_before) == (0, 1, 20)
