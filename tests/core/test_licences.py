"""No required runtime dependency of Lacuna (MIT) is under the GPL or AGPL (issue 16).

`scripts/licences.py` walks the installed requirement tree of `lacuna-studio` (no extras) through
importlib.metadata and reads each distribution's licence. An expression with alternatives
("LGPL-3.0-only OR GPL-3.0-only") is acceptable when one alternative is; LGPL only with a reason written here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "licences", Path(__file__).resolve().parents[2] / "scripts" / "licences.py"
)
licences = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(licences)

# Qt for Python is offered under the LGPLv3. Lacuna imports it as unmodified shared libraries loaded at run
# time from the user's environment, so a user can replace them (LGPL section 4); nothing of Qt is copied.
LGPL_REASONS = {
    "pyside6": "Qt for Python, dynamically loaded, replaceable by the user",
    "pyside6-essentials": "Qt for Python, dynamically loaded, replaceable by the user",
    "pyside6-addons": "Qt for Python, dynamically loaded, replaceable by the user",
    "shiboken6": "Qt for Python's binding runtime, dynamically loaded, replaceable by the user",
}


def test_the_verdict_reads_spdx_and_classifiers():
    verdict = licences.verdict
    assert verdict("GPL-3.0-or-later") == "gpl"
    assert verdict("GNU General Public License v3 (GPLv3)") == "gpl"
    assert verdict("GPL V3.0") == "gpl"
    assert verdict("AGPL-3.0-only") == "gpl"
    assert verdict("LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only") == "lgpl"
    assert verdict("GNU Lesser General Public License v3 (LGPLv3)") == "lgpl"
    assert verdict("MIT OR GPL-3.0-only") == "permissive"
    assert verdict("BSD-3-Clause AND MIT") == "permissive"


def test_no_runtime_dependency_is_gpl_and_every_lgpl_one_is_justified():
    found = licences.runtime_distributions()
    assert {"lacuna-studio", "torch", "pydicom", "numpy", "imagecodecs"} <= set(found), sorted(found)
    assert found["lacuna-studio"] == "MIT"
    gpl = {name: text for name, text in found.items() if licences.verdict(text) == "gpl"}
    assert not gpl, f"GPL/AGPL runtime dependencies: {gpl}"
    unexplained = {n: t for n, t in found.items() if licences.verdict(t) == "lgpl" and n not in LGPL_REASONS}
    assert not unexplained, f"LGPL dependencies without a reason in LGPL_REASONS: {unexplained}"
