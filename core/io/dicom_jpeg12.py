"""12-bit JPEG Extended (processes 2 and 4) DICOM pixel data, decoded with imagecodecs (libjpeg-turbo).

pydicom's GDCM and Pillow plugins refuse 12-bit samples, and the plugin that decoded them before
(pylibjpeg-libjpeg) is GPLv3. This module is a pydicom decoder plugin (`is_available`,
`DECODER_DEPENDENCIES`, a frame decoder), so pydicom's own frame and colour handling stays in charge.
"""

from __future__ import annotations

import contextlib

from pydicom import uid
from pydicom.pixels.decoders import JPEGExtended12BitDecoder

PLUGIN = "lacuna-imagecodecs"
DECODER_DEPENDENCIES = {uid.JPEGExtended12Bit: ("imagecodecs",)}


def is_available(syntax: str) -> bool:
    if syntax != uid.JPEGExtended12Bit:
        return False
    try:
        import imagecodecs
    except ImportError:
        return False
    return bool(imagecodecs.JPEG8.available)


def decode_frame(src: bytes, runner) -> bytes:
    import imagecodecs

    if runner.samples_per_pixel != 1:
        # libjpeg-turbo would convert colour samples to RGB; pydicom expects them as stored.
        raise NotImplementedError("12-bit colour JPEG is not supported")
    return imagecodecs.jpeg8_decode(src).tobytes()


def register() -> None:
    """Add the plugin to pydicom's JPEG Extended decoder (once; later calls do nothing)."""
    with contextlib.suppress(ValueError):  # pydicom's answer to adding it a second time
        JPEGExtended12BitDecoder.add_plugin(PLUGIN, (__name__, "decode_frame"))
