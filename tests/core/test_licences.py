"""No required runtime dependency of Lacuna (MIT) is under the GPL or AGPL (issue 16).

The test walks the installed requirement tree of `lacuna-studio` (no extras) through importlib.metadata and
reads each distribution's licence: its SPDX `License-Expression`, else a short `License` field, else its
trove classifiers. An expression with alternatives ("LGPL-3.0-only OR GPL-3.0-only") is acceptable when one
alternative is. LGPL is acceptable only with a reason written here.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution

from packaging.requirements import Requirement

COPYLEFT = re.compile(r"\bA?GPL|GNU (Affero )?General Public", re.IGNORECASE)
LESSER = re.compile(r"\bLGPL|Lesser General Public", re.IGNORECASE)

# Qt for Python is offered under the LGPLv3. Lacuna imports it as unmodified shared libraries loaded at run
# time from the user's environment, so a user can replace them (LGPL section 4); nothing of Qt is copied.
LGPL_REASONS = {
    "pyside6": "Qt for Python, dynamically loaded, replaceable by the user",
    "pyside6-essentials": "Qt for Python, dynamically loaded, replaceable by the user",
    "pyside6-addons": "Qt for Python, dynamically loaded, replaceable by the user",
    "shiboken6": "Qt for Python's binding runtime, dynamically loaded, replaceable by the user",
}


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_distributions(root: str = "lacuna-studio") -> dict[str, str]:
    """{distribution: licence text} for `root` and everything it requires at run time, recursively."""
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
    alternatives = re.split(r"\s+OR\s+", licence)
    ranks = []
    for alternative in alternatives:
        if LESSER.search(alternative):
            ranks.append(1)
        elif COPYLEFT.search(alternative):
            ranks.append(2)
        else:
            ranks.append(0)
    return ("permissive", "lgpl", "gpl")[min(ranks)]


def test_the_verdict_reads_spdx_and_classifiers():
    assert verdict("GPL-3.0-or-later") == "gpl"
    assert verdict("GNU General Public License v3 (GPLv3)") == "gpl"
    assert verdict("AGPL-3.0-only") == "gpl"
    assert verdict("LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only") == "lgpl"
    assert verdict("GNU Lesser General Public License v3 (LGPLv3)") == "lgpl"
    assert verdict("MIT OR GPL-3.0-only") == "permissive"
    assert verdict("BSD-3-Clause AND MIT") == "permissive"


def test_no_runtime_dependency_is_gpl_and_every_lgpl_one_is_justified():
    licences = runtime_distributions()
    assert {"lacuna-studio", "torch", "pydicom", "numpy"} <= set(licences), sorted(licences)
    assert licences["lacuna-studio"] == "MIT"
    gpl = {name: text for name, text in licences.items() if verdict(text) == "gpl"}
    assert not gpl, f"GPL/AGPL runtime dependencies: {gpl}"
    unexplained = {n: t for n, t in licences.items() if verdict(t) == "lgpl" and n not in LGPL_REASONS}
    assert not unexplained, f"LGPL dependencies without a reason in LGPL_REASONS: {unexplained}"
