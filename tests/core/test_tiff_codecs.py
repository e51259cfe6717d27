"""Compressed TIFFs (LZW, JPEG) read; 16-bit TIFFs are written with lossless compression (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

import core.io as io
from core.errors import ReadError

RNG = np.random.default_rng(7)


@pytest.fixture(scope="module")
def photo(datasets):
    import PIL.Image

    with PIL.Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        return np.asarray(im.convert("RGB"))[:96, :128]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_lzw_tiff_reads_exactly(tmp_path, photo, dtype):
    data = photo.astype(dtype) * (257 if dtype == np.uint16 else 1)
    path = tmp_path / "lzw.tif"
    tifffile.imwrite(path, data, compression="lzw", photometric="rgb")
    doc = io.read(path)
    assert doc.dtype == np.dtype(dtype).name
    np.testing.assert_array_equal(doc.pixels[0], data.astype(np.float32))


def test_jpeg_tiff_reads_close_to_its_source(tmp_path, photo):
    path = tmp_path / "jpeg.tif"
    tifffile.imwrite(path, photo, compression="jpeg", compressionargs={"level": 95}, photometric="rgb")
    doc = io.read(path)
    assert doc.pixels.shape == (1, *photo.shape)
    assert np.abs(doc.pixels[0] - photo).mean() < 3.0  # lossy, but the same picture


def test_sixteen_bit_tiff_is_written_losslessly_compressed(tmp_path):
    data = (RNG.random((40, 50)) * 65535).astype(np.uint16)
    data[:20] = 1000  # some redundancy for the compressor to find
    source = tmp_path / "scan16.tif"
    tifffile.imwrite(source, data, photometric="minisblack")
    out = io.write(io.read(source), tmp_path / "scan16_out.tif")
    with tifffile.TiffFile(out) as tif:
        page = tif.pages[0]
        assert page.dtype == np.uint16
        assert page.compression in (tifffile.COMPRESSION.ADOBE_DEFLATE, tifffile.COMPRESSION.DEFLATE)
        np.testing.assert_array_equal(page.asarray(), data)
    assert out.stat().st_size < source.stat().st_size


def test_a_missing_codec_is_not_called_damage(tmp_path, photo, monkeypatch):
    path = tmp_path / "lzw.tif"
    tifffile.imwrite(path, photo, compression="lzw", photometric="rgb")

    def no_codec(self, *args, **kwargs):
        raise ValueError("<COMPRESSION.LZW: 5> requires the 'imagecodecs' package")

    monkeypatch.setattr(tifffile.TiffPage, "asarray", no_codec)
    with pytest.raises(ReadError) as info:
        io.read(path)
    assert "damaged" not in str(info.value) and "cannot be decoded here" in str(info.value)
