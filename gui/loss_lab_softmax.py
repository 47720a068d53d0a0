"""Loss lab, softmax tab: for every image the chain scores -> exp -> normalised probabilities -> -ln p.

Each image gets a card with the chain as a small table (the correct class's row in bold), a bar
chart of the probabilities, and ``L_i = -ln p_y``. Below: the mean loss and the note on the slide's
``0.89`` (log base 10) against the natural-log loss (``2.04``).
Numbers come from :func:`core.loss_lab.softmax_table` and :func:`core.loss_lab.log_base_note`.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from core.loss_lab import fmt, fmt_exp, fmt_fixed, fmt_score, log_base_note
from gui.loss_lab_common import CORRECT_COLOR, PAYS_COLOR, BarPlot, Card, ValueLabel, formula
from gui.theme import Style

__all__ = ["SoftmaxPanel"]

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
COLUMNS = ("score s", "exp(s)", "p = exp(s) / Σ")


class _ImageCard(Card):
    def __init__(self, index: int, class_names):
        super().__init__()
        self.index = index
        self.class_names = list(class_names)
        self.table = QtWidgets.QTableWidget(len(class_names), len(COLUMNS))
        self.table.setObjectName(f"softmax_table_{index}")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setVerticalHeaderLabels(self.class_names)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        for r in range(len(class_names)):
            for c in range(len(COLUMNS)):
                item = QtWidgets.QTableWidgetItem("")
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.sum_label = QtWidgets.QLabel()
        self.plot = BarPlot(class_names, y_label="probability", height=150)
        self.plot.setYRange(0, 1.05, padding=0)
        self.loss = ValueLabel(f"L{str(index + 1).translate(SUB)} =", f"softmax_loss_{index}")
        self.body.addWidget(self.table)
        self.body.addWidget(self.sum_label)
        self.body.addWidget(self.plot, 1)
        self.body.addWidget(self.loss)

    def fit_table(self) -> None:
        h = self.table.horizontalHeader().height() + sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        self.table.setFixedHeight(h + 2 * self.table.frameWidth() + 2)

    def show_image(self, im) -> None:
        self._shown = im
        self.set_title(f"Image {self.index + 1} — correct class: {self.class_names[im.label]}")
        bold = QtGui.QFont(self.table.font())
        bold.setBold(True)
        normal = QtGui.QFont(self.table.font())
        for r in range(len(self.class_names)):
            texts = (fmt_score(im.scores[r]), fmt_exp(im.exp[r]), fmt_fixed(im.probs[r]))
            for c, t in enumerate(texts):
                item = self.table.item(r, c)
                item.setText(t)
                item.setFont(bold if r == im.label else normal)
                item.setForeground(QtGui.QBrush(CORRECT_COLOR.darker(130)) if r == im.label else QtGui.QBrush())
        self.sum_label.setText(f"Σ exp(s) = {fmt_exp(im.exp_sum)}   → divide each exp(s) by it")
        self.plot.set_bars(list(im.probs), correct=im.label, n_classes=len(self.class_names))
        self.loss.caption.setText(f"L{str(self.index + 1).translate(SUB)} = −ln p<sub>{self.class_names[im.label]}</sub>"
                                  f" = {im.loss_expr} =")
        self.loss.set(fmt(im.loss), CORRECT_COLOR if im.loss < 0.05 else PAYS_COLOR)

    def probabilities_text(self) -> list[str]:
        return [self.table.item(r, 2).text() for r in range(self.table.rowCount())]


class SoftmaxPanel(QtWidgets.QWidget):
    """Three image cards, the mean softmax loss and the log-base note."""

    def __init__(self, class_names, n_images: int = 3, parent=None):
        super().__init__(parent)
        head = QtWidgets.QLabel(formula(
            "Softmax: &nbsp; <i>P</i>(<i>Y</i> = <i>k</i> | <i>X</i> = <i>x<sub>i</sub></i>) = "
            "e<sup><i>s<sub>k</sub></i></sup> / Σ<sub><i>j</i></sub> e<sup><i>s<sub>j</sub></i></sup> "
            "&nbsp;&nbsp; <i>L<sub>i</sub></i> = −ln <i>P</i>(<i>Y</i> = <i>y<sub>i</sub></i> | "
            "<i>X</i> = <i>x<sub>i</sub></i>)"))
        head.setWordWrap(True)
        hint = QtWidgets.QLabel("scores (unnormalised log-probabilities) → exp (unnormalised probabilities) → "
                                "normalise (probabilities, summing to 1) → −ln of the correct class's probability")
        hint.setWordWrap(True)
        self.cards = [_ImageCard(i, class_names) for i in range(n_images)]
        row = QtWidgets.QHBoxLayout()
        for c in self.cards:
            row.addWidget(c, 1)
        self.mean = ValueLabel("L =", "softmax_mean")
        self.mean_value = self.mean.value
        self.note = QtWidgets.QLabel()
        self.note.setObjectName("log_note")
        self.note.setWordWrap(True)
        self.note.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.note.setContentsMargins(8, 6, 8, 6)
        self.note.setStyleSheet("QLabel#log_note { background: palette(alternate-base); }")
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(hint)
        lay.addLayout(row, 1)
        lay.addWidget(self.mean)
        lay.addWidget(self.note)

    def show_table(self, table) -> None:
        for card, im in zip(self.cards, table.images):
            card.show_image(im)
        self.mean.caption.setText(f"mean over the images: L = {table.mean_expr} =")
        self.mean.set(fmt(table.mean))
        first = table.images[0]
        p = float(first.probs[first.label])
        if p > 0:
            note = log_base_note(p)
            self.note.setText(f"<b>Image 1, log base:</b> {note.text}")
        else:
            self.note.setText("<b>Image 1:</b> p = 0 to machine precision, so −ln p is infinite.")

    def apply_style(self, style: Style) -> None:
        for c in self.cards:
            c.plot.apply_style(style)
            c.plot.setMinimumHeight(int(100 * style.font_pt / 10))
            c.loss.set_big(style.font_pt + 4)
            f = QtGui.QFont(c.table.font())
            f.setPointSize(style.font_pt)
            c.table.setFont(f)
            c.table.horizontalHeader().setFont(f)
            c.table.verticalHeader().setFont(f)
            if getattr(c, "_shown", None) is not None:
                c.show_image(c._shown)          # item fonts follow the new size
            c.table.resizeRowsToContents()
            c.fit_table()
        self.mean.set_big(style.font_pt + 6)

    def export_targets(self) -> dict:
        return {f"softmax probabilities, image {c.index + 1}": c.plot.getPlotItem() for c in self.cards}
