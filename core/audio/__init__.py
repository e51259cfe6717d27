"""Audio building blocks for gap filling: STFT, selections, AR interpolation, damage detection, phase."""
