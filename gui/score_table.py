"""The score inspector's table: one row per class with its score ``s_j``, hinge term, ``exp(s_j)`` and ``p_j``;
the correct class in bold green, hinge terms that cost something in red.

Rows are as tall as the table's font needs (Qt's default is a fixed 30 px whatever the font), so the ten
classes of a lecture data set fit without scrolling in normal and in presentation mode; :meth:`ScoreTable.
height_for_rows` tells the inspector how tall the table must be for that.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

__all__ = ["ScoreTable", "ScoreTableModel", "COLUMNS", "COLUMN_TIPS", "CORRECT", "PAYS", "FREE", "ROW_PADDING"]

CORRECT = QtGui.QColor("#2ca02c")
PAYS = QtGui.QColor("#d62728")
FREE = QtGui.QColor("#9aa7b8")
COLUMNS = ("class", "score s_j", "hinge term", "exp(s_j)", "p_j")
COLUMN_TIPS = ("", "s_j = w_j·x + b_j", "max(0, s_j − s_y + Δ): what class j costs under the hinge loss",
               "unnormalised probability e^(s_j)", "softmax probability e^(s_j) / Σ_k e^(s_k)")
ROW_PADDING = 4     # px of a row that are not text (the line height of the font is the rest)


class ScoreTable(QtWidgets.QTableView):
    """Read-only view of a :class:`ScoreTableModel`, rows sized to the font (updated when the font changes)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("inspector_table")
        self.score_model = ScoreTableModel(self)
        self.setModel(self.score_model)
        header = self.verticalHeader()
        header.setVisible(False)
        header.setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        # p_j takes the width left over (not stretchLastSection: that never goes below 100 px, whatever it shows)
        self.horizontalHeader().setSectionResizeMode(len(COLUMNS) - 1, QtWidgets.QHeaderView.ResizeMode.Stretch)
        self._widths: list[int] | None = None
        self._fit_rows()

    def show_rows(self, rows: list[list[str]], kinds: list[str]) -> None:
        """New rows (see :meth:`ScoreTableModel.set_rows`); the columns fit their text and the table is at
        least as wide as they are plus a vertical scroll bar (so a horizontal one never takes a row's place)."""
        widths = [max((len(r[c]) for r in rows), default=0) for c in range(len(COLUMNS))]
        self.score_model.set_rows(rows, kinds)
        if widths == self._widths and rows:
            return                               # the same number of characters per column: the same layout
        self._widths = widths
        self.resizeColumnsToContents()
        header, last = self.horizontalHeader(), len(COLUMNS) - 1
        width = sum(header.sectionSize(c) for c in range(last))
        width += max(self.sizeHintForColumn(last), header.sectionSizeHint(last)) + 2 * self.frameWidth()
        self.setMinimumWidth(width + self.verticalScrollBar().sizeHint().width())

    def row_height(self) -> int:
        return self.verticalHeader().defaultSectionSize()

    def _fit_rows(self) -> None:
        h = QtGui.QFontMetrics(self.font()).height() + ROW_PADDING
        header = self.verticalHeader()
        header.setMinimumSectionSize(min(h, header.minimumSectionSize()))
        header.setDefaultSectionSize(h)

    def changeEvent(self, event: QtCore.QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.FontChange:   # presentation mode, a new application font
            self._fit_rows()
            self._widths = None                            # columns must be measured again

    def height_for_rows(self, n: int) -> int:
        """The height that shows the header and ``n`` rows without a vertical scroll bar."""
        bar = self.horizontalScrollBar()
        below = bar.sizeHint().height() if bar.isVisible() else 0
        return self.horizontalHeader().sizeHint().height() + n * self.row_height() + 2 * self.frameWidth() + below


class ScoreTableModel(QtGui.QStandardItemModel):
    """Rows of the score table: class, s_j, hinge term, exp(s_j), p_j; the correct row bold green.

    The cells live in Qt's own items (C++), so painting and measuring the table call no Python: while SGD
    runs in a worker thread, every call from Qt into Python would have to win the interpreter lock from it
    (a Python ``data()`` model was asked ~1,000 times per refresh and cost the training ~10 % of its speed).
    ``rows``/``kinds`` keep the plain text (for tests and export)."""

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.rows: list[list[str]] = []
        self.kinds: list[str] = []
        self._bold = QtGui.QFont()
        self._bold.setBold(True)
        self._right = QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter
        for c, (name, tip) in enumerate(zip(COLUMNS, COLUMN_TIPS)):
            item = QtGui.QStandardItem(name)
            if tip:
                item.setToolTip(tip)
            self.setHorizontalHeaderItem(c, item)

    def set_rows(self, rows: list[list[str]], kinds: list[str]) -> None:
        """Replace the rows; cells that exist already are updated in place (no model reset while training)."""
        self.rows, self.kinds = rows, kinds
        if self.rowCount() != len(rows):
            self.setRowCount(len(rows))
        for r, (row, kind) in enumerate(zip(rows, kinds)):
            for c, text in enumerate(row):
                item = self.item(r, c)
                if item is None:
                    item = QtGui.QStandardItem()
                    item.setEditable(False)
                    if c > 0:
                        item.setTextAlignment(self._right)
                    self.setItem(r, c, item)
                item.setText(text)
                if kind == "correct":
                    item.setFont(self._bold)
                    item.setForeground(CORRECT)
                    continue
                item.setData(None, QtCore.Qt.ItemDataRole.FontRole)         # the table's own font
                if kind == "pays" and c == 2:
                    item.setForeground(PAYS)
                else:
                    item.setData(None, QtCore.Qt.ItemDataRole.ForegroundRole)
