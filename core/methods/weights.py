"""Where weights files are found: the user's weights folder first, then the weights shipped in the package.

The shipped weights install with Lacuna as package data (`lacuna_resources/weights`, the repository's
`resources/weights`), so they are found wherever the package lives. The user's folder is the
platform's data folder (`platformdirs`: ~/.local/share/lacuna/weights on Linux, ~/Library/Application
Support/lacuna/weights on macOS, %LOCALAPPDATA%\\lacuna\\weights on Windows) or `$LACUNA_WEIGHTS_DIR`.
A file there with a shipped file's name replaces it: that is how a fine-tuned network is used.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_USER_FOLDER = "LACUNA_WEIGHTS_DIR"

# A folder searched instead of both (a benchmark of a fresh training run, or a test); None = normal.
OVERRIDE: Path | None = None


def shipped_folder() -> Path:
    """The weights installed with the package."""
    from importlib.resources import files

    return Path(str(files("lacuna_resources"))) / "weights"


def samples_folder() -> Path:
    """The sample files installed with the package (a CT slice for a first look)."""
    return shipped_folder().parent / "samples"


def user_folder() -> Path:
    """The user's weights folder (it may not exist yet)."""
    configured = os.environ.get(ENV_USER_FOLDER)
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_path

    return user_data_path("lacuna", appauthor=False) / "weights"


def search_folders() -> list[Path]:
    if OVERRIDE is not None:
        return [Path(OVERRIDE)]
    return [user_folder(), shipped_folder()]


def locate(name: str) -> Path | None:
    """The first `name` in the search folders, or None."""
    for folder in search_folders():
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def origin(path: Path) -> str:
    """'user folder' or 'shipped' (or 'override folder'), for `lacuna models`."""
    if OVERRIDE is not None:
        return "override folder"
    return "user folder" if path.parent == user_folder() else "shipped"


def require(name: str) -> Path:
    """The path of `name`, or a MethodError saying where it was looked for."""
    from core.errors import MethodError

    found = locate(name)
    if found is None:
        raise MethodError(f"weights file {name} not found; {where_looked()}")
    return found


def gray_or_color(gray: bool, gray_weights: str, color_weights: str | None) -> tuple[Path, bool]:
    """(the weights for a gray or color image, whether color planes go one by one through the gray
    network): a method that ships no color network runs color images plane by plane."""
    by_plane = not gray and color_weights is None
    return require(gray_weights if gray or by_plane else color_weights), by_plane


def where_looked() -> str:
    folders = " and ".join(str(f) for f in search_folders())
    return f"looked in {folders}; add one with `lacuna models import FILE` or train it with `lacuna train`"


def users_of(name: str) -> list[str]:
    """The ids of the methods that load a weights file called `name`."""
    from core.methods import methods

    return [card.id for card in methods() if name in card.weights]


def import_file(source: Path, name: str | None = None, overwrite: bool = False) -> Path:
    """Check `source` (a Lacuna safetensors file) and copy it into the user folder as `name`.

    Under a shipped file's name it must have that file's architecture, since the same methods load it.
    Never unpickles; the source is only read.
    """
    import shutil

    from core.archs.validate import read_header, validate_weights
    from core.errors import MethodError
    from core.io.atomic import allow_replace, atomic_write

    source = Path(source)
    name = name or source.name
    if Path(name).name == name and not Path(name).suffix:  # `--as denoise-gray`: the weights' own suffix
        name += ".safetensors"
    if Path(name).name != name or not name.endswith(".safetensors"):
        raise MethodError(f"{name!r}: a weights file is named NAME.safetensors (no folders)")
    header = validate_weights(source)
    shipped = shipped_folder() / name
    if shipped.is_file():
        wanted = read_header(shipped).arch
        if header.arch != wanted:
            raise MethodError(
                f"{source.name} is a {header.arch!r} network, but {name} is loaded as {wanted!r} "
                f"by {', '.join(users_of(name))}; import it under another name"
            )
    folder = user_folder()
    target = folder / name
    if target.exists() and not overwrite:
        raise MethodError(f"{target} already exists; pass --overwrite to replace it")
    folder.mkdir(parents=True, exist_ok=True)
    with allow_replace(overwrite):
        return atomic_write(target, lambda tmp: shutil.copyfile(source, tmp))
