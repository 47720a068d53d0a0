"""The playground's per-point table: position, class, every class score and the point's loss L_i.

A ``QAbstractTableModel`` over NumPy arrays (a Play loop refreshes it many times a second; the view
repaints only the visible rows). The loss cell is green at 0 and increasingly red above it; the
correct class's score is bold. Values come from :func:`core.playground.evaluate`.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from gui.theme import class_color

__all__ = ["PointTableModel", "PointTable"]

GREEN = QtGui.QColor("#bfe8bf")
RED = QtGui.QColor("#f2a09a")
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _fmt(v: float) -> str:
    return f"{v:.3f}" if abs(v) < 1e4 else f"{v:.2e}"


class PointTableModel(QtCore.QAbstractTableModel):
    """Rows = points; columns = #, class, x₁, x₂, s₀ .. s_{C-1}, L_i."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.X = np.zeros((0, 2))
        self.y = np.zeros(0, dtype=np.int64)
        self.scores = np.zeros((0, 3))
        self.losses = np.zeros(0)
        self.n_classes = 3
        self.show_scores = True

    # -- data in -----------------------------------------------------------------------------------
    def set_data(self, X, y, scores, losses, n_classes: int) -> None:
        X = np.asarray(X, dtype=float).reshape(-1, 2)
        shape_changed = (len(X) != len(self.X) or int(n_classes) != self.n_classes
                         or (scores is None) == self.show_scores)
        if shape_changed:
            self.beginResetModel()
        self.X, self.y, self.n_classes = X, np.asarray(y, dtype=np.int64), int(n_classes)
        self.show_scores = scores is not None
        self.scores = np.asarray(scores, dtype=float) if scores is not None else np.zeros((len(X), 0))
        self.losses = np.asarray(losses, dtype=float) if losses is not None else np.zeros(len(X))
        if shape_changed:
            self.endResetModel()
        elif len(X):
            self.dataChanged.emit(self.index(0, 0), self.index(len(X) - 1, self.columnCount() - 1))

    # -- Qt model API ------------------------------------------------------------------------------
    def rowCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.X)

    def columnCount(self, parent=QtCore.QModelIndex()) -> int:  # noqa: N802
        return 4 + (self.n_classes + 1 if self.show_scores else 0)

    def headerData(self, section, orientation, role=QtCore.Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role != QtCore.Qt.ItemDataRole.DisplayRole or orientation != QtCore.Qt.Orientation.Horizontal:
            return None
        fixed = ["#", "class", "x₁", "x₂"]
        if section < 4:
            return fixed[section]
        if section < 4 + self.n_classes:
            return "s" + str(section - 4).translate(SUBSCRIPT)
        return "loss Lᵢ"

    def data(self, index, role=QtCore.Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        loss_col = 4 + self.n_classes
        if role == QtCore.Qt.ItemDataRole.DisplayRole:
            if c == 0:
                return str(r)
            if c == 1:
                return str(int(self.y[r]))
            if c in (2, 3):
                return _fmt(self.X[r, c - 2])
            if c < loss_col:
                return _fmt(self.scores[r, c - 4])
            return _fmt(self.losses[r])
        if role == QtCore.Qt.ItemDataRole.TextAlignmentRole:
            return int(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        if role == QtCore.Qt.ItemDataRole.BackgroundRole:
            if c == 1:
                col = QtGui.QColor(class_color(int(self.y[r]), self.n_classes))
                col.setAlpha(110)
                return QtGui.QBrush(col)
            if self.show_scores and c == loss_col:
                return QtGui.QBrush(self._loss_color(self.losses[r]))
        if role == QtCore.Qt.ItemDataRole.ForegroundRole and self.show_scores and c == loss_col:
            return QtGui.QBrush(QtGui.QColor("#000000"))
        if role == QtCore.Qt.ItemDataRole.FontRole and self.show_scores and 4 <= c < loss_col \
                and c - 4 == int(self.y[r]):
            f = QtGui.QFont()
            f.setBold(True)
            return f
        return None

    def _loss_color(self, v: float) -> QtGui.QColor:
        """Green at exactly 0; from pale to strong red as the loss grows (saturating at 3)."""
        if v <= 0:
            return GREEN
        t = min(1.0, 0.25 + 0.75 * v / 3.0)
        return QtGui.QColor(*(int(255 + t * (ch - 255)) for ch in (RED.red(), RED.green(), RED.blue())))

    # -- for tests and export ----------------------------------------------------------------------
    def cell(self, row: int, column: int) -> str:
        return self.data(self.index(row, column))

    def rows(self) -> tuple[list[str], list[list]]:
        header = [self.headerData(c, QtCore.Qt.Orientation.Horizontal) for c in range(self.columnCount())]
        out = []
        for r in range(len(self.X)):
            row = [r, int(self.y[r]), float(self.X[r, 0]), float(self.X[r, 1])]
            if self.show_scores:
                row += [float(v) for v in self.scores[r]] + [float(self.losses[r])]
            out.append(row)
        return header, out


class PointTable(QtWidgets.QTableView):
    """The per-point table view; selecting a row emits ``point_selected`` (or -1 when cleared)."""

    point_selected = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("point_table")
        self.model_ = PointTableModel(self)
        self.setModel(self.model_)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.selectionModel().selectionChanged.connect(self._on_selection)

    def _on_selection(self, *_args) -> None:
        rows = self.selectionModel().selectedRows()
        self.point_selected.emit(rows[0].row() if rows else -1)

    def apply_font(self, pt: int) -> None:
        f = QtGui.QFont(self.font())
        f.setPointSize(pt)
        self.setFont(f)
        self.horizontalHeader().setFont(f)
        self.verticalHeader().setDefaultSectionSize(int(pt * 2.3))
