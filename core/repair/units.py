"""Intensity parameters in the document's units: a σ typed for a CT is in HU, and the record says the σ used.

Methods see pictures normalised to [0, 1] and take intensity levels (`Param.intensity`) on the 0-255
scale of that normalised picture. On scans that scale means nothing to a person (σ=1 is 16 HU on one CT
and 60 on another), so there the values are typed and recorded in the scan's own units; on photos the
0-255 scale is the usual one and nothing changes.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from core.errors import MethodError
from core.methods.modality import is_ct
from core.methods.registry import MethodCard, check_number

SCALE = 255.0  # methods take intensity levels on this scale of the normalised picture


def in_document_units(document: Any) -> bool:
    return getattr(document, "kind", "") == "volume"


def unit_name(document: Any) -> str:
    return "HU" if is_ct(document) else "stored units"


def to_method_scale(card: MethodCard, params: dict[str, Any], document: Any) -> dict[str, Any]:
    """`params` with intensity values in document units converted to the methods' scale (scans only)."""
    if not in_document_units(document):
        return params
    lo, hi = document.value_range
    span = (hi - lo) or 1.0
    converted = dict(params)
    for p in card.params:
        if not p.intensity or p.name not in params:
            continue
        value = check_number(f"parameter {p.name!r}", p.from_word(params[p.name]), 0.0, None)
        limit = (p.maximum or 0.0) * span / SCALE
        if p.maximum is not None and value > limit:
            units = unit_name(document)
            message = f"parameter {p.name!r} must be from 0 to {limit:g} {units} on this scan, not {value:g}"
            raise MethodError(message)
        converted[p.name] = value / span * SCALE
    return converted


def used_values(
    card: MethodCard, used: dict[str, list[float]], given: dict[str, Any], document: Any
) -> dict[str, Any]:
    """The intensity values the method settled on, for the record: in document units on scans.

    A method that ran per frame or per tile may have used several values (an estimated σ per slice):
    the median is recorded, with the range beside it when they differ; a value the person left at 0
    ("estimate it") is marked as estimated.
    """
    span = 1.0
    if in_document_units(document):
        lo, hi = document.value_range
        span = ((hi - lo) or 1.0) / SCALE
    record: dict[str, Any] = {}
    for p in card.params:
        values = [v * span for v in used.get(p.name, [])]
        if not p.intensity or not values:
            continue
        record[p.name] = round(median(values), 4)
        if max(values) - min(values) > 1e-6:
            record[f"{p.name}_range"] = [round(min(values), 4), round(max(values), 4)]
        if in_document_units(document):
            record[f"{p.name}_units"] = unit_name(document)
        if not given.get(p.name):
            record[f"{p.name}_estimated"] = True
    return record
