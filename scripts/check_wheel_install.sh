#!/usr/bin/env bash
# Installed as users install it: build the wheel, install it (not editable) into a fresh venv, and from
# another folder check that every learned method is available from the installed weights, that a shared
# DICOM reads, and that each task's default method runs (scripts/smoke_installed.py).
#
#   bash scripts/check_wheel_install.sh          # needs .venv (make install-test) and ../shared/datasets
#
# torch comes from constraints.txt (the CPU build on disk), as in the README's set-up commands.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lacuna-wheel-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS

# pip's own notes pass through (less its "is ignored" chatter); its failure stops the check (a full disk
# once let an install fail quietly and the smoke test report a missing `lacuna` instead).
pip_or_stop() {
  local out
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" | grep -v "is ignored" >&2 || true
    echo "check_wheel_install: failed: $*" >&2
    exit 1
  fi
  [ -z "$out" ] || printf '%s\n' "$out" | grep -v "is ignored" || true
}

pip_or_stop python3 -m pip wheel --quiet --no-deps --wheel-dir "$WORK/dist" "$ROOT"
WHEEL=$(ls "$WORK"/dist/lacuna_studio-*.whl)
echo "built $(basename "$WHEEL") ($(du -h "$WHEEL" | cut -f1)) in $((SECONDS - started)) s"

python3 -m venv "$WORK/venv"
pip_or_stop "$WORK/venv/bin/python" -m pip install --quiet --no-compile --disable-pip-version-check \
  -c "$ROOT/constraints.txt" "$WHEEL"
SITE=$("$WORK/venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "installed into a fresh venv in $((SECONDS - started)) s"

# From another folder, so nothing of this checkout can be imported by accident.
cd "$WORK"
"$ROOT/.venv/bin/python" "$ROOT/scripts/smoke_installed.py" "$WORK/venv/bin/lacuna" --within "$SITE"
echo "check_wheel_install: passed in $((SECONDS - started)) s"
