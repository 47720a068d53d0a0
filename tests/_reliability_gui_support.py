"""Shared pieces of the GUI reliability tests: the real main window with the one error handler
intercepted, job tracking, slow loads and small training helpers."""
from __future__ import annotations

import ctypes
import gc
import struct
import time
from pathlib import Path

import pytest
from PySide6 import QtCore, QtWidgets

from gui import errors
from gui.main_window import MainWindow

pytestmark = pytest.mark.gui


LEFT = QtCore.Qt.MouseButton.LeftButton

# ------------------------------------------------------------------------------ helpers
def _rss() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _settle(qtbot=None) -> None:
    """Process events (incl. deleteLater), collect garbage, give freed heap back to the OS."""
    for _ in range(3):
        QtWidgets.QApplication.processEvents()
        QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass


@pytest.fixture
def handler(monkeypatch, tmp_path):
    """The one handler, installed as main.py does, with its dialog intercepted and its log isolated."""
    monkeypatch.setenv("LCL_LOG_DIR", str(tmp_path / "logs"))
    shown = []
    monkeypatch.setattr(errors, "dialog_function", lambda title, text, details: shown.append((title, text, details)))
    monkeypatch.setattr(errors, "history", [])
    yield shown
    errors.uninstall()


@pytest.fixture
def window(qtbot, handler):
    made = []

    def make(**kw):
        kw.setdefault("load_on_start", False)
        w = MainWindow(**kw)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        errors.install(w.runner)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
        assert not w.runner.is_running()


def _wait_loaded(qtbot, w, name=None, timeout=20000):
    qtbot.waitUntil(lambda: w.controller.used is not None and not w.runner.is_running("load")
                    and (name is None or w.controller.full.name == name), timeout=timeout)


def _no_unexpected_errors(shown):
    assert not errors.history, [r.summary for r in errors.history]
    assert not shown


def _alive(job) -> bool:
    """Is the job's thread still running? (A finished thread may already be deleted by Qt.)"""
    try:
        return job._thread.isRunning()
    except RuntimeError:
        return False


def _track_jobs(w) -> list:
    jobs: list = []
    w.runner.job_started.connect(jobs.append)
    return jobs


def _slow_loads(monkeypatch, delay=0.05):
    """Make ``core.datasets.load`` slow (a pause in every progress report) but keep its real cancel."""
    import core.datasets as cd
    real = cd.load

    def slow(source, *, progress=None, cancel=None, cache_dir=None):
        def prog(done, total, msg):
            time.sleep(delay)
            if progress is not None:
                progress(done, total, msg)
        return real(source, progress=prog, cancel=cancel, cache_dir=cache_dir)

    monkeypatch.setattr(cd, "load", slow)


def _big_idx_folder(root: Path, n=100_000) -> Path:
    """An MNIST-style t10k pair of ~78 MB, sparse on disk (zeros): reading it takes ~80 progress steps."""
    root.mkdir(parents=True)
    head = bytes([0, 0, 8, 3]) + struct.pack(">III", n, 28, 28)
    with open(root / "t10k-images-idx3-ubyte", "wb") as f:
        f.write(head)
        f.truncate(len(head) + n * 784)
    (root / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", n)
                                                  + bytes(range(10)) * (n // 10))
    return root


def _linear(w, qtbot):
    w.select_tab("linear")
    lin = w.current_workspace()
    assert type(lin).__name__ == "LinearWorkspace", "the Linear Classifier tab is still a placeholder"
    qtbot.waitUntil(lambda: lin.controller.trainer is not None, timeout=10000)
    return lin


def _no_epoch_limit(lin):
    lin.controls.epochs_spin.setValue(0)          # play until paused (the defaults stop after N epochs)


def _play(lin, qtbot):
    qtbot.mouseClick(lin.controls.play_button, LEFT)
    ctl = lin.controller
    try:
        qtbot.waitUntil(lambda: ctl.running and any(len(h) > 0 for h in ctl.histories.values()), timeout=20000)
    except Exception:
        raise AssertionError(f"training did not start: state={ctl.state} running={ctl.running} "
                             f"histories={[len(h) for h in ctl.histories.values()]} message={lin.message.text()!r} "
                             f"errors={[r.summary for r in errors.history]}") from None


def _train_and_evaluate(w, qtbot):
    """Press Play in the Linear tab (no epoch limit), then start a whole-test-set kNN evaluation one
    image per chunk, so both keep running; returns (linear workspace, kNN workspace)."""
    lin = _linear(w, qtbot)
    _no_epoch_limit(lin)
    _play(lin, qtbot)
    w.select_tab("knn")
    knn = w.current_workspace()
    qtbot.waitUntil(lambda: knn.session is not None, timeout=20000)
    knn.evaluate.chunk_rows = 1
    qtbot.mouseClick(knn.evaluate.run_button, LEFT)
    qtbot.waitUntil(lambda: knn.evaluate._done > 0, timeout=10000)
    return lin, knn
