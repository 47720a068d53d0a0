"""The main window: data-set bar, one tab per workspace, menus, status area, presentation mode, settings.

Workspaces are listed once in :data:`WORKSPACES` (module, class, title), imported with importlib and
built the first time their tab is shown (fast start-up); each gets the window's one ``JobRunner``.
The data set (loaded by :class:`gui.dataset_controller.DatasetController`) reaches a workspace through
``set_dataset(used, val_fraction=, seed=)`` when its tab is shown and its copy is out of date. When the
data set changes, every built workspace in a hidden tab gets ``set_dataset(None)`` at once: its jobs on
the old data stop and its old results are cleared (cheap), while the new set's preprocessing (up to
seconds for the Linear tab) waits until the tab is shown.
"""
from __future__ import annotations

import importlib
import logging
import time

from PySide6 import QtCore, QtGui, QtWidgets

from gui import app_style, errors, heap
from gui.dataset_bar import DatasetBar
from gui.dataset_controller import DatasetController
from gui.settings import AppSettings
from gui.status_area import StatusArea
from gui.widgets.message_bar import MessageBar
from gui.workers import JobRunner
from gui.workspace import Workspace

__all__ = ["MainWindow", "WORKSPACES", "TITLE", "tab_index"]

TITLE = "Linear Classifier Lab"
#: (module, class, tab title, aliases for --tab) -- the one list of workspaces
WORKSPACES = [
    ("gui.data_tab", "DataTab", "Data", ("data",)),
    ("gui.knn_workspace", "KnnWorkspace", "Nearest Neighbour", ("knn", "nn", "nearest", "nearest-neighbour")),
    ("gui.linear_workspace", "LinearWorkspace", "Linear Classifier", ("linear", "training")),
    ("gui.loss_lab", "LossLab", "Loss Lab", ("loss", "losses", "loss-lab")),
    ("gui.playground", "Playground2D", "2D Playground", ("playground", "2d", "toy")),
]
_log = logging.getLogger("lcl.window")


def tab_index(name: str) -> int | None:
    """Index in :data:`WORKSPACES` of the tab whose title or alias is ``name`` (case-insensitive)."""
    key = name.strip().lower()
    for i, (_, _, title, aliases) in enumerate(WORKSPACES):
        if key == title.lower() or key in aliases:
            return i
    return None


class _Slot(QtWidgets.QWidget):
    """A tab's page; holds the workspace once it is built."""

    def __init__(self, module: str, cls: str, title: str):
        super().__init__()
        self.module, self.cls, self.title = module, cls, title
        self.ws: Workspace | None = None
        self.generation = -1   # data-set generation the workspace has seen
        self.setLayout(QtWidgets.QVBoxLayout())
        self.layout().setContentsMargins(0, 0, 0, 0)


class MainWindow(QtWidgets.QMainWindow):
    """The application window. ``initial_source=None`` loads the remembered data set (or digits);
    ``fallback_on_start=False`` (screenshot mode) reports a failing start-up set instead of loading digits;
    ``offer_downloads=False`` reports a catalog set that is not cached instead of opening the download dialog."""

    def __init__(self, settings: AppSettings | None = None, *, initial_source: str | None = None,
                 load_on_start: bool = True, fallback_on_start: bool = True, offer_downloads: bool = True,
                 parent=None):
        super().__init__(parent)
        self.t_created = time.perf_counter()
        self.setWindowTitle(TITLE)
        self.setAcceptDrops(True)
        self.settings = settings or AppSettings()
        self.runner = JobRunner(self)
        self.presentation = False
        self._generation = 0
        self._settle_timer = QtCore.QTimer(self, singleShot=True, interval=0, timeout=self._settle_heap)
        self._was_maximized = False
        self._dialogs: list[QtWidgets.QWidget] = []
        self.controller = DatasetController(self.runner, self.settings, self)
        self.controller.offer_downloads = offer_downloads
        self.dataset_bar = DatasetBar()
        self.dataset_bar.set_subsample(self.controller.subsample)
        self.message_bar = MessageBar()
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("workspace_tabs")
        self.tabs.setDocumentMode(True)
        self.slots: list[_Slot] = []
        for module, cls, title, _ in WORKSPACES:
            slot = _Slot(module, cls, title)
            self.slots.append(slot)
            self.tabs.addTab(slot, title)
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.dataset_bar)
        lay.addWidget(self.message_bar)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.status_area = StatusArea(self.runner)
        self.statusBar().addPermanentWidget(self.status_area)

        from gui.menus import build_menus
        self.actions = build_menus(self)

        self.controller.changed.connect(self._on_dataset_changed)
        self.controller.error.connect(lambda text: self.show_error(text))
        self.controller.download_needed.connect(self.download)
        self.controller.loading.connect(lambda src: self.statusBar().showMessage(f"Loading {src}…", 3000))
        self.dataset_bar.source_chosen.connect(self.open_source)
        self.dataset_bar.open_requested.connect(lambda: self.actions["open_file"].trigger())
        self.dataset_bar.subsample_changed.connect(self._on_subsample_changed)
        self.runner.user_error.connect(lambda kind, msg: self.show_error(msg))
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self._refresh_chooser()
        self._restore_window()
        self._on_tab_changed(self.tabs.currentIndex())
        if load_on_start:   # a set that fails to load falls back to the bundled digits, with a message
            self.controller.load(initial_source or self.settings.dataset_source, fallback=fallback_on_start)

    # -- workspaces ------------------------------------------------------------------------------
    def workspace(self, title: str) -> Workspace | None:
        """The workspace of tab ``title`` (built on demand)."""
        for slot in self.slots:
            if slot.title == title:
                return self._build(slot)
        return None

    def built_workspaces(self) -> list[Workspace]:
        return [s.ws for s in self.slots if s.ws is not None]

    def current_workspace(self) -> Workspace | None:
        slot = self.tabs.currentWidget()
        return self._build(slot) if isinstance(slot, _Slot) else None

    def _build(self, slot: _Slot) -> Workspace | None:
        if slot.ws is not None:
            return slot.ws
        t0 = time.perf_counter()
        try:
            cls = getattr(importlib.import_module(slot.module), slot.cls)
            ws = cls(self.runner)
        except Exception as exc:  # a bug in one workspace must not take the window down
            ws = self._broken(slot, exc)
        slot.ws = ws
        slot.layout().addWidget(ws)
        ws.status_message.connect(self.show_status)
        self.settings.qs.beginGroup(self.settings.workspace_group(slot.cls))
        try:
            ws.restore_settings(self.settings.qs)
        finally:
            self.settings.qs.endGroup()
        if self.presentation:
            ws.set_presentation(True)
        app_style.restyle_plots(ws)
        _log.info("built %s in %.2f s", slot.title, time.perf_counter() - t0)
        return ws

    def _broken(self, slot: _Slot, exc: Exception) -> Workspace:
        """A tab whose workspace failed to start: report it once, show the reason in the tab."""
        rec = errors.handle(exc, source=f"starting the {slot.title} tab")
        ws = Workspace(self.runner)
        ws.title = slot.title
        where = f"\n\nDetails: {rec.log_file}" if rec.log_file else ""
        lab = QtWidgets.QLabel(f"The {slot.title} tab could not start:\n{rec.summary}{where}")
        lab.setObjectName("broken_workspace")
        lab.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        lab.setWordWrap(True)
        lab.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        QtWidgets.QVBoxLayout(ws).addWidget(lab)
        return ws

    def _on_tab_changed(self, index: int) -> None:
        slot = self.tabs.widget(index)
        if not isinstance(slot, _Slot):
            return
        ws = self._build(slot)
        if ws is not None and slot.generation != self._generation and self.controller.used is not None:
            slot.generation = self._generation
            s = self.controller.subsample
            ws.set_dataset(self.controller.used, val_fraction=s.val_fraction, seed=s.seed)
        app_style.restyle_plots(slot)   # plots made since the last visit follow the theme too

    def _release(self, slot: _Slot) -> None:
        """A hidden tab's data set is gone: stop its jobs and clear what it shows from the old set now
        (``set_dataset(None)``); the new set reaches it when the tab is shown (``slot.generation`` stays old)."""
        if slot.ws.dataset is None:
            return
        s = self.controller.subsample
        try:
            slot.ws.set_dataset(None, val_fraction=s.val_fraction, seed=s.seed)
        except Exception as exc:  # one faulty tab must not stop the switch for the others
            errors.handle(exc, source=f"clearing the {slot.title} tab")

    def select_tab(self, name: str) -> bool:
        """Show the tab whose title or alias matches ``name`` (case-insensitive)."""
        i = tab_index(name)
        if i is not None:
            self.tabs.setCurrentIndex(i)
        return i is not None

    # -- data sets --------------------------------------------------------------------------------
    def open_source(self, source: str) -> None:
        self.message_bar.hide()
        self.controller.load(source)

    def download(self, name: str) -> None:
        from gui.download_dialog import DownloadDialog

        dlg = DownloadDialog(self.runner, name, self)
        dlg.downloaded.connect(lambda n: (self._refresh_chooser(), self.open_source(n)))
        dlg.finished.connect(lambda _=0, d=dlg: self._dialogs.remove(d) if d in self._dialogs else None)
        self._dialogs.append(dlg)
        dlg.show()
        dlg.start()

    def _on_dataset_changed(self, full, used) -> None:
        self._generation += 1
        self.dataset_bar.show_dataset(full, used)
        self._refresh_chooser()
        current = self.tabs.currentWidget()
        for slot in self.slots:
            if slot.ws is not None and slot is not current:
                self._release(slot)
        self._on_tab_changed(self.tabs.currentIndex())
        if self.statusBar().currentMessage().startswith("Loading "):       # not "Loading…" over the new set
            self.statusBar().showMessage(f"Loaded {full.name}", 4000)
        _log.info("data set %s shown %.2f s after start", full.name, time.perf_counter() - self.t_created)
        self._settle_timer.start()   # after this event, once the old set's widgets are deleted

    def _settle_heap(self) -> None:
        _log.info("garbage collected and heap frozen in %.0f ms", heap.settle() * 1000)

    def _on_subsample_changed(self) -> None:
        self.controller.set_subsample(self.dataset_bar.subsample())

    def _refresh_chooser(self) -> None:
        self.dataset_bar.set_choices(self.controller.source, self.settings.recent(), self.controller.cached_names())

    # -- messages -------------------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        self.message_bar.show_message(text, "error")
        self.statusBar().showMessage(text, 8000)

    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    # -- view ---------------------------------------------------------------------------------------------
    def set_presentation(self, on: bool, *, fullscreen: bool = True) -> None:
        """Projector mode: full screen, big fonts, thick lines, high contrast (F11 / Ctrl+P)."""
        on = bool(on)
        self.presentation = on
        self.actions["presentation"].setChecked(on)
        self.actions["leave_presentation"].setEnabled(on)
        app = QtWidgets.QApplication.instance()
        app_style.apply(app, self.settings.theme, on)
        for ws in self.built_workspaces():
            ws.set_presentation(on)
        app_style.restyle_plots(self)
        if fullscreen and QtGui.QGuiApplication.platformName() not in ("offscreen", "minimal"):
            if on:
                self._was_maximized = self.isMaximized()
                self.showFullScreen()
            elif self._was_maximized:
                self.showMaximized()
            else:
                self.showNormal()
        self.show_status("Presentation mode on (F11 or Esc to leave)" if on else "Presentation mode off", 3000)

    def set_theme(self, theme: str) -> None:
        self.settings.theme = theme
        self.actions["dark"].setChecked(theme == "dark")
        app_style.apply(QtWidgets.QApplication.instance(), theme, self.presentation)
        app_style.restyle_plots(self)

    # -- settings and closing ----------------------------------------------------------------------------
    def _restore_window(self) -> None:
        geometry = self.settings.geometry
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1600, 1000)
        self.actions["dark"].setChecked(self.settings.theme == "dark")
        tab = self.settings.tab
        for i, slot in enumerate(self.slots):
            if slot.title == tab:
                self.tabs.setCurrentIndex(i)

    def save_settings(self) -> None:
        self.settings.geometry = self.saveGeometry()
        self.settings.tab = self.tabs.tabText(self.tabs.currentIndex())
        self.settings.set_subsample(self.controller.subsample)
        for slot in self.slots:
            if slot.ws is not None:
                self.settings.qs.beginGroup(self.settings.workspace_group(slot.cls))
                try:
                    slot.ws.save_settings(self.settings.qs)
                finally:
                    self.settings.qs.endGroup()
        self.settings.sync()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:  # noqa: N802
        t0 = time.perf_counter()
        if self.presentation:
            self.set_presentation(False)
        self.save_settings()
        for d in list(self._dialogs):
            d.close()
        for ws in self.built_workspaces():
            ws.shutdown()
        ok = self.runner.shutdown(2.0)
        _log.info("closed in %.2f s (all jobs stopped: %s)", time.perf_counter() - t0, ok)
        event.accept()

    # -- drag and drop --------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_source(paths[0])
