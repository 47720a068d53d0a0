#!/usr/bin/env bash
# .ci/gui-smoke.sh OUT.png [main.py args...]: run under xvfb-run (see .ci/run, GUI_SMOKE=1).
# Opens the real app in an X window, waits for it, lets the bundled data set load, captures the
# whole screen, then closes the app. Fails if the app exits early or no window titled as below appears.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-screenshot.png}; shift $(($# > 0 ? 1 : 0))
title='Linear Classifier Lab'                   # must match MainWindow's title (gui/main_window.py TITLE)
export QT_QPA_PLATFORM=xcb PYQTGRAPH_QT_LIB=PySide6
tmp=$(mktemp -d)                                 # own settings and cache: never the user's
export XDG_CONFIG_HOME="$tmp/config" LCL_CACHE_DIR="${LCL_CACHE_DIR:-$tmp/cache}"
.venv/bin/python main.py --verbose "$@" & pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 40); do                           # up to 20 s for the window to appear
  xdotool search --name "$title" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "app exited before its window appeared" >&2; exit 1; }
  sleep 0.5
done
xdotool search --name "$title" >/dev/null 2>&1 || { echo "no window titled '$title'" >&2; exit 1; }
sleep 4                                          # the bundled digits load in the background; let it paint
kill -0 "$pid" 2>/dev/null || { echo "app exited while starting" >&2; exit 1; }
if command -v import >/dev/null 2>&1; then
  import -window root "$out"
else
  xwd -root -silent | convert xwd:- "$out"
fi
kill -TERM "$pid"                                # main.py closes the window on SIGTERM: workers stopped
for _ in $(seq 10); do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
kill -0 "$pid" 2>/dev/null && { echo "app did not exit within 3 s of SIGTERM" >&2; exit 1; }
echo "==> window '$title' captured to $out"
