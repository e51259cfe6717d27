"""Photos and scans of paper: PNG, JPEG, TIFF (multi-page), BMP, WebP through Pillow and tifffile.

Pixels are float32 (frames, H, W, C) in the file's own units (0..255 or 0..65535); EXIF orientation is
applied on reading, so the saved result is upright and carries orientation 1. 16-bit stays 16-bit
where the format can hold it (PNG, TIFF); JPEG, BMP and WebP are 8-bit formats, so 16-bit data is
scaled to 8 bits there (the sidecar says so). Pillow reads 16-bit colour PNGs as 8-bit, so those
are decoded (and encoded) with OpenCV instead.
"""

from __future__ import annotations

import json
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from core.documents import ImageDoc
from core.errors import ReadError, WriteError
from core.io import limits, provenance
from core.io.atomic import atomic_write

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
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
        8: lambda a: np.rot90(a, k=1),
    }
    op = ops.get(int(orientation or 1))
    return np.ascontiguousarray(op(arr)) if op else arr


def _pillow_frame(im, path: Path) -> tuple[np.ndarray, str, str]:
    """One decoded frame as (H, W, C) array, its channel mode and stored dtype."""
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(im).astype(np.uint16)[..., None], "L", "uint16"
    if mode == "I":
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            return a.astype(np.float32)[..., None], "L", "float32"
        return a.astype(np.uint16)[..., None], "L", "uint16"
    if mode == "F":
        return np.asarray(im, dtype=np.float32)[..., None], "L", "float32"
    if mode in ("1", "L"):
        return np.asarray(im.convert("L"))[..., None], "L", "uint8"
    if mode in ("LA", "La", "PA", "RGBa", "RGBA") or (mode == "P" and "transparency" in im.info):
        return np.asarray(im.convert("RGBA")), "RGBA", "uint8"
    if mode == "P" and im.palette is not None and im.palette.mode == "L":
        return np.asarray(im.convert("L"))[..., None], "L", "uint8"
    return np.asarray(im.convert("RGB")), "RGB", "uint8"


def _read_pillow(path: Path) -> ImageDoc:
    import PIL.Image

    try:
        with _PILLOW_LOCK:  # open reads only the header: our own check below names the limit
            PIL.Image.MAX_IMAGE_PIXELS = None
            try:
                im = PIL.Image.open(path)
            finally:
                limits.sync_pillow()
    except PIL.UnidentifiedImageError as exc:
        raise ReadError(f"{path.name}: not an image Lacuna can read (unknown or damaged format)") from exc
    try:
        with im:
            frames, modes, dtypes, fmt, metadata = _pillow_frames(im, path)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ReadError(_decode_message(path, exc)) from exc
    mode = "RGBA" if "RGBA" in modes else ("RGB" if "RGB" in modes else "L")
    if len(set(modes)) > 1:  # animated images may mix palette modes: bring them to one layout
        frames = [_to_channels(f, len(mode)) for f in frames]
    dtype = "float32" if "float32" in dtypes else ("uint16" if "uint16" in dtypes else "uint8")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:
        raise ReadError(f"{path.name}: its frames have different sizes, which Lacuna does not support")
    pixels = np.stack(frames).astype(np.float32)
    return ImageDoc(pixels=pixels, path=path, format=fmt, dtype=dtype, mode=mode, metadata=metadata)


def _pillow_frames(im, path: Path):
    """Every frame of an open Pillow image, upright, with its channel mode and stored dtype."""
    width, height = im.size
    n_frames = int(getattr(im, "n_frames", 1) or 1)
    limits.check_pixels(path, width * height * n_frames)
    fmt = im.format or "PNG"
    exif = im.getexif()
    orientation = int(exif.get(0x0112, 1) or 1)
    metadata = _pillow_metadata(im, exif)
    frames, modes, dtypes = [], [], []
    for i in range(n_frames):
        im.seek(i)
        im.load()
        arr, mode, dtype = _pillow_frame(im, path)
        frames.append(orient(arr, orientation))
        modes.append(mode)
        dtypes.append(dtype)
    return frames, modes, dtypes, fmt, metadata


def _to_channels(arr: np.ndarray, c: int) -> np.ndarray:
    if arr.shape[-1] == c:
        return arr
    rgb = np.repeat(arr[..., :1], 3, axis=-1) if arr.shape[-1] == 1 else arr[..., :3]
    if c == 4:
        alpha = arr[..., 3:4] if arr.shape[-1] == 4 else np.full_like(arr[..., :1], 255)
        return np.concatenate([rgb, alpha], axis=-1)
    return rgb


def _decode_message(path: Path, exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "truncated" in text.lower() or "broken data stream" in text.lower():
        return f"{path.name}: the image data is truncated ({text})"
    if "requires the" in text and "package" in text:  # tifffile: no codec for this compression
        return f"{path.name}: its compression cannot be decoded here ({text}); the file itself may be fine"
    return f"{path.name}: the image data is damaged ({text})"


def _pillow_metadata(im, exif) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if im.info.get("icc_profile"):
        meta["icc_profile"] = im.info["icc_profile"]
    if "dpi" in im.info:
        meta["dpi"] = tuple(float(v) for v in im.info["dpi"])
    if len(exif):
        exif = PIL_exif_copy(exif)
        exif[0x0112] = 1  # the pixels are upright now
        meta["exif"] = exif.tobytes()
    text = {k: v for k, v in getattr(im, "text", {}).items() if k != PROVENANCE_KEY and isinstance(v, str)}
    if text:
        meta["text"] = text
    if PROVENANCE_KEY in getattr(im, "text", {}):
        meta["lacuna_provenance"] = im.text[PROVENANCE_KEY]
    return meta


def PIL_exif_copy(exif):  # noqa: N802 - mirrors Pillow's class name
    import PIL.Image

    copy = PIL.Image.Exif()
    copy.load(exif.tobytes())
    return copy


def _read_png16_color(path: Path, head: bytes) -> ImageDoc:
    import cv2

    width, height = struct.unpack(">II", head[16:24])
    limits.check_pixels(path, width * height)
    data = np.fromfile(path, dtype=np.uint8)
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None or arr.shape[:2] != (height, width):
        raise ReadError(f"{path.name}: the 16-bit PNG data is damaged or truncated")
    arr = arr[..., [2, 1, 0, 3]] if arr.shape[-1] == 4 else arr[..., ::-1]
    meta: dict[str, Any] = {}
    try:  # Pillow still reads the chunks (text, eXIf, iCCP) even though it cannot hold 16-bit colour
        import PIL.Image

        with PIL.Image.open(path) as im:
            exif = im.getexif()
            arr = orient(arr, int(exif.get(0x0112, 1) or 1))
            meta = _pillow_metadata(im, exif)
    except Exception:  # noqa: BLE001 - metadata is optional; the pixels are already decoded
        pass
    mode = "RGBA" if arr.shape[-1] == 4 else "RGB"
    return ImageDoc(
        pixels=arr[None].astype(np.float32), path=path, format="PNG", dtype="uint16", mode=mode, metadata=meta
    )


def _read_tiff(path: Path) -> ImageDoc:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            pages = list(tif.pages)
            if not pages:
                raise ReadError(f"{path.name}: the TIFF holds no images")
            first = pages[0]
            same = [p for p in pages if p.shape == first.shape and p.dtype == first.dtype]
            axes = first.axes
            h = first.shape[axes.index("Y")] if "Y" in axes else first.shape[0]
            w = first.shape[axes.index("X")] if "X" in axes else first.shape[1]
            limits.check_pixels(path, h * w * len(same))
            orientation = int(first.tags["Orientation"].value) if "Orientation" in first.tags else 1
            desc = first.description or ""
            frames = [_tiff_page(p.asarray(), p.axes, path) for p in same]
    except ReadError:
        raise
    except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
        raise ReadError(_decode_message(path, exc)) from exc
    frames = [orient(f, orientation) for f in frames]
    pixels = np.stack(frames)
    dtype = str(pixels.dtype)
    if dtype not in ("uint8", "uint16"):
        dtype = "float32" if pixels.dtype.kind == "f" else dtype
    c = pixels.shape[-1]
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[c]
    metadata: dict[str, Any] = {}
    if desc.startswith("{") and PROVENANCE_KEY in desc:
        metadata["lacuna_provenance"] = desc
    elif desc:
        metadata["description"] = desc
    return ImageDoc(
        pixels=pixels.astype(np.float32), path=path, format="TIFF", dtype=dtype, mode=mode, metadata=metadata
    )


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
def write_image(doc: ImageDoc, target: Path, **options: Any) -> Path:
    fmt = WRITE_FORMATS.get(target.suffix.lower())
    if fmt is None:
        choices = ", ".join(sorted(set(WRITE_FORMATS)))
        raise WriteError(
            f"{target.name}: cannot save an image as {target.suffix or 'no extension'} (use {choices})"
        )
    pixels = np.asarray(doc.pixels, dtype=np.float32)
    if pixels.ndim == 3:
        pixels = pixels[None]
    if pixels.ndim != 4 or pixels.shape[-1] not in (1, 3, 4):
        raise WriteError(f"{target.name}: cannot save pixels of shape {pixels.shape}")
    if pixels.shape[0] > 1 and fmt != "TIFF":
        raise WriteError(
            f"{target.name}: {fmt} holds one frame but the image has {pixels.shape[0]}; save it as .tif"
        )
    dtype = doc.dtype if doc.dtype in ("uint8", "uint16", "float32") else "float32"
    notes = []
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
        doc.metadata["write_notes"] = notes

    def write(tmp: Path) -> None:
        if fmt == "TIFF":
            _write_tiff(tmp, data, meta_text, doc)
        elif fmt == "PNG" and dtype == "uint16" and data.shape[-1] in (3, 4):
            _write_png16_color(tmp, data[0], meta_text)
        else:
            _write_pillow(tmp, data[0], fmt, meta_text, doc, options)

    return atomic_write(target, write)


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
    with tifffile.TiffWriter(tmp) as tw:
        for i, frame in enumerate(frames):
            tw.write(
                frame,
                photometric=photometric,
                extrasamples=extrasamples,
                compression="zlib",
                description=meta_text if i == 0 else None,
                software="Lacuna",
                metadata=None,
            )


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _write_png16_color(tmp: Path, frame: np.ndarray, meta_text: str) -> None:
    import cv2

    bgr = frame[..., [2, 1, 0, 3]] if frame.shape[-1] == 4 else frame[..., ::-1]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr))
    if not ok:
        raise WriteError(f"{tmp.name}: OpenCV could not encode the 16-bit PNG")
    raw = encoded.tobytes()
    # add our tEXt chunk just before IEND (the last 12 bytes)
    text = _png_chunk(b"tEXt", PROVENANCE_KEY.encode("latin-1") + b"\x00" + meta_text.encode("latin-1"))
    tmp.write_bytes(raw[:-12] + text + raw[-12:])


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
    exif = PIL.Image.Exif()
    if meta.get("exif"):
        exif.load(meta["exif"])
    exif[0x0112] = 1
    exif[0x0131] = "Lacuna"
    exif[0x010E] = provenance.summary(doc)
    if fmt == "PNG":
        info = PIL.PngImagePlugin.PngInfo()
        for key, value in (meta.get("text") or {}).items():
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
    im.save(tmp, format=fmt, **kwargs)
