"""Linear Classifier Lab: start the app, or render a screenshot and exit.

    python main.py                                  # the app (remembers data set, window, settings)
    python main.py --dataset cifar10 --tab linear   # start on a data set and tab
    python main.py --screenshot shot.png [--tab NAME] [--dataset SOURCE] [--presentation] [--size WxH]

Screenshot mode renders offscreen (unless ``QT_QPA_PLATFORM`` is set), loads the data set, waits until
the window has settled (data shown, no background job running), writes the PNG and exits 0; on failure
it prints why and exits non-zero. It never reads or writes the user's settings.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
import time

__all__ = ["main", "parse_args"]

T0 = time.perf_counter()
DEFAULT_SIZE = (1600, 1000)
PRESENTATION_SIZE = (1920, 1080)
SETTLE_TIMEOUT_S = 60.0
_log = logging.getLogger("lcl")


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1600x1000 (got {text!r})") from None
    if not (200 <= w <= 8000 and 200 <= h <= 8000):
        raise argparse.ArgumentTypeError(f"size must be between 200 and 8000 pixels per side (got {text!r})")
    return w, h


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="linear-classifier-lab", description="See how image classifiers work.")
    p.add_argument("--dataset", metavar="SOURCE",
                   help="data set to open: digits, mnist, fashion-mnist, cifar10, cifar100, or a file/folder path")
    p.add_argument("--tab", metavar="NAME", help="start on this tab: data, knn, linear, loss, playground")
    p.add_argument("--presentation", action="store_true", help="start in presentation mode (projector)")
    p.add_argument("--theme", choices=("light", "dark"), help="colour theme (default: the remembered one)")
    p.add_argument("--screenshot", metavar="PATH", help="render the window to PATH (PNG) and exit")
    p.add_argument("--size", type=_size, metavar="WxH",
                   help="window size for --screenshot (default 1600x1000; 1920x1080 with --presentation)")
    p.add_argument("--verbose", action="store_true", help="log timings and background jobs to stderr")
    return p.parse_args(argv)


def _setup_logging(verbose: bool) -> None:
    from gui.errors import log_dir

    handlers: list[logging.Handler] = [logging.StreamHandler()]
    handlers[0].setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        d = log_dir()
        d.mkdir(parents=True, exist_ok=True)
        fh = logging.FileHandler(d / "app.log", mode="w", encoding="utf-8")
        fh.setLevel(logging.INFO)
        handlers.append(fh)
    except OSError:
        pass
    logging.basicConfig(level=logging.INFO, handlers=handlers, force=True,
                        format="%(asctime)s %(name)s %(levelname)s: %(message)s")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    _setup_logging(args.verbose)

    from PySide6 import QtCore, QtWidgets
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)   # once, before any widget
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setApplicationName("Linear Classifier Lab")
    app.setOrganizationName("linear-classifier-lab")
    app.setStyle("Fusion")
    settings_dir = None
    if args.screenshot:  # never touch the user's settings
        settings_dir = tempfile.TemporaryDirectory(prefix="lcl-settings-")
        QtCore.QSettings.setPath(QtCore.QSettings.Format.IniFormat, QtCore.QSettings.Scope.UserScope,
                                 settings_dir.name)

    from gui import app_style, errors
    from gui.main_window import WORKSPACES, MainWindow, tab_index
    from gui.settings import AppSettings

    settings = AppSettings()
    if args.theme:
        settings.theme = args.theme
    app_style.apply(app, settings.theme, False)
    if args.tab and tab_index(args.tab) is None:
        names = ", ".join(t for _, _, t, _ in WORKSPACES)
        print(f"error: --tab must name a tab ({names}); got {args.tab!r}", file=sys.stderr)
        return 2
    source = args.dataset or ("digits" if args.screenshot else None)
    window = MainWindow(settings, initial_source=source, fallback_on_start=not args.screenshot,
                        offer_downloads=not args.screenshot)
    errors.install(window.runner)
    if args.tab:
        window.select_tab(args.tab)
    if args.screenshot:
        errors.show_dialog = False
        size = args.size or (PRESENTATION_SIZE if args.presentation else DEFAULT_SIZE)
        return _screenshot(app, window, args.screenshot, size, args.presentation)

    window.show()
    if args.presentation:
        window.set_presentation(True)
    _close_on_signals(window)
    QtCore.QTimer.singleShot(0, lambda: _log.info("window usable %.2f s after start", time.perf_counter() - T0))
    code = app.exec()
    return _exit_code(window, code)


def _close_on_signals(window) -> None:
    """Ctrl+C in the terminal or SIGTERM closes the window normally (settings saved, workers stopped)."""
    from PySide6 import QtCore

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    timer = QtCore.QTimer(window)   # lets the interpreter run its signal handlers while Qt waits
    timer.start(250)
    timer.timeout.connect(lambda: None)


def _exit_code(window, code: int) -> int:
    if window.runner.is_running():  # a thread that ignored cancel: do not let Qt abort at exit
        _log.warning("a background job did not stop in time; exiting anyway")
        logging.shutdown()
        os._exit(code)
    return code


def _screenshot(app, window, path: str, size: tuple[int, int], presentation: bool) -> int:
    from PySide6 import QtCore

    from gui import errors

    window.resize(*size)
    window.show()
    if presentation:
        window.set_presentation(True, fullscreen=False)
    t_usable = time.perf_counter() - T0
    state = {"code": None, "idle_polls": 0, "loaded_at": None}
    deadline = time.monotonic() + SETTLE_TIMEOUT_S

    def finish(code: int, message: str) -> None:
        state["code"] = code
        print(message, file=sys.stderr if code else sys.stdout)
        window.close()
        app.quit()

    def poll() -> None:
        if state["code"] is not None:
            return
        ctl = window.controller
        if ctl.used is None and ctl.last_error and not window.runner.is_running("load"):
            return finish(1, f"error: {ctl.last_error}")
        if ctl.used is not None and state["loaded_at"] is None:
            state["loaded_at"] = time.perf_counter() - T0
        busy = window.runner.is_running()
        state["idle_polls"] = 0 if busy or ctl.used is None else state["idle_polls"] + 1
        timed_out = time.monotonic() > deadline
        if state["idle_polls"] >= 3 or (timed_out and ctl.used is not None):
            if window.size().width() != size[0] or window.size().height() != size[1]:
                window.resize(*size)
            pixmap = window.grab()
            if not pixmap.save(path, "PNG"):
                return finish(1, f"error: could not write the screenshot to {path}")
            note = " (a background job was still running)" if busy else ""
            if errors.history:
                return finish(1, f"wrote {path}{note}, but {len(errors.history)} unexpected error(s) happened: "
                                 f"{errors.history[0].summary}")
            return finish(0, f"wrote {path} ({pixmap.width()}×{pixmap.height()}){note}; window usable after "
                             f"{t_usable:.2f} s, data shown after {state['loaded_at']:.2f} s")
        if timed_out:
            return finish(1, f"error: no data set was shown within {SETTLE_TIMEOUT_S:.0f} s")
        QtCore.QTimer.singleShot(120, poll)

    QtCore.QTimer.singleShot(120, poll)
    app.exec()
    return _exit_code(window, state["code"] if state["code"] is not None else 1)


if __name__ == "__main__":
    sys.exit(main())
