"""The one handler for unexpected errors: log file + dialog (interceptable), from every source; app keeps running."""
import sys
import threading

import pytest
from PySide6 import QtWidgets

from gui import errors
from gui.workers import JobRunner

pytestmark = pytest.mark.gui


@pytest.fixture
def shown(monkeypatch, tmp_path):
    """Intercept the dialog and isolate the log folder."""
    monkeypatch.setenv("LCL_LOG_DIR", str(tmp_path / "logs"))
    calls = []
    monkeypatch.setattr(errors, "dialog_function", lambda title, text, details: calls.append((title, text, details)))
    monkeypatch.setattr(errors, "history", [])
    yield calls
    errors.uninstall()


def test_handle_writes_a_log_and_shows_the_message(qtbot, shown, tmp_path):
    try:
        {}["missing"]
    except KeyError as exc:
        rec = errors.handle(exc, source="unit test")
    assert rec.log_file is not None and rec.log_file.parent == tmp_path / "logs"
    log = rec.log_file.read_text(encoding="utf-8")
    assert "KeyError" in log and "unit test" in log and "Traceback" in log
    title, text, details = shown[0]
    assert title == "Unexpected error"
    assert "KeyError: 'missing'" in text and str(rec.log_file) in text
    assert "keeps running" in text
    assert "Traceback" in details


def test_sys_excepthook_routes_gui_thread_errors(qtbot, shown):
    errors.install()
    try:
        raise RuntimeError("a bug in a slot")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert [r.summary for r in errors.history] == ["RuntimeError: a bug in a slot"]
    assert len(shown) == 1


def test_thread_excepthook_reaches_the_gui_thread(qtbot, shown):
    errors.install()
    seen_on = []
    errors.dialog_function = lambda *a: seen_on.append(threading.current_thread() is threading.main_thread())

    def boom():
        raise ZeroDivisionError("in a plain thread")

    t = threading.Thread(target=boom, name="helper")
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(errors.history) == 1, timeout=3000)
    assert errors.history[0].source == "thread helper"
    assert "ZeroDivisionError" in errors.history[0].details
    assert seen_on == [True]


def test_runner_bug_goes_to_the_handler_and_the_runner_keeps_working(qtbot, shown):
    runner = JobRunner()
    errors.install(runner)
    with qtbot.waitSignal(runner.job_finished, timeout=5000):
        runner.start("x", lambda ctx: [][1])
    assert errors.history[-1].source == "background job"
    assert "IndexError" in errors.history[-1].summary
    results = []
    with qtbot.waitSignal(runner.job_finished, timeout=5000):
        runner.start("x", lambda ctx: 42, on_result=results.append)
    assert results == [42]
    assert runner.shutdown(2.0)


def test_user_errors_are_not_sent_to_the_handler(qtbot, shown):
    runner = JobRunner()
    errors.install(runner)
    with qtbot.waitSignal(runner.user_error, timeout=5000) as sig:
        runner.start("x", lambda ctx: (_ for _ in ()).throw(ValueError("k must be >= 1 (got k=0)")))
    assert "k=0" in sig.args[1]
    assert errors.history == []
    assert runner.shutdown(2.0)


def test_real_dialog_is_non_modal_and_reused(qtbot, monkeypatch, tmp_path):
    monkeypatch.setenv("LCL_LOG_DIR", str(tmp_path))
    monkeypatch.setattr(errors, "dialog_function", None)
    monkeypatch.setattr(errors, "show_dialog", True)
    monkeypatch.setattr(errors, "history", [])
    errors.handle(RuntimeError("first"))
    box = errors._dialog
    assert box.isVisible() and not box.isModal()
    assert "first" in box.text()
    errors.handle(RuntimeError("second"))
    assert errors._dialog is box and "2 errors" in box.text()
    box.close()  # deletes itself (WA_DeleteOnClose)
    qtbot.waitUntil(lambda: errors._dialog is None, timeout=2000)


def test_disabled_dialog_prints_instead(qtbot, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("LCL_LOG_DIR", str(tmp_path))
    monkeypatch.setattr(errors, "dialog_function", None)
    monkeypatch.setattr(errors, "show_dialog", False)
    monkeypatch.setattr(errors, "history", [])
    errors.handle(RuntimeError("quiet"))
    assert "RuntimeError: quiet" in capsys.readouterr().err
    assert not any(isinstance(w, QtWidgets.QMessageBox) and w.isVisible()
                   for w in QtWidgets.QApplication.topLevelWidgets())
