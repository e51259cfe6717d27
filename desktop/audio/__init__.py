"""The audio view: waveform and spectrogram, selections, playback with A/B, gap filling, undo."""
