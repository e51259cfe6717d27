"""`fill-frames`: rebuild dropped, duplicated and damaged video frames from their neighbours.

Baselines and the classical method live in `core.video.interpolate`. All methods share one driver
(`core.video.fill`), so the plan (which frames, at which times, never across a scene cut) is the same
whatever makes the pictures.
"""

from __future__ import annotations

from core.methods.registry import MethodCard, Param, register

PARAMS = (
    Param(
        "fix",
        "all",
        "what to rebuild: everything found, or only one kind",
        choices=("all", "dropped", "duplicates", "damaged"),
    ),
    Param("max_run", 3, "longest run of consecutive frames to rebuild", minimum=1, maximum=3),
)

CLASSICAL = (
    # id, interpolator in core.video.interpolate, name, speed, default, description
    ("fill-frames-repeat", "repeat", "Repeat", "fast", False, "Show the previous frame again (baseline)."),
    ("fill-frames-blend", "blend", "Blend", "fast", False, "Cross-fade the frames either side (baseline)."),
    (
        "fill-frames-flow",
        "flow",
        "Optical flow",
        "medium",
        True,
        "Motion-compensated: bidirectional DIS optical flow, both frames warped, occlusions down-weighted.",
    ),
)


def _runner(interpolator: str):
    def run(doc, frames, ctx, fix="all", max_run=3):
        from core.video import interpolate
        from core.video.fill import fill_frames

        make = getattr(interpolate, interpolator)
        return (yield from fill_frames(doc, make, ctx, fix, max_run, targets=frames))

    return run


def _run_learned(doc, frames, ctx, fix="all", max_run=3):
    from core.video.fill import fill_frames
    from core.video.learned import learned_interpolator

    make = learned_interpolator(ctx)
    return (yield from fill_frames(doc, make, ctx, fix, max_run, targets=frames))


register(
    MethodCard(
        id="fill-frames-learned",
        task="fill-frames",
        name="Learned flow refinement",
        kind="learned",
        description=(
            "Follows curved motion through the frames just outside the gap; a small network trained by"
            " Lacuna refines the optical flow, blend weights and detail."
        ),
        modalities=("video",),
        params=PARAMS,
        weights=("fill-frames.safetensors",),
        speed="medium",
        operates_on="video",
    ),
    _run_learned,
)

for _id, _fn, _name, _speed, _default, _text in CLASSICAL:
    register(
        MethodCard(
            id=_id,
            task="fill-frames",
            name=_name,
            kind="classical",
            description=_text,
            modalities=("video",),
            params=PARAMS,
            speed=_speed,
            operates_on="video",
            default=_default,
        ),
        _runner(_fn),
    )


RETIME_FPS = 30.0  # the frame rate retime converts to when none is given


def _run_retime(doc, frames, ctx, fps=RETIME_FPS, interpolation="flow"):
    from core.video import interpolate
    from core.video.retime import retime

    return (yield from retime(doc, fps, getattr(interpolate, interpolation), ctx, fps == RETIME_FPS))


register(
    MethodCard(
        id="retime-flow",
        task="retime",
        name="Retime",
        kind="classical",
        description="Converts to another frame rate; new frames by optical flow (never across a cut).",
        modalities=("video",),
        params=(
            Param("fps", RETIME_FPS, "the new frame rate", minimum=1, maximum=240),
            Param("interpolation", "flow", "how new frames are made", choices=("flow", "blend", "repeat")),
        ),
        speed="medium",
        operates_on="video",
        default=True,
    ),
    _run_retime,
)
