"""Keeping the work: atomic model saves and exports that round-trip exactly, a model for another data set
refused, and failed or cancelled downloads seen from the UI (nothing partial left behind)."""
from __future__ import annotations

import hashlib
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from _gui_data import tiny_dataset, write_npz
from _reliability_gui_support import (  # noqa: F401 - handler and window are pytest fixtures
    handler, window, _wait_loaded, _no_unexpected_errors, _alive, _linear)

pytestmark = pytest.mark.gui

LEFT = QtCore.Qt.MouseButton.LeftButton


# ------------------------------------------------------------------------------ saving
def _save_fails_on_replace(monkeypatch, target_dir: Path):
    real = os.replace

    def failing(src, dst, *a, **k):
        if Path(dst).parent == target_dir:
            raise OSError(28, "No space left on device (simulated)")
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", failing)


def _trained_model(seed=0, n_classes=3):
    from core.linear import LinearClassifier
    from core.preprocess import Preprocessor
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (30, 2, 2, 3), dtype=np.uint8)
    pre = Preprocessor().fit(imgs)
    X = pre.transform(imgs)
    y = np.arange(30) % n_classes
    m = LinearClassifier(batch_size=10, random_state=seed).fit(X, y, epochs=2)
    return m, pre


def test_saved_model_round_trips_exactly(tmp_path):
    persistence = pytest.importorskip("core.persistence")
    m, pre = _trained_model()
    path = tmp_path / "m.npz"
    persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3),
                           dataset_name="Tiny", history=m.history_)
    got = persistence.load_model(path)
    np.testing.assert_array_equal(got.model.W_, m.W_)
    np.testing.assert_array_equal(got.model.b_, m.b_)
    assert got.model.W_.dtype == m.W_.dtype
    np.testing.assert_array_equal(got.model.classes_, m.classes_)
    assert got.model.get_params() == m.get_params()
    np.testing.assert_array_equal(got.preprocessor.mean_, pre.mean_)
    assert got.class_names == ["a", "b", "c"] and tuple(got.image_shape) == (2, 2, 3) and got.dataset_name == "Tiny"
    assert list(got.history) == list(m.history_)
    X = np.random.default_rng(5).normal(size=(7, 12)).astype(np.float32)
    np.testing.assert_array_equal(got.model.decision_function(X), m.decision_function(X))


def test_model_save_is_atomic_when_the_rename_fails(tmp_path, monkeypatch):
    persistence = pytest.importorskip("core.persistence")
    m, pre = _trained_model()
    path = tmp_path / "model.npz"
    persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    old = path.read_bytes()
    m2, _ = _trained_model(seed=1)
    _save_fails_on_replace(monkeypatch, tmp_path)
    with pytest.raises(OSError):
        persistence.save_model(path, m2, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    assert path.read_bytes() == old, "the old model was damaged"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"], "a temporary file was left behind"


def test_model_save_is_atomic_when_writing_fails_midway(tmp_path, monkeypatch):
    persistence = pytest.importorskip("core.persistence")
    import zipfile
    m, pre = _trained_model()
    path = tmp_path / "model.npz"
    persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    old = path.read_bytes()
    real_open = zipfile.ZipFile.open
    state = {"n": 0}

    def failing_open(self, name, mode="r", *a, **k):
        if mode == "w":
            state["n"] += 1
            if state["n"] == 2:
                raise OSError(28, "No space left on device (simulated)")
        return real_open(self, name, mode, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "open", failing_open)
    with pytest.raises(OSError):
        persistence.save_model(path, m, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3))
    assert state["n"] >= 2, "save_model did not write members through zipfile (test needs updating)"
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def _trained_one_step_on_digits(w, qtbot):
    """The digits loaded and the Linear tab stepped once, so there is a model and a history to save."""
    w.open_source("digits")
    _wait_loaded(qtbot, w)
    lin = _linear(w, qtbot)
    qtbot.mouseClick(lin.controls.step_button, LEFT)
    qtbot.waitUntil(lambda: not lin.controller.running and lin.controller.live.iteration >= 1, timeout=5000)
    return lin


def test_history_csv_export_is_atomic(qtbot, window, handler, tmp_path, monkeypatch):
    w = window()
    lin = _trained_one_step_on_digits(w, qtbot)
    out = tmp_path / "exports"
    out.mkdir()
    path = out / "history.csv"
    path.write_text("old,content\n")
    _save_fails_on_replace(monkeypatch, out)
    with pytest.raises(OSError):
        lin.export_history_csv(str(path))
    assert path.read_text() == "old,content\n"
    assert [p.name for p in out.iterdir()] == ["history.csv"]


def test_table_export_is_atomic_when_writing_fails_midway(tmp_path):
    from gui import exporting
    path = tmp_path / "table.csv"
    path.write_text("old,content\n")

    def rows():
        yield [1, 2]
        raise OSError(28, "No space left on device (simulated)")

    with pytest.raises(OSError):
        exporting.export_table(["a", "b"], rows(), path)
    assert path.read_text() == "old,content\n", "the old file was overwritten by a half-written one"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


@pytest.mark.parametrize("fmt", ["png", "svg", "csv"])
def test_exports_replace_the_old_file_only_when_complete(qtbot, tmp_path, monkeypatch, fmt):
    """Exports go through a temporary file and ``os.replace``: if that last step fails, the old
    file is still there, unchanged, and no temporary file is left."""
    import pyqtgraph as pg

    from gui import exporting
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([0, 1, 2], [2, 0, 1])
    plot.resize(300, 200)
    out = tmp_path / "exports"
    out.mkdir()
    path = out / f"figure.{fmt}"
    path.write_bytes(b"old content")
    _save_fails_on_replace(monkeypatch, out)
    with pytest.raises(OSError):
        if fmt == "csv":
            exporting.export_table(["a", "b"], [[1, 2]], path)
        else:
            exporting.export_plot(plot, path, fmt)
    assert path.read_bytes() == b"old content", f"{fmt}: the old file was overwritten in place (not atomic)"
    assert [p.name for p in out.iterdir()] == [path.name], "a temporary file was left behind"


@pytest.mark.parametrize("fmt", ["png", "svg", "csv"])
def test_a_complete_export_replaces_the_old_file_and_leaves_no_temporary_file(qtbot, tmp_path, fmt):
    import pyqtgraph as pg
    from PySide6 import QtGui

    from gui import exporting
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.plot([0, 1, 2], [2, 0, 1])
    plot.resize(300, 200)
    path = tmp_path / f"figure.{fmt}"
    path.write_bytes(b"old content")
    if fmt == "csv":
        out = exporting.export_table(["a", "b"], [[1, 2]], path)
        assert out.read_text(encoding="utf-8").splitlines() == ["a,b", "1,2"]
    else:
        out = exporting.export_plot(plot, path, fmt)
        if fmt == "png":
            assert QtGui.QImage(str(out)).width() >= 1200
        else:
            assert "<svg" in out.read_text(encoding="utf-8")
    assert out == path
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_failed_export_from_the_menu_names_the_file_and_keeps_the_old_one(qtbot, window, handler, tmp_path,
                                                                             monkeypatch):
    from gui import menus
    w = window()
    w.open_source(write_npz(tmp_path / "small.npz", tiny_dataset(name="Small set")))
    _wait_loaded(qtbot, w, "Small set")
    w.select_tab("data")
    out = tmp_path / "exports"
    out.mkdir()
    for name, export in (("counts.csv", lambda p: menus.export_table(w, str(p))),
                         ("grid.png", lambda p: menus.export_plot(w, "png", str(p), target_name="Class grid")),
                         ("numbers.svg", lambda p: menus.export_plot(w, "svg", str(p), target_name="Pixel numbers"))):
        path = out / name
        path.write_bytes(b"old content")
        with monkeypatch.context() as m:
            _save_fails_on_replace(m, out)
            assert export(path) is None
        text = w.statusBar().currentMessage()
        assert str(path) in text and "No space left" in text, text
        assert w.message_bar.text() == text
        assert path.read_bytes() == b"old content"
    assert sorted(p.name for p in out.iterdir()) == ["counts.csv", "grid.png", "numbers.svg"]
    _no_unexpected_errors(handler)


def test_a_model_saved_for_another_data_set_is_refused_with_a_message(qtbot, window, handler, tmp_path, monkeypatch):
    w = window()
    lin = _trained_one_step_on_digits(w, qtbot)
    path = tmp_path / "digits_model.npz"
    lin.save_model_to(str(path))
    w.open_source(write_npz(tmp_path / "other.npz", tiny_dataset(name="Other set")))
    _wait_loaded(qtbot, w, "Other set")
    qtbot.waitUntil(lambda: lin.dataset is w.controller.used and lin.controller.trainer is not None, timeout=10000)
    W_before = {k: m.W_.copy() for k, m in lin.controller.trainer.models.items()}
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), "Model (*.npz)"))
    qtbot.mouseClick(lin.controls.load_button, LEFT)
    text = lin.message.text()
    assert lin.message_kind == "error" and "Could not load the model" in text, text
    assert "digits_model.npz" in text or "Digits" in text or "64" in text, text
    for k, m in lin.controller.trainer.models.items():
        np.testing.assert_array_equal(m.W_, W_before[k])
    _no_unexpected_errors(handler)


# ------------------------------------------------------------------------------ downloads (GUI side)
class _Server:
    """A local HTTP server whose behaviour the test switches: ok, drop, wrong, 404, 500, stall."""

    def __init__(self, files: dict):
        srv = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                name = self.path.rsplit("/", 1)[-1]
                body = srv.files.get(name)
                mode = srv.mode
                if body is None or mode in ("404", "500"):
                    self.send_error(500 if mode == "500" else 404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "ok":
                    self.wfile.write(body)
                elif mode == "wrong":
                    self.wfile.write(bytes(reversed(body)))
                elif mode == "drop":
                    self.wfile.write(body[: len(body) // 3])
                    self.wfile.flush()
                    self.close_connection = True
                elif mode == "stall":
                    self.wfile.write(body[:1000])
                    self.wfile.flush()
                    srv.release.wait(10)

        self.files, self.mode, self.release = files, "ok", threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/files"

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(2)


@pytest.fixture
def tiny_catalog(monkeypatch):
    import core.datasets as cd
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    body = bytes(range(256)) * 2000
    srv = _Server({"tiny.bin": body})
    f = cd.CatalogFile("tiny.bin", srv.url + "/tiny.bin", hashlib.md5(body).hexdigest(), len(body))
    entry = cd.CatalogEntry(name="tiny", display_name="Tiny download", files=(f,), loader="idx", license="test",
                            citation="test", homepage="http://example.invalid/", mirrors=())
    monkeypatch.setitem(cd.CATALOG, "tiny", entry)
    yield srv, body
    srv.close()


def _dialog(qtbot, window_, srv):
    from gui.download_dialog import DownloadDialog
    w = window_()
    dlg = DownloadDialog(w.runner, "tiny", w, base_url=srv.url, timeout=1.0)
    qtbot.addWidget(dlg)
    dlg.show()
    return w, dlg


def _cache_files(dlg) -> list:
    return sorted(p.name for p in dlg.folder.iterdir()) if dlg.folder.exists() else []


@pytest.mark.parametrize("mode,why", [("drop", ""), ("wrong", "md5|checksum"), ("404", "404"), ("500", "500"),
                                      ("stall", "timed out|stall|no data")])
def test_a_failed_download_says_why_leaves_nothing_and_retry_works(qtbot, window, handler, tiny_catalog, mode, why):
    import re
    srv, body = tiny_catalog
    w, dlg = _dialog(qtbot, window, srv)
    srv.mode = mode
    dlg.start()
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=15000)
    text = dlg.error_label.text()
    assert dlg.error_label.isVisible() and srv.url in text, text
    assert re.search(why, text, re.I), text
    assert dlg.retry_button.isVisible()
    assert _cache_files(dlg) == [], f"left in the cache: {_cache_files(dlg)}"
    srv.release.set()
    srv.mode = "ok"
    qtbot.mouseClick(dlg.retry_button, LEFT)
    qtbot.waitUntil(lambda: dlg.state == "done", timeout=15000)
    assert (dlg.folder / "tiny.bin").read_bytes() == body
    assert _cache_files(dlg) == ["tiny.bin"]
    _no_unexpected_errors(handler)


def test_cancelling_a_stalled_download_is_immediate_and_leaves_nothing(qtbot, window, handler, tiny_catalog):
    srv, _ = tiny_catalog
    w, dlg = _dialog(qtbot, window, srv)
    dlg._timeout = 30
    srv.mode = "stall"
    dlg.start()
    qtbot.waitUntil(lambda: dlg.job is not None and dlg.job.running, timeout=3000)
    qtbot.wait(300)
    t0 = time.perf_counter()
    qtbot.mouseClick(dlg.cancel_button, LEFT)
    qtbot.waitUntil(lambda: dlg.state == "cancelled", timeout=3000)
    elapsed = time.perf_counter() - t0
    assert elapsed < 0.5, f"cancel took {elapsed:.2f} s"
    assert "Cancelled" in dlg.progress_label.text()
    assert _cache_files(dlg) == []
    qtbot.waitUntil(lambda: not _alive(dlg.job), timeout=500)
    _no_unexpected_errors(handler)
