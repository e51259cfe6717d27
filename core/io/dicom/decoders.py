"""Which decoders turn compressed DICOM pixel data into pixels: pydicom's plugins, minus GDCM, plus
imagecodecs where nothing else remains.

GDCM's codecs abort the whole process (an uncaught C++ exception) on damaged JPEG and JPEG 2000 data,
so a broken file would close the app. Pillow and pylibjpeg-openjpeg decode JPEG and JPEG 2000 and raise
errors instead; imagecodecs decodes what only GDCM covered (JPEG Lossless, JPEG-LS) and 12-bit JPEG
Extended (pylibjpeg-libjpeg, which does, is GPLv3). Each plugin below is a pydicom decoder plugin (a
frame decoder), so pydicom's own frame and colour handling stays in charge.
"""

from __future__ import annotations

import contextlib

from pydicom import uid
from pydicom.pixels.decoders import (
    JPEGExtended12BitDecoder,
    JPEGLosslessDecoder,
    JPEGLosslessSV1Decoder,
    JPEGLSLosslessDecoder,
    JPEGLSNearLosslessDecoder,
)

PLUGIN = "lacuna-imagecodecs"
UNSAFE_PLUGIN = "gdcm"
DECODER_DEPENDENCIES = {
    uid.JPEGExtended12Bit: ("imagecodecs",),
    uid.JPEGLossless: ("imagecodecs",),
    uid.JPEGLosslessSV1: ("imagecodecs",),
    uid.JPEGLSLossless: ("imagecodecs",),
    uid.JPEGLSNearLossless: ("imagecodecs",),
}
_CODEC = {  # transfer syntax -> the imagecodecs codec that decodes it
    uid.JPEGExtended12Bit: "JPEG8",
    uid.JPEGLossless: "LJPEG",
    uid.JPEGLosslessSV1: "LJPEG",
    uid.JPEGLSLossless: "JPEGLS",
    uid.JPEGLSNearLossless: "JPEGLS",
}
_DECODERS = (
    JPEGExtended12BitDecoder,
    JPEGLosslessDecoder,
    JPEGLosslessSV1Decoder,
    JPEGLSLosslessDecoder,
    JPEGLSNearLosslessDecoder,
)


def is_available(syntax: str) -> bool:
    try:
        import imagecodecs
    except ImportError:
        return False
    return syntax in _CODEC and bool(getattr(imagecodecs, _CODEC[syntax]).available)


def decode_frame(src: bytes, runner) -> bytes:
    import imagecodecs
    import numpy as np

    syntax = runner.transfer_syntax
    if syntax == uid.JPEGExtended12Bit:
        if runner.samples_per_pixel != 1:
            # libjpeg-turbo would convert colour samples to RGB; pydicom expects them as stored.
            raise NotImplementedError("12-bit colour JPEG is not supported")
        return imagecodecs.jpeg8_decode(src).tobytes()
    if syntax in uid.JPEGLSTransferSyntaxes:
        frame = imagecodecs.jpegls_decode(src)
        runner.set_option("planar_configuration", 0)  # decoded samples are interleaved
    else:
        frame = imagecodecs.ljpeg_decode(src)
    # as many bytes per sample as the header allocates (the decoder picks by precision)
    allocated = np.uint8 if runner.bits_allocated <= 8 else np.uint16 if runner.bits_allocated <= 16 else None
    if allocated is None or (allocated is np.uint8 and frame.dtype.itemsize > 1 and frame.max() > 255):
        raise ValueError(f"{runner.bits_allocated}-bit samples do not match the compressed data")
    return frame.astype(allocated, copy=False).tobytes()


def register() -> None:
    """Take GDCM out of pydicom's decoders and add imagecodecs (once; later calls do nothing)."""
    from pydicom.pixels import get_decoder

    for syntax in uid.JPEGTransferSyntaxes + uid.JPEGLSTransferSyntaxes + uid.JPEG2000TransferSyntaxes:
        with contextlib.suppress(ValueError, NotImplementedError):  # a plugin it does not hold
            get_decoder(syntax).remove_plugin(UNSAFE_PLUGIN)
    for decoder in _DECODERS:
        with contextlib.suppress(ValueError):  # pydicom's answer to adding it a second time
            decoder.add_plugin(PLUGIN, (__name__, "decode_frame"))
