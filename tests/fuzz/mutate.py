"""Mutations of a seed file's bytes: blind ones (bit flips, cuts, hostile integers anywhere) and ones that
know the format's layout (PNG chunks with their CRC fixed, JPEG markers, DICOM attributes, NIfTI
header fields, WAV/FLAC/Ogg headers), so that a mutation gets past the first checksum and reaches the
decoder. Everything is drawn from a `random.Random`, so an input is reproduced from its number."""

from __future__ import annotations

import gzip
import io
import random
import struct
import zlib
from collections.abc import Callable

Mutation = Callable[[bytes, random.Random], bytes]

HOSTILE = (
    0,
    1,
    2,
    7,
    8,
    15,
    16,
    255,
    256,
    0x7FFF,
    0x8000,
    0xFFFF,
    0x10000,
    0x7FFFFFFF,
    0x80000000,
    0xFFFFFFFF,
)


# ------------------------------------------------------------------------------------------- blind
def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(out))
        out[pos] ^= 1 << rng.randrange(8)
    return bytes(out)


def hostile_int(data: bytes, rng: random.Random, at: int | None = None, width: int | None = None) -> bytes:
    width = width or rng.choice((1, 2, 4, 8))
    if len(data) < width:
        return data
    at = rng.randrange(len(data) - width + 1) if at is None else at
    value = rng.choice(HOSTILE) & ((1 << (8 * width)) - 1)
    return data[:at] + value.to_bytes(width, rng.choice(("little", "big"))) + data[at + width :]


def cut(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(1, max(2, len(data)))]


def delete_range(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    return data[:start] + data[start + rng.randint(1, 64) :]


def insert_bytes(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data) + 1)
    return data[:start] + rng.randbytes(rng.randint(1, 64)) + data[start:]


def duplicate_range(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(1, 256)]
    at = rng.randrange(len(data) + 1)
    return data[:at] + piece * rng.randint(1, 8) + data[at:]


BLIND = (flip_bits, hostile_int, hostile_int, cut, delete_range, insert_bytes, duplicate_range)


# --------------------------------------------------------------------------------------------- PNG
def _png_chunks(data: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, length, type) of each chunk that fits in the file."""
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append((pos, length, data[pos + 4 : pos + 8]))
        if pos + 12 + length > len(data):
            break
        pos += 12 + length
    return chunks


def _png_with_payload(data: bytes, pos: int, length: int, payload: bytes) -> bytes:
    kind = data[pos + 4 : pos + 8]
    chunk = struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    return data[:pos] + chunk + data[pos + 12 + length :]


def png_chunk_field(data: bytes, rng: random.Random) -> bytes:
    """A hostile value in a chunk's payload (IHDR size, depth, colour type; acTL frames...), CRC fixed."""
    chunks = [c for c in _png_chunks(data) if c[1] > 0 and c[0] + 12 + c[1] <= len(data)]
    if not chunks:
        return hostile_int(data, rng)
    ihdr = [c for c in chunks if c[2] == b"IHDR"]
    pos, length, _ = rng.choice(ihdr) if ihdr and rng.random() < 0.5 else rng.choice(chunks)
    payload = data[pos + 8 : pos + 8 + length]
    mutated = (
        hostile_int(payload, rng, width=rng.choice((1, 4))) if rng.random() < 0.7 else flip_bits(payload, rng)
    )
    return _png_with_payload(data, pos, length, mutated)


def png_chunk_order(data: bytes, rng: random.Random) -> bytes:
    """Drop, repeat or cut a whole chunk, or lie about its length."""
    chunks = _png_chunks(data)
    if not chunks:
        return cut(data, rng)
    pos, length, _ = rng.choice(chunks)
    whole = data[pos : pos + 12 + length]
    choice = rng.randrange(4)
    if choice == 0:
        return data[:pos] + data[pos + 12 + length :]
    if choice == 1:
        return data[:pos] + whole * rng.randint(2, 20) + data[pos + 12 + length :]
    if choice == 2:
        return data[: pos + 8 + rng.randrange(length + 4)]
    return hostile_int(data, rng, at=pos, width=4)


def png_bomb(data: bytes, rng: random.Random) -> bytes:
    """IHDR declares a large image while IDAT stays small (compressed zeros)."""
    chunks = _png_chunks(data)
    ihdr = [c for c in chunks if c[2] == b"IHDR" and c[1] == 13]
    if not ihdr:
        return png_chunk_field(data, rng)
    pos, length, _ = ihdr[0]
    payload = bytearray(data[pos + 8 : pos + 21])
    payload[0:8] = struct.pack(">II", rng.choice((1, 64, 4096, 30000)), rng.choice((4096, 30000, 1 << 20)))
    data = _png_with_payload(data, pos, length, bytes(payload))
    idat = [c for c in _png_chunks(data) if c[2] == b"IDAT"]
    if idat:
        pos, length, _ = idat[0]
        zeros = zlib.compress(bytes(rng.choice((1000, 100_000, 1_000_000))), 9)
        data = _png_with_payload(data, pos, length, zeros)
    return data


# -------------------------------------------------------------------------------------------- JPEG
def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset of the 0xFF marker, segment length) up to the start of scan."""
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segments.append((pos, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return segments


def jpeg_field(data: bytes, rng: random.Random) -> bytes:
    """A hostile value in a header segment: frame size (SOF), tables (DQT/DHT), scan (SOS), lengths."""
    segments = _jpeg_segments(data)
    if not segments:
        return hostile_int(data, rng)
    sof = [s for s in segments if data[s[0] + 1] in (0xC0, 0xC1, 0xC2)]
    pos, length = rng.choice(sof) if sof and rng.random() < 0.4 else rng.choice(segments)
    if pos + 2 + length > len(data) or length < 3:
        return hostile_int(data, rng)
    at = pos + 2 + rng.randrange(length - 1)
    return hostile_int(data, rng, at=at, width=rng.choice((1, 2)))


def jpeg_cut_scan(data: bytes, rng: random.Random) -> bytes:
    """Truncate inside the entropy-coded data (the most common damage of real JPEGs)."""
    segments = _jpeg_segments(data)
    start = segments[-1][0] + 2 + segments[-1][1] if segments else 2
    if start >= len(data):
        return cut(data, rng)
    return data[: rng.randrange(start, len(data))]


def jpeg_bomb(data: bytes, rng: random.Random) -> bytes:
    """The frame header declares a huge image over the small scan (a few hundred bytes, gigapixels)."""
    sof = [s for s in _jpeg_segments(data) if data[s[0] + 1] in (0xC0, 0xC1, 0xC2)]
    if not sof:
        return jpeg_field(data, rng)
    pos = sof[0][0]
    size = struct.pack(">HH", rng.choice((8, 4000, 22000, 65500)), rng.choice((4000, 22000, 65500)))
    return data[: pos + 5] + size + data[pos + 9 :]


# -------------------------------------------------------------------------------------------- TIFF
def tiff_entry(data: bytes, rng: random.Random) -> bytes:
    """A hostile count or value in an entry of the first IFD (sizes, bits, strip offsets and counts)."""
    order = "<" if data[:2] == b"II" else ">"
    if len(data) < 8 or data[2:4] not in (b"*\x00", b"\x00*"):
        return hostile_int(data, rng)
    (ifd,) = struct.unpack(order + "I", data[4:8])
    if ifd + 2 > len(data):
        return hostile_int(data, rng)
    (entries,) = struct.unpack(order + "H", data[ifd : ifd + 2])
    entries = min(entries, (len(data) - ifd - 2) // 12)
    if entries <= 0:
        return hostile_int(data, rng, at=ifd, width=2)
    entry = ifd + 2 + 12 * rng.randrange(entries)
    at, width = rng.choice(((entry + 2, 2), (entry + 4, 4), (entry + 8, 4), (entry + 8, 2)))
    return hostile_int(data, rng, at=at, width=width)


# ------------------------------------------------------------------------------------------- DICOM
DICOM_ATTRIBUTES = {
    "Rows": (0, 1, 3, 65535),
    "Columns": (0, 1, 3, 65535),
    "BitsAllocated": (0, 1, 7, 8, 12, 32, 64),
    "BitsStored": (0, 1, 9, 33, 64),
    "HighBit": (0, 40),
    "SamplesPerPixel": (0, 2, 3, 4),
    "PixelRepresentation": (1, 2),
    "PlanarConfiguration": (1, 7),
    "NumberOfFrames": ("0", "2", "1000000", "abc", "-3"),
    "PhotometricInterpretation": ("MONOCHROME1", "RGB", "PALETTE COLOR", "YBR_FULL_422", "XYZ", ""),
    "PixelSpacing": ("abc", "0\\0", "-1\\1", "nan\\nan", "1e308\\1", "1"),
    "SliceThickness": ("abc", "-2", "inf"),
    "RescaleSlope": ("abc", "0", "nan", "inf", "1e308"),
    "RescaleIntercept": ("abc", "-1e308", "nan"),
    "WindowCenter": ("abc", "nan", "1\\2\\x"),
    "WindowWidth": ("abc", "0", "-5", "inf"),
    "ImagePositionPatient": ("a\\b\\c", "0\\0", "nan\\0\\0", "1e308\\1e308\\1e308"),
    "ImageOrientationPatient": (
        "0\\0\\0\\0\\0\\0",
        "1\\0\\0\\1\\0\\0",
        "a\\b\\c\\d\\e\\f",
        "nan\\0\\0\\0\\1\\0",
    ),
    "InstanceNumber": ("abc", "-1", "99999999999999"),
    "SeriesInstanceUID": ("", "1.2.3", "x" * 80),
}


def dicom_attribute(data: bytes, rng: random.Random) -> bytes:
    """A hostile value in an image attribute, written back with pydicom (falls back to bytes)."""
    import warnings

    import pydicom
    from pydicom.dataelem import RawDataElement
    from pydicom.tag import Tag

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            keyword = rng.choice(sorted(DICOM_ATTRIBUTES))
            value = rng.choice(DICOM_ATTRIBUTES[keyword])
            if rng.random() < 0.15 and "PixelData" in ds:
                ds.PixelData = ds.PixelData[: rng.randrange(len(ds.PixelData) + 1) & ~1]
            elif isinstance(value, int):
                setattr(ds, keyword, value)
            else:  # text written raw: pydicom would refuse to encode it, a hostile file need not
                tag = Tag(keyword)
                vr = pydicom.datadict.dictionary_VR(tag)
                raw = value.encode() + (b" " if len(value) % 2 else b"")
                ds[tag] = RawDataElement(tag, vr, len(raw), raw, 0, ds.is_implicit_VR, ds.is_little_endian)
            out = io.BytesIO()
            ds.save_as(out)
            return out.getvalue()
    except Exception:  # noqa: BLE001 - a seed pydicom cannot round-trip still gets a blind mutation
        return hostile_int(data, rng)


def dicom_pixel_region(data: bytes, rng: random.Random) -> bytes:
    """Mutations aimed at the end of the file, where the pixel data (and compressed fragments) lie."""
    tail = max(0, len(data) - rng.choice((16, 256, 4096)))
    head, body = data[:tail], data[tail:]
    if not body:
        return flip_bits(data, rng)
    return head + rng.choice((flip_bits, hostile_int, cut, delete_range))(body, rng)


# ------------------------------------------------------------------------------------------- NIfTI
NIFTI1_FIELDS = [
    (0, 4),
    *[(40 + 2 * i, 2) for i in range(8)],
    (70, 2),
    (72, 2),
    *[(76 + 4 * i, 4) for i in range(8)],
    (108, 4),
    (112, 4),
    (116, 4),
    (252, 2),
    (254, 2),
    (280, 4),
    (344, 4),
]
NIFTI2_FIELDS = [
    (0, 4),
    (12, 2),
    (14, 2),
    *[(16 + 8 * i, 8) for i in range(8)],
    *[(104 + 8 * i, 8) for i in range(8)],
    (168, 8),
    (176, 8),
    (184, 8),
    (344, 4),
    (348, 4),
]
HOSTILE_FLOATS = (0.0, -1.0, 1e-30, 1e30, float("nan"), float("inf"), 352.0, 540.0)


def nifti_field(data: bytes, rng: random.Random) -> bytes:
    """A hostile value in a header field (dims, datatype, pixdim, vox_offset, scaling, codes)."""
    packed = data[:2] == b"\x1f\x8b"
    try:
        raw = gzip.decompress(data) if packed else data
    except (OSError, EOFError, zlib.error):  # already damaged by an earlier mutation
        return hostile_int(data, rng)
    fields = NIFTI2_FIELDS if raw[:4] in (b"\x1c\x02\x00\x00", b"\x00\x00\x02\x1c") else NIFTI1_FIELDS
    at, width = rng.choice(fields)
    if width in (4, 8) and rng.random() < 0.4 and at >= 76:
        number = struct.pack("<f" if width == 4 else "<d", rng.choice(HOSTILE_FLOATS))
        raw = raw[:at] + number + raw[at + width :]
    else:
        raw = hostile_int(raw, rng, at=at, width=width)
    if rng.random() < 0.3:
        raw = rng.choice((cut, flip_bits, delete_range))(raw, rng)
    return gzip.compress(raw, 1) if packed else raw


# ------------------------------------------------------------------------------------------- audio
def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def audio_header(data: bytes, rng: random.Random) -> bytes:
    """A hostile value in the fields a decoder trusts: WAV fmt/data sizes, FLAC STREAMINFO, Ogg pages."""
    if data[:4] == b"RIFF":
        fields = [(4, 4), (16, 4), (20, 2), (22, 2), (24, 4), (28, 4), (32, 2), (34, 2)]
        data_chunk = data.find(b"data")
        if data_chunk > 0:
            fields.append((data_chunk + 4, 4))
        at, width = rng.choice(fields)
        return hostile_int(data, rng, at=at, width=width)
    if data[:4] == b"fLaC":
        return hostile_int(data, rng, at=rng.randrange(8, 26), width=rng.choice((1, 2, 4)))
    if data[:4] == b"OggS":
        starts = [i for i in range(0, len(data) - 27) if data[i : i + 4] == b"OggS"][:8]
        start = rng.choice(starts)
        segments = data[start + 26]
        end = start + 27 + segments + sum(data[start + 27 : start + 27 + segments])
        page = bytearray(data[start:end])
        page[rng.randrange(4, len(page))] = rng.choice((0, 1, 0x7F, 0x80, 0xFF))
        page[22:26] = b"\x00\x00\x00\x00"
        page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
        return data[:start] + bytes(page) + data[end:]
    return hostile_int(data, rng)


STRUCTURED: dict[str, tuple[Mutation, ...]] = {
    "png": (png_chunk_field, png_chunk_field, png_chunk_order, png_bomb),
    "jpeg": (jpeg_field, jpeg_field, jpeg_cut_scan, jpeg_bomb),
    "tiff": (tiff_entry, tiff_entry),
    "dicom": (dicom_attribute, dicom_attribute, dicom_pixel_region),
    "dicom-folder": (dicom_attribute, dicom_attribute, dicom_pixel_region),
    "nifti": (nifti_field, nifti_field),
    "audio": (audio_header, audio_header),
}


def mutate(data: bytes, family: str, rng: random.Random) -> bytes:
    """One to three stacked mutations; structured ones about half the time where the format has them."""
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if not data:
            break
        structured = STRUCTURED.get(family, ())
        pick = rng.choice(structured) if structured and rng.random() < 0.55 else rng.choice(BLIND)
        data = pick(data, rng)
    return data
