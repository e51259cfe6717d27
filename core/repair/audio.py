"""Repairing recordings: the audio method gets the document and the selections and returns a new one."""

from __future__ import annotations

from collections.abc import Generator

from core.documents import AudioDoc
from core.errors import MethodError
from core.repair.request import Request
from core.runtime.context import Progress


def repair_audio(request: Request) -> Generator[Progress, None, AudioDoc]:
    card = request.method.card
    if card.operates_on != "audio":
        raise MethodError(f"method {card.id!r} works on {card.operates_on}, not audio")
    return (yield from request.method.run(request.document, request.mask, request.ctx, **request.params))
