"""The repairs done to the open recording, as the History dock lists them (no Qt).

Two sources: the provenance the file carried when it was opened (repairs saved by an earlier session:
method, parameters, date) and this session's fills still in effect (the `FillEdit`s of the undo
history: also what was selected and which samples changed). An undone fill leaves the list; a redone
one comes back, so the list always describes the recording shown.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from core.audio.selection import describe_selection


@dataclass(frozen=True)
class RepairRecord:
    method: str
    params: dict = field(default_factory=dict)
    date: str = ""  # ISO 8601, UTC, as the provenance writes it
    selections: tuple[str, ...] = ()  # each selection described ("0.520–0.540 s, 300–3400 Hz")
    changed: tuple[int, int] | None = None  # [start, stop) samples changed; None for earlier sessions
    earlier: bool = False  # saved in the file by an earlier session
    changed_seconds: tuple[tuple[float, float], ...] = ()  # every stretch changed, as the record lists
    origin: str = ""  # what chose the selection ("loss trace calls.txt: ..."), when the record says

    @property
    def time(self) -> str:
        """The local time of day of the repair ("14:03:27"), or its date when it was not today."""
        try:
            when = _dt.datetime.fromisoformat(self.date).astimezone()
        except ValueError:
            return self.date
        today = _dt.datetime.now().astimezone().date()
        return when.strftime("%H:%M:%S") if when.date() == today else when.strftime("%Y-%m-%d %H:%M")

    @property
    def method_name(self) -> str:
        """The method's name as the picker shows it ("Automatic"), else its id."""
        from core.methods import method_name

        return method_name(self.method)

    def title(self) -> str:
        where = f", {len(self.selections)} selection(s)" if self.selections else ""
        return f"{self.time}  {self.method_name}{where}" + ("  (saved earlier)" if self.earlier else "")

    def details(self, rate: int) -> str:
        lines = [f"Method: {self.method_name} ({self.method})", f"When: {self.date or 'unknown'}"]
        if self.params:
            shown = (f"{k} = {_shown(v)}" for k, v in sorted(self.params.items()))
            lines.append("Parameters: " + ", ".join(shown))
        if self.selections:
            lines.append("Selection: " + "; ".join(self.selections[:8]))
            if len(self.selections) > 8:
                lines[-1] += f"; and {len(self.selections) - 8} more"
        if self.origin:
            lines.append(f"Selected by: {self.origin}")
        if self.changed_seconds:
            total = sum(b - a for a, b in self.changed_seconds)
            spans = "; ".join(f"{a:.3f}–{b:.3f} s" for a, b in self.changed_seconds[:8])
            more = f"; and {len(self.changed_seconds) - 8} more" if len(self.changed_seconds) > 8 else ""
            lines.append(f"Changed ({total:.3f} s in {len(self.changed_seconds)} stretch(es)): {spans}{more}")
        elif self.changed is not None:
            a, b = self.changed
            lines.append(f"Samples changed within {a / rate:.3f}–{b / rate:.3f} s")
        if self.earlier:
            lines.append("Saved in the file by an earlier session (cannot be undone here)")
        return "\n".join(lines)


def repair_records(opened_provenance: list, fills: list, rate: int) -> list[RepairRecord]:
    """Oldest first: the file's earlier repairs, then this session's fills in effect."""
    records = [
        RepairRecord(p.method, dict(p.params), p.date, earlier=True, **_measured(p))
        for p in opened_provenance
        if getattr(p, "method", "")
    ]
    for edit in fills:
        made = edit.provenance_after[-1] if edit.provenance_after else None
        records.append(
            RepairRecord(
                made.method if made is not None else "fill",
                dict(made.params) if made is not None else {},
                made.date if made is not None else "",
                tuple(describe_selection(s, rate) for s in edit.selections),
                (edit.start, edit.start + len(edit.before)),
                **_measured(made),
            )
        )
    return records


def _measured(provenance) -> dict:
    """What a repair's record says it changed and what chose its selection (older records: nothing)."""
    spans = getattr(provenance, "changed_seconds", None) or []
    return {
        "changed_seconds": tuple((float(a), float(b)) for a, b in spans),
        "origin": getattr(provenance, "selection", "") or "",
    }


def _shown(value) -> str:
    """A recorded value as a person reads it: a per-channel list without brackets, "none" for None
    (a walk-through read `band_limit_hz = [3969, None]`)."""
    if isinstance(value, (list, tuple)):
        return " / ".join(_shown(v) for v in value)
    return "none" if value is None else str(value)
