#!/usr/bin/env bash
# Install everything Linear Classifier Lab needs on a clean Debian 12 machine (root or sudo, Python 3.11):
# the Debian libraries Qt loads, a virtual environment in .venv and the Python packages.
#   bash .ci/setup.sh          -> what the headless tests need
#   bash .ci/setup.sh --app    -> also what a real window needs (xcb platform plugin libraries)
# Reruns are quick: apt is called only for packages that are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
APP=0; [[ ${1:-} == --app ]] && APP=1
pkgs=(libglib2.0-0 libgl1 libegl1 libfontconfig1 libfreetype6 libdbus-1-3 libxkbcommon0
      fonts-dejavu-core)                      # without a font every glyph is a box, silently
if [[ $APP == 1 || ${GUI_SMOKE:-0} == 1 ]]; then   # xcb platform plugin for a real window
  pkgs+=(libx11-xcb1 libxcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
         libxcb-image0 libxcb-render0 libxcb-render-util0 libxcb-randr0 libxcb-shm0 libxcb-sync1
         libxcb-xfixes0 libxcb-xkb1 libxcb-util1 libxcb-glx0)
fi
if [[ ${GUI_SMOKE:-0} == 1 ]]; then pkgs+=(xvfb xauth xdotool x11-apps imagemagick); fi
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || pkgs+=(python3-venv)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || missing+=("$p")
  done
fi
if ((${#missing[@]})); then
  echo "==> apt-get install ${missing[*]}"
  sudo=; ((EUID == 0)) || sudo=sudo; export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# A venv made without ensurepip has no pip: start it over.
.venv/bin/python -m pip --version >/dev/null 2>&1 || { rm -rf .venv; "$PYTHON" -m venv .venv; }
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
