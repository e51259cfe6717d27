"""Which methods suit which kind of picture: the rule that keeps photo-trained networks off scans by default.

A learned method's card lists the modalities its network was trained and validated on (`modalities`);
a method that learns nothing from outside data (classical, zero-shot) works in the document's own
units and suits every modality. On a scan (CT, MR, X-ray, ultrasound, any volume) the default of a task
is its default only if that suits the scan; otherwise the task's `scan_default` method runs. A named
method that does not suit runs with a warning, recorded in the result's provenance.
"""

from __future__ import annotations

from typing import Any

# DICOM Modality (0008,0060) -> the modality names cards use.
DICOM_MODALITIES = {
    "CT": "ct",
    "MR": "mr",
    "CR": "xray",
    "DX": "xray",
    "DR": "xray",
    "MG": "xray",
    "RF": "xray",
    "XA": "xray",
    "IO": "xray",
    "PX": "xray",
    "US": "us",
    "NM": "nm",
    "PT": "pet",
}
PHOTO_MODALITIES = ("photo", "gray", "video", "film", "audio")
NAMES = {"ct": "CT", "mr": "MR", "xray": "X-ray", "us": "ultrasound", "nm": "nuclear medicine", "pet": "PET"}


def modality_of(document: Any) -> str:
    """'ct', 'mr', 'xray', 'us', ... for a scan ('scan' when the file does not say), else 'photo' etc.

    A volume that does not name its modality (NIfTI) but reaches air (about -1000 HU) is a CT in HU:
    magnitude MR and photos never go that low; a signed MR phase volume saved without its modality
    would pass, so such files should say what they are (DICOM does)."""
    kind = str(getattr(document, "kind", ""))
    if kind == "image":  # a clip's frames taken as a stack of pictures are still video
        return "video" if getattr(document, "format", "") == "video" else "photo"
    if kind != "volume":
        return kind
    named = DICOM_MODALITIES.get(str(getattr(document, "modality", "")).upper(), "scan")
    return "ct" if named == "scan" and float(document.pixels.min()) <= -900.0 else named


def is_ct(document: Any) -> bool:
    """A CT in HU (core.methods.modality.modality_of says how an unnamed volume is recognised)."""
    return modality_of(document) == "ct"


def slice_count(document: Any) -> int | None:
    """How many frames (slices) an image or volume holds, for methods that need neighbouring slices;
    None for other documents."""
    return int(document.frames) if getattr(document, "kind", "") in ("image", "volume") else None


def slices_showing(document: Any, mask: Any = None, frames: Any = None, params: Any = None) -> int | None:
    """`slice_count` as the default method's choice should see it: one 2-D mask for a whole volume
    (no frames named) hides the same place on every slice, so no slice shows what it hides: as if
    the picture had one slice. So does a mask per slice where some slice's marks are marked on every
    other slice too: a detection's, which marks anatomy at much the same places on each, or masks
    loaded from files (`core.methods.inpaint_slices.every_hole_seen`), weighed as the method will
    fill them: grown by the `dilate` of `params` (the mask contract's)."""
    count = slice_count(document)
    if count and count > 1 and mask is not None:
        if getattr(mask, "ndim", 0) == 2 and not frames:
            return 1
        if getattr(mask, "ndim", 0) == 3:
            import numpy as np

            from core.masks import dilate
            from core.methods.inpaint_slices import every_hole_seen

            grow = _whole_pixels((params or {}).get("dilate", 0))
            holes = np.asarray(mask) > 0
            holes = np.stack([dilate(m, grow) for m in holes]) if grow else holes
            return count if every_hole_seen(holes) else 1
    return count


def _whole_pixels(value: Any) -> int:
    """A `dilate` as given (a number, or the CLI's text); 0 for one the method's card will refuse."""
    try:
        return max(0, int(float(value)))
    except (TypeError, ValueError):
        return 0


def is_scan(modality: str) -> bool:
    return modality not in PHOTO_MODALITIES


def learns_from_outside_data(card: Any) -> bool:
    return card.kind == "learned"


def suits(card: Any, modality: str) -> bool:
    """True when `card`'s method may be trusted on `modality` (model-free, or trained and validated on it)."""
    invents = learns_from_outside_data(card) or card.copies_texture
    return not invents or modality in card.modalities or not is_scan(modality)


def trained_on(card: Any) -> str:
    """'CT and MR', 'photographs': what `card`'s method was trained on, in words."""
    names = {"photographs" if m in ("photo", "gray") else NAMES.get(m, m) for m in card.modalities}
    return " and ".join(sorted(names))


def warning(card: Any, modality: str) -> str:
    """What to tell a person running `card` on `modality` ('' when it suits)."""
    if suits(card, modality):
        return ""
    scan = NAMES.get(modality, "this scan")
    if card.copies_texture:
        return (
            f"{card.id} copies patches from elsewhere in the picture: on {scan} that can put anatomy where "
            "there is none; compare with the original before using the result"
        )
    trained = trained_on(card)
    if modality == "scan":  # a NIfTI names no modality: its card's scores may well hold (walk-through 53)
        return (
            f"{card.id} was trained on {trained}, and this file does not say which kind of scan it is: on"
            " another kind it can invent structure that looks like anatomy; compare with the original"
            " before using the result"
        )
    return (
        f"{card.id} was trained on {trained}, not validated on {scan}: it can invent structure that looks "
        "like anatomy; compare with the original before using the result"
    )
