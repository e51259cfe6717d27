"""What a batch does to each kind of item: the task, method and parameters, chosen once up front.

A batch may name several tasks (`--task denoise --task fill-gap`): each item gets the first task
whose method works on its kind (image methods on photos and scans, volume methods on scans, audio
methods on recordings). Everything is checked before the first item runs, so a typo in a parameter
fails the command at once instead of failing 50,000 items one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.errors import MethodError

# The item kinds (from `items.KINDS`) that a method's `operates_on` applies to.
APPLIES_TO = {
    "image": ("image", "dicom", "nifti", "video"),  # a video's frames go through image methods
    "volume": ("dicom", "nifti"),
    "audio": ("audio",),
    "video": ("video",),
}
SCAN_KINDS = ("dicom", "nifti")
ALL_KINDS = tuple(dict.fromkeys(k for kinds in APPLIES_TO.values() for k in kinds))


@dataclass(frozen=True)
class Recipe:
    task: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)  # resolved by the method's card
    detect: bool = False  # find what to repair (damage in images, clicks and dropouts in audio)
    # The method for a call whose dropouts the detection finds on a packet grid (its lost packets),
    # used there instead of `method` with its own defaults; empty: `method` everywhere.
    for_calls: str = ""
    # A scan's method chosen by the engine from the scan's own modality (a CT's denoise-scan), as
    # `lacuna repair` chooses it, where no method or parameter was named; False: `method` everywhere.
    by_modality: bool = False
    # A recording's lost packets are the ones a loss trace beside it marks (`TRACE_NAME`).
    loss_traces: bool = False
    # How images are detected: "method", "threshold" and "params" as `lacuna repair --detect-method,
    # --threshold, --detect-param` take them (empty: the detector's defaults).
    detection: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """What identifies the recipe (a resumed batch must match it). `for_calls` and `by_modality`
        follow from these, so a batch begun by an earlier Lacuna without them still resumes."""
        described = {"task": self.task, "method": self.method, "params": self.params, "detect": self.detect}
        described = {**described, "loss_traces": True} if self.loss_traces else described
        return {**described, "detection": self.detection} if self.detection else described

    def action(self) -> str:
        """What the batch does to an item of this recipe, in words: 'fill-gap with fill-gap-auto'."""
        settings = {k: v for k, v in self.detection.items() if k != "params"}
        how = ", ".join(f"{k}={v}" for k, v in {**settings, **self.detection.get("params", {})}.items())
        found = f"what detection ({how}) finds" if how else "what detection finds"
        what = f"{self.task} {found}," if self.detect else self.task
        text = f"{what} with {self.method}"
        if self.by_modality:
            # `method` is only the usual pick: a one-slice scan, or marks on every slice, get another
            return f"{what} with the method lacuna repair picks for each scan's modality and slices"
        return f"{text} ({self.for_calls} on calls with lost packets)" if self.for_calls else text


def make_recipes(
    tasks: Sequence[str],
    methods: Sequence[str] = (),
    params: dict[str, Any] | None = None,
    detect: bool = False,
    loss_traces: bool = False,
    detection: dict[str, Any] | None = None,
) -> dict[str, Recipe]:
    """Item kind -> Recipe. Raises MethodError for an unknown task, method or parameter."""
    from core.methods import default_method, get_method

    if not tasks:
        raise MethodError("name at least one --task")
    detection = _checked_detection(detection or {}, detect)
    params = dict(params or {})
    explicit = {get_method(m).card.task: get_method(m).card for m in methods}
    for task, card in explicit.items():
        if task not in tasks:
            raise MethodError(f"method {card.id!r} is for task {task!r}; add --task {task}")
    # Scans get the task's scan default where the default network was trained on photos only.
    chosen = [
        (card, kinds)
        for task in tasks
        for card, kinds in _cards_by_modality(explicit.get(task), task, default_method)
    ]
    cards = list(dict.fromkeys(card for card, _ in chosen))
    unused = set(params) - {p.name for card in cards for p in card.params}
    if unused:
        names = ", ".join(c.id for c in cards)
        raise MethodError(f"no chosen method ({names}) has a parameter {', '.join(sorted(unused))}")
    recipes: dict[str, Recipe] = {}
    for card, kinds in chosen:
        if not card.available:
            raise MethodError(f"method {card.id!r} cannot run: {card.unavailable_reason}")
        # Resolved (converted, defaults filled in), so the CLI's "--param sigma=10" and the app's 10.0
        # describe the same batch in the manifest.
        own = card.resolve_params({k: v for k, v in params.items() if k in {p.name for p in card.params}})
        traces = loss_traces and card.operates_on == "audio"
        if card.needs_mask and not (detect or traces):
            raise MethodError(f"method {card.id!r} needs to know what to repair: add --detect to find it")
        defaulted = card.task not in explicit and not any(p.name in params for p in card.params)
        calls = _method_for_calls(card, (detect or traces) and defaulted)
        for kind in APPLIES_TO[card.operates_on]:
            if kind in kinds:
                # Detection chooses what a masked method repairs; whole-image methods (denoise) ignore it.
                masked = detect and card.needs_mask
                by_modality = defaulted and kind in SCAN_KINDS
                how = detection if masked and card.operates_on != "audio" else {}
                recipe = Recipe(card.task, card.id, own, masked, calls, by_modality, traces, how)
                recipes.setdefault(kind, recipe)
    return recipes


def skip_reason(recipe: Recipe | None, kind: str) -> str | None:
    """Why an item of `kind` is skipped before it is read (the run and --dry-run alike), or None. A
    clip keeps its recipe (the batch's description, which a resumed batch must match, stays as
    earlier versions wrote it) but is not detected whole."""
    if recipe is None:
        return f"no task given for {kind} files"
    if kind == "video" and recipe.detect:
        return (
            "a clip's damage is detected a range of frames at a time (lacuna repair CLIP --detect"
            " --frames A-B); remove-dust and deflicker find theirs themselves"
        )
    return None


def unused_tasks(tasks: Sequence[str], recipes: dict[str, Recipe], kinds: set[str]) -> list[str]:
    """The tasks asked that no item here gets: each kind of file gets the first task that fits it,
    so a later task may be left unused (a person asking for it should hear so)."""
    used = {recipes[kind].task for kind in kinds if kind in recipes}
    return [task for task in dict.fromkeys(tasks) if task not in used]


def unused_task_notes(unused: Sequence[str], kinds: set[str], frame_folders: Sequence[str]) -> list[str]:
    """What to say of each unused task, given the kinds of file here: none it repairs, or an earlier
    task took them; a film task whose numbered pictures (in `frame_folders`) were taken as photos,
    since a photo task was asked too, says how to run it on them."""
    from core.methods import methods

    notes = []
    for task in unused:
        cards = methods(task)
        fits = sorted({kind for card in cards for kind in APPLIES_TO[card.operates_on]} & kinds)
        if frame_folders and any(card.operates_on == "video" for card in cards):
            shown = ", ".join(frame_folders[:3]) + (", ..." if len(frame_folders) > 3 else "")
            notes.append(
                f"--task {task} is used for no item: the numbered pictures in {shown} are taken as photos"
                f" when a photo task is asked too; run --task {task} alone to repair them as films"
            )
        elif fits:
            notes.append(
                f"--task {task} is used for no item: an earlier --task takes the {', '.join(fits)} files"
            )
        else:
            notes.append(f"--task {task} is used for no item: no file here is one it repairs")
    return notes


def _checked_detection(detection: dict[str, Any], detect: bool) -> dict[str, Any]:
    """The image detection's settings, checked up front against the detector they name (the photo
    default's when none; `check_scan_detection` checks the scans' once the items are known): {}
    when none were given."""
    from core.methods import default_method, get_method

    given = {k: v for k, v in detection.items() if v not in (None, {}, "")}
    if not given:
        return {}
    if not detect:
        raise MethodError("--detect-method, --threshold and --detect-param set the detection: add --detect")
    card = get_method(given["method"]).card if given.get("method") else default_method("detect", "photo").card
    if card.task != "detect":
        raise MethodError(f"method {card.id!r} is for {card.task!r}, not damage detection")
    threshold = {"threshold": given["threshold"]} if given.get("threshold") is not None else {}
    resolved = card.resolve_params({**given.get("params", {}), **threshold})  # refused here if wrong
    params = {k: resolved[k] for k in given.get("params", {})}
    return {**given, **({"params": params} if params else {})}


def check_scan_detection(recipes: dict[str, Recipe], items: list[Any], unreviewed: bool = False) -> None:
    """A batch that would fill what detection proposes on scans is refused up front unless
    `unreviewed` (--unreviewed, as `lacuna repair --detect` asks it on a scan): anatomy can look like
    damage, and no one reviews a batch's proposals; the first scans are named, to be found in an
    archive. Scans are detected with the scans' default detector where none is named: a
    --detect-param it lacks would fail every scan item one by one, so that is refused up front too."""
    from core.batch.items import listed_keys
    from core.detect.run import not_made_for
    from core.methods import default_method

    kinds = {item.kind for item in items}
    detected = [i.key for i in items if i.kind in SCAN_KINDS and i.kind in recipes and recipes[i.kind].detect]
    if detected and not unreviewed:
        scans = f"the scans here ({listed_keys(detected)})"
        raise MethodError(
            f"{not_made_for(scans)}, and no one reviews a batch's proposals; leave the scans out"
            " (--exclude), review a scan's proposal with lacuna detect, or add --unreviewed to fill them"
            " as proposed (in the app: the batch's box for scans)"
        )
    for kind in sorted(kinds & set(SCAN_KINDS)):
        how = recipes[kind].detection if kind in recipes else {}
        if how.get("method") or not how.get("params"):
            continue
        card, photos = default_method("detect", "scan").card, default_method("detect", "photo").card
        unknown = sorted(set(how["params"]) - {p.name for p in card.params})
        if unknown:
            raise MethodError(
                f"--detect-param {', '.join(unknown)}: the scans here are detected with {card.id}, which has"
                f" no such parameter; name --detect-method {photos.id} to detect every item with it, or"
                " leave the scans out (--exclude)"
            )


def _method_for_calls(card, applies: bool) -> str:
    """The speech concealment for a call's lost packets, as `lacuna repair --detect` picks it
    (`core.repair_cli.method_asked`), where the method was the task's default and no parameter was
    given for it; '' elsewhere."""
    from core.audio.detect import LOST_PACKETS_METHOD
    from core.methods import get_method

    if not applies or card.operates_on != "audio" or card.id == LOST_PACKETS_METHOD:
        return ""
    speech = get_method(LOST_PACKETS_METHOD).card
    return speech.id if speech.available and speech.task == card.task else ""


def _cards_by_modality(explicit, task: str, default_method) -> list[tuple[Any, tuple[str, ...]]]:
    """The method for `task` on photo-like items and on scans, with the item kinds each applies to."""
    if explicit is not None:
        return [(explicit, ALL_KINDS)]
    photo, scan = default_method(task, "photo").card, default_method(task, "scan").card
    if photo is scan:
        return [(photo, ALL_KINDS)]
    return [(photo, tuple(k for k in ALL_KINDS if k not in SCAN_KINDS)), (scan, SCAN_KINDS)]
