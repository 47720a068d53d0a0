"""The one handler for unexpected exceptions: a log file plus one (non-modal) dialog; the app keeps running.

Three sources end here: ``sys.excepthook`` (exceptions in slots and event handlers on the GUI thread),
``threading.excepthook`` (plain Python threads) and ``JobRunner.unexpected_error`` (a worker job's bug).
User mistakes never come here: they are ``ValueError``/``TypeError``/``OSError`` from ``core`` and are
shown in the UI (message bar / status bar) by whoever caused them.

Tests switch the dialog off (``errors.show_dialog = False``) or replace it (``errors.dialog_function =
fn(title, text, details)``); every handled error is appended to :data:`history` either way.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import sys
import threading
import traceback
from pathlib import Path
from typing import Callable, Optional

from PySide6 import QtCore, QtWidgets

__all__ = ["install", "uninstall", "connect_runner", "handle", "log_dir", "show_dialog", "dialog_function",
           "history", "ErrorRecord"]

#: show the dialog at all (tests set False)
show_dialog: bool = True
#: replaces the dialog: called as ``fn(title, text, details)`` on the GUI thread
dialog_function: Optional[Callable[[str, str, str], None]] = None
#: every error handled in this process, oldest first
history: list["ErrorRecord"] = []

_log = logging.getLogger("lcl.errors")
_lock = threading.Lock()
_dialog: QtWidgets.QMessageBox | None = None
_saved_hooks: tuple | None = None


class ErrorRecord:
    """One handled error: where it came from, its one-line summary, the traceback and the log file."""

    def __init__(self, source: str, summary: str, details: str, log_file: Path | None):
        self.source, self.summary, self.details, self.log_file = source, summary, details, log_file

    def __repr__(self) -> str:
        return f"ErrorRecord({self.source!r}, {self.summary!r})"


def log_dir() -> Path:
    """Per-user log folder: ``$LCL_LOG_DIR``, else ``$LCL_CACHE_DIR/logs``, else ``~/.cache/linear-classifier-lab/logs``."""
    if os.environ.get("LCL_LOG_DIR"):
        return Path(os.environ["LCL_LOG_DIR"])
    if os.environ.get("LCL_CACHE_DIR"):
        return Path(os.environ["LCL_CACHE_DIR"]) / "logs"
    return Path.home() / ".cache" / "linear-classifier-lab" / "logs"


def _write_log(source: str, details: str) -> Path | None:
    """Append the report to today's ``errors-YYYY-MM-DD.log``; None if the folder is not writable."""
    now = _dt.datetime.now()
    try:
        d = log_dir()
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"errors-{now:%Y-%m-%d}.log"
        with _lock, path.open("a", encoding="utf-8") as f:
            f.write(f"==== {now:%Y-%m-%d %H:%M:%S} · {source} · Python {sys.version.split()[0]}\n{details.rstrip()}\n\n")
        return path
    except OSError as exc:
        _log.warning("could not write the error log: %s", exc)
        return None


class _Bridge(QtCore.QObject):
    """Carries reports from any thread to the GUI thread (queued connection)."""
    report = QtCore.Signal(str, str, str)  # source, summary, details


_bridge: _Bridge | None = None


def _summary(exc: BaseException | None, details: str) -> str:
    if exc is not None:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    lines = [ln for ln in details.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "unknown error"


def handle(exc: BaseException | None, details: str = "", source: str = "app") -> ErrorRecord:
    """Log an unexpected error and show it (GUI thread). Returns the record (also kept in :data:`history`)."""
    if not details and exc is not None:
        details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    summary = _summary(exc, details)
    path = _write_log(source, details or summary)
    rec = ErrorRecord(source, summary, details, path)
    history.append(rec)
    _log.error("unexpected error (%s): %s", source, summary)
    _present(rec)
    return rec


def _present(rec: ErrorRecord) -> None:
    global _dialog
    where = f"\n\nDetails were written to:\n{rec.log_file}" if rec.log_file else ""
    text = (f"Something went wrong inside Linear Classifier Lab ({rec.source}).\n\n{rec.summary}\n\n"
            f"The app keeps running; you can carry on or restart it.{where}")
    title = "Unexpected error"
    if dialog_function is not None:
        dialog_function(title, text, rec.details)
        return
    if not show_dialog or QtWidgets.QApplication.instance() is None:
        print(f"[linear-classifier-lab] {rec.summary}", file=sys.stderr)
        return
    if _dialog_alive():  # one dialog at a time: update it
        _dialog.setText(text + f"\n\n({len(history)} errors so far in this session)")
        _dialog.setDetailedText(rec.details)
        return
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Critical, title, text,
                                QtWidgets.QMessageBox.StandardButton.Ok,
                                QtWidgets.QApplication.activeWindow())
    box.setDetailedText(rec.details)
    box.setModal(False)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setObjectName("unexpected_error_dialog")
    _dialog = box
    box.destroyed.connect(_forget_dialog)
    box.show()


def _forget_dialog(*_args) -> None:
    global _dialog
    _dialog = None


def _dialog_alive() -> bool:
    try:
        return _dialog is not None and _dialog.isVisible()
    except RuntimeError:  # already deleted by Qt
        return False


def _from_bridge(source: str, summary: str, details: str) -> None:
    handle(None, details or summary, source)


def _sys_hook(exc_type, exc, tb) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        QtWidgets.QApplication.quit()
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    _report("GUI thread", exc, details)


def _thread_hook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    details = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    name = args.thread.name if args.thread is not None else "thread"
    _report(f"thread {name}", args.exc_value, details)


def _report(source: str, exc: BaseException | None, details: str) -> None:
    """Route to :func:`handle` on the GUI thread, from whichever thread we are on."""
    app = QtWidgets.QApplication.instance()
    if app is None or QtCore.QThread.currentThread() is app.thread() or _bridge is None:
        handle(exc, details, source)
    else:
        _bridge.report.emit(source, _summary(exc, details), details)


def _runner_error(exc: BaseException, tb: str) -> None:
    handle(exc, tb, "background job")


def connect_runner(runner) -> None:
    """Send a :class:`gui.workers.JobRunner`'s ``unexpected_error`` to :func:`handle`."""
    runner.unexpected_error.connect(_runner_error)


def install(runner=None) -> None:
    """Install ``sys.excepthook`` and ``threading.excepthook`` (idempotent); optionally connect ``runner``."""
    global _bridge, _saved_hooks
    if _saved_hooks is None:
        _saved_hooks = (sys.excepthook, threading.excepthook)
    if _bridge is None and QtWidgets.QApplication.instance() is not None:
        _bridge = _Bridge()
        _bridge.report.connect(_from_bridge, QtCore.Qt.ConnectionType.QueuedConnection)
    sys.excepthook = _sys_hook
    threading.excepthook = _thread_hook
    if runner is not None:
        connect_runner(runner)


def uninstall() -> None:
    """Restore the hooks that were there before :func:`install`."""
    global _saved_hooks, _bridge
    if _saved_hooks is not None:
        sys.excepthook, threading.excepthook = _saved_hooks
        _saved_hooks = None
    if _bridge is not None:
        _bridge.deleteLater()
        _bridge = None
