"""The figure of `lacuna bench speech`: spectrograms of one utterance, clean, with its lost packets
(zeros) and concealed by each method, stacked so that the same instant lines up; the lost packets are
marked by a red bar above every panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np

EXCERPT_SECONDS = (1.0, 3.0)  # the part of the utterance shown


def write_figure(
    name: str, rate: int, lost: np.ndarray, packet: float, signals: dict[str, np.ndarray], path: str | Path
) -> Path:
    """`signals`: label -> mono audio of the whole utterance (first "clean", then "zeros", ...)."""
    from PIL import Image, ImageDraw, ImageFont

    from core.audio.picture import colorize, spectrogram_db
    from core.audio.stft import frame_params

    length = len(next(iter(signals.values())))
    lo = min(int(EXCERPT_SECONDS[0] * rate), max(0, length - int(2 * rate)))
    hi = min(length, lo + int((EXCERPT_SECONDS[1] - EXCERPT_SECONDS[0]) * rate))
    n_fft, hop = frame_params(rate)
    spectra = {label: spectrogram_db(x[lo:hi], n_fft, hop) for label, x in signals.items()}
    top = float(spectra["clean"].max())
    width, height, bar, label_h, pad = 800, 180, 5, 16, 6
    canvas = Image.new("RGB", (2 * pad + width, pad + len(spectra) * (label_h + bar + height + pad)), "white")
    draw = ImageDraw.Draw(canvas)
    try:
        font = ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1: the bitmap font
        font = ImageFont.load_default()
    y = pad
    for label, spec in spectra.items():
        draw.text(
            (pad, y),
            f"{label}  |  {name}, {lo / rate:.1f}-{hi / rate:.1f} s, 0-{rate // 2000} kHz",
            fill="black",
            font=font,
        )
        y += label_h
        for k in np.flatnonzero(lost):
            a, b = k * packet, (k + 1) * packet
            if b > lo and a < hi:
                x0 = pad + int((max(a, lo) - lo) / (hi - lo) * width)
                x1 = pad + int((min(b, hi) - lo) / (hi - lo) * width)
                draw.rectangle([x0, y, max(x0, x1 - 1), y + bar - 1], fill=(220, 0, 0))
        y += bar
        picture = Image.fromarray(colorize(spec, top, 80.0)).resize((width, height), Image.BILINEAR)
        canvas.paste(picture, (pad, y))
        y += height + pad
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path
