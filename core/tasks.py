"""The task registry: what each kind of repair is, said once for the CLI, the engine and the desktop.

    task("upscale").resizes            # True: a mask cannot select pixels of the result
    [t.title for t in TASKS.values()]  # in the order the desktop lists them

`operates_on`: "frames" (each image, page or slice on its own), "stack" (a volume as a whole),
"audio" or "video" (a clip's timeline). `default_scope`: what a repair touches when the person has
not narrowed it: "mask" (the painted pixels), "document" (everything; a mask may limit it), "slices"
(the missing ones), "selection" (the marked spans of a recording) or "frames" (the damaged ones).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import MethodError


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    operates_on: str = "frames"
    default_scope: str = "document"
    resizes: bool = False
    proposes_mask: bool = False  # finds damage for a mask instead of repairing (`lacuna detect`)


TASKS: dict[str, Task] = {
    t.id: t
    for t in (
        Task("inpaint", "Inpaint — fill the marked damage", default_scope="mask"),
        Task("denoise", "Denoise"),
        Task("dejpeg", "Remove JPEG artifacts"),
        Task("upscale", "Upscale (super-resolution)", resizes=True),
        Task("fill-slice", "Fill missing slices", operates_on="stack", default_scope="slices"),
        Task("fill-gap", "Fill audio gaps", operates_on="audio", default_scope="selection"),
        Task("detect", "Detect damage (proposes a mask, repairs nothing)", proposes_mask=True),
        Task("fill-frames", "Fill lost and damaged frames", operates_on="video", default_scope="frames"),
        Task("remove-dust", "Remove dust and scratches (old film)", operates_on="video"),
        Task("deflicker", "Remove flicker (old film)", operates_on="video"),
        Task("retime", "Change the frame rate", operates_on="video"),
    )
}


DAMAGE_WORDS = {"scratch", "scratches", "dust", "specks", "stains", "creases", "cracks", "repair", "restore"}


def task(task_id: str) -> Task:
    found = TASKS.get(task_id)
    if found is None:
        # a photo's damage by its name (walk-through 46 tried --task scratches): inpainting finds it
        photo = " (scratches, dust and stains: --task inpaint --detect)" if task_id in DAMAGE_WORDS else ""
        raise MethodError(f"unknown task {task_id!r}; tasks: {', '.join(TASKS)}{photo}")
    return found


def task_ids() -> tuple[str, ...]:
    return tuple(TASKS)
