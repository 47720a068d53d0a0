"""The main window's menus and window-level shortcuts (File, View, Help) and the actions behind them.

``build_menus(window)`` returns the actions by name (``"open_file"``, ``"presentation"``, ``"dark"``...),
so tests and the shortcut table can reach them. File dialogs are only opened here; the work they
trigger lives in the window (loading), :mod:`gui.exporting` (export) and :mod:`gui.help_dialogs`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from gui import exporting, help_dialogs
from gui.dataset_bar import display_source

__all__ = ["build_menus", "export_plot", "export_table", "DOWNLOAD_MENU"]

DOWNLOAD_MENU = [("mnist", "MNIST"), ("fashion-mnist", "Fashion-MNIST"), ("cifar10", "CIFAR-10"),
                 ("cifar100", "CIFAR-100")]
_DATA_FILTER = "Data sets (*.npz *.tar.gz *.tgz *.tar *.gz *ubyte*);;All files (*)"


def _action(window, name: str, text: str, slot, shortcuts=(), *, checkable=False, tip="") -> QtGui.QAction:
    a = QtGui.QAction(text, window)
    a.setObjectName(name)
    if shortcuts:
        a.setShortcuts([QtGui.QKeySequence(s) for s in shortcuts])
        a.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
    a.setCheckable(checkable)
    if tip:
        a.setStatusTip(tip)
    a.triggered.connect(slot)
    window.addAction(a)  # shortcuts work in full screen without a visible menu bar
    return a


def build_menus(w) -> dict[str, QtGui.QAction]:
    acts: dict[str, QtGui.QAction] = {}
    mb = w.menuBar()

    # -- File --
    m = mb.addMenu("&File")
    acts["open_file"] = _action(w, "open_file", "&Open data set file…", lambda: _open_file(w), ["Ctrl+O"],
                                tip="Open a .npz, a CIFAR .tar.gz or an MNIST IDX file")
    acts["open_folder"] = _action(w, "open_folder", "Open data set &folder…", lambda: _open_folder(w),
                                  ["Ctrl+Shift+O"], tip="Open a folder of class sub-folders, IDX files or CIFAR batches")
    m.addAction(acts["open_file"])
    m.addAction(acts["open_folder"])
    dl = m.addMenu("&Download")
    dl.setObjectName("download_menu")
    for key, text in DOWNLOAD_MENU:
        a = _action(w, f"download_{key}", text, lambda _=False, k=key: w.download(k),
                    tip=f"Download {text} into the cache (checksummed) and open it")
        acts[f"download_{key}"] = a
        dl.addAction(a)
    dl.aboutToShow.connect(lambda: _mark_cached(w, acts))
    recent = m.addMenu("&Recent")
    recent.setObjectName("recent_menu")
    recent.aboutToShow.connect(lambda: _fill_recent(w, recent))
    _fill_recent(w, recent)
    m.addSeparator()
    acts["export_png"] = _action(w, "export_png", "&Export current plot as PNG…", lambda: export_plot(w, "png"),
                                 ["Ctrl+E"])
    acts["export_svg"] = _action(w, "export_svg", "Export current plot as &SVG…", lambda: export_plot(w, "svg"),
                                 ["Ctrl+Shift+E"])
    acts["export_csv"] = _action(w, "export_csv", "Export &table as CSV…", lambda: export_table(w), ["Ctrl+Shift+C"])
    for k in ("export_png", "export_svg", "export_csv"):
        m.addAction(acts[k])
    m.addSeparator()
    acts["quit"] = _action(w, "quit", "&Quit", w.close, ["Ctrl+Q"])
    m.addAction(acts["quit"])

    # -- View --
    v = mb.addMenu("&View")
    acts["presentation"] = _action(w, "presentation", "&Presentation mode", lambda on: w.set_presentation(on),
                                   ["F11", "Ctrl+P"], checkable=True,
                                   tip="Full screen, big fonts, thick lines, high contrast (for a projector)")
    acts["leave_presentation"] = _action(w, "leave_presentation", "Leave presentation mode",
                                         lambda: w.presentation and w.set_presentation(False), ["Esc"])
    acts["leave_presentation"].setEnabled(False)  # Esc is only taken while presenting
    acts["dark"] = _action(w, "dark", "&Dark theme", lambda on: w.set_theme("dark" if on else "light"),
                           ["Ctrl+Shift+D"], checkable=True)
    v.addAction(acts["presentation"])
    v.addAction(acts["dark"])
    v.addSeparator()
    for i, slot in enumerate(w.slots):
        a = _action(w, f"tab_{i}", f"Show {slot.title}", lambda _=False, i=i: w.tabs.setCurrentIndex(i),
                    [f"Ctrl+{i + 1}"])
        acts[f"tab_{i}"] = a
        v.addAction(a)

    # -- Help --
    h = mb.addMenu("&Help")
    acts["shortcuts"] = _action(w, "shortcuts", "&Keyboard shortcuts", lambda: show_shortcuts(w), ["F1"])
    acts["about"] = _action(w, "about", "&About Linear Classifier Lab", lambda: _remember(w, help_dialogs.show_about(w)))
    h.addAction(acts["shortcuts"])
    h.addAction(acts["about"])
    return acts


def shortcut_rows(w) -> list[tuple[str, str, str]]:
    classes = [type(s.ws) for s in w.slots if s.ws is not None]
    return help_dialogs.all_shortcuts(list(w.actions.values()), classes)


def show_shortcuts(w) -> help_dialogs.ShortcutsDialog:
    dlg = help_dialogs.ShortcutsDialog(shortcut_rows(w), w)
    _remember(w, dlg)
    dlg.show()
    return dlg


def _remember(w, dlg):
    dlg.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
    w._dialogs.append(dlg)
    dlg.destroyed.connect(lambda _=None, d=dlg: w._dialogs.remove(d) if d in w._dialogs else None)
    return dlg


def _mark_cached(w, acts) -> None:
    cached = w.controller.cached_names()
    for key, text in DOWNLOAD_MENU:
        acts[f"download_{key}"].setText(text + ("   (downloaded)" if key in cached else ""))


def _fill_recent(w, menu: QtWidgets.QMenu) -> None:
    menu.clear()
    items = w.settings.recent()
    for src in items:
        a = menu.addAction(display_source(src))
        a.setToolTip(src)
        a.setStatusTip(src)
        a.triggered.connect(lambda _=False, s=src: w.open_source(s))
    if not items:
        menu.addAction("(no recent data sets)").setEnabled(False)
    else:
        menu.addSeparator()
        menu.addAction("Clear recent", lambda: (w.settings.clear_recent(), w._refresh_chooser()))


def _start_dir(w) -> str:
    src = w.controller.source
    return str(Path(src).parent) if src and Path(src).exists() else str(Path.home())


def _open_file(w) -> None:
    path, _ = QtWidgets.QFileDialog.getOpenFileName(w, "Open data set file", _start_dir(w), _DATA_FILTER)
    if path:
        w.open_source(path)


def _open_folder(w) -> None:
    path = QtWidgets.QFileDialog.getExistingDirectory(w, "Open data set folder", _start_dir(w))
    if path:
        w.open_source(path)


def _choose_target(w, targets: dict):
    if len(targets) == 1:
        return next(iter(targets.items()))
    name, ok = QtWidgets.QInputDialog.getItem(w, "Export plot", "Which plot?", list(targets), 0, False)
    return (name, targets[name]) if ok else (None, None)


def export_plot(w, fmt: str, path: str | None = None, target_name: str | None = None):
    """Export a plot of the current workspace (asks which plot and where unless given). Returns the path."""
    ws = w.current_workspace()
    targets = ws.export_targets() if ws is not None else {}
    if not targets:
        w.show_status(f"The {w.tabs.tabText(w.tabs.currentIndex())} tab has no plot to export.", 5000)
        return None
    name, target = (target_name, targets[target_name]) if target_name else _choose_target(w, targets)
    if target is None:
        return None
    if path is None:
        default = str(Path.home() / f"{name.lower().replace(' ', '_')}.{fmt}")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(w, f"Export {name} as {fmt.upper()}", default,
                                                        f"{fmt.upper()} (*.{fmt})")
        if not path:
            return None
    try:
        out = exporting.export_plot(target, path, fmt)
    except (OSError, ValueError) as exc:
        w.show_error(f"Could not export {name} to {path}: {exc}")
        return None
    w.show_status(f"Saved {name} to {out}", 6000)
    return out


def export_table(w, path: str | None = None):
    """Export the current workspace's table as CSV (asks where unless given). Returns the path."""
    ws = w.current_workspace()
    table = ws.table_for_export() if ws is not None else None
    if table is None:
        w.show_status(f"The {w.tabs.tabText(w.tabs.currentIndex())} tab has no table to export.", 5000)
        return None
    if path is None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(w, "Export table as CSV", str(Path.home() / "table.csv"),
                                                        "CSV (*.csv)")
        if not path:
            return None
    try:
        out = exporting.export_table(table[0], table[1], path)
    except OSError as exc:
        w.show_error(f"Could not write {path}: {exc}")
        return None
    w.show_status(f"Saved the table to {out}", 6000)
    return out
