"""The words a picture carries about itself (caption, creator, rights, date, XMP), kept in a derivative.

An archive's derivative must keep the source's caption, creator and rights statement (walk-through 43:
a JPEG's caption was overwritten by Lacuna's summary and its XMP dropped; a TIFF lost its artist,
copyright and date, and its description was replaced by the record). Lacuna's own record goes into
fields of its own (a PNG text chunk, a JPEG comment, a private TIFF tag, the sidecar); the summary is
written as the caption only where the source had none.

The descriptive tags have the same numbers in a TIFF and in EXIF's first directory; a PNG's text
keywords for four of them are read as those tags too, so its words reach a JPEG, WebP or TIFF. Words
beyond ASCII are written to EXIF as UTF-8, as other software does, and read back so.
"""

from __future__ import annotations

from typing import Any

DESCRIBING = {
    270: "ImageDescription",
    271: "Make",
    272: "Model",
    306: "DateTime",
    315: "Artist",
    33432: "Copyright",
}
# the PNG specification's own keywords for them (11.3.4)
PNG_KEYWORDS = {270: "Description", 306: "Creation Time", 315: "Author", 33432: "Copyright"}
XMP_TIFF_TAG = 700
XMP_PNG_KEYWORD = "XML:com.adobe.xmp"
RECORD_TIFF_TAG = 65000  # private: Lacuna's record, where ImageDescription keeps the source's caption
OUR_CAPTION = "Lacuna "  # how the summary Lacuna writes as a caption begins
SETTINGS = ('{"shape":', "shape=(", "ImageJ=")  # descriptions software writes for itself


def from_tiff(page) -> dict[str, Any]:
    """What a TIFF page says about itself: {"described": {tag: text}, "xmp": bytes}, where present."""
    found: dict[str, Any] = {}
    described = {}
    for code in DESCRIBING:
        tag = page.tags.get(code)
        if tag is not None and isinstance(tag.value, str) and tag.value.strip():
            described[code] = tag.value
    if described.get(270, "").startswith(SETTINGS):  # tifffile's or ImageJ's settings, not a caption
        del described[270]
    if described:
        found["described"] = described
    xmp = page.tags.get(XMP_TIFF_TAG)
    if xmp is not None and isinstance(xmp.value, bytes | bytearray) and xmp.value:
        found["xmp"] = bytes(xmp.value)
    return found


def described(meta: dict[str, Any]) -> dict[int, str]:
    """The descriptive tags of the source, whatever it was read from (a TIFF's tags or EXIF)."""
    found = dict(meta.get("described") or {})
    text = meta.get("text") or {}
    for code, keyword in PNG_KEYWORDS.items():  # a PNG's own words, for a JPEG, WebP or TIFF made of it
        if isinstance(text.get(keyword), str) and text[keyword].strip():
            found.setdefault(code, text[keyword])
    exif = _exif(meta)
    for code in DESCRIBING:
        value = _text(exif.get(code))
        if value and value.strip():
            found.setdefault(code, value)
    if found.get(270, "").startswith(OUR_CAPTION):  # an earlier Lacuna summary, not the source's caption
        del found[270]
    return found


def exif_for(meta: dict[str, Any], summary: str):
    """The EXIF to write: the source's, upright, with its descriptive tags (from a TIFF too), Lacuna as
    the software and the summary as the caption where the source had none."""
    exif = _exif(meta)
    words = described(meta)
    for code, value in words.items():
        if code not in exif:  # the source's own entries stay as they were (Pillow would re-encode them)
            exif[code] = value if value.isascii() else value.encode("utf-8")  # else Pillow writes '?'
    exif[0x0112] = 1
    exif[0x0131] = "Lacuna"
    if 270 not in words:
        exif[270] = summary
    return exif


def png_text(meta: dict[str, Any]) -> dict[str, str]:
    """The PNG text chunks to write (but Lacuna's record): the source's own, its descriptive tags under
    the PNG keywords, and its XMP packet."""
    text = dict(meta.get("text") or {})
    for code, value in described(meta).items():
        if code in PNG_KEYWORDS:
            text.setdefault(PNG_KEYWORDS[code], value)
    xmp = xmp_of(meta)
    if xmp:
        text[XMP_PNG_KEYWORD] = xmp.decode("utf-8", "replace")
    return text


def xmp_of(meta: dict[str, Any]) -> bytes | None:
    """The source's XMP packet: a JPEG's, WebP's or TIFF's, or a PNG's text chunk."""
    if meta.get("xmp"):
        return bytes(meta["xmp"])
    text = (meta.get("text") or {}).get(XMP_PNG_KEYWORD)
    return text.encode("utf-8") if isinstance(text, str) and text.strip() else None


def capture_date(meta: dict[str, Any]) -> str | None:
    """EXIF's DateTimeOriginal: a camera JPEG's only date, which a TIFF has no place for but DateTime."""
    value = _exif(meta).get_ifd(0x8769).get(0x9003)
    return value if isinstance(value, str) and value.strip() else None


def tiff_tags(meta: dict[str, Any], record: str) -> tuple[str | bytes, list[tuple]]:
    """(ImageDescription, tifffile extratags): the source's caption and the record in its own tag,
    or the record as the description where the source had no caption; the other descriptive tags
    and the XMP packet."""
    found = described(meta)
    caption = found.pop(270, None)
    date = found.get(306) or capture_date(meta)
    if date:
        found[306] = date
    tags = [(code, "s", 0, value.encode("utf-8"), True) for code, value in sorted(found.items())]
    xmp = xmp_of(meta)
    if xmp:
        tags.append((XMP_TIFF_TAG, "B", len(xmp), xmp, True))
    if caption:
        tags.append((RECORD_TIFF_TAG, "s", 0, record.encode("utf-8"), True))
        return caption.encode("utf-8"), tags  # bytes: tifffile refuses a str beyond ASCII
    return record, tags


def keep_text_bytes(exif):
    """`exif` with its texts beyond ASCII held as their bytes, returned. EXIF's text fields are ASCII,
    so software beyond it (Lightroom, ExifTool, Lacuna) writes UTF-8 there; Pillow reads those bytes
    as Latin-1 ("FotÃ³") and writes a text back as ASCII, '?' for the rest."""
    for code, value in list(exif.items()):
        if isinstance(value, str) and not value.isascii():
            exif[code] = value.encode("latin-1", "replace")
    return exif


def _text(value) -> str | None:
    """An EXIF text as its writer meant it: UTF-8 where it is, else Latin-1."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _exif(meta: dict[str, Any]):
    """The source's EXIF as Pillow's editable mapping (empty where it had none)."""
    import PIL.Image

    exif = PIL.Image.Exif()
    if meta.get("exif"):
        exif.load(meta["exif"])
    return keep_text_bytes(exif)
