"""What a repair was asked to do, as the engine hands it to the driver for the document's kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.documents import Document
from core.methods.registry import Method
from core.runtime.context import RunContext
from core.tasks import Task


@dataclass(frozen=True)
class Request:
    document: Document
    task: Task
    method: Method
    params: dict[str, Any]  # the card's parameters, resolved and checked
    mask: Any  # the painted alpha (frame stacks) or the selections (audio), as given
    frames: list[int] | None  # only these frames (default: all)
    ctx: RunContext
