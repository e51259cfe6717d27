"""Playback through QtMultimedia: a QAudioSink reading int16 PCM from a QBuffer.

Machines without an audio device (servers, CI, offscreen tests) or without the QtMultimedia libraries
get a message through `error`, never an exception: the rest of the audio view keeps working.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QTimer, Signal


def to_pcm16(samples: np.ndarray) -> bytes:
    """Interleaved little-endian int16 of (N, C) float samples in [-1, 1] (clipped)."""
    clipped = np.clip(np.asarray(samples, np.float32), -1.0, 1.0)
    return (np.round(clipped * 32767.0)).astype("<i2").tobytes()


class Player(QObject):
    position_changed = Signal(int)  # the sample of the document being heard
    state_changed = Signal(bool)  # playing or not
    error = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._sink = None
        self._buffer: QBuffer | None = None
        self._offset = 0
        self._rate = 1
        self._end = 0
        self._timer = QTimer(self)
        self._timer.setInterval(30)
        self._timer.timeout.connect(self._tick)
        self.error.connect(self._remember)
        self.last_error = ""  # why the last play() could not play, for a caller that says more

    @property
    def playing(self) -> bool:
        return self._sink is not None

    def play(self, samples: np.ndarray, rate: int, offset: int = 0) -> bool:
        """Play (N, C) samples that start at sample `offset` of the document; False if it cannot."""
        self.stop()
        self.last_error = ""
        try:
            from PySide6.QtMultimedia import QAudio, QAudioFormat, QAudioSink, QMediaDevices
        except ImportError as exc:
            self.error.emit(f"Playback is not available here (QtMultimedia: {exc}).")
            return False
        try:
            device = QMediaDevices.defaultAudioOutput()
            if device.isNull():
                self.error.emit("No audio output device was found: playback is not available.")
                return False
            fmt = QAudioFormat()
            fmt.setSampleRate(int(rate))
            fmt.setChannelCount(int(samples.shape[1]))
            fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
            if not device.isFormatSupported(fmt):
                self.error.emit(f"The audio device cannot play {rate} Hz with {samples.shape[1]} channel(s).")
                return False
            self._buffer = QBuffer(self)
            self._buffer.setData(QByteArray(to_pcm16(samples)))
            self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
            self._sink = QAudioSink(device, fmt, self)
            self._sink.stateChanged.connect(self._on_state)
            self._idle_state = QAudio.State.IdleState
            self._sink.start(self._buffer)
        except Exception as exc:  # noqa: BLE001 — a broken audio stack must not take the app down
            self._release()
            self.error.emit(f"Playback failed: {exc}")
            return False
        self._offset, self._rate, self._end = int(offset), int(rate), int(offset) + len(samples)
        self._timer.start()
        self.state_changed.emit(True)
        return True

    def _remember(self, message: str) -> None:
        self.last_error = message

    def stop(self) -> None:
        was = self.playing
        self._release()
        if was:
            self.state_changed.emit(False)

    def _release(self) -> None:
        self._timer.stop()
        if self._sink is not None:
            try:
                self._sink.stateChanged.disconnect(self._on_state)
                self._sink.stop()
            except (RuntimeError, TypeError):
                pass
            self._sink.deleteLater()
            self._sink = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer.deleteLater()
            self._buffer = None

    def _tick(self) -> None:
        if self._sink is None:
            return
        heard = int(self._sink.processedUSecs() * self._rate / 1_000_000)
        self.position_changed.emit(min(self._offset + heard, self._end))

    def _on_state(self, state) -> None:
        if state == self._idle_state:  # the buffer ran out: the end of the clip or selection
            self.stop()
