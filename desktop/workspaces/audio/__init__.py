"""Recordings (WAV, FLAC, Ogg, MP3): waveform and spectrogram, gaps and noises selected and filled."""

KINDS = ("audio",)


def create(context):
    from desktop.workspaces.audio.workspace import AudioWorkspace

    return AudioWorkspace(context)
