"""Old-film methods that need the neighbouring frames: dust and scratch removal, flicker removal."""

from __future__ import annotations

from core.methods.registry import MethodCard, Param, register


def _dust(doc, frames, ctx, threshold=30.0, max_area=400):
    from core.video.oldfilm import remove_dust

    return (yield from remove_dust(doc, frames, ctx, threshold, max_area))


def _flicker(doc, frames, ctx, radius=5):
    from core.video.oldfilm import deflicker

    return (yield from deflicker(doc, frames, ctx, radius))


register(
    MethodCard(
        id="dust-temporal",
        task="remove-dust",
        name="Dust and scratches (neighbouring frames)",
        kind="classical",
        description="Removes specks present in one frame only, filled from the motion-compensated"
        " neighbours. Specks fainter than the threshold stay: on faded film (the grey specks of a"
        " wall) 15-20 takes them too, and a little more of what the flow misses on fast motion.",
        modalities=("video",),
        params=(
            Param(
                "threshold", 30.0, "grey levels a speck differs from both neighbours", minimum=5, maximum=200
            ),
            Param(
                "max_area",
                400,
                "largest speck in pixels (bigger changes are motion)",
                minimum=4,
                maximum=20000,
            ),
        ),
        speed="medium",
        operates_on="video",
        default=True,
    ),
    _dust,
)

register(
    MethodCard(
        id="deflicker-levels",
        task="deflicker",
        name="Flicker removal",
        kind="classical",
        description="Evens out frame-to-frame brightness: each frame's level and contrast follow a"
        " smoothed curve.",
        modalities=("video",),
        params=(
            Param("radius", 5, "frames either side the brightness is smoothed over", minimum=1, maximum=50),
        ),
        speed="fast",
        operates_on="video",
        default=True,
    ),
    _flicker,
)
