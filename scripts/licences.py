"""The licences of Lacuna's runtime dependencies, read from the installed distributions' metadata.

    python scripts/licences.py                  # a table: distribution, version, licence, verdict
    python scripts/licences.py --collect DIR    # copy every licence file into DIR (the desktop build)

`runtime_distributions()` walks the requirement tree of `lacuna-studio` (no extras) through
importlib.metadata; tests/core/test_licences.py fails on a GPL/AGPL one.
"""

from __future__ import annotations

import argparse
import re
import shutil
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement

COPYLEFT = re.compile(r"\bA?GPL|GNU (Affero )?General Public", re.IGNORECASE)
LESSER = re.compile(r"\bLGPL|Lesser General Public", re.IGNORECASE)
LICENCE_FILE = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS)", re.IGNORECASE)


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions(root: str = "lacuna-studio") -> dict[str, str]:
    """{distribution: licence} for `root` and everything it requires at run time, recursively."""
    found: dict[str, str] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if _key(name) in found:
            continue
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # a requirement whose marker excludes this platform and was not installed
        found[_key(name)] = licence_of(dist.metadata)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def licence_of(meta) -> str:
    """The SPDX `License-Expression`, else a short `License` field, else the trove classifiers."""
    expression = meta.get("License-Expression")
    if expression:
        return expression
    field = (meta.get("License") or "").strip()
    if field and len(field) < 100 and "\n" not in field:
        return field
    tags = meta.get_all("Classifier") or []
    classifiers = [c.split("::")[-1].strip() for c in tags if c.startswith("License")]
    return " OR ".join(classifiers) or field[:100]


def verdict(licence: str) -> str:
    """'permissive', 'lgpl' or 'gpl' for the most permissive alternative the licence offers."""
    ranks = []
    for alternative in re.split(r"\s+OR\s+", licence):
        if LESSER.search(alternative):
            ranks.append(1)
        elif COPYLEFT.search(alternative):
            ranks.append(2)
        else:
            ranks.append(0)
    return ("permissive", "lgpl", "gpl")[min(ranks)]


def collect(folder: Path) -> int:
    """Copy each runtime distribution's licence files into folder/NAME/, with a summary; returns the count."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["Third-party software in this build: distribution, version, licence (from its metadata).", ""]
    for name, licence in sorted(runtime_distributions().items()):
        dist = distribution(name)
        lines.append(f"{name} {dist.version}: {licence}")
        for file in dist.files or []:
            if LICENCE_FILE.search(file.name) and ".dist-info" in str(file):
                target = folder / name / file.name
                target.parent.mkdir(exist_ok=True)
                shutil.copyfile(file.locate(), target)
    (folder / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines) - 2


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--collect", default=None, metavar="DIR")
    args = parser.parse_args()
    if args.collect:
        print(f"collected the licences of {collect(Path(args.collect))} distributions into {args.collect}")
        return
    for name, licence in sorted(runtime_distributions().items()):
        print(f"{name:<24} {verdict(licence):<10} {licence}")


if __name__ == "__main__":
    main()
