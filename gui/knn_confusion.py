"""A clickable confusion matrix: rows = true class, columns = predicted class, counts in the cells.

Cells are shaded by the share of their row (green on the diagonal = right, red off it = wrong), so
the classes kNN mixes up stand out. Clicking a cell emits ``cell_clicked(true, predicted)``; the
Test set tab then shows the images behind it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["ConfusionView"]


def _mix(fraction: float, rgb: tuple[int, int, int]) -> QtGui.QColor:
    f = float(np.clip(fraction, 0.0, 1.0))
    return QtGui.QColor(*(int(round(255 + (c - 255) * f)) for c in rgb))


class _FramedSelection(QtWidgets.QStyledItemDelegate):
    """Paint the chosen cell with its own colour plus a thick dark frame (no highlight fill)."""

    def paint(self, painter, option, index) -> None:
        selected = bool(option.state & QtWidgets.QStyle.StateFlag.State_Selected)
        opt = QtWidgets.QStyleOptionViewItem(option)
        opt.state &= ~QtWidgets.QStyle.StateFlag.State_Selected
        opt.state &= ~QtWidgets.QStyle.StateFlag.State_HasFocus
        super().paint(painter, opt, index)
        if selected:
            painter.save()
            painter.setPen(QtGui.QPen(QtGui.QColor("#111"), 4))
            painter.drawRect(option.rect.adjusted(2, 2, -2, -2))
            painter.restore()


class ConfusionView(QtWidgets.QWidget):
    """Confusion-matrix table with coloured, clickable cells."""

    cell_clicked = QtCore.Signal(int, int)   # true class, predicted class

    def __init__(self, parent=None):
        super().__init__(parent)
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.names: list[str] = []
        self.title = QtWidgets.QLabel("Confusion matrix: rows = true class, columns = predicted class")
        self.title.setObjectName("confusion_title")
        self.title.setWordWrap(True)
        self.table = QtWidgets.QTableWidget()
        self.table.setObjectName("confusion_table")
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setItemDelegate(_FramedSelection(self.table))
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Click a cell to see the test images behind it")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.title)
        lay.addWidget(self.table, 1)
        self.table.cellClicked.connect(self._on_cell)

    def clear(self) -> None:
        self.matrix = np.zeros((0, 0), dtype=np.int64)
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)

    def set_matrix(self, matrix, names: Sequence[str]) -> None:
        """Show ``matrix`` ``(C, C)`` int (rows true, columns predicted) for classes ``names``."""
        m = np.asarray(matrix, dtype=np.int64)
        self.matrix, self.names = m, list(names)
        c = m.shape[0]
        self.table.clear()
        self.table.setRowCount(c)
        self.table.setColumnCount(c)
        self.table.setHorizontalHeaderLabels(self.names)
        self.table.setVerticalHeaderLabels(self.names)
        for j in range(c):
            self.table.horizontalHeaderItem(j).setToolTip(f"predicted {self.names[j]}")
            self.table.verticalHeaderItem(j).setToolTip(f"true class {self.names[j]}")
        row_sum = np.maximum(m.sum(axis=1, keepdims=True), 1)
        for i in range(c):
            for j in range(c):
                item = QtWidgets.QTableWidgetItem(str(int(m[i, j])))
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                frac = m[i, j] / row_sum[i, 0]
                colour = (44, 160, 44) if i == j else (214, 39, 40)
                bg = _mix(frac * (1.0 if i == j else 2.5), colour)
                item.setBackground(bg)
                item.setForeground(QtGui.QColor("white" if bg.lightness() < 140 else "black"))
                item.setToolTip(f"true {self.names[i]}, predicted {self.names[j]}: {int(m[i, j])} images "
                                f"({frac:.0%} of {self.names[i]})")
                self.table.setItem(i, j, item)
        self._fit_headers()

    def _fit_headers(self) -> None:
        """Shorten column names that do not fit their column (full names stay in the tooltips)."""
        c = self.matrix.shape[0]
        if c == 0:
            return
        header = self.table.horizontalHeader()
        fm = header.fontMetrics()
        width = max(20, self.table.viewport().width() // c - 8)
        for j, name in enumerate(self.names):
            item = self.table.horizontalHeaderItem(j)
            if item is not None:
                item.setText(fm.elidedText(name, QtCore.Qt.TextElideMode.ElideRight, width))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_headers()

    def cell_text(self, row: int, col: int) -> str:
        item = self.table.item(row, col)
        return item.text() if item is not None else ""

    def _on_cell(self, row: int, col: int) -> None:
        self.cell_clicked.emit(row, col)

    def table_rows(self) -> tuple[list[str], list[list]]:
        """``(header, rows)`` for CSV export."""
        header = ["true \\ predicted"] + list(self.names)
        rows = [[self.names[i]] + [int(v) for v in self.matrix[i]] for i in range(self.matrix.shape[0])]
        return header, rows
