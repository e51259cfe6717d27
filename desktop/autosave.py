"""Crash-safe autosave of the mask and its undo history: an append-only journal per document.

Every finished stroke (and every undo/redo of one) is one small .npz record in a folder named after
the source file, written atomically (temporary file + rename), so a crash or a kill loses at most the
stroke in progress. Replaying the journal rebuilds the masks and the per-slice undo history. After
`COMPACT_EVERY` records the journal is replaced by one snapshot of the masks (older undo steps are
then not restored). No Qt here: the desktop passes the folder (QStandardPaths AppDataLocation).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from desktop.history import Entry, History
from desktop.mask_model import MaskEdit, MaskStack, Patch

COMPACT_EVERY = 400


@dataclass
class PendingSession:
    source: Path
    saved: float  # seconds since the epoch of the last record
    count: int


class Autosave:
    def __init__(self, root: Path, source: Path, shape: tuple[int, int, int]):
        self.root = Path(root)
        self.source = Path(source).resolve()
        self.shape = tuple(int(n) for n in shape)
        key = hashlib.sha1(str(self.source).encode()).hexdigest()[:16]
        self.folder = self.root / key
        self._next = 0
        self._uid = 0
        self._compacted_uid = 0  # edits up to this uid are folded into the snapshot

    # --- the state on disk ---

    def _records(self) -> list[Path]:
        return sorted(self.folder.glob("r*.npz")) if self.folder.is_dir() else []

    def _meta(self) -> dict:
        try:
            return json.loads((self.folder / "session.json").read_text())
        except (OSError, ValueError):
            return {}

    def exists(self) -> bool:
        return bool(self._meta()) and bool(self._records())

    def matches_shape(self) -> bool:
        return tuple(self._meta().get("shape", ())) == self.shape

    @property
    def count(self) -> int:
        return len(self._records())

    @property
    def saved(self) -> float:
        records = self._records()
        return records[-1].stat().st_mtime if records else 0.0

    @staticmethod
    def pending(root: Path) -> list[PendingSession]:
        """Sessions left behind (the app did not close them), newest first, whose source still exists."""
        found = []
        for meta_path in Path(root).glob("*/session.json"):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, ValueError):
                continue
            records = sorted(meta_path.parent.glob("r*.npz"))
            source = Path(meta.get("source", ""))
            if records and source.exists():
                found.append(PendingSession(source, records[-1].stat().st_mtime, len(records)))
        return sorted(found, key=lambda s: s.saved, reverse=True)

    # --- writing ---

    def start(self) -> None:
        """Begin an empty journal (dropping any old one)."""
        self.discard()
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = {"source": str(self.source), "shape": list(self.shape), "started": time.time()}
        _atomic_write_text(self.folder / "session.json", json.dumps(meta))
        self._next = self._uid = self._compacted_uid = 0

    def resume(self) -> None:
        """Continue a restored journal."""
        records = self._records()
        self._next = int(records[-1].stem[1:]) + 1 if records else 0

    def record_edit(self, edit: MaskEdit) -> None:
        self._uid += 1
        edit.uid = self._uid
        arrays = {
            "kind": np.array("edit"),
            "uid": np.array(edit.uid),
            "label": np.array(edit.label),
            "where": np.array([(p.frame, p.y0, p.x0) for p in edit.patches], np.int64).reshape(-1, 3),
        }
        for i, p in enumerate(edit.patches):
            arrays[f"before{i}"] = p.before
            arrays[f"after{i}"] = p.after
        self._write(arrays)

    def record_step(self, edit: MaskEdit, undo: bool) -> None:
        if edit.uid > self._compacted_uid:
            self._write({"kind": np.array("undo" if undo else "redo"), "uid": np.array(edit.uid)})
            return
        # The edit predates the last snapshot, so the journal cannot name it: store its pixels.
        arrays = {
            "kind": np.array("apply"),
            "where": np.array([(p.frame, p.y0, p.x0) for p in edit.patches], np.int64).reshape(-1, 3),
        }
        for i, p in enumerate(edit.patches):
            arrays[f"after{i}"] = p.before if undo else p.after
        self._write(arrays)

    def compact(self, masks: MaskStack) -> None:
        """Replace the journal by one snapshot of the masks."""
        old = self._records()
        frames = masks.painted_frames()
        arrays = {"kind": np.array("base"), "frames": np.array(frames, np.int64)}
        for i in frames:
            arrays[f"mask{i}"] = masks.get(i)
        self._write(arrays)
        for path in old:
            path.unlink(missing_ok=True)
        self._compacted_uid = self._uid

    def _write(self, arrays: dict) -> None:
        if not self.folder.is_dir():
            return
        path = self.folder / f"r{self._next:07d}.npz"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
        self._next += 1

    def needs_compaction(self) -> bool:
        return self.count >= COMPACT_EVERY

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    # --- reading ---

    def restore(self, cap_bytes: int = 512 << 20) -> tuple[MaskStack, History]:
        """Replay the journal into fresh masks and history."""
        masks = MaskStack(*self.shape)
        history = History(cap_bytes=cap_bytes)
        edits: dict[int, MaskEdit] = {}
        for path in self._records():
            with np.load(path, allow_pickle=False) as rec:
                kind = str(rec["kind"])
                if kind == "base":
                    for i in rec["frames"]:
                        masks.get(int(i))[...] = rec[f"mask{int(i)}"]
                elif kind == "apply":
                    for n, (f, y, x) in enumerate(rec["where"]):
                        data = rec[f"after{n}"]
                        masks.get(int(f))[y : y + data.shape[0], x : x + data.shape[1]] = data
                elif kind == "edit":
                    patches = [
                        Patch(int(f), int(y), int(x), rec[f"before{n}"].copy(), rec[f"after{n}"].copy())
                        for n, (f, y, x) in enumerate(rec["where"])
                    ]
                    edit = MaskEdit(str(rec["label"]), patches, int(rec["uid"]))
                    masks.apply(edit, undo=False)
                    history.push(Entry(edit.lane, edit.label, edit, edit.nbytes))
                    edits[edit.uid] = edit
                else:
                    edit = edits.get(int(rec["uid"]))
                    if edit is None:
                        continue
                    pop = history.pop_undo if kind == "undo" else history.pop_redo
                    entry = pop(edit.lane)
                    if entry is not None and entry.payload is edit:
                        masks.apply(edit, undo=kind == "undo")
        self._uid = max(edits, default=0)
        # Edits from before the replay cannot be named by later records: treat them as snapshotted.
        self._compacted_uid = 0
        return masks, history


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
