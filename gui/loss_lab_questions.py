"""Loss lab, questions tab: the slide's questions about the losses, answered on the current table.

Q1 nudge one score a little: which loss moves? Q2 the minimum and maximum possible loss (a sweep of
the correct-class score). Q3 the loss when all scores are ~0 (C - 1 and ln C: the sanity check at
initialisation). Q4 the "what if" variants of the hinge loss. Every number comes from
:mod:`core.loss_lab` (``nudge_effect``, ``score_sweep``, ``loss_facts``, ``hinge_variants``).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core.loss_lab import fmt, hinge_variants, loss_facts, nudge_effect, score_sweep
from gui.loss_lab_common import CORRECT_COLOR, PAYS_COLOR, Card, CompactPlot, formula, style_plot
from gui.theme import Style

__all__ = ["QuestionsPanel"]

HINGE_COLOR = QtGui.QColor("#1f77b4")
SOFTMAX_COLOR = QtGui.QColor("#ff7f0e")
VARIANT_NOTES = {
    "sum over j ≠ y (slide)": "the slide's loss",
    "sum over all j (incl. y)": "adds Δ to every image: same minimiser",
    "mean over j ≠ y": "divides by C − 1: same minimiser",
    "squared terms": "a different loss (punishes big margins more)",
}


def _combo(items, name: str, current: int = 0) -> QtWidgets.QComboBox:
    box = QtWidgets.QComboBox()
    box.setObjectName(name)
    box.addItems(items)
    box.setCurrentIndex(current)
    return box


class QuestionsPanel(QtWidgets.QWidget):
    """Four cards answering the slide's questions on the current scores."""

    #: (image, class, amount): add ``amount`` to that cell of the score table
    nudge_requested = QtCore.Signal(int, int, float)

    def __init__(self, class_names, n_images: int = 3, parent=None):
        super().__init__(parent)
        self.class_names = list(class_names)
        self._state = None
        images = [f"image {i + 1}" for i in range(n_images)]

        # Q1 -------------------------------------------------------------------------------------
        self.q1 = Card("Q1 · What happens to the loss if a score changes a bit?")
        self.nudge_image = _combo(images, "nudge_image", 1)
        self.nudge_class = _combo(self.class_names, "nudge_class", 1)
        self.nudge_amount = QtWidgets.QDoubleSpinBox()
        self.nudge_amount.setObjectName("nudge_amount")
        self.nudge_amount.setRange(-3.0, 3.0)
        self.nudge_amount.setSingleStep(0.1)
        self.nudge_amount.setValue(0.3)
        self.nudge_amount.setPrefix("by ")
        self.nudge_apply = QtWidgets.QPushButton("Apply to the table")
        self.nudge_apply.setObjectName("nudge_apply")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("change"))
        row.addWidget(self.nudge_image)
        row.addWidget(QtWidgets.QLabel("'s"))
        row.addWidget(self.nudge_class)
        row.addWidget(QtWidgets.QLabel("score"))
        row.addWidget(self.nudge_amount)
        row.addStretch(1)
        self.q1.body.addLayout(row)
        self.nudge_hinge = QtWidgets.QLabel()
        self.nudge_hinge.setObjectName("nudge_hinge")
        self.nudge_softmax = QtWidgets.QLabel()
        self.nudge_softmax.setObjectName("nudge_softmax")
        for lab in (self.nudge_hinge, self.nudge_softmax):
            lab.setWordWrap(True)
            self.q1.body.addWidget(lab)
        self.q1.body.addWidget(self.nudge_apply, 0, QtCore.Qt.AlignmentFlag.AlignLeft)
        self.q1.body.addStretch(1)

        # Q2 -------------------------------------------------------------------------------------
        self.q2 = Card("Q2 · What are the minimum and maximum possible loss?")
        self.sweep_image = _combo(images, "sweep_image", 0)
        row2 = QtWidgets.QHBoxLayout()
        row2.addWidget(QtWidgets.QLabel("sweep the correct class's score of"))
        row2.addWidget(self.sweep_image)
        row2.addStretch(1)
        self.q2.body.addLayout(row2)
        self.sweep_plot = CompactPlot()
        self.sweep_plot.setObjectName("sweep_plot")
        self.sweep_plot.setMenuEnabled(False)
        self.sweep_plot.hideButtons()
        self.sweep_plot.setMinimumHeight(200)
        self.sweep_plot.showGrid(x=True, y=True, alpha=0.25)
        self.sweep_plot.setLabel("left", "L<sub>i</sub>")
        self.sweep_plot.setLabel("bottom", "correct-class score s<sub>y</sub>")
        self.legend = self.sweep_plot.addLegend(offset=(-10, 10))
        self.hinge_curve = self.sweep_plot.plot(name="hinge", pen=pg.mkPen(HINGE_COLOR, width=2))
        self.softmax_curve = self.sweep_plot.plot(name="softmax", pen=pg.mkPen(SOFTMAX_COLOR, width=2))
        self.now_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#555555", width=1, style=QtCore.Qt.PenStyle.DashLine),
                                        label="now", labelOpts={"position": 0.9})
        self.zero_marker = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(HINGE_COLOR), pen=pg.mkPen("w"))
        self.sweep_plot.addItem(self.now_line)
        self.sweep_plot.addItem(self.zero_marker)
        self.q2.body.addWidget(self.sweep_plot, 1)
        self.minmax = QtWidgets.QLabel()
        self.minmax.setObjectName("minmax_text")
        self.minmax.setWordWrap(True)
        self.q2.body.addWidget(self.minmax)

        # Q3 -------------------------------------------------------------------------------------
        self.q3 = Card("Q3 · At initialisation W is small, so all s ≈ 0. What is the loss?")
        self.c_spin = QtWidgets.QSpinBox()
        self.c_spin.setObjectName("n_classes_q3")
        self.c_spin.setRange(2, 1000)
        self.c_spin.setValue(len(self.class_names))
        self.c_spin.setPrefix("C = ")
        row3 = QtWidgets.QHBoxLayout()
        row3.addWidget(QtWidgets.QLabel("number of classes"))
        row3.addWidget(self.c_spin)
        row3.addStretch(1)
        self.q3.body.addLayout(row3)
        self.initial = QtWidgets.QLabel()
        self.initial.setObjectName("initial_loss_text")
        self.initial.setWordWrap(True)
        self.current = QtWidgets.QLabel()
        self.current.setObjectName("current_means_text")
        self.current.setWordWrap(True)
        self.q3.body.addWidget(self.initial)
        self.q3.body.addWidget(self.current)
        self.q3.body.addWidget(QtWidgets.QLabel("(“All scores ≈ 0” above puts tiny scores in the table; "
                                                "“Slide's numbers” brings the slide back.)"))
        self.q3.body.addStretch(1)

        # Q4 -------------------------------------------------------------------------------------
        self.q4 = Card("Q4 · What if we summed over all classes, used the mean, or squared the terms?")
        self.variants = QtWidgets.QTableWidget(len(VARIANT_NOTES), n_images + 2)
        self.variants.setObjectName("variants_table")
        self.variants.setHorizontalHeaderLabels(images + ["mean L", "so"])
        self.variants.setVerticalHeaderLabels(list(VARIANT_NOTES))
        self.variants.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.variants.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.variants.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.variants.horizontalHeader().setStretchLastSection(True)
        self.q4.body.addWidget(self.variants)

        grid = QtWidgets.QGridLayout(self)
        grid.addWidget(self.q1, 0, 0)
        grid.addWidget(self.q2, 0, 1, 2, 1)
        grid.addWidget(self.q3, 1, 0)
        grid.addWidget(self.q4, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(1, 1)

        for w in (self.nudge_image, self.nudge_class, self.sweep_image):
            w.currentIndexChanged.connect(self._refresh)
        self.nudge_amount.valueChanged.connect(self._refresh)
        self.c_spin.valueChanged.connect(self._refresh)
        self.nudge_apply.clicked.connect(self._emit_nudge)

    def _emit_nudge(self) -> None:
        self.nudge_requested.emit(self.nudge_image.currentIndex(), self.nudge_class.currentIndex(),
                                  float(self.nudge_amount.value()))

    def show_state(self, scores, y, delta, hinge, softmax) -> None:
        self._state = (np.asarray(scores, dtype=float), np.asarray(y), float(delta), hinge, softmax)
        self._refresh()

    def _refresh(self, *_args) -> None:
        if self._state is None:
            return
        scores, y, delta, hinge, softmax = self._state
        names = self.class_names
        sub = str(self.nudge_image.currentIndex() + 1)
        # Q1
        eff = nudge_effect(scores, y, self.nudge_image.currentIndex(), self.nudge_class.currentIndex(),
                           self.nudge_amount.value(), delta)
        if eff.hinge_changed:
            why = "changes: a term is active (a wrong class is within Δ of the correct one, or the change makes it so)"
        else:
            why = "unchanged: every wrong class is already more than Δ below the correct class, so every term stays 0" \
                if eff.hinge_before == 0 else "unchanged: the changed score is not in an active term"
        self.nudge_hinge.setText(f"<b style='color:{HINGE_COLOR.name()}'>hinge</b> L<sub>{sub}</sub>: "
                                 f"{fmt(eff.hinge_before)} → <b>{fmt(eff.hinge_after)}</b> — {why}")
        why_s = ("changes: every score moves every probability, so softmax always wants more"
                 if eff.softmax_changed else "unchanged (numerically)")
        self.nudge_softmax.setText(f"<b style='color:{SOFTMAX_COLOR.name()}'>softmax</b> L<sub>{sub}</sub>: "
                                   f"{fmt(eff.softmax_before, 4)} → <b>{fmt(eff.softmax_after, 4)}</b> — {why_s}")
        # Q2
        img = self.sweep_image.currentIndex()
        values, h, s, zp = score_sweep(scores, y, img, delta)
        self.hinge_curve.setData(values, h)
        self.softmax_curve.setData(values, s)
        self.now_line.setValue(float(scores[y[img], img]))
        self.zero_marker.setData([zp], [0.0])
        facts = loss_facts(scores.shape[0], delta)
        self.minmax.setText(
            f"<b style='color:{HINGE_COLOR.name()}'>hinge</b>: min {fmt(facts.hinge_min)}, reached exactly once "
            f"s<sub>{names[y[img]]}</sub> ≥ {fmt(zp)} (the best other score + Δ); max {fmt(facts.hinge_max)}.<br>"
            f"<b style='color:{SOFTMAX_COLOR.name()}'>softmax</b>: min {fmt(facts.softmax_min)}, only approached "
            f"(p<sub>y</sub> never reaches 1); max {fmt(facts.softmax_max)} as p<sub>y</sub> → 0.")
        # Q3
        f3 = loss_facts(self.c_spin.value(), delta)
        self.initial.setText(formula(
            f"hinge → (C − 1)·Δ = <b>{fmt(f3.hinge_at_zero)}</b> &nbsp;&nbsp; "
            f"softmax → ln C = <b>{fmt(f3.softmax_at_zero, 3)}</b>") +
            "<br>Use it as a sanity check: the first loss of a fresh model should be close to these.")
        good_h = abs(hinge.mean - facts.hinge_at_zero) < 0.05
        good_s = abs(softmax.mean - facts.softmax_at_zero) < 0.05
        mark = {True: f"<span style='color:{CORRECT_COLOR.name()}'>≈ ✓</span>",
                False: f"<span style='color:{PAYS_COLOR.name()}'>≠</span>"}
        self.current.setText(f"The table now ({scores.shape[0]} classes): mean hinge <b>{fmt(hinge.mean)}</b> "
                             f"{mark[good_h]} {fmt(facts.hinge_at_zero)}, mean softmax <b>{fmt(softmax.mean, 3)}</b> "
                             f"{mark[good_s]} {fmt(facts.softmax_at_zero, 3)}")
        # Q4
        for r, (name, (per, mean)) in enumerate(hinge_variants(scores, y, delta).items()):
            cells = [fmt(v) for v in per] + [fmt(mean), VARIANT_NOTES[name]]
            for c, text in enumerate(cells):
                item = self.variants.item(r, c)
                if item is None:
                    item = QtWidgets.QTableWidgetItem()
                    self.variants.setItem(r, c, item)
                item.setText(text)
        self.variants.resizeColumnsToContents()

    @staticmethod
    def _plot_font(style: Style) -> QtGui.QFont:
        f = QtGui.QFont()
        f.setPointSize(style.plot_font_pt)
        return f

    def apply_style(self, style: Style) -> None:
        style_plot(self.sweep_plot, style)
        self.hinge_curve.setPen(pg.mkPen(HINGE_COLOR, width=style.line_width))
        self.softmax_curve.setPen(pg.mkPen(SOFTMAX_COLOR, width=style.line_width))
        self.zero_marker.setSize(style.marker_size + 4)
        self.sweep_plot.setMinimumHeight(int(16 * style.font_pt))
        self.now_line.label.setFont(self._plot_font(style))
        f = QtGui.QFont(self.variants.font())
        f.setPointSize(style.font_pt)
        self.variants.setFont(f)
        self.variants.resizeRowsToContents()
        self.variants.setFixedHeight(self.variants.horizontalHeader().height() +
                                       sum(self.variants.rowHeight(r) for r in range(self.variants.rowCount())) + 6)

    def export_targets(self) -> dict:
        return {"loss vs correct-class score": self.sweep_plot.getPlotItem()}
