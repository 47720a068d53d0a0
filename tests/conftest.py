"""Shared test set-up: headless Qt, row-major pyqtgraph, isolated settings, real-data paths.

Plain ``pytest`` is headless: the environment is set before pytest-qt creates the QApplication.
"""
from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("PYTEST_QT_API", "pyside6")

import pytest  # noqa: E402


def _find_shared_data() -> Path | None:
    env = os.environ.get("LCL_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent.parent
    candidates += [here.parent / "shared" / "data", here.parent.parent / "shared" / "data"]
    for c in candidates:
        if (c / "README.md").is_file():
            return c
    return None


SHARED_DATA: Path | None = _find_shared_data()


def shared_path(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test cleanly when it is absent."""
    if SHARED_DATA is None:
        pytest.skip("../shared/data is not present")
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not present")
    return p


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """No test touches the real per-user cache."""
    monkeypatch.setenv("LCL_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(autouse=True)
def _no_qthread_left_running(request):
    """GUI tests must not leave a QThread or a child process running (napari's dangling-thread check)."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    from PySide6 import QtCore

    started: list = []
    original = QtCore.QThread.start

    def tracking_start(self, *args, **kwargs):
        started.append(self)
        return original(self, *args, **kwargs)

    QtCore.QThread.start = tracking_start
    try:
        yield
    finally:
        QtCore.QThread.start = original
    still = []
    for t in started:
        try:
            if t.isRunning() and not t.wait(QtCore.QDeadlineTimer(2000)):
                still.append(t)
        except RuntimeError:  # C++ object already deleted: it finished
            pass
    assert not still, f"{len(still)} QThread(s) still running after the test"
    import multiprocessing
    children = multiprocessing.active_children()        # e.g. a training process (gui.train_process)
    assert not children, f"child process(es) still running after the test: {children}"


@pytest.fixture(autouse=True)
def _isolated_settings(request, tmp_path_factory):
    """QSettings go to a temporary folder in every GUI test."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6 import QtCore

    d = tmp_path_factory.mktemp("settings")
    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    for scope in (QtCore.QSettings.Scope.UserScope, QtCore.QSettings.Scope.SystemScope):
        QtCore.QSettings.setPath(QtCore.QSettings.Format.IniFormat, scope, str(d))
    yield


def pytest_configure(config):
    import tempfile

    import pyqtgraph as pg  # noqa: F401 - configured once, before any widget exists

    # module- and session-scoped fixtures run before the per-test cache fixture: they get a throwaway
    # cache too, never the user's (the folder decode cache would otherwise land in ~/.cache)
    os.environ["LCL_CACHE_DIR"] = config._lcl_cache = tempfile.mkdtemp(prefix="lcl-test-cache-")
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


def pytest_unconfigure(config):
    import shutil

    shutil.rmtree(getattr(config, "_lcl_cache", ""), ignore_errors=True)


@pytest.fixture(autouse=True)
def _restore_application_style(request):
    """A test that styles the whole QApplication (theme, presentation) must not leak into the next one."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    from PySide6 import QtWidgets

    app = QtWidgets.QApplication.instance() or request.getfixturevalue("qapp")
    font, palette, sheet = app.font(), app.palette(), app.styleSheet()
    yield
    app.setStyleSheet(sheet)
    app.setPalette(palette)
    app.setFont(font)


@pytest.fixture(autouse=True)
def _widgets_deleted_by_qt_and_heap_unfrozen(request):
    """The widgets a GUI test leaves are deleted by Qt, parents before children, before Python's garbage collector
    can get to them.

    pytest-qt closes them and calls ``deleteLater``, but outside an event loop that deletion waits. Their Python
    wrappers are only held by reference cycles (signal connections, pyqtgraph's back-references), so a later
    garbage collection could free them first, in whatever order it finds them: PySide then deletes the C++ objects
    child-first or twice, and a later paint touches freed memory (a segmentation fault in
    ``QGraphicsView.paintEvent``, seen in CI-like runs; reproducible with ``MALLOC_PERTURB_=165``). Posting the
    deferred deletions now lets Qt destroy each tree top-down and tell PySide, so the collection that follows only
    frees Python shells. The main window freezes the heap after each load (gui.heap): it is unfrozen first, so no
    garbage stays frozen past a test."""
    yield
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        return
    import gc

    from PySide6 import QtCore

    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    gc.unfreeze()
    gc.collect()


@pytest.fixture(scope="module")
def digits():
    """The bundled 8x8 digits, loaded once per test module."""
    from core.datasets import load

    return load("digits")
