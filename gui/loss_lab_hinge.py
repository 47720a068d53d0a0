"""Loss lab, hinge tab: for every image each term ``max(0, s_j - s_y + Δ)`` written out with its numbers.

Each image gets a card: a bar chart of its scores with the threshold ``s_y - Δ`` (the part of any
other class's bar above it, in red, is exactly that class's term), the derivation line by line, and
the image's loss ``L_i``. Below the cards: the mean ``L = (L_1 + L_2 + L_3) / 3``.
Numbers and strings come from :func:`core.loss_lab.hinge_table`.
"""
from __future__ import annotations

import html

from PySide6 import QtCore, QtWidgets

from core.loss_lab import fmt
from gui.loss_lab_common import CORRECT_COLOR, PAYS_COLOR, BarPlot, Card, ValueLabel, formula
from gui.theme import Style

__all__ = ["HingePanel"]

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _colored(text: str, positive: bool) -> str:
    color = PAYS_COLOR if positive else CORRECT_COLOR
    return f"<span style='color:{color.name()}; font-weight:bold'>{html.escape(text)}</span>"


class _ImageCard(Card):
    def __init__(self, index: int, class_names):
        super().__init__()
        self.index = index
        self.class_names = list(class_names)
        self.plot = BarPlot(class_names, y_label="score")
        self.derivation = QtWidgets.QLabel()
        self.derivation.setObjectName(f"hinge_derivation_{index}")
        self.derivation.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.derivation.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self.loss = ValueLabel(f"L{str(index + 1).translate(SUB)} =", f"hinge_loss_{index}")
        self.body.addWidget(self.plot, 1)
        self.body.addWidget(self.derivation)
        self.body.addWidget(self.loss)

    def show_image(self, im, scores_col, delta: float) -> None:
        name = self.class_names[im.label]
        self.set_title(f"Image {self.index + 1} — correct class: {name}")
        self.plot.set_bars(list(scores_col), correct=im.label, n_classes=len(self.class_names))
        paying = [t for t in im.terms if t.value > 0]
        self.plot.set_extra([t.cls for t in paying], [im.threshold] * len(paying), [t.value for t in paying],
                            PAYS_COLOR)
        self.plot.set_lines([(im.threshold, f"s({name}) − Δ = {fmt(im.threshold)}", PAYS_COLOR.name())])
        first = "<br>+ ".join(html.escape(t.text) for t in im.terms)
        clipped = " + ".join(f"max(0, {html.escape(fmt(t.margin))})" for t in im.terms)
        values = " + ".join(_colored(fmt(t.value), t.value > 0) for t in im.terms)
        self.derivation.setText(formula(f"&nbsp;&nbsp;{first}<br>= {clipped}<br>= {values}<br>"
                                        f"= <b>{html.escape(fmt(im.loss))}</b>"))
        self.loss.set(fmt(im.loss), CORRECT_COLOR if im.loss == 0 else PAYS_COLOR)


class HingePanel(QtWidgets.QWidget):
    """Three image cards and the mean hinge loss."""

    def __init__(self, class_names, n_images: int = 3, parent=None):
        super().__init__(parent)
        head = QtWidgets.QLabel(formula(
            "Multiclass SVM (hinge) loss: &nbsp; <i>L<sub>i</sub></i> = Σ<sub><i>j</i> ≠ <i>y<sub>i</sub></i></sub> "
            "max(0, <i>s<sub>j</sub></i> − <i>s<sub>y<sub>i</sub></sub></i> + Δ) &nbsp;&nbsp; "
            "<i>L</i> = (1/<i>N</i>) Σ<sub><i>i</i></sub> <i>L<sub>i</sub></i>"))
        head.setWordWrap(True)
        hint = QtWidgets.QLabel("In each chart, every other class whose score reaches above the dashed line "
                                "s<sub>y</sub> − Δ pays the red part; the correct class is outlined in green.")
        hint.setWordWrap(True)
        self.cards = [_ImageCard(i, class_names) for i in range(n_images)]
        row = QtWidgets.QHBoxLayout()
        for c in self.cards:
            row.addWidget(c, 1)
        self.mean = ValueLabel("L =", "hinge_mean")
        self.mean_value = self.mean.value
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(hint)
        lay.addLayout(row, 1)
        lay.addWidget(self.mean)

    def show_table(self, table, scores, y) -> None:
        for card, im in zip(self.cards, table.images):
            card.show_image(im, scores[:, im.image], table.delta)
        self.mean.caption.setText(f"mean over the images: L = {table.mean_expr} =")
        self.mean.set(fmt(table.mean))

    def losses_text(self) -> list[str]:
        return [c.loss.text() for c in self.cards]

    def apply_style(self, style: Style) -> None:
        for c in self.cards:
            c.plot.apply_style(style)
            c.loss.set_big(style.font_pt + 4)
        self.mean.set_big(style.font_pt + 6)

    def export_targets(self) -> dict:
        return {f"hinge scores, image {c.index + 1}": c.plot.getPlotItem() for c in self.cards}
