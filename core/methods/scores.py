"""What a learned method scored, as its weights' model card records it, and its "best"/"fast" variants.

Each shipped weights file has a machine-readable card beside it (`NAME.json`, written by `lacuna
train`); the scores measured with `lacuna bench` go in its "scores" list, one entry per measurement:

    {"set": "BSD68", "condition": "σ 25", "metric": "PSNR", "value": 28.61, "unit": "dB",
     "command": "lacuna bench denoise --set .../BSD68 --sigma 25 --method denoise-fast"}

This is the one place quality figures come from for the picker and `lacuna models`: descriptions carry
no numbers. A method with several weights files (gray and color) shows each file's scores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.methods.registry import MethodCard


@dataclass(frozen=True)
class Score:
    set: str
    condition: str
    metric: str
    value: float
    unit: str = ""
    command: str = ""  # the `lacuna bench` command that measured it
    source: str = ""  # where the figure is also documented (docs/benchmarks.md, the .md card)

    @property
    def bench(self) -> tuple[str, str, str]:
        """What was measured: scores with the same bench compare."""
        return self.set, self.condition, self.metric

    @property
    def methods(self) -> list[str]:
        """The method ids the measuring command named (after --method or --methods); [] for none."""
        words = self.command.split()
        named: list[str] = []
        for at, word in enumerate(words):
            if word in ("--method", "--methods"):
                following = words[at + 1 :]
                ends = next((i for i, w in enumerate(following) if w.startswith("--")), len(following))
                named += [m for group in following[:ends] for m in group.split(",")]
        return named

    def setting(self, name: str) -> float | None:
        """The number the measuring command gave `--name` (`--scale 4`: 4.0), or None."""
        words = self.command.split()
        for at, word in enumerate(words[:-1]):
            if word == f"--{name}":
                try:
                    return float(words[at + 1])
                except ValueError:
                    return None
        return None

    def text(self) -> str:
        where = f"{self.set} {self.condition}".strip()
        return f"{self.metric} {self.value:g}{' ' + self.unit if self.unit else ''} on {where}"


def read_scores(weights_path: Path) -> list[Score]:
    """The scores in the model card beside a weights file; none when it has no card or no scores."""
    try:
        card = json.loads(Path(weights_path).with_suffix(".json").read_text(encoding="utf-8"))
    except (OSError, ValueError):  # no card, or not JSON: no figures
        return []
    entries = card.get("scores", []) if isinstance(card, dict) else []
    scores = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            scores.append(Score(**{**entry, "value": float(entry["value"])}))
        except (TypeError, ValueError, KeyError):  # an entry not in this form is left out, not guessed
            continue
    return scores


def scores_of(card: MethodCard) -> list[Score]:
    """Every score recorded for the weights a method loads (those installed here), less those whose
    command named other methods only (inpaint-exemplar loads the inpainting network's weights, but
    that network's own PSNR is not the exemplar fill's)."""
    found = [
        score for path in card.found_weights().values() if path is not None for score in read_scores(path)
    ]
    return [score for score in found if not score.methods or card.id in score.methods]


def quality_text(card: MethodCard, bench: tuple[str, str, str] | None = None) -> str:
    """The method's measured quality in words: on `bench` when given and measured, else all its scores."""
    if not card.weights:
        return ""
    found = scores_of(card)
    if bench is not None and any(s.bench == bench for s in found):
        found = [s for s in found if s.bench == bench]
    if not found:
        return "not measured yet" if card.available else "unknown: weights not installed"
    return "; ".join(score.text() for score in found)


def variants(card: MethodCard, cards: list[MethodCard]) -> list[MethodCard]:
    """The "best" method and its faster variants (`variant_of`) that `card` belongs to, best first;
    [] when it has none."""
    best_id = card.variant_of or card.id
    family = [c for c in cards if c.id == best_id] + [c for c in cards if c.variant_of == best_id]
    return family if len(family) > 1 else []


def shared_bench(family: list[MethodCard], params: dict | None = None) -> tuple[str, str, str] | None:
    """A bench every variant of a family was measured on (so their scores compare), or None; of
    several, the first measured at a chosen parameter's value (`--scale 4` when scale is 4)."""
    benches = [[s.bench for s in scores_of(c)] for c in family]
    common = [b for b in (benches[0] if benches else []) if all(b in others for others in benches[1:])]
    chosen = {
        name: float(value)
        for name, value in (params or {}).items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    measured = [s for s in scores_of(family[0]) if s.bench in common] if family else []
    matching = [s.bench for s in measured if any(s.setting(n) == v for n, v in chosen.items())]
    return (matching or common or [None])[0]
