"""The main window: start-up on the bundled digits, opening files, errors, jobs with Cancel, closing, modes."""
import sys
import time
import types

import pytest
from PySide6 import QtCore, QtGui, QtWidgets

import gui.main_window as mw
from gui import app_style, menus
from gui.main_window import MainWindow
from gui.settings import AppSettings
from gui.workspace import Workspace
from _gui_data import tiny_dataset, write_npz

pytestmark = pytest.mark.gui


@pytest.fixture
def make_window(qtbot):
    made = []

    def make(**kw):
        w = MainWindow(**kw)
        qtbot.addWidget(w)
        w.resize(1600, 1000)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()
        assert not w.runner.is_running()
    app_style.apply(QtWidgets.QApplication.instance(), "light", False)


def _wait_loaded(qtbot, w, name=None, timeout=20000):
    qtbot.waitUntil(lambda: w.controller.used is not None and (name is None or w.controller.full.name == name)
                    and not w.runner.is_running("load"), timeout=timeout)


@pytest.fixture
def npz(tmp_path):
    return write_npz(tmp_path / "tiny.npz", tiny_dataset(name="Tiny set"))


def test_start_loads_bundled_digits_and_fills_the_class_grid(qtbot, make_window):
    from core.datasets import load

    w = make_window()
    assert w.windowTitle() == "Linear Classifier Lab"
    assert [w.tabs.tabText(i) for i in range(w.tabs.count())] == \
        ["Data", "Nearest Neighbour", "Linear Classifier", "Loss Lab", "2D Playground"]
    _wait_loaded(qtbot, w)
    digits = load("digits")
    tab = w.workspace("Data")
    assert len(tab.rows.grids) == 10
    train, test = digits.class_counts("train"), digits.class_counts("test")
    for c in range(10):
        assert f"{train[c]:,} train · {test[c]:,} test" in tab.rows.labels[c].text()
        assert tab.rows.grids[c].count() == 10
    assert w.dataset_bar.name_label.text() == digits.name
    assert "1,437 train / 360 test" in w.dataset_bar.summary_label.full_text
    assert tab.numbers.shape_label.text() == "8 × 8 × 1 = 64 numbers"


def test_open_a_data_set_file_built_by_the_test(qtbot, make_window, npz):
    w = make_window(load_on_start=False)
    w.open_source(npz)
    assert w.statusBar().currentMessage().startswith("Loading ")
    _wait_loaded(qtbot, w, "Tiny set")
    assert w.statusBar().currentMessage() == "Loaded Tiny set"          # no stale "Loading…" under the data
    tab = w.workspace("Data")
    assert len(tab.rows.grids) == 3 and "12 train · 4 test" in tab.rows.labels[0].text()
    assert w.settings.dataset_source == npz and w.settings.recent()[0] == npz
    assert w.dataset_bar.chooser.currentText() == "tiny.npz" or "tiny.npz" in w.dataset_bar.chooser.currentText()
    menu = QtWidgets.QMenu()
    menus._fill_recent(w, menu)
    assert menu.actions()[0].toolTip() == npz


def test_a_bad_file_shows_an_error_and_the_previous_set_stays(qtbot, make_window, npz, tmp_path):
    w = make_window(load_on_start=False)
    w.open_source(npz)
    _wait_loaded(qtbot, w, "Tiny set")
    before = w.controller.used
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"this is not a zip archive")
    w.open_source(str(bad))
    qtbot.waitUntil(lambda: w.message_bar.text() != "", timeout=10000)
    text = w.message_bar.text()
    assert str(bad) in text and "not a NumPy .npz archive" in text and "Tiny set stays loaded" in text
    assert w.controller.used is before and w.dataset_bar.name_label.text() == "Tiny set"
    assert w.workspace("Data").dataset is before
    w.open_source(str(tmp_path / "nowhere.npz"))
    qtbot.waitUntil(lambda: "nowhere.npz" in w.message_bar.text(), timeout=10000)
    assert "does not exist" in w.message_bar.text()
    assert w.settings.dataset_source == npz


def test_start_up_falls_back_to_digits_when_the_last_set_fails(qtbot, make_window, tmp_path):
    s = AppSettings()
    s.dataset_source = str(tmp_path / "gone.npz")
    w = make_window(settings=s)
    qtbot.waitUntil(lambda: "Loading the bundled digits instead" in w.message_bar.text(), timeout=10000)
    _wait_loaded(qtbot, w)
    assert w.controller.source == "digits"


class _Cycle:
    def __init__(self):
        self.me = self


def test_the_heap_is_collected_and_frozen_after_each_load(qtbot, make_window, npz):
    """After a load the survivors are frozen, so a later full collection cannot pause a repaint; the
    next load reclaims the cycles that became garbage while frozen."""
    import gc
    import weakref

    gc.unfreeze()
    holder = [_Cycle() for _ in range(100)]
    refs = [weakref.ref(c) for c in holder]
    w = make_window(load_on_start=False)
    w.open_source(npz)
    _wait_loaded(qtbot, w, "Tiny set")
    qtbot.waitUntil(lambda: gc.get_freeze_count() > 10_000, timeout=2000)   # Qt, pyqtgraph, the window
    del holder
    gc.collect()
    assert all(r() is not None for r in refs)            # frozen: even a full collection skips them
    w.open_source(npz)
    qtbot.waitUntil(lambda: all(r() is None for r in refs), timeout=10000)  # the next load reclaims them
    assert gc.get_freeze_count() > 10_000


def test_subsample_controls_change_what_the_workspaces_get(qtbot, make_window, npz):
    w = make_window(load_on_start=False)
    w.open_source(npz)
    _wait_loaded(qtbot, w, "Tiny set")
    w.dataset_bar.train_spin.setValue(5)
    w.dataset_bar.test_spin.setValue(0)   # all
    w.dataset_bar.apply_now()
    qtbot.waitUntil(lambda: w.controller.used.n_train == 15, timeout=5000)
    assert w.controller.used.n_test == 12
    assert "using 15 / 12" in w.dataset_bar.summary_label.full_text
    qtbot.waitUntil(lambda: "5 train · 4 test" in w.workspace("Data").rows.labels[0].text(), timeout=3000)


def test_a_long_job_shows_progress_and_stops_on_cancel(qtbot, make_window):
    w = make_window(load_on_start=False)
    area = w.status_area
    assert area.bar.isHidden()

    def count(ctx):
        for i in range(10_000):
            ctx.check()
            ctx.progress(i, 10_000, f"item {i}")
            time.sleep(0.002)

    w.runner.start("evaluate", count, label="Counting")
    qtbot.waitUntil(lambda: area.bar.isVisible() and area.bar.value() > 0, timeout=5000)
    assert area.label.text().startswith("Counting — item")
    assert area.cancel_button.isVisible()
    with qtbot.waitSignal(w.runner.job_finished, timeout=3000) as sig:
        qtbot.mouseClick(area.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    assert sig.args[1] == "cancelled"
    assert area.bar.isHidden() and area.label.text() == ""


def test_closing_during_a_job_leaves_no_thread_running(qtbot, npz):
    w = MainWindow(load_on_start=False)
    qtbot.addWidget(w)
    w.show()
    w.runner.start("train", lambda ctx: [ctx.sleep(0.05) for _ in iter(lambda: ctx.cancelled(), True)], label="Busy")
    w.open_source(npz)
    assert w.runner.is_running()
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 2.5
    assert not w.runner.is_running()


class _FakeWorkspace(Workspace):
    title = "Fake"
    shortcuts = [("Ctrl+K", "Do the fake thing")]
    log: list = []

    def __init__(self, runner, parent=None):
        super().__init__(runner, parent)
        self.log.append(("init",))

    def set_dataset(self, dataset, *, val_fraction=0.1, seed=0):
        super().set_dataset(dataset, val_fraction=val_fraction, seed=seed)
        self.log.append(("set_dataset", dataset.name, val_fraction, seed))

    def set_presentation(self, on):
        super().set_presentation(on)
        self.log.append(("presentation", on))

    def shutdown(self):
        self.log.append(("shutdown",))

    def save_settings(self, settings):
        settings.setValue("answer", 42)

    def restore_settings(self, settings):
        self.log.append(("restore", settings.value("answer")))


@pytest.fixture
def fake_workspaces(monkeypatch):
    mod = types.ModuleType("fake_ws_module")
    mod.Fake = _FakeWorkspace
    monkeypatch.setitem(sys.modules, "fake_ws_module", mod)
    monkeypatch.setattr(mw, "WORKSPACES", [mw.WORKSPACES[0], ("fake_ws_module", "Fake", "Fake", ("fake",)),
                                           ("no_such_module_xyz", "Nope", "Missing", ())])
    _FakeWorkspace.log = []
    return _FakeWorkspace.log


def test_workspaces_are_built_and_fed_lazily(qtbot, make_window, npz, fake_workspaces):
    log = fake_workspaces
    w = make_window(load_on_start=False)
    w.dataset_bar.set_subsample(w.controller.subsample)
    w.open_source(npz)
    _wait_loaded(qtbot, w, "Tiny set")
    assert log == []  # hidden tab: not built yet
    assert w.select_tab("fake")
    assert log[:3] == [("init",), ("restore", None), ("set_dataset", "Tiny set", 0.1, 0)]
    fake = w.current_workspace()
    fake.status_message.emit("hello from fake", 0)
    assert w.statusBar().currentMessage() == "hello from fake"
    w.set_presentation(True)
    assert ("presentation", True) in log
    w.set_presentation(False)
    w.dataset_bar.seed_spin.setValue(5)
    w.dataset_bar.apply_now()
    qtbot.waitUntil(lambda: ("set_dataset", "Tiny set", 0.1, 5) in log, timeout=5000)
    assert w.select_tab("Missing")   # a workspace that cannot start: its reason shown in its tab
    assert "could not start" in w.current_workspace().findChild(QtWidgets.QLabel).text()
    rows = menus.shortcut_rows(w)
    assert ("Ctrl+K", "Do the fake thing", "Fake") in rows
    w.close()
    assert ("shutdown",) in log
    assert AppSettings().get_int("workspaces/Fake/answer", 0) == 42


def test_presentation_mode_keys_fonts_and_tiles(qtbot, make_window, npz):
    w = make_window(load_on_start=False)
    w.open_source(npz)
    _wait_loaded(qtbot, w, "Tiny set")
    tab = w.workspace("Data")
    small_tile = tab.rows.grids[0].tile
    qtbot.keyClick(w, QtCore.Qt.Key.Key_F11)
    assert w.presentation and w.actions["presentation"].isChecked()
    assert QtWidgets.QApplication.font().pointSize() == 16
    assert tab.rows.grids[0].tile > small_tile
    qtbot.keyClick(w, QtCore.Qt.Key.Key_Escape)
    assert not w.presentation and QtWidgets.QApplication.font().pointSize() == 10
    qtbot.keyClick(w, QtCore.Qt.Key.Key_P, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert w.presentation
    qtbot.keyClick(w, QtCore.Qt.Key.Key_P, QtCore.Qt.KeyboardModifier.ControlModifier)
    assert not w.presentation and tab.rows.grids[0].tile == small_tile


def test_every_tab_fits_a_1080p_projector_in_presentation_mode(qtbot, make_window, npz):
    # the Pixel distance page sized its images from its own height, so its minimum grew with the window:
    # in presentation mode the window outgrew 1080 pixels (1232) and the bottom of every tab was cut off
    w = make_window(load_on_start=False)
    w.open_source(npz)
    _wait_loaded(qtbot, w, "Tiny set")
    w.set_presentation(True, fullscreen=False)
    w.resize(1920, 1080)
    for name in ("data", "knn", "linear", "loss", "playground"):
        w.select_tab(name)
        qtbot.waitUntil(lambda: not w.runner.is_running(), timeout=20000)
    knn = w.workspace("Nearest Neighbour")
    w.select_tab("knn")
    for page in (knn.matches, knn.evaluate, knn.cv, knn.pixels):
        knn.tabs.setCurrentWidget(page)
        qtbot.wait(100)
        assert w.minimumSizeHint().height() <= 1080, page.objectName()
        assert w.height() == 1080
    pixels = knn.pixels
    qtbot.wait(100)                                      # the pixel page repaints after its resize
    image, near = pixels.cells[0]["image"], pixels.cells[0]["near_img"]
    big, small = max(image.pixmap().size().toTuple()), max(near.pixmap().size().toTuple())
    assert big > 1.5 * small and small >= 60                       # big copies, smaller matches, all readable
    assert pixels.cells[0]["near_text"].geometry().bottom() < pixels.bars_plot.geometry().top()
    w.set_presentation(False)


def test_dark_theme_is_applied_and_remembered(qtbot, make_window):
    w = make_window(load_on_start=False)
    w.actions["dark"].trigger()
    assert w.settings.theme == "dark"
    assert QtWidgets.QApplication.palette().color(QtGui.QPalette.ColorRole.Window).lightness() < 80
    w.actions["dark"].trigger()
    assert w.settings.theme == "light"
    assert QtWidgets.QApplication.palette().color(QtGui.QPalette.ColorRole.Window).lightness() > 200


def test_export_plot_and_table(qtbot, make_window, npz, tmp_path):
    w = make_window(load_on_start=False)
    w.open_source(npz)
    _wait_loaded(qtbot, w, "Tiny set")
    png = menus.export_plot(w, "png", str(tmp_path / "grid.png"), target_name="Class grid")
    img = QtGui.QImage(str(png))
    assert not img.isNull() and img.width() > 100
    svg = menus.export_plot(w, "svg", str(tmp_path / "numbers"), target_name="Pixel numbers")
    assert svg.suffix == ".svg" and "<svg" in svg.read_text(encoding="utf-8")
    csv_path = menus.export_table(w, str(tmp_path / "counts.csv"))
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines == ["class,name,train images,test images", "0,class0,12,4", "1,class1,12,4", "2,class2,12,4"]
    assert str(csv_path) in w.statusBar().currentMessage()


def test_pyqtgraph_plots_export_through_the_exporters(qtbot, tmp_path):
    import pyqtgraph as pg

    from gui.exporting import export_plot

    pw = pg.PlotWidget()
    qtbot.addWidget(pw)
    pw.plot([0, 1, 2], [2, 0, 1])
    assert QtGui.QImage(str(export_plot(pw, tmp_path / "p.png"))).width() >= 1200
    assert "<svg" in export_plot(pw.getPlotItem(), tmp_path / "p.svg").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="format must be one of"):
        export_plot(pw, tmp_path / "p.gif")


def test_drag_and_drop_a_file_loads_it(qtbot, make_window, npz):
    w = make_window(load_on_start=False)
    mime = QtCore.QMimeData()
    mime.setUrls([QtCore.QUrl.fromLocalFile(npz)])
    enter = QtGui.QDragEnterEvent(QtCore.QPoint(10, 10), QtCore.Qt.DropAction.CopyAction, mime,
                                  QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    w.dragEnterEvent(enter)
    assert enter.isAccepted()
    drop = QtGui.QDropEvent(QtCore.QPointF(10, 10), QtCore.Qt.DropAction.CopyAction, mime,
                            QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier)
    w.dropEvent(drop)
    _wait_loaded(qtbot, w, "Tiny set")


def test_help_lists_shortcuts_and_about_names_versions_and_licenses(qtbot, make_window):
    import numpy
    import pyqtgraph

    from gui.help_dialogs import about_html

    w = make_window(load_on_start=False)
    dlg = menus.show_shortcuts(w)
    table = dlg.table
    rows = [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
    keys = " ".join(r[0] for r in rows)
    for k in ("F11", "Ctrl+P", "Ctrl+O", "Ctrl+Q", "F1", "Space", "S", "R", "Ctrl+1"):
        assert k in keys
    assert ("Space", "Play / pause training", "Linear Classifier") in rows
    dlg.close()
    text = about_html()
    assert numpy.__version__ in text and pyqtgraph.__version__ in text and QtCore.qVersion() in text
    assert "CC BY-SA 3.0" in text and "MIT License" in text and "Krizhevsky" in text and "CC BY 4.0" in text


# -- downloads -----------------------------------------------------------------------------------------
@pytest.fixture
def slow_server():
    """A local HTTP server that trickles bytes forever (until the client hangs up)."""
    import http.server
    import threading

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(170498071))
            self.end_headers()
            try:
                while not stop.is_set():
                    self.wfile.write(b"\0" * 65536)
                    time.sleep(0.02)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    stop = threading.Event()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    stop.set()
    srv.shutdown()
    srv.server_close()


def test_download_shows_bytes_and_cancel_leaves_nothing(qtbot, make_window, slow_server):
    from core.datasets import dataset_dir
    from gui.download_dialog import DownloadDialog

    w = make_window(load_on_start=False)
    dlg = DownloadDialog(w.runner, "cifar10", w, base_url=slow_server, timeout=5)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.start()
    qtbot.waitUntil(lambda: " MB of 170 MB at " in dlg.progress_label.text() and dlg.bar.value() > 0, timeout=10000)
    assert w.status_area.label.text().startswith("Downloading CIFAR-10")
    assert "MIT" not in dlg.findChild(QtWidgets.QLabel).text() and "Krizhevsky" in dlg.findChild(QtWidgets.QLabel).text()
    with qtbot.waitSignal(w.runner.job_finished, timeout=3000) as sig:
        qtbot.mouseClick(dlg.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    assert sig.args[1] == "cancelled"
    assert dlg.state == "cancelled" and "Nothing partial was kept" in dlg.progress_label.text()
    folder = dataset_dir("cifar10")
    assert not folder.exists() or list(folder.iterdir()) == []
    assert w.status_area.bar.isHidden()


def test_download_offline_says_why_and_names_the_manual_way(qtbot, make_window):
    import socket

    from core.datasets import dataset_dir
    from gui.download_dialog import DownloadDialog

    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    w = make_window(load_on_start=False)
    dlg = DownloadDialog(w.runner, "mnist", w, base_url=f"http://127.0.0.1:{port}", timeout=2)
    qtbot.addWidget(dlg)
    loaded = []
    dlg.downloaded.connect(loaded.append)
    dlg.show()
    dlg.start()
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=15000)
    text = dlg.error_label.text()
    assert f"127.0.0.1:{port}" in text
    assert str(dataset_dir("mnist")) in text and "File > Open" in text.replace("▸", ">")
    assert dlg.retry_button.isVisible() and loaded == []
    folder = dataset_dir("mnist")
    assert not folder.exists() or list(folder.iterdir()) == []   # nothing half-usable left behind
    assert w.controller.used is None


def test_choosing_a_set_that_is_not_downloaded_offers_the_download(qtbot, make_window, monkeypatch):
    w = make_window(load_on_start=False)
    opened = []
    monkeypatch.setattr(w, "download", opened.append)
    w.controller.download_needed.disconnect()
    w.controller.download_needed.connect(w.download)
    w.dataset_bar.chooser.activated.emit(w.dataset_bar.chooser.findData("fashion-mnist"))
    assert opened == ["fashion-mnist"]
    assert not w.runner.is_running("load")
