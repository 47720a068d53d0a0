"""Help menu: the keyboard-shortcut table (one list for the whole app) and About (versions, data licenses)."""
from __future__ import annotations

import html
import platform

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["SHORTCUTS", "all_shortcuts", "ShortcutsDialog", "AboutDialog", "about_html", "show_about", "versions"]

#: (keys, what it does, where) -- window-level keys come from the menu actions (see main_window);
#: these are the keys inside workspaces.
SHORTCUTS: list[tuple[str, str, str]] = [
    ("Click an image", "Show its pixel values", "Data"),
    ("Arrow keys", "Move the pixel-number view", "Data"),
    ("+ / −, mouse wheel", "Zoom the pixel-number view", "Data"),
    ("Space", "Play / pause training", "Linear Classifier"),
    ("S", "One training step", "Linear Classifier"),
    ("R", "Reset the weights", "Linear Classifier"),
]

_DIGITS_LICENSE = ("Digits 8×8 (bundled through scikit-learn): UCI ML “Optical Recognition of Handwritten Digits” "
                   "by E. Alpaydin and C. Kaynak, 1998 — CC BY 4.0.")


def all_shortcuts(actions: list, workspace_classes: list) -> list[tuple[str, str, str]]:
    """Menu actions with shortcuts, then :data:`SHORTCUTS`, then any ``shortcuts`` a workspace class declares
    (a list of ``(keys, description)``)."""
    rows = []
    for a in actions:
        keys = [k.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for k in a.shortcuts()]
        if keys:
            rows.append((" or ".join(keys), a.text().replace("&", "").rstrip("…").rstrip("."), "Window"))
    rows += SHORTCUTS
    for cls in workspace_classes:
        for keys, what in getattr(cls, "shortcuts", ()) or ():
            row = (str(keys), str(what), getattr(cls, "title", cls.__name__))
            if row not in rows:
                rows.append(row)
    return rows


class ShortcutsDialog(QtWidgets.QDialog):
    """A three-column table: keys, action, where."""

    def __init__(self, rows: list[tuple[str, str, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.setObjectName("shortcuts_dialog")
        self.table = QtWidgets.QTableWidget(len(rows), 3)
        self.table.setObjectName("shortcuts_table")
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "Where"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        box = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(box)
        self.resize(640, 520)


def versions() -> dict[str, str]:
    import numpy
    import PySide6
    import pyqtgraph

    import core
    return {"Linear Classifier Lab": core.__version__, "Python": platform.python_version(),
            "Qt": QtCore.qVersion(), "PySide6": PySide6.__version__, "pyqtgraph": pyqtgraph.__version__,
            "NumPy": numpy.__version__}


def about_html() -> str:
    from core.datasets import CATALOG

    v = versions()
    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(val)}</td></tr>" for k, val in v.items())
    lic = [f"<li>{html.escape(_DIGITS_LICENSE)}</li>"]
    for entry in CATALOG.values():
        lic.append(f"<li><b>{html.escape(entry.display_name)}</b>: {html.escape(entry.license)}<br>"
                   f"<i>{html.escape(entry.citation)}</i></li>")
    return (f"<h2>Linear Classifier Lab {html.escape(v['Linear Classifier Lab'])}</h2>"
            "<p>See how image classifiers work: nearest neighbours, linear classifiers, the hinge and softmax "
            "losses and regularization, trained live on real images.</p>"
            f"<table cellspacing='6'>{rows}</table><h3>Data-set licenses</h3><ul>{''.join(lic)}</ul>")


class AboutDialog(QtWidgets.QDialog):
    """Version numbers and data-set licenses in a scrollable, selectable text view."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About Linear Classifier Lab")
        self.text = QtWidgets.QTextBrowser()
        self.text.setOpenExternalLinks(True)
        self.text.setHtml(about_html())
        box = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.text)
        lay.addWidget(box)
        self.resize(660, 620)


def show_about(parent=None) -> AboutDialog:
    dlg = AboutDialog(parent)
    dlg.setModal(False)
    dlg.show()
    return dlg
