"""Images larger than memory: TIFFs repaired tile by tile, other formats refused up front."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from core.batch import Batch, BatchRequest, RunOptions
from core.batch.large import TiffTiles, needs_tiles
from core.batch.manifest import FILE_NAME, Manifest
from core.errors import TooLargeError
from core.io import read
from core.repair import run_repair

BILATERAL = dict(tasks=("denoise",), methods=("denoise-bilateral",), params={"sigma": "12"})


def mosaic(datasets, height: int, width: int, rgb: bool) -> np.ndarray:
    """A real photo repeated over the canvas, with noise: (height, width[, 3]) 16-bit."""
    name = "CBSD68/101085.png" if rgb else "BSD68/test001.png"
    photo = np.asarray(Image.open(datasets / "images" / "bench" / name), dtype=np.float64)
    reps = (height // photo.shape[0] + 1, width // photo.shape[1] + 1) + ((1,) if rgb else ())
    canvas = np.tile(photo, reps)[:height, :width] * 257
    noisy = canvas + np.random.default_rng(0).normal(0, 3000, canvas.shape)
    return np.clip(noisy, 0, 65535).astype(np.uint16)


@pytest.mark.parametrize(
    "layout",
    [dict(tile=(256, 256), compression="zlib"), dict(rowsperstrip=50)],
    ids=["tiled-zlib", "strips"],
)
@pytest.mark.parametrize("rgb", [False, True], ids=["gray", "rgb"])
def test_a_tiff_over_the_memory_budget_is_repaired_tile_by_tile_like_in_memory(
    datasets, tmp_path, layout, rgb
):
    folder = tmp_path / "in"
    folder.mkdir()
    pixels = mosaic(datasets, 1100, 2500, rgb)
    tifffile.imwrite(folder / "slide.tif", pixels, photometric="rgb" if rgb else "minisblack", **layout)
    assert needs_tiles(folder / "slide.tif", memory_limit_mb=1)
    assert not needs_tiles(folder / "slide.tif")

    summary = Batch(BatchRequest(folder, tmp_path / "out", **BILATERAL), RunOptions(memory_limit_mb=1)).run()
    assert summary.succeeded == 1, summary.failures
    written = tmp_path / "out" / "slide_denoise.tif"
    with tifffile.TiffFile(written) as tif:
        assert tif.pages[0].is_tiled and tif.is_bigtiff
        tiled = tif.asarray()
    whole = run_repair(read(folder / "slide.tif"), "denoise", method="denoise-bilateral", sigma=12)
    expected = np.clip(np.rint(whole.pixels[0]), 0, 65535).astype(np.uint16)
    assert np.array_equal(tiled, expected if rgb else expected[..., 0])
    assert (tmp_path / "out" / "slide_denoise.tif.lacuna.json").is_file()

    # A run killed after writing but before recording: the next run writes the result again.
    Manifest(tmp_path / "out" / FILE_NAME).db.execute("UPDATE items SET state = 'running'")
    again = Batch(BatchRequest(folder, tmp_path / "out", **BILATERAL), RunOptions(memory_limit_mb=1)).run()
    assert again.succeeded == 1, again.failures
    assert np.array_equal(tifffile.imread(written), tiled)


def test_rows_decode_only_what_they_cover(tmp_path):
    pixels = np.arange(700 * 900, dtype=np.uint32).reshape(700, 900).astype(np.uint16)
    tifffile.imwrite(tmp_path / "t.tif", pixels, tile=(128, 256))
    with TiffTiles(tmp_path / "t.tif") as tiles:
        assert np.array_equal(tiles.rows(-20, 300)[..., 0], pixels[:300])
        assert np.array_equal(tiles.rows(650, 760)[..., 0], pixels[650:])


def test_an_image_too_large_for_memory_that_cannot_be_tiled_is_refused_up_front(tmp_path):
    Image.new("RGB", (3000, 2000)).save(tmp_path / "poster.png")
    refusal = r"3000×2000 pixels need about 288 MB .*\(10 MB available\), and PNG cannot be read by tiles"
    with pytest.raises(TooLargeError, match=refusal):
        needs_tiles(tmp_path / "poster.png", memory_limit_mb=10)
    tifffile.imwrite(tmp_path / "stack.tif", np.zeros((5, 1000, 1000), np.uint16))
    with pytest.raises(TooLargeError, match="holds 5 planes"):
        needs_tiles(tmp_path / "stack.tif", memory_limit_mb=10)

    summary = Batch(
        BatchRequest(tmp_path, tmp_path / "out", **BILATERAL), RunOptions(memory_limit_mb=10)
    ).run()
    assert summary.failed == 2 and summary.succeeded == 0
    assert all("cannot be read by tiles" in error for _, error in summary.failures)
