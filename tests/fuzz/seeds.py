"""Small, valid seed files for every reader, made from the shared data sets and the files pydicom and
nibabel ship. Small on purpose: a mutated input is decoded in milliseconds, so a run covers thousands."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np

FAMILIES = ("png", "jpeg", "tiff", "dicom", "dicom-folder", "nifti", "audio")
MAX_SHIPPED_BYTES = 200_000  # shipped test files larger than this are slow to mutate and decode


def build(datasets: Path, out: Path) -> dict[str, list[Path]]:
    """Write the seeds under `out/<family>/` and return them by family (a folder for dicom-folder)."""
    makers = {
        "png": _png,
        "jpeg": _jpeg,
        "tiff": _tiff,
        "dicom": _dicom,
        "dicom-folder": _dicom_folders,
        "nifti": _nifti,
        "audio": _audio,
    }
    seeds = {}
    for family, make in makers.items():
        folder = out / family
        folder.mkdir(parents=True, exist_ok=True)
        seeds[family] = sorted(make(datasets, folder))
    return seeds


def _photo(datasets: Path, size: tuple[int, int] = (40, 48)) -> np.ndarray:
    from PIL import Image

    with Image.open(datasets / "images" / "bench" / "McMaster" / "1.png") as im:
        rgb = np.asarray(im.convert("RGB"))
    return np.ascontiguousarray(rgb[100 : 100 + size[0], 120 : 120 + size[1]])


def _png(datasets: Path, folder: Path) -> list[Path]:
    import cv2
    from PIL import Image

    rgb = _photo(datasets)
    gray = rgb.mean(axis=2).astype(np.uint8)
    made = []

    def save(name: str, image: Image.Image, **options) -> None:
        image.save(folder / name, **options)
        made.append(folder / name)

    save("rgb.png", Image.fromarray(rgb))
    save("gray.png", Image.fromarray(gray))
    save("gray16.png", Image.fromarray(gray.astype(np.uint16) * 257))
    save("bilevel.png", Image.fromarray(gray > 128))
    save("rgba.png", Image.fromarray(np.dstack([rgb, gray])))
    save("palette.png", Image.fromarray(rgb).quantize(16), transparency=0)
    exif = Image.Exif()
    exif[0x0112] = 6
    save("oriented.png", Image.fromarray(rgb), exif=exif.tobytes(), dpi=(300, 300))
    frames = [Image.fromarray(np.roll(rgb, 5 * k, axis=1)) for k in range(3)]
    save("animated.png", frames[0], save_all=True, append_images=frames[1:], duration=100)
    for name, image in (("rgb16.png", rgb), ("rgba16.png", np.dstack([rgb, gray]))):
        cv2.imwrite(str(folder / name), image[..., [2, 1, 0, 3][: image.shape[2]]].astype(np.uint16) * 257)
        made.append(folder / name)
    return made


def _jpeg(datasets: Path, folder: Path) -> list[Path]:
    from PIL import Image

    rgb = Image.fromarray(_photo(datasets))
    exif = Image.Exif()
    exif[0x0112] = 8
    variants = {
        "baseline.jpg": (rgb, {"quality": 90}),
        "gray.jpg": (rgb.convert("L"), {"quality": 80}),
        "progressive.jpg": (rgb, {"quality": 75, "progressive": True}),
        "444.jpg": (rgb, {"quality": 95, "subsampling": 0}),
        "cmyk.jpg": (rgb.convert("CMYK"), {"quality": 85}),
        "oriented.jpg": (rgb, {"quality": 85, "exif": exif.tobytes(), "dpi": (72, 72)}),
        "optimized.jpg": (rgb, {"quality": 50, "optimize": True}),
    }
    for name, (image, options) in variants.items():
        image.save(folder / name, **options)
    return [folder / name for name in variants]


def _tiff(datasets: Path, folder: Path) -> list[Path]:
    import tifffile

    rgb = _photo(datasets, (32, 40))
    gray16 = rgb.mean(axis=2).astype(np.uint16) * 257
    variants = {
        "rgb.tif": (rgb, {"photometric": "rgb"}),
        "gray16_zlib.tif": (gray16, {"compression": "zlib"}),
        "float.tif": (gray16.astype(np.float32) / 65535, {}),
        "pages.tif": (np.stack([gray16, gray16[::-1]]), {}),
        "tiled.tif": (rgb, {"photometric": "rgb", "tile": (16, 16)}),
        "planar.tif": (np.moveaxis(rgb, -1, 0), {"photometric": "rgb", "planarconfig": "separate"}),
    }
    for name, (data, options) in variants.items():
        tifffile.imwrite(folder / name, data, **options)
    from PIL import Image  # Pillow writes the compressions tifffile leaves to imagecodecs

    for name, compression in (("lzw.tif", "tiff_lzw"), ("packbits.tif", "packbits")):
        Image.fromarray(rgb).save(folder / name, compression=compression)
        variants[name] = (rgb, {})
    return [folder / name for name in variants]


def _shipped(package: str, *parts: str) -> Path:
    module = __import__(package)
    return Path(module.__file__).parent.joinpath(*parts)


def _dicom(datasets: Path, folder: Path) -> list[Path]:
    shipped = sorted(_shipped("pydicom", "data", "test_files").glob("*.dcm"))
    shared = sorted((datasets / "medical").glob("*.dcm"))
    made = []
    for source in shipped + shared:
        if source.stat().st_size <= MAX_SHIPPED_BYTES:
            made.append(folder / source.name)
            shutil.copy(source, made[-1])
    return made


def _dicom_folders(datasets: Path, folder: Path) -> list[Path]:
    """Series of four 64x64 slices cut from the shared head CT (and one with a slice missing)."""
    import pydicom

    slices = sorted((datasets / "medical" / "head_ct_ge").glob("*.dcm"))[:5]
    series = folder / "head"
    gap = folder / "head_gap"
    series.mkdir(exist_ok=True)
    gap.mkdir(exist_ok=True)
    for k, source in enumerate(slices):
        ds = pydicom.dcmread(source)
        pixels = ds.pixel_array[200:264, 200:264].copy()
        ds.Rows, ds.Columns = pixels.shape
        ds.PixelData = pixels.tobytes()
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
        if k < 4:
            ds.save_as(series / f"{k:02d}.dcm", enforce_file_format=True)
        if k != 2:
            ds.save_as(gap / f"{k:02d}.dcm", enforce_file_format=True)
    return [series, gap]


def _nifti(datasets: Path, folder: Path) -> list[Path]:
    import nibabel as nib

    made = []
    shipped = _shipped("nibabel", "tests", "data")
    for name in ("anatomical.nii", "example_nifti2.nii.gz", "example4d.nii.gz", "standard.nii.gz"):
        source = shipped / name
        if source.is_file() and source.stat().st_size <= MAX_SHIPPED_BYTES:
            made.append(folder / name)
            shutil.copy(source, made[-1])
    flair = nib.load(datasets / "medical" / "FLAIR.nii.gz")
    crop = np.asarray(flair.dataobj[40:72, 40:72, 10:16]).astype(np.int16)
    for image_class, name in ((nib.Nifti1Image, "flair1.nii"), (nib.Nifti2Image, "flair2.nii")):
        nib.save(image_class(crop, flair.affine), folder / name)
        made.append(folder / name)
    with open(folder / "flair1.nii", "rb") as raw, gzip.open(folder / "flair1.nii.gz", "wb") as packed:
        packed.write(raw.read())
    made.append(folder / "flair1.nii.gz")
    return made


def _audio(datasets: Path, folder: Path) -> list[Path]:
    import soundfile as sf

    clip = sorted((datasets / "audio" / "bench" / "clips").glob("*.ogg"))[0]
    samples, rate = sf.read(clip, frames=8000, dtype="float32", always_2d=True)
    mono = samples[:, 0]
    variants = {
        "pcm16.wav": (mono, "PCM_16"),
        "pcm24_stereo.wav": (samples[:, :2] if samples.shape[1] > 1 else np.stack([mono, mono], 1), "PCM_24"),
        "float.wav": (mono, "FLOAT"),
        "u8.wav": (mono, "PCM_U8"),
        "clip.flac": (mono, "PCM_16"),
        "clip.ogg": (mono, "VORBIS"),
    }
    for name, (data, subtype) in variants.items():
        sf.write(folder / name, data, rate, subtype=subtype)
    return [folder / name for name in variants]
