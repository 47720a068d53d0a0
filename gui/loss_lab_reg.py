"""Loss lab, regularization tab: the slide's x = [1,1,1,1], w1 = [1,0,0,0], w2 = [.25,.25,.25,.25], and
the full loss ``L = data loss + λ R(W)``.

Left: x, w1 and w2 editable; both give the same score (so the same data loss), but
``R_L2(w1) = 1`` vs ``R_L2(w2) = 0.25`` (L2 prefers spreading the weights out) while L1 gives 1 vs 1.
Right: the full loss for a chosen data loss (the mean hinge or softmax loss of the score table),
``w``, penalty and λ, with the sum written out. Numbers come from
:func:`core.loss_lab.regularization_example` and :func:`core.loss_lab.full_loss`.
"""
from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from core.loss_lab import SLIDE_W1, SLIDE_W2, SLIDE_X, fmt, full_loss, regularization_example
from gui.loss_lab_common import CORRECT_COLOR, Card, CompactPlot, ValueLabel, formula, style_plot
from gui.theme import Style

__all__ = ["RegularizationPanel"]

W1_COLOR = QtGui.QColor("#9467bd")
W2_COLOR = QtGui.QColor("#17becf")
DATA_COLOR = QtGui.QColor("#b0b6bf")


class RegularizationPanel(QtWidgets.QWidget):
    """R(w1) vs R(w2) under L2 and L1, and L = data + λR(W)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._data = {"hinge": 0.0, "softmax": 0.0}
        self._example = None

        # example ------------------------------------------------------------------------------------
        self.example_card = Card("Same scores, different weights: which does the regularizer prefer?")
        grid = QtWidgets.QGridLayout()
        self.vectors: dict[str, list[QtWidgets.QDoubleSpinBox]] = {}
        for r, (name, values, color) in enumerate((("x", SLIDE_X, None), ("w1", SLIDE_W1, W1_COLOR),
                                                   ("w2", SLIDE_W2, W2_COLOR))):
            lab = QtWidgets.QLabel(f"<b>{name}</b> =")
            if color is not None:
                lab.setStyleSheet(f"color: {color.name()};")
            grid.addWidget(lab, r, 0)
            spins = []
            for i, v in enumerate(values):
                s = QtWidgets.QDoubleSpinBox()
                s.setObjectName(f"{name}_{i}")
                s.setRange(-10.0, 10.0)
                s.setDecimals(2)
                s.setSingleStep(0.05)
                s.setValue(float(v))
                s.valueChanged.connect(self._refresh)
                grid.addWidget(s, r, i + 1)
                spins.append(s)
            self.vectors[name] = spins
        self.reset_button = QtWidgets.QPushButton("Slide's vectors")
        self.reset_button.setObjectName("reset_vectors")
        self.reset_button.clicked.connect(self.reset_vectors)
        grid.addWidget(self.reset_button, 3, 1, 1, 2)
        self.example_card.body.addLayout(grid)
        self.scores_label = QtWidgets.QLabel()
        self.scores_label.setObjectName("reg_scores")
        self.example_card.body.addWidget(self.scores_label)
        self.r_table = QtWidgets.QTableWidget(2, 2)
        self.r_table.setObjectName("reg_table")
        self.r_table.setHorizontalHeaderLabels(["R(w1)", "R(w2)"])
        self.r_table.setVerticalHeaderLabels(["L2: Σ w²", "L1: Σ |w|"])
        self.r_table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.r_table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
        self.r_table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.Stretch)
        for r in range(2):
            for c in range(2):
                item = QtWidgets.QTableWidgetItem()
                item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
                self.r_table.setItem(r, c, item)
        self.example_card.body.addWidget(self.r_table)
        self.verdict = QtWidgets.QLabel()
        self.verdict.setObjectName("reg_verdict")
        self.verdict.setWordWrap(True)
        self.example_card.body.addWidget(self.verdict)
        self.plot = CompactPlot()
        self.plot.setObjectName("reg_plot")
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.setMinimumHeight(160)
        self.plot.showGrid(y=True, alpha=0.25)
        self.plot.setLabel("left", "weight")
        self.w1_bars = pg.BarGraphItem(x=[], height=[], width=0.35, brush=W1_COLOR)
        self.w2_bars = pg.BarGraphItem(x=[], height=[], width=0.35, brush=W2_COLOR)
        self.plot.addItem(self.w1_bars)
        self.plot.addItem(self.w2_bars)
        self.example_card.body.addWidget(self.plot, 1)

        # full loss ----------------------------------------------------------------------------------
        self.full_card = Card("Full loss: data loss + λ · R(W)")
        form = QtWidgets.QFormLayout()
        self.data_combo = QtWidgets.QComboBox()
        self.data_combo.setObjectName("data_loss_source")
        self.data_combo.addItem("mean hinge loss of the score table", "hinge")
        self.data_combo.addItem("mean softmax loss of the score table", "softmax")
        self.w_combo = QtWidgets.QComboBox()
        self.w_combo.setObjectName("full_w")
        self.w_combo.addItem("w1", 0)
        self.w_combo.addItem("w2", 1)
        self.penalty_combo = QtWidgets.QComboBox()
        self.penalty_combo.setObjectName("full_penalty")
        self.penalty_combo.addItem("L2: R = Σ w²", "l2")
        self.penalty_combo.addItem("L1: R = Σ |w|", "l1")
        self.lam_spin = QtWidgets.QDoubleSpinBox()
        self.lam_spin.setObjectName("lambda")
        self.lam_spin.setRange(0.0, 100.0)
        self.lam_spin.setDecimals(3)
        self.lam_spin.setSingleStep(0.1)
        self.lam_spin.setValue(0.5)
        form.addRow("data loss", self.data_combo)
        form.addRow("W", self.w_combo)
        form.addRow("regularizer", self.penalty_combo)
        form.addRow("λ (regularization strength)", self.lam_spin)
        self.full_card.body.addWidget(QtWidgets.QLabel(formula(
            "<i>L</i>(<i>W</i>) = (1/<i>N</i>) Σ<sub><i>i</i></sub> <i>L<sub>i</sub></i> + λ <i>R</i>(<i>W</i>) "
            "&nbsp; — data loss + regularization (the bias is not regularized)")))
        self.full_card.body.addLayout(form)
        self.full_text = QtWidgets.QLabel()
        self.full_text.setObjectName("full_loss_text")
        self.full_card.body.addWidget(self.full_text)
        self.total = ValueLabel("L =", "full_loss_total")
        self.full_card.body.addWidget(self.total)
        self.compare = QtWidgets.QLabel()
        self.compare.setObjectName("full_loss_compare")
        self.compare.setWordWrap(True)
        self.full_card.body.addWidget(self.compare)
        self.sum_plot = CompactPlot()
        self.sum_plot.setObjectName("full_loss_plot")
        self.sum_plot.setMenuEnabled(False)
        self.sum_plot.setMouseEnabled(False, False)
        self.sum_plot.hideButtons()
        self.sum_plot.setMinimumHeight(140)
        self.sum_plot.showGrid(y=True, alpha=0.25)
        self.sum_plot.setLabel("left", "loss")
        self.sum_plot.getAxis("bottom").setTicks([[(0, "L(w1)"), (1, "L(w2)")]])
        self.sum_plot.addLegend(offset=(-10, 10))
        self.data_bars = pg.BarGraphItem(x=[0, 1], height=[0, 0], width=0.5, brush=DATA_COLOR, name="data loss")
        self.reg_bars = pg.BarGraphItem(x=[0, 1], y0=[0, 0], height=[0, 0], width=0.5,
                                        brushes=[W1_COLOR, W2_COLOR], name="λ · R(w)")
        self.sum_plot.addItem(self.data_bars)
        self.sum_plot.addItem(self.reg_bars)
        self.full_card.body.addWidget(self.sum_plot, 1)
        for w in (self.data_combo, self.w_combo, self.penalty_combo):
            w.currentIndexChanged.connect(self._refresh)
        self.lam_spin.valueChanged.connect(self._refresh)

        lay = QtWidgets.QHBoxLayout(self)
        lay.addWidget(self.example_card, 1)
        lay.addWidget(self.full_card, 1)
        self._refresh()

    def reset_vectors(self) -> None:
        for name, values in (("x", SLIDE_X), ("w1", SLIDE_W1), ("w2", SLIDE_W2)):
            for s, v in zip(self.vectors[name], values):
                with QtCore.QSignalBlocker(s):
                    s.setValue(float(v))
        self._refresh()

    def set_data_losses(self, hinge_mean: float, softmax_mean: float) -> None:
        self._data = {"hinge": float(hinge_mean), "softmax": float(softmax_mean)}
        self._refresh()

    def _vector(self, name: str):
        return [s.value() for s in self.vectors[name]]

    def _refresh(self, *_args) -> None:
        ex = regularization_example(self._vector("x"), self._vector("w1"), self._vector("w2"))
        self._example = ex
        tail = (" &nbsp; → the same score, so the data loss cannot tell them apart" if ex.same_score
                else " &nbsp; → different scores")
        self.scores_label.setText(formula(f"w1ᵀx = <b>{fmt(ex.score1)}</b>, &nbsp; w2ᵀx = <b>{fmt(ex.score2)}</b>")
                                  + tail)
        for r, pair in enumerate((ex.l2, ex.l1)):
            for c, v in enumerate(pair):
                self.r_table.item(r, c).setText(fmt(v, 4))
        verdicts = []
        for kind, label in (("l2", "L2"), ("l1", "L1")):
            p = ex.preferred(kind)
            verdicts.append(f"{label} cannot tell them apart" if p is None else
                            f"{label} prefers <b>w{p + 1}</b> (smaller R)")
        self.verdict.setText(" · ".join(verdicts) + ". L2 likes weights spread out over all inputs; "
                             "L1 likes few non-zero weights.")
        n = len(ex.w1)
        self.w1_bars.setOpts(x=[i - 0.18 for i in range(n)], height=list(ex.w1))
        self.w2_bars.setOpts(x=[i + 0.18 for i in range(n)], height=list(ex.w2))
        self.plot.getAxis("bottom").setTicks([[(i, f"input {i + 1}") for i in range(n)]])
        # full loss
        kind = self.penalty_combo.currentData()
        pair = ex.l2 if kind == "l2" else ex.l1
        data = self._data[self.data_combo.currentData()]
        lam = self.lam_spin.value()
        chosen = full_loss(data, lam, pair[self.w_combo.currentData()])
        self.full_text.setText(formula(chosen.text.replace("×", "·")))
        self.total.set(chosen.total_text)
        both = [full_loss(data, lam, r) for r in pair]
        self.data_bars.setOpts(height=[b.data for b in both])
        self.reg_bars.setOpts(y0=[b.data for b in both], height=[b.reg_term for b in both])
        best = ex.preferred(kind) if lam > 0 else None
        verdict = "no preference" if best is None else \
            f"<b style='color:{CORRECT_COLOR.name()}'>w{best + 1}</b> has the lower full loss"
        same = "with the same data loss" if ex.same_score else "(data loss taken as the same for both)"
        self.compare.setText(f"{same}: L(w1) = {both[0].total_text}, L(w2) = {both[1].total_text} → {verdict}")

    def apply_style(self, style: Style) -> None:
        style_plot(self.plot, style)
        style_plot(self.sum_plot, style)
        self.sum_plot.setMinimumHeight(int(11 * style.font_pt))
        self.total.set_big(style.font_pt + 6)
        self.plot.setMinimumHeight(int(11 * style.font_pt))
        f = QtGui.QFont(self.r_table.font())
        f.setPointSize(style.font_pt)
        self.r_table.setFont(f)
        self.r_table.resizeRowsToContents()
        self.r_table.setFixedHeight(self.r_table.horizontalHeader().height() +
                                    sum(self.r_table.rowHeight(r) for r in range(2)) + 6)
        for spins in self.vectors.values():
            for s in spins:
                s.setMinimumWidth(int(6.5 * style.font_pt))

    def export_targets(self) -> dict:
        return {"w1 and w2": self.plot.getPlotItem()}
