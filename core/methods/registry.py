"""The registry of repair methods: a card per method, describing it for the CLI and the desktop.

A method module calls `register(card, run)` at import time. `run` is a generator function:

    def run(image, mask, ctx, **params) -> Generator[Progress, None, np.ndarray]

for image methods (`image` float32 (H, W, C) in [0, 1], `mask` bool (H, W) or None), yielding
`ctx.progress(...)` after each tile or iteration and returning the result. Volume-level methods
(`operates_on="volume"`) get (frames, H, W, C); audio methods get an `AudioDoc` and a selection.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import MethodError
from core.methods import weights as weights_store
from core.tasks import TASKS

KINDS = ("learned", "zero-shot", "classical")


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def check_number(
    name: str, value: Any, minimum: float | None = None, maximum: float | None = None, whole: bool = False
) -> int | float:
    """`value` (a number or a CLI string) as a finite number in [minimum, maximum], whole if asked.

    The one rule for every numeric setting (method parameters, --tile, --gap): NaN, infinities,
    fractions where a whole number is needed and values out of range are refused, never rounded or
    clamped, with the setting's name and range in the message.
    """
    number = _as_float(value)
    if (
        number is None
        or not math.isfinite(number)
        or (whole and not number.is_integer())
        or (minimum is not None and number < minimum)
        or (maximum is not None and number > maximum)
    ):
        kind = "a whole number" if whole else "a number"
        raise MethodError(f"{name} must be {kind}{describe_range(minimum, maximum)}, not {value!r}")
    return int(number) if whole else number


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):  # True is an int to Python, not a number to a person
        return None
    try:
        return float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError, OverflowError):
        return None


def describe_range(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f" of at least {minimum:g}"
    if maximum is not None:
        return f" of at most {maximum:g}"
    return ""


@dataclass(frozen=True)
class Param:
    """A tunable parameter: a default, a range or choices, and a short help text."""

    name: str
    default: Any
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    # A level on the 0-255 scale of the normalised picture (a noise σ, say): on scans it is typed and
    # recorded in the scan's own units (HU for CT) instead (core.repair.units).
    intensity: bool = False
    # What 0 stands for when it is the minimum ("estimate", "never"): the app shows it in place of 0.
    zero_means: str = ""

    def coerce(self, value: Any) -> Any:
        """`value` (possibly a CLI string) in the default's type, checked; a MethodError otherwise."""
        label = f"parameter {self.name!r}"
        value = self.from_word(value)
        if isinstance(self.default, bool):
            value = self._boolean(value, label)
        elif isinstance(self.default, (int, float)):
            whole = isinstance(self.default, int)
            value = check_number(label, value, self.minimum, self.maximum, whole=whole)
        if self.choices is not None and value not in self.choices:
            raise MethodError(f"{label} must be one of {list(self.choices)}, not {value!r}")
        return value

    def from_word(self, value: Any) -> Any:
        """0 for the word the app shows in place of 0 ("none", "estimate", "never"), so the command
        line takes it too; any other value as it is."""
        said = isinstance(value, str) and value.strip().lower() == self.zero_means.lower()
        return 0 if self.zero_means and self.minimum == 0 and said else value

    @staticmethod
    def _boolean(value: Any, label: str) -> bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise MethodError(f"{label} must be true or false (yes/no, on/off, 1/0), not {value!r}")


# Where a fill method that measures its own uncertainty leaves it in `ctx.extras` (core.repair.uncertainty):
# {"measure": what the spread is across, "maps": [(frames, H, W) float32 on the [0, 1] scale, per stack]}.
OWN_SPREAD = "fill_spread"


@dataclass(frozen=True)
class MethodCard:
    """What a person needs to know to choose a method."""

    id: str
    task: str
    name: str
    kind: str
    description: str
    # What a learned network was trained and validated on (core.methods.modality): a method that learns
    # nothing from outside data suits every modality whatever this says.
    modalities: tuple[str, ...] = ("photo", "gray")
    params: tuple[Param, ...] = ()
    weights: tuple[str, ...] = ()  # file names, found by core.methods.weights
    speed: str = "fast"  # "fast" (< 1 s/MP on CPU), "medium", "slow" (iterative, minutes)
    needs_mask: bool = False
    operates_on: str = "image"  # "image", "volume", "audio" or "video"
    default: bool = False  # the method chosen when none is named for this task
    scan_default: bool = False  # chosen instead on scans when the default does not suit them
    clip_default: bool = False  # chosen instead on two or more frames of a clip (core.methods.choose_method)
    # A faster variant (a network distilled from another method's) names that "best" method: the picker
    # shows them side by side with their measured speed and quality (core.methods.scores).
    variant_of: str = ""
    # Fills with patches copied from elsewhere in the same picture: on a scan that can be anatomy that
    # is not there (core.methods.modality says so).
    copies_texture: bool = False
    # A detector's false marks, in a few words: said where its mask is used (lacuna detect, repair
    # --detect, the app's Detect damage), not only here (walk-through 45: collars and a bow smeared).
    check: str = ""

    def found_weights(self) -> dict[str, Path | None]:
        """Each weights file and where it was found (None: nowhere)."""
        return {name: weights_store.locate(name) for name in self.weights}

    def missing_weights(self) -> list[str]:
        return [name for name, path in self.found_weights().items() if path is None]

    @property
    def available(self) -> bool:
        return not self.missing_weights()

    @property
    def unavailable_reason(self) -> str:
        missing = self.missing_weights()
        if not missing:
            return ""
        return f"weights not installed: {', '.join(missing)} ({weights_store.where_looked()})"

    def resolve_params(self, given: dict[str, Any]) -> dict[str, Any]:
        known = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise MethodError(
                f"method {self.id!r} has no parameter {', '.join(unknown)}; it takes: "
                + (", ".join(known) or "no parameters")
            )
        return {name: p.coerce(given[name]) if name in given else p.default for name, p in known.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task": self.task,
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "modalities": list(self.modalities),
            "speed": self.speed,
            "needs_mask": self.needs_mask,
            "operates_on": self.operates_on,
            "default": self.default,
            "scan_default": self.scan_default,
            "clip_default": self.clip_default,
            "variant_of": self.variant_of,
            "copies_texture": self.copies_texture,
            "weights": {name: str(path) if path else None for name, path in self.found_weights().items()},
            "available": self.available,
            "unavailable_reason": self.unavailable_reason,
            "params": [
                {
                    "name": p.name,
                    "default": p.default,
                    "help": p.help,
                    "min": p.minimum,
                    "max": p.maximum,
                    "choices": list(p.choices) if p.choices else None,
                }
                for p in self.params
            ],
        }


@dataclass
class Method:
    card: MethodCard
    run: Callable[..., Any] = field(repr=False)


_METHODS: dict[str, Method] = {}


def register(card: MethodCard, run: Callable[..., Any]) -> None:
    if card.id in _METHODS:
        raise ValueError(f"method id {card.id!r} registered twice")
    if card.task not in TASKS:  # the task registry (core.tasks) knows every task
        raise ValueError(f"method {card.id!r}: unknown task {card.task!r}")
    if card.kind not in KINDS:
        raise ValueError(f"method {card.id!r}: unknown kind {card.kind!r}")
    _METHODS[card.id] = Method(card, run)


def all_methods() -> dict[str, Method]:
    return _METHODS
