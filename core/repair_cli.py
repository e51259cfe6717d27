"""`lacuna repair INPUT -o OUTPUT --task T [...]`: read, repair with a progress bar, write beside it."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from core.errors import MethodError, NothingToDoError
from core.methods.registry import check_number
from core.runtime.context import Progress, RunContext


def parse_params(items: list[str]) -> dict[str, str]:
    """`K=V` strings to a dict; the method card converts and checks the values."""
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise MethodError(f"--param expects KEY=VALUE, not {item!r}")
        params[key.strip().replace("-", "_")] = value.strip()
    return params


def parse_gap(text: str, sample_rate: int, duration: float | None = None):
    """`1.20:1.35` -> a TimeSpan; `1.20:1.35@2000:4000` -> a TFRect over 2-4 kHz (seconds, Hz);
    refused in seconds when it starts past the recording's `duration`."""
    from core.audio.selection import TFRect, TimeSpan

    times, _, band = text.partition("@")
    parts = times.split(":") + (band.split(":") if band else [])
    if len(parts) != (4 if band else 2):
        raise MethodError(f"--gap expects START:END seconds, optionally @LOW:HIGH Hz, not {text!r}")
    start, end = (check_number(f"--gap {what} (seconds)", v, 0.0) for what, v in zip(("start", "end"), parts))
    if end <= start:
        raise MethodError(f"--gap {text!r}: the end must come after the start")
    if duration is not None and start >= duration:
        raise MethodError(f"--gap {text!r}: the recording is only {duration:.3f} s long")
    if duration is not None and round(end * sample_rate) > round(duration * sample_rate):  # not cut silently
        past = f"--gap {text!r} runs past the end ({duration:.3f} s): filled to it"
        print(f"lacuna: warning: {past}", file=sys.stderr)
    first, stop = int(round(start * sample_rate)), int(round(end * sample_rate))
    if not band:
        return TimeSpan(first, stop)
    low, high = (check_number(f"--gap {what} (Hz)", v, 0.0) for what, v in zip(("low", "high"), parts[2:]))
    if high <= low:
        raise MethodError(f"--gap {text!r}: the band's high frequency must be above its low one")
    return TFRect(first, stop, low, high)


class AudioSelection(NamedTuple):
    selections: list
    origin: str  # where they came from, for the result's record
    lost_packets: bool  # a loss trace, or dropouts found on a packet grid: a call that lost packets
    warnings: tuple[str, ...] = ()  # said, and in the record: a call mostly lost, a trace's length


def audio_selection(
    document,
    gaps: list[str],
    detect: bool,
    trace: str | None = None,
    packet_ms: float | None = None,
    threshold: float | None = None,
) -> AudioSelection:
    """The selections the command line asks for: explicit gaps, a loss trace's lost packets, plus what
    detection finds."""
    if getattr(document, "samples", None) is None:
        if getattr(document, "kind", "") == "video":
            raise MethodError(
                "--gap and --loss-trace are for audio; a clip's repair takes --mask or --detect (with"
                " --frames A-B)"
            )
        raise MethodError("--gap and --loss-trace are for audio; images and scans take --mask (or --detect)")
    selections = [
        parse_gap(g, document.sample_rate, len(document.samples) / document.sample_rate) for g in gaps
    ]
    origins = [f"{len(gaps)} span(s) given with --gap"] if gaps else []
    said: tuple[str, ...] = ()
    if trace:
        from core.audio.loss_trace import traced_loss

        loss = traced_loss(document.samples, document.sample_rate, Path(trace), packet_ms)
        said = tuple(f"{Path(trace).name}: {warning}" for warning in loss.warnings)
        for warning in said:
            print(f"lacuna: warning: {warning}", file=sys.stderr)
        if not loss.spans and not selections and not detect:  # else --gap's or detection's to fill
            raise NothingToDoError(f"{Path(trace).name}: no packet of this recording is marked lost")
        selections += loss.spans
        origins.append(loss.origin)
    grid_ms = None
    if detect:
        from core.audio.detect import CLICK_THRESHOLD, call_warnings, what_to_fill
        from core.audio.detect import detect as find_damage

        found = find_damage(document.samples, document.sample_rate, threshold=threshold or CLICK_THRESHOLD)
        if not found and not selections:
            raise NothingToDoError("no clicks or dropouts were found; give the damaged span with --gap")
        found, origin, grid_ms = what_to_fill(found, document.sample_rate, len(document.samples))
        selections += [d.selection for d in found]
        origins.append(origin)
        if found:  # what an unattended repair will change, before it does (as for a picture)
            print(f"lacuna: detection marked {_found_line(found, document.sample_rate)}", file=sys.stderr)
        for warning in call_warnings(found, grid_ms, len(document.samples)):
            print(f"lacuna: warning: {warning}", file=sys.stderr)
            said += (warning,)
    lost_packets = bool(trace) or grid_ms is not None
    return AudioSelection(selections, "; ".join(origins), lost_packets, said)


def _found_line(found, rate: int) -> str:
    """'1 click, 3 ms in all (0.001-0.004 s) to fill': what audio detection gave the repair."""
    from core.audio.detect import count_kinds

    spans = [d.selection.span for d in found]
    total_ms = sum(b - a for a, b in spans) * 1000.0 / rate
    first, last = min(a for a, _ in spans) / rate, max(b for _, b in spans) / rate
    return f"{count_kinds(found)}, {total_ms:.0f} ms in all ({first:.3f}-{last:.3f} s) to fill"


def method_asked(args, lost_packets: bool) -> str | None:
    """The method asked for; for a call's lost packets (a loss trace, or dropouts on a packet grid)
    and none asked for, the speech concealment if it can run (None: the task's default). (fill-gap's
    own default, tuned on music and sound, left 35 of the 89 lost runs of the real call
    plc/test_files/1214.wav more than 6 dB below the speech around them; the speech concealment 9.)"""
    if args.method or not lost_packets:
        return args.method
    from core.audio.detect import LOST_PACKETS_METHOD
    from core.methods import get_method

    card = get_method(LOST_PACKETS_METHOD).card
    return card.id if card.available and card.task == args.task else None


def masks_given(document, path: Path, frames: list[int] | None) -> tuple[Any, list[int] | None]:
    """The --mask of a repair, and the frames the repair is limited to. One picture applies to every
    frame (of a video's --frames, a volume's slices); a volume file on a scan's grid (a NIfTI mask)
    gives each slice its own. The name given to `lacuna detect -o` for a clip
    or a scan, whose masks are NAME_0000.png ... (one per frame or slice, from 0), gives each its
    own: a clip is then repaired on the frames that have one (or on --frames, each needing one)."""
    import numpy as np

    from core.io.masks import numbered_masks, read_mask, read_numbered_masks, read_scan_mask
    from core.repair.request import check_frames

    if document.kind == "video":
        shape = (document.info.height, document.info.width)
    elif getattr(document, "pixels", None) is None:
        raise MethodError("--mask applies to images and scans; audio takes a selection")
    else:
        shape = document.pixels.shape[1:3]
    numbered = [] if path.exists() else numbered_masks(path)
    if not numbered:
        if path.is_dir():
            raise MethodError(
                f"{path.name} is a folder: --mask takes one picture, or the name given to `lacuna detect"
                " -o` (its masks NAME_0000.png ... are read one per frame or slice)"
            )
        _say_if_one_of_several(path)
        if document.kind == "volume":  # a picture, or a volume on the scan's grid (a NIfTI mask)
            return read_scan_mask(path, document), frames
        return read_mask(path, shape), frames
    if document.kind == "video":  # in frame order, once each: as the video driver takes them
        wanted = sorted(set(frames)) if frames is not None else numbered
        check_frames(document, wanted)
        return read_numbered_masks(path, shape, wanted), wanted
    slices = sorted(set(frames)) if frames is not None else numbered  # the others: nothing to repair
    check_frames(document, slices)
    masks = np.zeros((document.pixels.shape[0], *shape), np.float32)
    masks[slices] = read_numbered_masks(path, shape, slices)
    return masks, frames


def _say_if_one_of_several(path: Path) -> None:
    """A numbered mask given alone (m_0001.png of m_0000.png ...) is used for every frame: said, since
    the name of them all would have given each frame its own."""
    from core.io.masks import numbered_masks

    if path.stem[-5:-4] == "_" and path.stem[-4:].isdigit():
        base = path.with_name(f"{path.stem[:-5]}{path.suffix}")
        if len(numbered_masks(base)) > 1:
            print(
                f"lacuna: {path.name} is one of the numbered masks of {base.name}: used for every frame"
                f" here (--mask {base} gives each frame its own)",
                file=sys.stderr,
            )


def parse_frames(text: str | None) -> list[int] | None:
    """`10-20,31` -> [10, ..., 20, 31] (frame numbers from 0, ranges inclusive)."""
    if not text:
        return None
    frames: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            if int(last or first) < int(first):
                raise MethodError(
                    f"--frames {text!r}: a range goes from its first frame to its last, e.g. 3-7"
                )
            frames.extend(range(int(first), int(last or first) + 1))
    except ValueError:
        raise MethodError(f"--frames expects numbers and ranges like 10-20,31, not {text!r}") from None
    return frames


def output_target(args: argparse.Namespace, document, source: Path) -> tuple[Path, str]:
    """Where the result goes and what a taken name means: -o as given ("refuse"); -o naming a folder
    (an existing one, or ending in "/") takes the default name inside it, as `cp FILE DIR/` does (a
    result that is a folder, given a new name ending in "/", takes that name, as `cp -r` does), and
    no -o the default name beside the input: both "rename" (a taken name gets a number: the name is
    Lacuna's choice, and walk-through 47 saw `-o .` refuse what no -o numbered). A DICOM series is
    written as a folder: an earlier result's folder given to it is the output itself."""
    from core.io.formats import default_extension
    from core.io.naming import output_name
    from core.io.provenance import sidecar_path

    extension = default_extension(document)
    given = args.output
    # a series is written as a folder: an existing one is replaced (--overwrite) only when it is an
    # earlier result (its record beside it), else the result goes inside (its files were wiped)
    earlier = given and extension == "" and sidecar_path(Path(given.rstrip("/" + os.sep))).is_file()
    # "-o new_folder/" for a result that is itself a folder names that folder, as `cp -r` does (the
    # README's `lacuna repair ct/ -o ct_denoised/` was refused: the folder to put it in did not exist)
    names_a_folder = given and given.endswith(("/", os.sep)) and (extension != "" or Path(given).exists())
    into = given and (names_a_folder or (Path(given).is_dir() and not earlier))
    if given and not into:
        return Path(given), "refuse"
    default = output_name(source, result_label(args, document), extension)
    return (Path(given) / default.name if given else default), "rename"


def result_label(args: argparse.Namespace, document) -> str:
    """The task part of the default output name, with the parameters that name it (an upscale's
    scale, the method's default when not given: core.io.naming.task_label)."""
    from core.io.naming import task_label

    if args.task != "upscale":
        return args.task
    from core.methods import choose_method, get_method
    from core.methods.modality import modality_of, slice_count

    if args.method:
        card = get_method(args.method).card
    else:
        card = choose_method(args.task, None, modality_of(document), slice_count(document))[0].card
    return task_label(args.task, card.resolve_params(parse_params(args.param)))


DETECT_INSTEAD = "raise --threshold or give the area to repair with --mask"


def detected_mask(document, args: argparse.Namespace, painted, ctx: RunContext, frames=None):
    """What image detection proposes to repair, joined with a --mask if one was given too, and the
    provenance step that records the detection (for the result's history): (mask, step)."""
    from core.detect.cli import detect_with_progress

    method, threshold = getattr(args, "detect_method", None), getattr(args, "threshold", None)
    params = parse_params(getattr(args, "detect_param", []))
    detection = detect_with_progress(document, method, threshold, params, ctx)
    detected, step = detection.repair_step(document, frames)
    proposal, share = _joined(detected, painted, detected[frames] if frames else detected)
    if not getattr(args, "json", False):  # how much an unattended repair will change, before it does
        print(f"lacuna: detection marked {share * 100:.2f}% of the picture to repair", file=sys.stderr)
        _say_unreviewed(detection.method, args, document)
    return proposal, step


def _refuse_unreviewed_scan(document, args: argparse.Namespace) -> None:
    """A scan's proposal is filled only when asked for by --unreviewed (walk-through 45: a CT's
    head-holder edges and bone rims were filled with a warning and exit 0): anatomy is not damage."""
    from core.detect.run import scan_caveat

    caveat = scan_caveat(document)
    if caveat and not getattr(args, "unreviewed", False):
        raise MethodError(
            f"{caveat}; to review it: {_review_steps(args)} (or add --unreviewed to fill it as proposed)"
        )


def _say_unreviewed(method_id: str, args: argparse.Namespace, document) -> None:
    """What the detector can take for damage, and how to review its mask before a repair fills it
    (walk-through 45: collars, a hair bow and a rope smeared, with nothing said at the command)."""
    from core.detect.run import what_to_check

    check = what_to_check(method_id, document)
    if check:
        print(
            f"lacuna: nobody reviewed that mask: {check}; to review it first: {_review_steps(args)}",
            file=sys.stderr,
        )


def _review_steps(args: argparse.Namespace) -> str:
    """The commands that detect, let a person review, then repair what this one would have: with its
    frames and task (walk-through 53: without --frames the detection covered other frames of a clip;
    a clip's masks are numbered, mask_0003.png ..., and --mask mask.png reads them back)."""
    source = shlex.quote(str(args.input))
    frames = f" --frames {args.frames}" if getattr(args, "frames", None) else ""
    return (
        f"lacuna detect {source}{frames} -o mask.png --for-repair, erase what is not damage, then lacuna"
        f" repair {source} --task {args.task}{frames} --mask mask.png"
    )


def detected_in_clip(video, args: argparse.Namespace, painted, ctx: RunContext, frames=None):
    """Detection on a clip's `frames` (from --frames or the numbered --mask files; else the first
    ones `lacuna detect` looks at), the repair masks of those frames joined with the --mask, and the
    detection's step for the result's history: (masks (frames, H, W), frames, step). A detector that
    compares frames gets their neighbours too, as `lacuna detect` gives them."""
    from core.detect.cli import clip_to_detect, detect_with_progress, numbered_frames
    from core.repair.request import describe_frames

    method, stack = clip_to_detect(video, frames, getattr(args, "detect_method", None))
    threshold = getattr(args, "threshold", None)
    detection = detect_with_progress(stack, method, threshold, parse_params(args.detect_param or []), ctx)
    detected, step = detection.repair_step(video)
    numbered = numbered_frames(stack)[0]
    frames = [frame for frame, _ in numbered]
    detected = detected[[index for _, index in numbered]]
    masks, share = _joined(detected, painted, detected)
    if not getattr(args, "json", False):
        others = video.frame_count > len(frames) and not (args.frames or args.mask)
        looked = f" (the first {len(frames)}; --frames picks others)" if others else ""
        print(
            f"lacuna: detection marked {share * 100:.2f}% of {describe_frames(frames)}{looked} to repair",
            file=sys.stderr,
        )
        _say_unreviewed(detection.method, args, video)
    return masks, frames, step


def _joined(detected, painted, counted) -> tuple[Any, float]:
    """Detection's repair mask joined with a painted --mask, and the share of `counted` (detection on
    the frames repaired, without the painting) it marks; refused when that is content rather than
    damage, or when nothing at all is left to repair."""
    import numpy as np

    from core.detect.run import check_share_to_repair

    share = check_share_to_repair(counted, DETECT_INSTEAD)
    proposal = detected if painted is None else detected | (np.asarray(painted) > 0)
    if not proposal.any():
        raise NothingToDoError("no damage was found; lower --threshold or give the area with --mask")
    return proposal, share


def params_fit_either_choice(task: str, modality: str, chosen, params: dict[str, Any]) -> None:
    """Detection on a volume can change the default method (`slices_showing`: marks on every slice
    leave each slice to be filled by itself): a --param of only one of the two is refused before
    detection runs, not after it."""
    from core.methods import choose_method

    alone = choose_method(task, None, modality, 1)[0].card
    only = sorted(set(params) - {p.name for p in alone.params})  # the chosen one took them all
    if only and alone is not chosen:
        raise MethodError(
            f"--param {', '.join(only)} is a parameter of {chosen.id}, and detection chooses between"
            f" {chosen.id} (slices that show what another hides) and {alone.id} (each slice by"
            f" itself); name --method {chosen.id} to use it"
        )


class TerminalProgress:
    """A one-line progress bar (fraction, message, ETA) on a terminal; sparse lines otherwise."""

    def __init__(self, stream: TextIO | None = None, width: int = 28):
        self.stream = stream or sys.stderr
        self.width = width
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_draw = 0.0
        self.last_decile = -1
        self.shown = 0.0  # the last fraction reported
        self.base = 0.0  # where a later stage's 0 lies (`go_on`)

    def go_on(self) -> None:
        """A later stage (a video's frames made while it is written) reports from 0 again: it fills
        the rest of the bar from where it stands, instead of jumping back."""
        self.base = self.shown

    def __call__(self, report: Progress) -> None:
        if self.base:
            report = replace(report, fraction=self.base + report.fraction * (1.0 - self.base))
        self.shown = report.fraction
        now = time.monotonic()
        if self.live:
            if now - self.last_draw < 0.1 and report.fraction < 1.0:
                return
            self.last_draw = now
            self.stream.write("\r" + self.line(report)[:120].ljust(120))
        else:
            decile = int(report.fraction * 10)
            if decile == self.last_decile:
                return
            self.last_decile = decile
            self.stream.write(self.line(report) + "\n")
        self.stream.flush()

    def line(self, report: Progress) -> str:
        filled = int(round(report.fraction * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        eta = "" if report.eta is None else f"  ETA {_clock(report.eta)}"
        return f"[{bar}] {report.fraction * 100:5.1f}%  {report.message}{eta}"

    def finish(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def repair_command(args: argparse.Namespace) -> int:
    from core.io import read, write
    from core.io.dispatch import check_target
    from core.methods import choose_method
    from core.methods.modality import modality_of, slices_showing
    from core.repair import run_repair
    from core.repair.request import check_fits, check_frames
    from core.runtime.device import explain_device

    source = Path(args.input)
    document = read(source)
    for warning in document.metadata.get("read_warnings") or []:
        print(f"lacuna: warning: {warning}", file=sys.stderr)
    # Where the result goes is checked before anything is computed (folder, name, overwrite rules).
    target, policy = output_target(args, document, source)
    overwrite = bool(getattr(args, "overwrite", False))
    target = check_target(document, target, overwrite, policy)
    if document.kind == "video":
        from core.io.video import check_codec
        from core.tasks import task as get_task

        # sized as the source unless the repair resizes it (the writer checks the frames it gets)
        check_codec(target, getattr(args, "codec", None), None if get_task(args.task).resizes else document)
    frames = parse_frames(getattr(args, "frames", None))
    from core.detect.run import check_detect_task, check_unreviewed

    check_detect_task((args.task,), args.detect)
    check_unreviewed(getattr(args, "unreviewed", False), args.detect)
    mask = None
    if args.mask:
        mask, frames = masks_given(document, Path(args.mask), frames)
    params: dict[str, Any] = parse_params(args.param)
    if args.method:  # a typo in a parameter is refused before a recording is scanned
        from core.methods import get_method

        get_method(args.method).card.resolve_params(params)
    if getattr(args, "packet_ms", None) is not None and not getattr(args, "loss_trace", None):
        raise MethodError("--packet-ms is the packet length of a --loss-trace; give the trace too")
    # A recording's selection first: what it finds can choose the method (a call's lost packets).
    audio = None
    if document.kind == "audio" and args.threshold is not None:
        if not args.detect:
            raise MethodError("--threshold sets what --detect marks; give --detect too")
        if args.threshold < 2:  # 0-1 is the images' scale: on a recording it would mark nearly everything
            raise MethodError(
                f"--threshold {args.threshold:g}: on a recording it is how many times a click stands above"
                " the local prediction error (default 16; higher marks fewer), not the images' 0-1"
            )
    selecting = any(getattr(args, name, None) for name in ("gap", "detect", "loss_trace"))
    if document.kind == "audio" and selecting:
        image_only = {"--detect-method": "detect_method", "--detect-param": "detect_param"}
        given = [flag for flag, name in image_only.items() if getattr(args, name, None) not in (None, [])]
        if given:  # it would be ignored: a recording's detection has no such settings
            verb = "sets" if len(given) == 1 else "set"
            raise MethodError(f"{', '.join(given)} {verb} the detection of images; a recording's has none")
        audio = audio_selection(
            document, args.gap, args.detect, args.loss_trace, args.packet_ms, args.threshold
        )
        mask = audio.selections
    check_frames(document, frames)  # before anything is said to run
    if getattr(args, "detect", False):
        _refuse_unreviewed_scan(document, args)
    asked = method_asked(args, audio is not None and audio.lost_packets)
    modality = modality_of(document)
    slices = slices_showing(document, mask, frames, params) if not asked else None  # it weighs the mask
    chosen, fallback = choose_method(args.task, asked, modality, slices)
    chosen.card.resolve_params(params)  # a bad --param is refused before anything is said to run
    if getattr(args, "detect", False) and not asked and (slices or 0) > 1:
        params_fit_either_choice(args.task, modality, chosen.card, params)
    ctx = RunContext(
        device=args.device,
        precision=args.precision,
        backend=getattr(args, "backend", "auto"),
        seed=args.seed,
        tile=args.tile,
    )
    if getattr(args, "detect", False) and document.kind == "video" and not (args.gap or args.loss_trace):
        mask, frames, step = detected_in_clip(document, args, mask, ctx, frames)
        document.provenance = [*document.provenance, step]
    elif getattr(args, "detect", False) and getattr(document, "pixels", None) is not None:
        mask, step = detected_mask(document, args, mask, ctx, frames)
        document.provenance = [*document.provenance, step]  # the sidecar says the mask was proposed
        if not asked:  # the default, chosen again for what detection marked (a volume's every slice)
            slices = slices_showing(document, mask, frames, params)
            chosen, fallback = choose_method(args.task, None, modality, slices)
            chosen.card.resolve_params(params)
    elif selecting and audio is None:
        audio_selection(document, args.gap, args.detect, args.loss_trace)  # refused: not a recording
    if fallback:
        print(f"lacuna: {fallback}", file=sys.stderr)
    if asked != args.method and not args.json:
        print(
            f"lacuna: lost packets: {chosen.card.id} conceals them (--method picks another)",
            file=sys.stderr,
        )
    if document.kind == "audio" and not selecting and chosen.card.needs_mask:
        from core.audio.loss_trace import trace_beside

        beside = trace_beside(source)
        if beside.is_file():  # what `lacuna info` and the app offer: said here too
            raise MethodError(
                f"nothing is selected; the loss trace {beside.name} lies beside it: add --loss-trace"
                f" {beside} (or --detect, or --gap START:END)"
            )
    check_fits(chosen.card, args.task, document, mask, named=bool(args.method))  # before "running"
    device, why = explain_device(args.device)
    if not args.json:  # a classical method runs no network: where torch would run is beside the point
        where = "" if chosen.card.kind == "classical" else f" on {device} ({why})"
        print(f"lacuna: running {chosen.card.id}{where}", file=sys.stderr)
    bar = TerminalProgress()
    started = time.monotonic()
    try:
        result = run_repair(
            document,
            args.task,
            method=chosen.card.id,
            mask=mask,
            ctx=ctx,
            on_progress=bar,
            frames=frames,
            **params,
        )
        origin = [f"mask {Path(args.mask).name}"] if args.mask else []
        origin += [audio.origin] if audio is not None and audio.origin else []
        step = result.provenance[-1]
        step.selection = "; ".join([*origin, *([step.selection] if step.selection else [])])
        step.warnings.extend(audio.warnings if audio is not None else ())
        options = {"codec": args.codec} if getattr(args, "codec", None) else {}
        # A video's repaired frames are made while it is written (it streams): the bar goes on.
        bar.go_on()
        written = write(
            result, target, overwrite=overwrite, overwrite_policy=policy, on_progress=bar, **options
        )
    finally:
        bar.finish()
    from core.io.provenance import conversions

    for note in [*ctx.notes, *conversions(written)]:
        print(f"lacuna: {note}", file=sys.stderr)
    if ctx.extras.get("backend") and not args.json:
        print(f"lacuna: the network ran on {ctx.extras['backend']}", file=sys.stderr)
    from core.repair.calibrate import MEASURING_SECONDS

    measuring = ctx.extras.get(MEASURING_SECONDS, 0.0)
    seconds = time.monotonic() - started - measuring
    record = result.provenance[-1].as_dict() if getattr(result, "provenance", None) else {}
    if args.json:
        summary = {
            "input": str(source),
            "output": str(written),
            "task": args.task,
            "method": record.get("method"),
            "params": record.get("params", {}),
            "device": str(device),
            "device_reason": why,
            "fallback": fallback,
            "backend": ctx.extras.get("backend"),
            "notes": ctx.notes,
            "weights": {k: str(v) for k, v in chosen.card.found_weights().items()},
            "seconds": round(seconds, 3),
            MEASURING_SECONDS: round(measuring, 3),
        }
        print(json.dumps(summary, indent=2, default=str))
    else:
        first = f", after {measuring:.1f} s measuring its speed here, once" if measuring else ""
        print(
            f"wrote {written} ({record.get('method', args.method)}, {seconds:.1f} s{first})", file=sys.stderr
        )
    return 0
