"""Rebuilt frames kept aside until the video is written: in memory up to a budget, then on disk.

A long clip may have many repaired frames (denoising a whole reel touches every one); keeping them
all in memory would break the promise that video is handled in windows, so past `budget_bytes` each
frame goes to a temporary .npy file that is deleted with the store.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

DEFAULT_BUDGET = 512 * 1024 * 1024


class FrameStore:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET):
        self.budget = budget_bytes
        self._memory: dict[int, np.ndarray] = {}
        self._files: dict[int, Path] = {}
        self._used = 0
        self._folder: Path | None = None

    def __contains__(self, key: int) -> bool:
        return key in self._memory or key in self._files

    def __len__(self) -> int:
        return len(self._memory) + len(self._files)

    def keys(self) -> list[int]:
        return sorted([*self._memory, *self._files])

    def put(self, key: int, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        self.discard(key)
        if self._used + frame.nbytes <= self.budget:
            self._memory[key] = frame
            self._used += frame.nbytes
            return
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="lacuna-frames-"))
        path = self._folder / f"{key}.npy"
        np.save(path, frame)
        self._files[key] = path

    def get(self, key: int) -> np.ndarray:
        if key in self._memory:
            return self._memory[key]
        return np.load(self._files[key])

    def discard(self, key: int) -> None:
        if key in self._memory:
            self._used -= self._memory.pop(key).nbytes
        elif key in self._files:
            self._files.pop(key).unlink(missing_ok=True)

    def copy(self) -> FrameStore:
        """A store with the same frames (memory frames shared: they are never changed in place)."""
        clone = FrameStore(self.budget)
        for key in self.keys():
            clone.put(key, self.get(key))
        return clone

    def close(self) -> None:
        self._memory.clear()
        self._files.clear()
        self._used = 0
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __del__(self) -> None:
        self.close()
