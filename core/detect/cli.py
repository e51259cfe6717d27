"""`lacuna detect FILE -o mask.png [--threshold T] [--method M]`: write the proposed damage mask.

A single image gives one mask; a frame stack (multi-page image, volume, or a range of a video's
frames, `--frames`) gives one mask per frame, numbered after the output name from 0, as `--frames`
counts frames and slices (`mask_0000.png`, ...; `--frames 100-103` of a video writes `mask_0100.png`
to `mask_0103.png`); `lacuna repair --mask mask.png` reads them back one per frame or slice.
`--scores` also writes the soft score map (8-bit, 255 = surely damage) to look at or threshold;
`--for-repair` writes the more generous mask that `lacuna repair --detect` fills.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from core.errors import MethodError

VIDEO_FRAMES = 16  # frames of a video detected when --frames is not given
STACK_BYTES = 4 << 30  # a video's frames are detected as one float32 stack: at most this much of it


def add_arguments(p) -> None:
    p.add_argument("input")
    p.add_argument("-o", "--output", required=True, help="mask image to write (PNG; 255 = damage)")
    p.add_argument(
        "--method",
        default=None,
        help="detect-learned (default; on a clip detect-learned-frames), detect-classical, detect-temporal",
    )
    p.add_argument("--threshold", type=float, default=None, help="score from which a pixel is proposed")
    p.add_argument("--grow", type=_pixels, default=0, help="widen the proposal by this many pixels")
    p.add_argument(
        "--for-repair",
        action="store_true",
        help="write the more generous mask that `lacuna repair --detect` fills instead of the proposal",
    )
    p.add_argument("--scores", default=None, metavar="PNG", help="also write the soft score map here")
    p.add_argument("--param", action="append", default=[], metavar="K=V", help="method parameter")
    p.add_argument(
        "--frames",
        default=None,
        metavar="A-B",
        help="video and volumes: these frames or slices, counted from 0; the app shows them from 1"
        f" (default: a video's 0-{VIDEO_FRAMES - 1}, a volume's every slice)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--overwrite", action="store_true", help="replace masks and scores already there")
    p.add_argument("--json", action="store_true")


def _pixels(text: str) -> int:
    """--grow: a whole number of pixels, 0 or more."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"a number of pixels, 0 or more, not {text!r}")
    return value


def detect_with_progress(document, method: str | None, threshold: float | None, params: dict, ctx):
    """The Detection of `document`, with a progress bar in the terminal; also what `lacuna repair
    --detect` uses."""
    from core.detect.run import run_detect
    from core.repair_cli import TerminalProgress

    bar = TerminalProgress()
    try:
        return run_detect(document, method=method, threshold=threshold, ctx=ctx, on_progress=bar, **params)
    finally:
        bar.finish()


def detect_command(args) -> int:
    from core.io import read, write_mask
    from core.io.masks import numbered_mask_path
    from core.repair_cli import parse_params
    from core.runtime.context import RunContext

    source = Path(args.input)
    _check_picture_names(args.output, args.scores)  # before the detection runs, not after
    document = read(source)
    method = args.method
    if getattr(document, "kind", "") == "video":
        method, document = clip_to_detect(document, args.frames, method)
    elif args.frames:
        document = slices_asked(document, args.frames)
    if getattr(document, "pixels", None) is None:
        raise MethodError(
            "detection works on images, volumes and video; for audio use `lacuna repair --detect`"
        )
    numbered, single = numbered_frames(document)
    output, scores = Path(args.output), Path(args.scores) if args.scores else None
    masks_to = [output if single else numbered_mask_path(output, number) for number, _ in numbered]
    scores_to = (
        [scores if single else numbered_mask_path(scores, number) for number, _ in numbered] if scores else []
    )
    _check_targets(source, masks_to + scores_to, args.overwrite)  # before the detection runs
    ctx = RunContext(device=args.device)
    detection = detect_with_progress(document, method, args.threshold, parse_params(args.param), ctx)
    for note in ctx.notes:
        print(f"lacuna: {note}", file=sys.stderr)
    if args.for_repair:
        from core.masks import dilate

        masks = detection.repair_mask()
        masks = np.stack([dilate(mask, args.grow) for mask in masks]) if args.grow else masks
    else:
        masks = detection.mask(grow=args.grow)
    from core.io.provenance import source_of

    written = []
    for k, (number, index) in enumerate(numbered):
        made_by = detection.provenance(masks[index], source_of(document))  # embedded: which detector
        if not single:  # which frame or slice of the source this mask is for
            made_by.params["frame" if document.format == "video" else "slice"] = number
        written.append(write_mask(masks[index], masks_to[k], overwrite=args.overwrite, provenance=[made_by]))
        if scores_to:
            _write_scores(detection.score[index], scores_to[k], args.overwrite)
    kept = [index for _, index in numbered]
    share = float(masks[kept].mean())
    # `repair --detect` fills the more generous repair mask: said, so the two are not taken for one.
    from core.detect.run import repair_mask

    filled = float(repair_mask(detection.score[kept], detection.threshold, detection.rule).mean())
    if args.json:
        summary = {
            "input": str(source),
            "masks": [str(p) for p in written],
            "scores": [str(p) for p in scores_to],
            "method": detection.method,
            "threshold": detection.threshold,
            "proposed_fraction": round(share, 6),
            "repair_fraction": round(filled, 6),
        }
        print(json.dumps(summary, indent=2))
    else:
        what = f"{len(written)} masks, {written[0]} to {written[-1]}" if len(written) > 1 else written[0]
        print(
            f"wrote {what} ({detection.method}, threshold {detection.threshold:g}, "
            f"{share * 100:.2f}% of pixels proposed)",
            file=sys.stderr,
        )
        from core.detect.run import MOST_TO_REPAIR, what_to_check

        if share > MOST_TO_REPAIR:  # written as asked, but `repair --mask` would fill the picture itself
            print(
                f"lacuna: warning: the mask covers {share * 100:.0f}% of the picture, over half: content"
                " rather than damage; lower --grow or raise --threshold",
                file=sys.stderr,
            )
        check = what_to_check(detection.method, document)
        if check:  # where the mask is made, not only in the method's card (walk-through 45)
            print(f"lacuna: check the mask before repairing: {check}", file=sys.stderr)
        clip = getattr(document, "format", "") == "video"  # repaired with --mask, not --detect
        if not args.for_repair and filled > share and not clip:
            print(
                f"lacuna: repair --detect fills more, {filled * 100:.2f}% (what a missed mark costs a repair:"
                " the marks widened over whole scratches and stains; --for-repair writes that mask)",
                file=sys.stderr,
            )
    return 0


def compares_frames(method: str | None) -> bool:
    from core.methods import get_method

    return bool(method) and get_method(method).card.operates_on == "volume"


def clip_to_detect(video, frames: str | list[int] | None, method: str | None):
    """The method that detects on a clip's `frames` (`method`, else the clip default:
    `core.detect.run.method_for_clip`) and the frames' stack for it, with a neighbour either side
    when it compares frames: what `lacuna detect` and `lacuna repair --detect` run on a clip."""
    from core.detect.run import method_for_clip

    method = method_for_clip(method, video.frame_count)
    return method, video_frames(video, frames, context=1 if compares_frames(method) else 0)


def video_frames(video, frames: str | list[int] | None, context: int = 0):
    """A range of a video's frames (`--frames` text or numbers; the first VIDEO_FRAMES by default) as
    an 8-bit frame stack (masks are written one per frame), with `context` frames more on each side
    (`detection_window`) for a method that compares frames; a neighbour that cannot be decoded is left
    out, a frame asked for is named. The stack is held whole, so a span larger than STACK_BYTES is
    refused before anything is decoded."""
    from core.detect.run import detection_window
    from core.documents import ImageDoc
    from core.repair.request import check_frames
    from core.repair_cli import parse_frames

    wanted = parse_frames(frames) if isinstance(frames, str) else frames
    wanted = wanted or list(range(min(VIDEO_FRAMES, video.frame_count)))
    check_frames(video, wanted)
    start, last = detection_window(min(wanted), max(wanted), video.frame_count, context)
    per_frame = video.info.width * video.info.height * 3 * 4  # float32 RGB
    if (last + 1 - start) * per_frame > STACK_BYTES:
        most = max(1, STACK_BYTES // per_frame - 2 * context)
        raise MethodError(
            f"frames {min(wanted)}-{max(wanted)} are detected as one stack of"
            f" {(last + 1 - start) * per_frame / 2**30:.1f} GB; give --frames {most} frames at a time at most"
        )
    from core.video.source import open_reader

    with open_reader(video.info) as reader:
        decoded = reader.window(start, last + 1)
    while decoded[0] is None and start < min(wanted):  # a neighbour only: judged without it
        decoded, start = decoded[1:], start + 1
    while decoded[-1] is None and start + len(decoded) - 1 > max(wanted):
        decoded = decoded[:-1]
    broken = [start + k for k, frame in enumerate(decoded) if frame is None]
    if broken:
        raise MethodError(
            f"frame {broken[0]} cannot be decoded; rebuild it with fill-frames, or choose other --frames"
        )
    stack = np.stack(decoded).astype(np.float32)
    return ImageDoc(
        pixels=stack,
        path=video.path,
        format="video",
        dtype="uint8",
        mode="RGB",
        metadata={
            "stack_frames": list(range(start, start + len(stack))),
            "frames_asked": sorted(set(wanted)),
        },
    )


def slices_asked(document, frames: str):
    """A volume's slices named by --frames (from 0), as a stack of their own for detection; a photo
    or a recording is refused."""
    from dataclasses import replace

    from core.repair.request import check_frames
    from core.repair_cli import parse_frames

    if getattr(document, "kind", "") != "volume" or len(document.pixels) < 2:
        raise MethodError("--frames is for video and volumes; a photo's mask is written as one")
    wanted = sorted(set(parse_frames(frames) or []))
    check_frames(document, wanted)
    # Normalised by the whole volume's range: the proposal a slice gets is the one `lacuna repair
    # --detect` fills, whichever slices are asked for (walk-through 52: 1,449, 1,239 or 887 px).
    metadata = {
        **document.metadata,
        "stack_frames": wanted,
        "frames_asked": wanted,
        "volume_range": document.value_range,
    }
    return replace(document, pixels=document.pixels[wanted], metadata=metadata)


def numbered_frames(document) -> tuple[list[tuple[int, int]], bool]:
    """(number in the file name, index in the stack) of each mask to write, and whether it is a single
    picture's (written under the name given). A video's frames asked for go by their own number (the
    stack also holds the frames between them, which the temporal detector compares with); a volume's
    slices by theirs, from 0 (the CLI counts frames and slices from 0 everywhere)."""
    wanted = document.metadata.get("frames_asked")
    if wanted is not None:
        stack = list(document.metadata["stack_frames"])  # the frame number of each entry of the stack
        return [(frame, stack.index(frame)) for frame in wanted], False
    count = len(document.pixels)
    return [(index, index) for index in range(count)], count == 1


def _check_targets(source: Path, targets: list[Path], overwrite: bool) -> None:
    """Every file the command will write may be written: not the input, not named twice, and not
    already there unless --overwrite; said before the detection runs, so nothing is half written."""
    from core.io.atomic import resolve_target

    if len({target.resolve() for target in targets}) < len(targets):
        raise MethodError("-o and --scores name the same file; give the score map a name of its own")
    for target in targets:
        resolve_target(target, source, overwrite=overwrite, sidecar=False)


def _check_picture_names(*names: str | None) -> None:
    """Masks and scores are written as lossless pictures (one per slice or frame): a name another
    format would take (`mask.nii.gz`), or a lossy one (`mask.jpg`: it would blur a mask into values
    neither kept nor repaired), is refused up front."""
    from core.io.images import LOSSY, WRITE_FORMATS

    lossless = sorted(suffix for suffix, fmt in WRITE_FORMATS.items() if fmt not in LOSSY)
    for name in filter(None, names):
        if Path(name).suffix.lower() not in lossless:
            raise MethodError(
                f"{Path(name).name}: masks are saved as lossless pictures, one per slice or frame"
                f" ({', '.join(lossless)}; PNG and TIFF also keep the record of what made them)"
            )


def _write_scores(score: np.ndarray, path: Path, overwrite: bool) -> None:
    from core.documents import ImageDoc
    from core.io.dispatch import write_any

    pixels = np.round(np.clip(score, 0, 1) * 255.0).astype(np.float32)[None, :, :, None]
    doc = ImageDoc(pixels=pixels, format="PNG", dtype="uint8", mode="L")
    write_any(doc, path, overwrite=overwrite, sidecar=False)
