#!/usr/bin/env bash
# The one-folder desktop build: dist/lacuna/ made by PyInstaller from this checkout's .venv, then smoke-tested
# (the app starts offscreen, every learned method is available, one repair per task runs).
#
#   bash scripts/build_desktop.sh        # needs .venv (make install-test) and ../shared/datasets for the check
#
# Slow (minutes) and large (torch): not part of CI; run it before a release.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
started=$SECONDS
$PY -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[build]" 2>&1 | grep -v "is ignored" || true
rm -rf build/desktop dist/lacuna

# core and desktop load method families, architectures and pydicom's decoders by name: collect them all.
# The weights install as the package `lacuna_resources` (the top-level resources/ folder).
nice -n 19 $PY -m PyInstaller --noconfirm --clean --log-level WARN --onedir --name lacuna \
  --distpath dist --workpath build/desktop --specpath build/desktop \
  --paths . --icon "$PWD/packaging/lacuna.png" \
  --collect-submodules core --collect-submodules desktop \
  --collect-submodules pydicom.pixels --collect-submodules imagecodecs \
  --add-data "$PWD/resources/__init__.py:lacuna_resources" \
  --add-data "$PWD/resources/weights/*.safetensors:lacuna_resources/weights" \
  --add-data "$PWD/resources/weights/*.md:lacuna_resources/weights" \
  --add-data "$PWD/resources/samples:lacuna_resources/samples" \
  --exclude-module tkinter --exclude-module matplotlib --exclude-module IPython \
  packaging/lacuna_main.py

# Icon, a .desktop entry pointing at this folder, Lacuna's licence and every bundled distribution's licence.
cp packaging/lacuna.png LICENSE dist/lacuna/
sed "s#^Exec=lacuna#Exec=$PWD/dist/lacuna/lacuna#; s#^Icon=lacuna#Icon=$PWD/dist/lacuna/lacuna.png#" \
  packaging/lacuna.desktop > dist/lacuna/lacuna.desktop
$PY scripts/licences.py --collect dist/lacuna/THIRD_PARTY_LICENSES
echo "built dist/lacuna in $((SECONDS - started)) s: $(du -sh dist/lacuna | cut -f1)" \
  "($(du -sh --apparent-size dist/lacuna | cut -f1) apparent)"

$PY scripts/smoke_installed.py dist/lacuna/lacuna --within dist/lacuna --gui
