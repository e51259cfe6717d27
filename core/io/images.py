"""Photos and scans of paper: PNG, JPEG, TIFF (multi-page), BMP, WebP through Pillow and tifffile.

Pixels are float32 (frames, H, W, C) in the file's own units (0..255 or 0..65535); EXIF orientation is
applied on reading, so the saved result is upright and carries orientation 1. 16-bit stays 16-bit
where the format can hold it (PNG, TIFF); JPEG, BMP and WebP are 8-bit formats, so 16-bit data is
scaled to 8 bits there (the sidecar says so). Pillow reads 16-bit colour PNGs as 8-bit, so those
are decoded (and encoded) with OpenCV instead.
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import Document, ImageDoc
from core.errors import ReadError, WriteError
from core.io import fill, image_layout, image_tags, limits, provenance, quiet, xmp_record
from core.io.atomic import atomic_write
from core.io.describe import minmax, not_numbers, num
from core.io.formats import FileFormat, Written, as_extension
from core.io.png_truncated import completed

PROVENANCE_KEY = "lacuna:provenance"
_PILLOW_LOCK = threading.Lock()

# extension -> format name used by the writers
WRITE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
}
EIGHT_BIT_ONLY = {"JPEG", "BMP", "WEBP"}
LOSSY = {"JPEG"}  # WebP is written lossless unless a quality is asked for
TIFF_CONFUSED = (TypeError, ZeroDivisionError, AttributeError, OverflowError, IndexError, KeyError)


# --------------------------------------------------------------------------------------------- read
def read_image(path: Path) -> ImageDoc:
    with open(path, "rb") as fh:
        head = fh.read(32)
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _read_tiff(path)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 26 and head[24] == 16 and head[25] in (2, 6):
        return _read_png16_color(path, head)
    return _read_pillow(path)


def orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF/TIFF orientation (1..8) to an (H, W, C) array so that it displays upright."""
    if int(orientation or 1) not in range(2, 9):
        return arr
    upright = fill.upright_pixels(1, arr.shape[0], arr.shape[1], arr.shape[2], orientation)[0]
    upright = upright.astype(arr.dtype, copy=False)
    fill.stored_view(upright, orientation)[...] = arr
    return upright


def _pillow_layout(im) -> tuple[str, str]:
    """The channel layout ("L", "RGB", "RGBA") and stored sample type a Pillow frame is read as."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return "L", "uint16"  # "I" becomes float32 if its values do not fit (see _read_pillow)
    if mode == "F":
        return "L", "float32"
    if mode in ("1", "L"):
        return "L", "uint8"
    if mode in ("LA", "La", "PA", "RGBa", "RGBA") or (mode == "P" and "transparency" in im.info):
        return "RGBA", "uint8"
    if mode == "P" and im.palette is not None and im.palette.mode == "L":
        return "L", "uint8"
    return "RGB", "uint8"


def _pillow_rows(im, layout: str):
    """rows(start, stop) -> those rows of the decoded frame as an (n, W, C) array in `layout`."""
    width = im.size[0]
    keep = im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")

    def rows(start: int, stop: int) -> np.ndarray:
        strip = im.crop((0, start, width, stop))
        if not keep:
            strip = strip.convert(layout)
        arr = np.asarray(strip)
        return arr[..., None] if arr.ndim == 2 else arr

    return rows


def _pillow_memory(width: int, height: int, frames: int, channels: int) -> int:
    """Peak bytes of a Pillow read: its decoded frame (4 bytes a pixel; two for animations, which
    keep the previous frame) plus the float32 result."""
    frame = width * height * 4 * (2 if frames > 1 else 1)
    return frame + frames * width * height * channels * 4 + 4 * fill.STRIP_PIXELS * 16


def _open_pillow(path: Path):
    import PIL.Image

    try:
        with _PILLOW_LOCK:  # open reads only the header: our own check names the limit
            PIL.Image.MAX_IMAGE_PIXELS = None
            try:
                return PIL.Image.open(path)
            finally:
                limits.sync_pillow()
    except PIL.UnidentifiedImageError as exc:
        raise ReadError(f"{path.name}: not an image Lacuna can read (unknown or damaged format)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ReadError(_decode_message(path, exc)) from exc


def _read_pillow(path: Path) -> ImageDoc:
    layout = image_layout.read_layout(path)
    if layout is not None:
        image_layout.check_holdable(path, layout)
    im = _open_pillow(path)
    try:
        with im, _tolerate_truncation(layout is not None and not layout.complete):
            return _decode_pillow(im, path, layout)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as exc:
        raise ReadError(_decode_message(path, exc)) from exc


def _decode_pillow(im, path: Path, layout: image_layout.Layout | None) -> ImageDoc:
    """Every frame of an open Pillow image, upright, straight into one float32 array."""
    width, height = im.size
    n_frames = int(getattr(im, "n_frames", 1) or 1)
    limits.check_pixels(path, width * height * n_frames)
    mode, dtype = _pillow_layout(im)
    limits.check_memory(path, _pillow_memory(width, height, n_frames, 4 if n_frames > 1 else len(mode)))
    fmt = im.format or "PNG"
    exif = im.getexif()
    orientation = int(exif.get(0x0112, 1) or 1)
    metadata = _pillow_metadata(im, exif)
    truncated = layout is not None and not layout.complete
    pixels = fill.upright_pixels(n_frames, height, width, len(mode), orientation)
    dtypes = []
    for i in range(n_frames):
        im.seek(i)
        im.load()
        if im.size != (width, height):
            raise ReadError(f"{path.name}: its frames have different sizes, which Lacuna does not support")
        frame_mode, frame_dtype = _pillow_layout(im)
        if len(frame_mode) > pixels.shape[-1]:  # animated images may mix palette modes: widen
            pixels = fill.widen(pixels, len(frame_mode))
        fill.fill_strips(fill.stored_view(pixels[i], orientation), _pillow_rows(im, frame_mode))
        if im.mode == "I" and pixels[i].size and (pixels[i].min() < 0 or pixels[i].max() > 65535):
            frame_dtype = "float32"
        dtypes.append(frame_dtype)
    if truncated:
        metadata.setdefault("read_warnings", []).append(image_layout.truncation_warning(path, layout))
    dtype = "float32" if "float32" in dtypes else ("uint16" if "uint16" in dtypes else "uint8")
    mode = fill.MODES[pixels.shape[-1]]
    return ImageDoc(pixels=pixels, path=path, format=fmt, dtype=dtype, mode=mode, metadata=metadata)


@contextlib.contextmanager
def _tolerate_truncation(truncated: bool) -> Iterator[None]:
    """Let Pillow decode a file known to be truncated as far as it goes (we record a warning)."""
    if not truncated:
        yield
        return
    from PIL import ImageFile

    with _PILLOW_LOCK:  # Pillow's switch is global: no other read runs with it on
        ImageFile.LOAD_TRUNCATED_IMAGES = True
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = False


def _decode_message(path: Path, exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "truncated" in text.lower() or "broken data stream" in text.lower():
        return f"{path.name}: the image data is truncated ({text})"
    if "requires the" in text and "package" in text:  # tifffile: no codec for this compression
        return f"{path.name}: its compression cannot be decoded here ({text}); the file itself may be fine"
    return f"{path.name}: the image data is damaged ({text})"


# Pillow modes read as RGB by a plain conversion: their colour profile describes the stored values, not
# the RGB ones, so it is not kept (a CMYK profile on RGB pixels misleads every colour-managed viewer)
CONVERTED_MODES = {"CMYK": "CMYK", "YCbCr": "YCbCr", "LAB": "CIE L*a*b*", "HSV": "HSV"}


def _pillow_metadata(im, exif) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if im.mode in CONVERTED_MODES:
        meta["converted_from"] = CONVERTED_MODES[im.mode]
        # said on opening and at every repair, not only by lacuna info (a walk-through's prepress JPEG)
        meta["read_warnings"] = [
            f"stored as {CONVERTED_MODES[im.mode]}: read as RGB by a plain conversion, without its colour"
            " profile; a result is saved as RGB"
        ]
    elif im.info.get("icc_profile"):
        meta["icc_profile"] = im.info["icc_profile"]
    if "dpi" in im.info:
        meta["dpi"] = tuple(float(v) for v in im.info["dpi"])
    if len(exif):
        exif = PIL_exif_copy(exif)
        exif[0x0112] = 1  # the pixels are upright now
        meta["exif"] = exif.tobytes()
    source_xmp, xmp_held_record = _xmp_parts(im.info)
    if source_xmp:
        meta["xmp"] = source_xmp
    texts = getattr(im, "text", {})
    text = {k: v for k, v in texts.items() if k != PROVENANCE_KEY and isinstance(v, str)}
    if text:
        meta["text"] = text
    # A PNG's own text is kept as it is, even one no longer read as a record (a damaged one is shown).
    record = texts.get(PROVENANCE_KEY) or _pillow_record(texts, im.info, xmp_held_record)
    if record:
        meta["lacuna_provenance"] = record
    return meta


def _xmp_parts(info: dict[str, Any]) -> tuple[bytes | None, str | None]:
    """A JPEG's or WebP's XMP packet (a PNG's is one of its texts) split once into the source's own
    packet and the record Lacuna put inside it (`xmp_record.split`); (None, None) without one."""
    xmp = info.get("xmp")
    if not (isinstance(xmp, bytes | bytearray) and xmp):
        return None, None
    return xmp_record.split(bytes(xmp))


def _pillow_record(texts: dict[str, Any], info: dict[str, Any], xmp_held_record: str | None) -> str | None:
    """The text of the record Lacuna wrote into a PNG (one of its `texts`), a JPEG (its comment) or
    a WebP (inside its XMP, already split out by `_xmp_parts`), from Pillow's `texts` and `info`;
    None when none is there."""
    comment = info.get("comment")
    if isinstance(comment, bytes):
        comment = comment.decode("utf-8", "replace")
    candidates = (texts.get(PROVENANCE_KEY), comment, xmp_held_record)
    return next((text for text in candidates if provenance.parse_record(text)), None)


def embedded_record(path: Path) -> dict[str, Any] | None:
    """The record Lacuna wrote into a picture (a PNG's text, a JPEG's comment, a WebP's XMP, a TIFF's
    tag), read from the file's header without decoding its pixels; None when it holds none there (a
    16-bit colour PNG keeps it after the pixels) or cannot be opened."""
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                return provenance.parse_record(_tiff_record(tif.pages.first)[0])
        import PIL.Image

        with PIL.Image.open(path) as im:  # the chunks before the pixels only: `im.text` would decode them
            return provenance.parse_record(_pillow_record(im.info, im.info, _xmp_parts(im.info)[1]))
    except Exception:  # noqa: BLE001 - an unreadable file holds no record we can use
        return None


def PIL_exif_copy(exif):  # noqa: N802 - mirrors Pillow's class name
    import PIL.Image

    copy = PIL.Image.Exif()
    copy.load(image_tags.keep_text_bytes(exif).tobytes())
    return image_tags.keep_text_bytes(copy)


def _read_png16_color(path: Path, head: bytes) -> ImageDoc:
    import cv2

    layout = image_layout.read_layout(path)
    image_layout.check_holdable(path, layout)
    width, height, channels = layout.width, layout.height, 4 if head[25] == 6 else 3
    limits.check_pixels(path, width * height)
    size = path.stat().st_size
    # the file, OpenCV's uint16 pixels and the float32 result; a truncated file is first made whole
    # (its raw image data and that recompressed: twice the uint16 pixels)
    repair = 0 if layout.complete else size + 2 * layout.raw_bytes
    limits.check_memory(path, size + repair + width * height * channels * (2 + 4))
    meta, orientation = _png16_metadata(path)
    # OpenCV cannot decode part of a file: a truncated one reads what it holds, the rest black
    encoded = (
        np.fromfile(path, dtype=np.uint8) if layout.complete else np.frombuffer(completed(path), np.uint8)
    )
    with quiet.quiet_c_stderr():
        arr = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.shape[:2] != (height, width) or arr.ndim != 3 or arr.shape[2] != channels:
        raise ReadError(f"{path.name}: the 16-bit PNG data is damaged")
    if not layout.complete:
        meta.setdefault("read_warnings", []).append(image_layout.truncation_warning(path, layout))
    pixels = fill.upright_pixels(1, height, width, channels, orientation)
    stored = fill.stored_view(pixels[0], orientation)
    for out, source in enumerate((2, 1, 0, 3)[:channels]):  # OpenCV's BGR(A) to RGB(A)
        stored[..., out] = arr[..., source]
    mode = "RGBA" if channels == 4 else "RGB"
    return ImageDoc(pixels=pixels, path=path, format="PNG", dtype="uint16", mode=mode, metadata=meta)


def _png16_metadata(path: Path) -> tuple[dict[str, Any], int]:
    """Pillow still reads the chunks (text, eXIf, iCCP) even though it cannot hold 16-bit colour."""
    try:
        import PIL.Image

        with PIL.Image.open(path) as im:
            exif = im.getexif()
            return _pillow_metadata(im, exif), int(exif.get(0x0112, 1) or 1)
    except Exception:  # noqa: BLE001 - metadata is optional
        return {}, 1


def _read_tiff(path: Path) -> ImageDoc:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return _decode_tiff(tif, path)
    except (ReadError, MemoryError):
        raise
    except TIFF_CONFUSED as exc:  # tifffile tripping over inconsistent tags: its words would not help
        raise ReadError(f"{path.name}: the TIFF is damaged (its tags contradict each other)") from exc
    except Exception as exc:  # noqa: BLE001 - tifffile's own errors on damaged files (TiffFileError,
        raise ReadError(_decode_message(path, exc)) from exc  # zlib.error, ValueError...) say what


def _decode_tiff(tif, path: Path) -> ImageDoc:
    """The pages shaped like the first, upright, straight into one float32 array."""
    pages = list(tif.pages)
    if not pages:
        raise ReadError(f"{path.name}: the TIFF holds no images")
    first = pages[0]
    if first.dtype is None or not all(isinstance(n, int) and n > 0 for n in first.shape):
        raise ReadError(f"{path.name}: the TIFF header is damaged (its image size is {first.shape})")
    same = [p for p in pages if p.shape == first.shape and p.dtype == first.dtype]
    axes = first.axes
    h = first.shape[axes.index("Y")] if "Y" in axes else first.shape[0]
    w = first.shape[axes.index("X")] if "X" in axes else first.shape[1]
    limits.check_pixels(path, h * w * len(same))
    samples = first.shape[axes.index("S")] if "S" in axes else 1
    channels = 4 if samples == 2 else samples
    page_bytes = math.prod(first.shape) * first.dtype.itemsize
    limits.check_memory(path, 2 * page_bytes + len(same) * h * w * max(channels, 1) * 4)
    orientation = int(first.tags["Orientation"].value) if "Orientation" in first.tags else 1
    pixels = None
    size = path.stat().st_size
    for i, page in enumerate(same):
        if any(o + n > size for o, n in zip(page.dataoffsets, page.databytecounts)):
            raise ReadError(f"{path.name}: the TIFF is truncated or damaged (its data runs past the end)")
        arr = _tiff_page(page.asarray(), page.axes, path)
        if pixels is None:
            pixels = fill.upright_pixels(len(same), arr.shape[0], arr.shape[1], arr.shape[2], orientation)
        fill.stored_view(pixels[i], orientation)[...] = arr
    dtype = str(first.dtype)
    if dtype not in ("uint8", "uint16"):
        dtype = "float32" if first.dtype.kind == "f" else dtype
    metadata: dict[str, Any] = image_tags.from_tiff(first)
    record, in_description = _tiff_record(first)
    if record is not None:
        metadata["lacuna_provenance"] = record
    if in_description:
        metadata.get("described", {}).pop(270, None)  # the record, not a caption
    profile = first.tags.get(ICC_TIFF_TAG)  # kept for the save, as a PNG's or a JPEG's is
    if profile is not None and isinstance(profile.value, bytes | bytearray):
        metadata["icc_profile"] = bytes(profile.value)
    dpi = _tiff_dpi(first)
    if dpi:  # a scan's print size, kept as a PNG's or a JPEG's is (a walk-through's 600 dpi was lost)
        metadata["dpi"] = dpi
    mode = fill.MODES[pixels.shape[-1]]
    return ImageDoc(pixels=pixels, path=path, format="TIFF", dtype=dtype, mode=mode, metadata=metadata)


def _tiff_record(page) -> tuple[Any, bool]:
    """The record Lacuna wrote into a TIFF page, and whether it is the description: its private tag,
    else the description (where the source had no caption to keep); (None, False) when neither is one."""
    tag = page.tags.get(image_tags.RECORD_TIFF_TAG)
    if tag is not None and provenance.parse_record(tag.value):
        return tag.value, False
    description = page.description or ""
    return (description, True) if provenance.parse_record(description) else (None, False)


def _tiff_dpi(page) -> tuple[float, float] | None:
    """(x, y) dots per inch from a TIFF page's resolution tags; None without a unit (or tags)."""
    try:
        x, y = (float(v) for v in page.resolution)
        unit = int(page.resolutionunit)
    except (TypeError, ValueError, AttributeError):
        return None
    per_inch = {2: 1.0, 3: 2.54}.get(unit)  # RESUNIT inch, centimetre; 1 (none) says no size
    if per_inch is None or x <= 0 or y <= 0 or not np.isfinite([x, y]).all():
        return None
    return x * per_inch, y * per_inch


def _tiff_page(arr: np.ndarray, axes: str, path: Path) -> np.ndarray:
    """One TIFF page as (H, W, C) with C in {1, 3, 4}."""
    if "S" in axes and axes.index("S") < axes.index("Y"):  # planar: channels first
        arr = np.moveaxis(arr, axes.index("S"), -1)
        axes = axes.replace("S", "") + "S"
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3:
        raise ReadError(f"{path.name}: TIFF pages with axes {axes!r} are not supported")
    c = arr.shape[-1]
    if c == 2:  # gray + alpha
        arr = np.concatenate([np.repeat(arr[..., :1], 3, axis=-1), arr[..., 1:]], axis=-1)
    elif c > 4:
        raise ReadError(f"{path.name}: {c} channels per pixel are not supported (1, 3 or 4)")
    return arr


# -------------------------------------------------------------------------------------------- write
def write(doc: Document, target: Path, **options: Any) -> Written:
    """An image in its own format; a volume as a float32 TIFF stack (physical values kept)."""
    if doc.kind == "volume":
        # said like every other loss in a conversion
        geometry = (
            "a TIFF holds no scan geometry: where the voxels lie (position, orientation, spacing) is not"
            " kept; save as .nii.gz or .dcm to keep it"
        )
        doc = ImageDoc(
            pixels=doc.pixels,
            path=doc.path,
            format="TIFF",
            dtype="float32",
            mode="L" if doc.pixels.shape[-1] == 1 else "RGB",
            provenance=doc.provenance,
        )
        return write_image(doc, target, said=(geometry,), **options)
    return write_image(doc, target, **options)


def write_image(doc: ImageDoc, target: Path, said: tuple[str, ...] = (), **options: Any) -> Written:
    """`doc` in the format its extension names; `said`: what the conversion loses besides what this
    writer finds itself."""
    fmt = WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        choices = ", ".join(sorted(set(WRITE_FORMATS)))
        raise WriteError(f"{target.name}: cannot save an image {as_extension(target.suffix)} (use {choices})")
    pixels = np.asarray(doc.pixels, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels[None]
    if pixels.ndim != 4 or pixels.shape[-1] not in (1, 3, 4):
        raise WriteError(f"{target.name}: cannot save pixels of shape {pixels.shape}")
    fits(doc, target)
    dtype = doc.dtype if doc.dtype in ("uint8", "uint16", "float32") else "float32"
    notes = list(said)
    if fmt in EIGHT_BIT_ONLY and dtype != "uint8":
        pixels = _to_8bit(pixels, doc)
        notes.append(f"{fmt} holds 8 bits per sample: values were scaled from {dtype} to uint8")
        dtype = "uint8"
    elif fmt == "PNG" and dtype == "float32":
        lo, hi = doc.value_range
        pixels = (pixels - lo) / ((hi - lo) or 1.0) * 65535.0
        notes.append(f"PNG holds no floats: values {lo:g}..{hi:g} were scaled to 0..65535")
        dtype = "uint16"
    if fmt == "JPEG" and pixels.shape[-1] == 4:
        pixels = pixels[..., :3]
        notes.append("JPEG has no alpha channel: alpha was dropped")
    data = to_stored(pixels, dtype)
    meta_text = provenance.as_json(doc, target)
    if notes:
        record = json.loads(meta_text)
        record["conversion"] = notes
        meta_text = json.dumps(record, separators=(",", ":"))

    def write(tmp: Path) -> None:
        if fmt == "TIFF":
            _write_tiff(tmp, data, meta_text, doc)
        elif fmt == "PNG" and dtype == "uint16" and data.shape[-1] in (3, 4):
            _write_png16_color(tmp, data[0], meta_text, doc)
        else:
            _write_pillow(tmp, data[0], fmt, meta_text, doc, options)

    return Written(atomic_write(target, write), tuple(notes))


def fits(doc: ImageDoc, target: Path) -> None:
    """Refuse several pages (a GIF's frames, a multi-page TIFF) for a format that holds one."""
    fmt = WRITE_FORMATS.get(target.suffix.lower())
    frames = doc.pixels.shape[0] if doc.pixels.ndim == 4 else 1
    if frames > 1 and fmt not in (None, "TIFF"):
        raise WriteError(f"{target.name}: {fmt} holds one frame but the image has {frames}; save it as .tif")


def _to_8bit(pixels: np.ndarray, doc: ImageDoc) -> np.ndarray:
    lo, hi = doc.value_range
    return (pixels - lo) / ((hi - lo) or 1.0) * 255.0


def to_stored(pixels: np.ndarray, dtype: str) -> np.ndarray:
    """Round and clip float pixels into the stored type (no wrap-around)."""
    if dtype == "float32":
        return pixels.astype(np.float32)
    info = np.iinfo(dtype)
    return np.clip(np.rint(pixels), info.min, info.max).astype(dtype)


def _write_tiff(tmp: Path, data: np.ndarray, meta_text: str, doc: ImageDoc) -> None:
    import tifffile

    frames = data[..., 0] if data.shape[-1] == 1 else data
    photometric = "minisblack" if data.shape[-1] == 1 else "rgb"
    extrasamples = ["unassalpha"] if data.shape[-1] == 4 else None
    icc = _colour_profile(doc)  # kept as PNG and JPEG keep it (a walk-through's TIFF lost it)
    profile = [(ICC_TIFF_TAG, 7, len(icc), icc, True)] if icc else []
    dpi = (doc.metadata or {}).get("dpi")
    size = {"resolution": tuple(float(v) for v in dpi), "resolutionunit": "INCH"} if dpi else {}
    description, tags = image_tags.tiff_tags(doc.metadata or {}, meta_text)
    with tifffile.TiffWriter(tmp) as tw:
        for i, frame in enumerate(frames):
            tw.write(
                frame,
                photometric=photometric,
                extrasamples=extrasamples,
                compression="zlib",
                description=description if i == 0 else None,
                software="Lacuna",
                metadata=None,
                extratags=profile + (tags if i == 0 else []),
                **size,
            )


ICC_TIFF_TAG = 34675  # InterColorProfile


def _colour_profile(doc: ImageDoc) -> bytes | None:
    """The source's ICC profile, where one was read and the pixels are still colour it describes."""
    icc = (doc.metadata or {}).get("icc_profile")
    return bytes(icc) if icc and doc.pixels.shape[-1] in (3, 4) else None


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _write_png16_color(tmp: Path, frame: np.ndarray, meta_text: str, doc: ImageDoc) -> None:
    import cv2

    icc, dpi = _colour_profile(doc), (doc.metadata or {}).get("dpi")

    bgr = frame[..., [2, 1, 0, 3]] if frame.shape[-1] == 4 else frame[..., ::-1]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr))
    if not ok:
        raise WriteError(f"{tmp.name}: OpenCV could not encode the 16-bit PNG")
    raw = encoded.tobytes()
    # the colour profile right after IHDR (signature 8 bytes, IHDR 25), before the image data
    profile = _png_chunk(b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc)) if icc else b""
    if dpi:  # pHYs: pixels per metre, unit 1 (metre)
        per_metre = [round(float(v) / 0.0254) for v in dpi]
        profile += _png_chunk(b"pHYs", struct.pack(">IIB", per_metre[0], per_metre[1], 1))
    # the source's words (UTF-8 iTXt) and our tEXt chunk just before IEND (the last 12 bytes)
    texts = [
        _png_chunk(b"iTXt", key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + value.encode("utf-8"))
        for key, value in image_tags.png_text(doc.metadata or {}).items()
    ]
    record = PROVENANCE_KEY.encode("latin-1") + b"\x00" + meta_text.encode("latin-1")
    texts.append(_png_chunk(b"tEXt", record))
    tmp.write_bytes(raw[:33] + profile + raw[33:-12] + b"".join(texts) + raw[-12:])


def _write_pillow(
    tmp: Path, frame: np.ndarray, fmt: str, meta_text: str, doc: ImageDoc, options: dict[str, Any]
) -> None:
    import PIL.Image
    import PIL.PngImagePlugin

    # uint16 gray becomes mode "I;16", uint8 "L", "RGB" or "RGBA"
    im = PIL.Image.fromarray(np.ascontiguousarray(frame[..., 0] if frame.shape[-1] == 1 else frame))
    kwargs: dict[str, Any] = {}
    meta = doc.metadata
    if meta.get("icc_profile") and fmt != "BMP" and im.mode != "I;16":
        kwargs["icc_profile"] = meta["icc_profile"]
    if meta.get("dpi"):
        kwargs["dpi"] = meta["dpi"]
    exif = image_tags.exif_for(meta, provenance.summary(doc))
    if fmt == "PNG":
        info = PIL.PngImagePlugin.PngInfo()
        for key, value in image_tags.png_text(meta).items():
            if key == image_tags.XMP_PNG_KEYWORD:  # the XMP specification's place: uncompressed iTXt
                info.add_itxt(key, value)
            else:
                info.add_text(key, value)
        info.add_text(PROVENANCE_KEY, meta_text)
        kwargs["pnginfo"] = info
        if meta.get("exif"):
            kwargs["exif"] = exif.tobytes()
    elif fmt == "JPEG":
        kwargs.update(
            quality=int(options.get("quality", 95)), exif=exif.tobytes(), comment=meta_text.encode("utf-8")
        )
    elif fmt == "WEBP":
        if "quality" in options:
            kwargs["quality"] = int(options["quality"])
        else:
            kwargs["lossless"] = True
        kwargs["exif"] = exif.tobytes()
    xmp = image_tags.xmp_of(meta)
    if fmt == "WEBP":  # no comment or text field: the record goes into the XMP
        kwargs["xmp"] = xmp_record.with_record(xmp, meta_text)
    elif fmt == "JPEG" and xmp:
        kwargs["xmp"] = xmp
    im.save(tmp, format=fmt, **kwargs)


# ----------------------------------------------------------------------------------------- describe
def describe(doc: ImageDoc, scan: bool = True) -> dict[str, Any]:
    frames, height, width, channels = doc.pixels.shape
    info: dict[str, Any] = {
        "shape": [frames, height, width, channels],
        "frames": frames,
        "width": width,
        "height": height,
        "channels": channels,
        "mode": doc.mode,
        "dtype": doc.dtype,
        "value_range": minmax(doc.pixels),
        "nominal_range": [num(v) for v in doc.value_range],
    }
    masked_out = not_numbers(doc.pixels)  # a float TIFF's masked-out pixels
    if masked_out:
        info["not_a_number"] = masked_out
    if doc.metadata.get("dpi"):
        info["dpi"] = [round(float(v), 1) for v in doc.metadata["dpi"]]  # 96, not 95.9866
    if doc.metadata.get("lacuna_provenance"):
        info["lacuna_provenance"] = True
    from core.jpeg import saved_quality

    if doc.metadata.get("converted_from"):  # said, not done silently (a walk-through's CMYK JPEG)
        info["source_photometric"] = f"{doc.metadata['converted_from']}, read as RGB by a plain conversion"
    quality = saved_quality(doc)
    if quality is not None:  # what the blocks say, not the file's own claim (a re-saved JPEG lies)
        info["jpeg_quality"] = quality
    return info


def _magic(head: bytes) -> bool:
    return (
        head[:8] == b"\x89PNG\r\n\x1a\n"
        or head[:3] == b"\xff\xd8\xff"
        or head[:2] == b"BM"
        or head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
        or head[:6] in (b"GIF87a", b"GIF89a")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )


FORMAT = FileFormat(
    name="image",
    title="images: PNG, JPEG, TIFF, BMP, WebP",
    extensions=(".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"),
    magic=_magic,
    read=read_image,
    write=write,
    writes={"image": tuple(WRITE_FORMATS), "volume": (".tif", ".tiff")},
    saved_as={name: ext for ext, name in reversed(WRITE_FORMATS.items())} | {"GIF": ".png", "MPO": ".jpg"},
    describe=describe,
    fits=fits,
)
