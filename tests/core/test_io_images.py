"""Images: every format, bit depth and channel layout reads into float32 (frames, H, W, C) in file
units and survives read -> write -> read."""

from __future__ import annotations

import json

import numpy as np
import PIL.Image
import PIL.ImageOps
import pytest
import tifffile

import core.io as io
from core.documents import ImageDoc, Provenance
from core.errors import WriteError
from core.io.images import PROVENANCE_KEY

RNG = np.random.default_rng(1)

LOSSLESS = [
    # (extension, Pillow mode of the source, dtype, channels)
    ("png", "L", np.uint8, 1),
    ("png", "RGB", np.uint8, 3),
    ("png", "RGBA", np.uint8, 4),
    ("png", "I;16", np.uint16, 1),
    ("bmp", "L", np.uint8, 1),
    ("bmp", "RGB", np.uint8, 3),
    ("webp", "RGB", np.uint8, 3),
    ("webp", "RGBA", np.uint8, 4),
    ("tif", "L", np.uint8, 1),
    ("tif", "RGB", np.uint8, 3),
    ("tif", "RGBA", np.uint8, 4),
    ("tif", "I;16", np.uint16, 1),
    ("tif", "RGB16", np.uint16, 3),
]


def _array(dtype, channels, shape=(23, 31)):
    full = (*shape, channels) if channels > 1 else shape
    return RNG.integers(0, np.iinfo(dtype).max, full, dtype=dtype, endpoint=True)


def _save(path, arr, ext):
    if ext == "tif":
        tifffile.imwrite(path, arr, photometric="minisblack" if arr.ndim == 2 else "rgb")
    elif ext == "webp":
        PIL.Image.fromarray(arr).save(path, lossless=True)
    else:
        PIL.Image.fromarray(arr).save(path)


@pytest.mark.parametrize("ext,mode,dtype,channels", LOSSLESS)
def test_lossless_formats_read_exact_and_round_trip(tmp_path, ext, mode, dtype, channels):
    arr = _array(dtype, channels)
    src = tmp_path / f"src.{ext}"
    _save(src, arr, ext)
    doc = io.read(src)
    assert doc.pixels.dtype == np.float32
    assert doc.pixels.shape == (1, 23, 31, channels)
    assert doc.dtype == np.dtype(dtype).name
    np.testing.assert_array_equal(doc.pixels[0].reshape(arr.shape), arr)

    out = io.write(doc, tmp_path / f"out.{ext}")
    again = io.read(out)
    assert again.dtype == doc.dtype  # 16-bit stays 16-bit
    np.testing.assert_array_equal(again.pixels, doc.pixels)


def test_sixteen_bit_colour_png_keeps_sixteen_bits(tmp_path):
    import cv2

    arr = _array(np.uint16, 3)
    src = tmp_path / "deep.png"
    cv2.imwrite(str(src), arr[..., ::-1])  # OpenCV writes BGR
    doc = io.read(src)
    assert doc.dtype == "uint16" and doc.mode == "RGB"
    np.testing.assert_array_equal(doc.pixels[0], arr)
    out = io.write(doc.with_pixels(doc.pixels), tmp_path / "deep_out.png")
    again = io.read(out)
    np.testing.assert_array_equal(again.pixels, doc.pixels)
    assert PROVENANCE_KEY in PIL.Image.open(out).text  # our tEXt chunk was inserted by hand


def test_jpeg_reads_and_writes_close(tmp_path):
    arr = (np.add.outer(np.arange(40), np.arange(50)) * 2 % 256).astype(np.uint8)
    src = tmp_path / "smooth.jpg"
    PIL.Image.fromarray(np.stack([arr] * 3, -1)).save(src, quality=98)
    doc = io.read(src)
    assert doc.format == "JPEG" and doc.pixels.shape == (1, 40, 50, 3)
    out = io.write(doc, tmp_path / "smooth_out.jpg")
    again = io.read(out)
    assert np.abs(again.pixels - doc.pixels).mean() < 2.0
    assert b"lacuna" in PIL.Image.open(out).info.get("comment", b"").lower()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    arr = _array(np.uint8, 3, (12, 20))
    im = PIL.Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = orientation
    src = tmp_path / "oriented.png"
    im.save(src, exif=exif.tobytes())
    expected = np.asarray(PIL.ImageOps.exif_transpose(PIL.Image.open(src)))
    doc = io.read(src)
    np.testing.assert_array_equal(doc.pixels[0], expected)
    out = io.write(doc, tmp_path / "upright.png")
    assert PIL.Image.open(out).getexif().get(0x0112, 1) == 1  # saved upright, not rotated twice


def test_multipage_tiff_becomes_frames_and_round_trips(tmp_path):
    pages = _array(np.uint16, 1, (3, 16, 18))
    src = tmp_path / "stack.tif"
    tifffile.imwrite(src, pages, photometric="minisblack")
    doc = io.read(src)
    assert doc.pixels.shape == (3, 16, 18, 1) and doc.dtype == "uint16"
    np.testing.assert_array_equal(doc.pixels[..., 0], pages)
    doc.provenance.append(Provenance(method="unit-test", task="denoise", params={"sigma": 5}))
    out = io.write(doc, tmp_path / "stack_out.tif")
    again = io.read(out)
    np.testing.assert_array_equal(again.pixels, doc.pixels)
    with tifffile.TiffFile(out) as tif:
        record = json.loads(tif.pages[0].description)
    assert record["steps"][0]["method"] == "unit-test"
    with pytest.raises(WriteError, match="one frame"):
        io.write(doc, tmp_path / "stack.png")


def test_results_are_rounded_and_clipped_not_wrapped(tmp_path):
    src = tmp_path / "g.png"
    PIL.Image.fromarray(np.full((4, 5), 100, np.uint8)).save(src)
    doc = io.read(src)
    wild = doc.pixels.copy()
    wild[0, 0, 0] = 300.0  # beyond 8 bits
    wild[0, 0, 1] = -20.0
    wild[0, 0, 2] = 41.6
    out = io.write(doc.with_pixels(wild), tmp_path / "g_out.png")
    again = io.read(out).pixels[0, 0, :3, 0]
    np.testing.assert_array_equal(again, [255, 0, 42])


def test_png_provenance_chunk_names_the_method(tmp_path):
    doc = ImageDoc(pixels=np.zeros((1, 4, 4, 3), np.float32), dtype="uint8", mode="RGB")
    doc.provenance.append(Provenance(method="my-inpainter", task="inpaint", params={"steps": 3}))
    out = io.write(doc, tmp_path / "p.png")
    record = json.loads(PIL.Image.open(out).text[PROVENANCE_KEY])
    assert record["steps"][0]["method"] == "my-inpainter"
    assert record["steps"][0]["params"] == {"steps": 3}


def test_the_colour_profile_is_kept_in_tiff_and_16_bit_png(datasets, tmp_path):
    """A walk-through: PNG and JPEG saves kept the photo's ICC profile, TIFF dropped it."""
    from PIL import Image, ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = tmp_path / "with_profile.png"
    with Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        im.convert("RGB").save(source, icc_profile=profile)
    doc = io.read(source)
    tiff = io.write(doc, tmp_path / "out.tif")
    with tifffile.TiffFile(tiff) as tif:
        assert tif.pages[0].tags["InterColorProfile"].value == profile
    deep = doc.with_pixels(doc.pixels * 257.0)
    deep.dtype = "uint16"
    png = io.write(deep, tmp_path / "out16.png")
    with Image.open(png) as im:
        assert im.info.get("icc_profile") == profile and im.mode.startswith("RGB")
    assert np.array_equal(io.read(png).pixels, deep.pixels)  # the chunk leaves the pixels alone
    again = io.write(io.read(tiff), tmp_path / "again.tif")  # a TIFF's own profile is read and kept too
    with tifffile.TiffFile(again) as tif:
        assert tif.pages[0].tags["InterColorProfile"].value == profile


def test_a_cmyk_jpeg_is_said_to_be_read_as_rgb_and_its_profile_not_put_on_rgb(datasets, tmp_path, capsys):
    """A walk-through: a CMYK JPEG was converted silently; its CMYK profile on the RGB result would
    mislead a colour-managed viewer."""
    from PIL import Image, ImageCms

    from core.cli import main

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # stands in for a CMYK one
    with Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        im.convert("CMYK").save(tmp_path / "print.jpg", quality=90, icc_profile=profile)
    doc = io.read(tmp_path / "print.jpg")
    assert doc.mode == "RGB" and "icc_profile" not in doc.metadata
    assert main(["info", "--json", str(tmp_path / "print.jpg")]) == 0
    assert "CMYK, read as RGB" in json.loads(capsys.readouterr().out)["source_photometric"]
    with PIL.Image.open(io.write(doc, tmp_path / "out.png")) as saved:
        assert "icc_profile" not in saved.info
    # and at a repair too, not only by lacuna info (a later walk-through's prepress JPEG)
    args = ["repair", str(tmp_path / "print.jpg"), "-o", str(tmp_path / "fixed.png"), "--task", "denoise"]
    assert main([*args, "--method", "denoise-bilateral"]) == 0
    assert "warning: stored as CMYK: read as RGB by a plain conversion" in capsys.readouterr().err


def test_a_tiff_scans_resolution_is_read_and_kept_in_tiff_and_png(tmp_path):
    """A walk-through's 600 dpi TIFF scans came back with no resolution (a print size Photoshop then
    takes as 72 dpi): the reader never read the tags."""
    from core.info import describe, format_info
    from core.io import read, write

    rgb16 = (np.random.default_rng(0).random((40, 30, 3)) * 65535).astype(np.uint16)
    tifffile.imwrite(
        tmp_path / "scan16.tif", rgb16, photometric="rgb", resolution=(600, 600), resolutionunit="INCH"
    )
    gray = np.zeros((20, 20), np.uint8)
    tifffile.imwrite(tmp_path / "scan_cm.tif", gray, resolution=(118.11, 118.11), resolutionunit="CENTIMETER")
    tifffile.imwrite(tmp_path / "no_unit.tif", gray, resolution=(1, 1), resolutionunit="NONE")
    scan = read(tmp_path / "scan16.tif")
    assert scan.metadata["dpi"] == (600.0, 600.0)
    assert read(tmp_path / "scan_cm.tif").metadata["dpi"][0] == pytest.approx(300.0, abs=0.01)
    assert "dpi" not in read(tmp_path / "no_unit.tif").metadata
    assert "dpi             600, 600" in format_info(describe(tmp_path / "scan16.tif"))
    with tifffile.TiffFile(write(scan, tmp_path / "out.tif")) as tif:
        page = tif.pages[0]
        assert page.resolution == (600.0, 600.0) and int(page.resolutionunit) == 2 and page.dtype == np.uint16
    with PIL.Image.open(write(scan, tmp_path / "out.png")) as png:  # the 16-bit colour PNG writer
        assert png.info["dpi"] == pytest.approx((600, 600), abs=0.1)


XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:rights>Archive use only</dc:rights>'
    b"</rdf:Description></rdf:RDF></x:xmpmeta>"
)
WORDS = {270: "Box 12, print 34", 306: "1962:07:01 12:00:00", 315: "Jane Archivist", 33432: "(c) The Archive"}


def _exif_words(path) -> dict:
    with PIL.Image.open(path) as im:
        exif = im.getexif()
        return {code: exif.get(code) for code in WORDS}


def test_a_derivative_keeps_the_caption_creator_rights_and_xmp_of_a_jpeg_and_a_tiff(datasets, tmp_path):
    """Walk-through 43: a JPEG's caption was overwritten by Lacuna's summary and its XMP dropped; a
    TIFF lost its artist, copyright and date, its description replaced by Lacuna's record."""
    from core.cli import main
    from core.io.image_tags import PNG_KEYWORDS, RECORD_TIFF_TAG

    with PIL.Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        photo = im.convert("RGB")
    exif = PIL.Image.Exif()
    for code, value in WORDS.items():
        exif[code] = value
    photo.save(tmp_path / "print.jpg", quality=25, exif=exif.tobytes(), xmp=XMP)
    tags = [(code, "s", 0, value, True) for code, value in WORDS.items() if code != 270]
    tifffile.imwrite(
        tmp_path / "scan.tif", np.asarray(photo), photometric="rgb", description=WORDS[270], extratags=tags
    )
    for source in ("print.jpg", "scan.tif"):
        for ext in ("png", "jpg", "tif"):
            out = tmp_path / f"{source}.{ext}"
            assert main(["repair", str(tmp_path / source), "-o", str(out), "--task", "denoise"]) == 0
            if ext == "tif":
                with tifffile.TiffFile(out) as tif:
                    page = tif.pages[0]
                    assert {code: page.tags[code].value for code in WORDS} == WORDS
                    record = json.loads(page.tags[RECORD_TIFF_TAG].value)  # Lacuna's record, in its own tag
                    assert record["steps"][-1]["task"] == "denoise"
                    assert (700 in page.tags and XMP in page.tags[700].value) == (source == "print.jpg")
                assert io.read(out).metadata["lacuna_provenance"]  # read back as Lacuna's record
            else:
                with PIL.Image.open(out) as im:
                    if ext == "png":  # under the PNG specification's keywords
                        assert {code: im.text.get(key) for code, key in PNG_KEYWORDS.items()} == WORDS
                        xmp = im.text.get("XML:com.adobe.xmp", "").encode()
                    else:
                        xmp = im.info.get("xmp")
                    assert (xmp == XMP) == (source == "print.jpg")
                if source == "print.jpg" or ext == "jpg":
                    assert _exif_words(out) == WORDS  # the caption is the source's, not Lacuna's summary
    # a picture without a caption gets Lacuna's summary as its caption, as before
    photo.save(tmp_path / "plain.jpg", quality=25)
    args = ["repair", str(tmp_path / "plain.jpg"), "-o", str(tmp_path / "out.jpg"), "--task", "denoise"]
    assert main(args) == 0
    assert _exif_words(tmp_path / "out.jpg")[270].startswith("Lacuna ")


def test_a_pngs_words_and_xmp_reach_other_formats_and_a_cameras_date_a_tiff(datasets, tmp_path):
    """Walk-through 44: a PNG's Description and Copyright were lost in JPEG and TIFF outputs, Lacuna
    wrote a PNG's XMP as tEXt (which readers do not take for XMP, so a second pass dropped it), and a
    camera JPEG's only date (DateTimeOriginal) was lost in a TIFF."""
    import PIL.PngImagePlugin

    with PIL.Image.open(datasets / "images" / "bench" / "CBSD68" / "101085.png") as im:
        photo = im.convert("RGB")
    info = PIL.PngImagePlugin.PngInfo()
    info.add_text("Description", "Box 12, print 34")
    info.add_text("Copyright", "(c) The Archive")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    photo.save(tmp_path / "scan.png", pnginfo=info)
    first = io.write(io.read(tmp_path / "scan.png"), tmp_path / "first.png")
    with PIL.Image.open(first) as im:
        assert im.info.get("xmp") == XMP  # an iTXt chunk, as the XMP specification asks
    for ext in ("jpg", "tif"):
        out = io.write(io.read(first), tmp_path / f"second.{ext}")  # a Lacuna PNG repaired again
        if ext == "jpg":
            assert {c: _exif_words(out)[c] for c in (270, 33432)} == {270: WORDS[270], 33432: WORDS[33432]}
            with PIL.Image.open(out) as im:
                assert im.info.get("xmp") == XMP
        else:
            with tifffile.TiffFile(out) as tif:
                page = tif.pages[0]
                assert page.tags[270].value == WORDS[270] and page.tags[33432].value == WORDS[33432]
                assert XMP in page.tags[700].value
    info = PIL.PngImagePlugin.PngInfo()
    info.add_itxt("Description", "Fotó régi – été 1962")  # beyond ASCII: a TIFF save had failed on it
    photo.save(tmp_path / "regi.png", pnginfo=info)
    with tifffile.TiffFile(io.write(io.read(tmp_path / "regi.png"), tmp_path / "regi.tif")) as tif:
        assert tif.pages[0].tags[270].value == "Fotó régi – été 1962"
    # EXIF holds it as UTF-8, as Lightroom and ExifTool write it (it had become "Fot? r?gi ? ?t? 1962"),
    # and a JPEG's words read back whole, not as Latin-1 ("FotÃ³"), into a PNG made of it.
    for ext in ("jpg", "webp"):
        out = io.write(io.read(tmp_path / "regi.png"), tmp_path / f"regi.{ext}")
        with PIL.Image.open(out) as im:
            assert im.getexif()[270].encode("latin-1").decode("utf-8") == "Fotó régi – été 1962"
        with PIL.Image.open(io.write(io.read(out), tmp_path / f"regi_{ext}.png")) as im:
            assert im.text["Description"] == "Fotó régi – été 1962"
    lightroom = PIL.Image.Exif()
    lightroom[270] = "Fotó régi – été 1962".encode()  # a camera JPEG captioned in Lightroom: UTF-8 in EXIF
    photo.save(tmp_path / "lr.jpg", quality=90, exif=lightroom.tobytes())
    with PIL.Image.open(io.write(io.read(tmp_path / "lr.jpg"), tmp_path / "lr_out.jpg")) as im:
        assert im.getexif()[270].encode("latin-1") == "Fotó régi – été 1962".encode()  # had been '?'
    camera = PIL.Image.Exif()
    camera.get_ifd(0x8769)[0x9003] = "1962:07:01 12:00:00"  # DateTimeOriginal, in EXIF's own directory
    camera[271], camera[272] = "Kodak", "Retina"
    photo.save(tmp_path / "camera.jpg", quality=90, exif=camera.tobytes())
    with tifffile.TiffFile(io.write(io.read(tmp_path / "camera.jpg"), tmp_path / "camera.tif")) as tif:
        tags = tif.pages[0].tags
        assert [tags[code].value for code in (306, 271, 272)] == ["1962:07:01 12:00:00", "Kodak", "Retina"]
