"""Loss Lab: every worked number of the lecture's loss slides, live and editable.

The slide's 3 classes x 3 images score table (one column per image, like the slide) sits on top;
below it the tabs: the hinge loss written out term by term, the softmax chain, the slide's questions,
and regularization with the full loss. All numbers come from :mod:`core.loss_lab` (which uses
:mod:`core.losses` and :mod:`core.regularization`); this module only lays them out.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from core.loss_lab import (SLIDE_CLASSES, SLIDE_DELTA, SLIDE_LABELS, SLIDE_SCORES, hinge_table,
                           near_zero_scores, softmax_table)
from gui.loss_lab_common import formula
from gui.loss_lab_hinge import HingePanel
from gui.loss_lab_questions import QuestionsPanel
from gui.loss_lab_reg import RegularizationPanel
from gui.loss_lab_softmax import SoftmaxPanel
from gui.theme import class_color, style_for
from gui.workspace import Workspace

__all__ = ["LossLab", "ScoreEditor"]

CORRECT_TINT = QtGui.QColor("#c8ecc8")   # background of the correct class's cell


class ScoreEditor(QtWidgets.QWidget):
    """The slide's score table: rows = classes, one column per image, editable cell by cell.

    The correct class of each image is chosen below its column and its cell is outlined in green.
    ``changed`` fires on every edit (the computation is tiny, so no debouncing is needed).
    """

    changed = QtCore.Signal()

    def __init__(self, class_names=SLIDE_CLASSES, n_images: int = 3, parent=None):
        super().__init__(parent)
        self.class_names = list(class_names)
        c, n = len(self.class_names), n_images
        grid = QtWidgets.QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)
        self.image_headers = []
        for i in range(n):
            h = QtWidgets.QLabel(f"image {i + 1}")
            h.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            h.setObjectName("section_title")
            grid.addWidget(h, 0, i + 1)
            self.image_headers.append(h)
        self.spins: list[list[QtWidgets.QDoubleSpinBox]] = []
        for r, name in enumerate(self.class_names):
            lab = QtWidgets.QLabel(name)
            lab.setStyleSheet(f"color: {class_color(r, c).darker(120).name()}; font-weight: bold;")
            grid.addWidget(lab, r + 1, 0)
            row = []
            for i in range(n):
                s = QtWidgets.QDoubleSpinBox()
                s.setObjectName(f"score_{r}_{i}")
                s.setRange(-99.99, 99.99)
                s.setDecimals(2)
                s.setSingleStep(0.1)
                s.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight)
                s.setToolTip(f"score of class '{name}' for image {i + 1} (type or use the arrows)")
                s.valueChanged.connect(self._on_edit)
                grid.addWidget(s, r + 1, i + 1)
                row.append(s)
            self.spins.append(row)
        grid.addWidget(QtWidgets.QLabel("correct class"), c + 1, 0)
        self.correct: list[QtWidgets.QComboBox] = []
        for i in range(n):
            box = QtWidgets.QComboBox()
            box.setObjectName(f"correct_{i}")
            box.addItems(self.class_names)
            box.currentIndexChanged.connect(self._on_edit)
            grid.addWidget(box, c + 1, i + 1)
            self.correct.append(box)
        self.set_table(SLIDE_SCORES, SLIDE_LABELS)

    # -- values ------------------------------------------------------------------------------------
    def scores(self) -> np.ndarray:
        """The table as a ``(C, N)`` array (one column per image)."""
        return np.array([[s.value() for s in row] for row in self.spins])

    def labels(self) -> np.ndarray:
        return np.array([b.currentIndex() for b in self.correct])

    def set_table(self, scores, labels=None) -> None:
        scores = np.asarray(scores, dtype=float)
        for r, row in enumerate(self.spins):
            for i, s in enumerate(row):
                with QtCore.QSignalBlocker(s):
                    s.setValue(float(scores[r, i]))
        if labels is not None:
            for i, b in enumerate(self.correct):
                with QtCore.QSignalBlocker(b):
                    b.setCurrentIndex(int(labels[i]))
        self._mark_correct()
        self.changed.emit()

    def set_score(self, cls: int, image: int, value: float) -> None:
        self.spins[cls][image].setValue(float(value))

    def _on_edit(self, *_args) -> None:
        self._mark_correct()
        self.changed.emit()

    def _mark_correct(self) -> None:
        y = self.labels()
        for r, row in enumerate(self.spins):
            for i, s in enumerate(row):
                f = QtGui.QFont(s.font())
                f.setBold(bool(y[i] == r))
                s.setFont(f)
                pal = QtGui.QPalette(self.palette())
                if y[i] == r:
                    pal.setColor(QtGui.QPalette.ColorRole.Base, CORRECT_TINT)
                    pal.setColor(QtGui.QPalette.ColorRole.Text, QtGui.QColor("#000000"))
                s.setPalette(pal)
        for i, h in enumerate(self.image_headers):
            h.setText(f"image {i + 1} ({self.class_names[y[i]]})")

    def set_spin_width(self, px: int) -> None:
        for row in self.spins:
            for s in row:
                s.setMinimumWidth(px)


class LossLab(Workspace):
    """The loss slides, live: hinge terms, softmax chain, the slide's questions, regularization."""

    title = "Loss Lab"

    def __init__(self, runner, parent=None):
        super().__init__(runner, parent)
        self.editor = ScoreEditor()
        self.delta_spin = QtWidgets.QDoubleSpinBox()
        self.delta_spin.setObjectName("delta")
        self.delta_spin.setRange(0.0, 20.0)
        self.delta_spin.setDecimals(2)
        self.delta_spin.setSingleStep(0.1)
        self.delta_spin.setValue(SLIDE_DELTA)
        self.delta_spin.setToolTip("The hinge margin Δ (1 on the slide)")
        self.reset_button = QtWidgets.QPushButton("Slide's numbers")
        self.reset_button.setObjectName("reset_scores")
        self.reset_button.setToolTip("Put back the slide's scores, correct classes and Δ = 1")
        self.zero_button = QtWidgets.QPushButton("All scores ≈ 0")
        self.zero_button.setObjectName("zero_scores")
        self.zero_button.setToolTip("Tiny random scores, as with a small random W at initialisation")

        intro = QtWidgets.QLabel(
            "Scores <i>s = f(x<sub>i</sub>, W)</i> of three images — one column per image, as on the slide. "
            "Edit any cell or the correct class; every number below updates as you type.")
        intro.setWordWrap(True)
        side = QtWidgets.QVBoxLayout()
        side.addWidget(intro)
        drow = QtWidgets.QHBoxLayout()
        drow.addWidget(QtWidgets.QLabel("margin Δ"))
        drow.addWidget(self.delta_spin)
        drow.addStretch(1)
        side.addLayout(drow)
        brow = QtWidgets.QHBoxLayout()
        brow.addWidget(self.reset_button)
        brow.addWidget(self.zero_button)
        brow.addStretch(1)
        side.addLayout(brow)
        side.addStretch(1)
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("loss_summary")
        self.summary.setTextFormat(QtCore.Qt.TextFormat.RichText)
        side.addWidget(self.summary)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.editor, 0)
        top.addSpacing(24)
        top.addLayout(side, 1)

        self.hinge = HingePanel(SLIDE_CLASSES)
        self.softmax = SoftmaxPanel(SLIDE_CLASSES)
        self.questions = QuestionsPanel(SLIDE_CLASSES)
        self.reg = RegularizationPanel()
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.setObjectName("loss_lab_tabs")
        for panel, name in ((self.hinge, "Hinge (SVM) loss"), (self.softmax, "Softmax loss"),
                            (self.questions, "The slide's questions"), (self.reg, "Regularization && full loss")):
            scroll = QtWidgets.QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
            scroll.setWidget(panel)
            self.tabs.addTab(scroll, name)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.tabs, 1)

        self.editor.changed.connect(self.recompute)
        self.delta_spin.valueChanged.connect(self.recompute)
        self.reset_button.clicked.connect(self.reset_to_slide)
        self.zero_button.clicked.connect(self.set_near_zero)
        self.questions.nudge_requested.connect(self._apply_nudge)
        self.set_presentation(False)
        self.recompute()

    # -- actions -------------------------------------------------------------------------------------
    def reset_to_slide(self) -> None:
        with QtCore.QSignalBlocker(self.delta_spin):
            self.delta_spin.setValue(SLIDE_DELTA)
        self.editor.set_table(SLIDE_SCORES, SLIDE_LABELS)

    def set_near_zero(self) -> None:
        s = self.editor.scores()
        self.editor.set_table(near_zero_scores(s.shape[0], s.shape[1], scale=0.005, random_state=0))

    def _apply_nudge(self, image: int, cls: int, amount: float) -> None:
        spin = self.editor.spins[cls][image]
        spin.setValue(spin.value() + amount)

    def recompute(self, *_args) -> None:
        """Recompute every table from the editor (pure core calls, microseconds) and show it."""
        scores, y, delta = self.editor.scores(), self.editor.labels(), self.delta_spin.value()
        try:
            ht = hinge_table(scores, y, delta)
            st = softmax_table(scores, y)
        except ValueError as exc:          # e.g. a non-finite entry; show it, keep the old numbers
            self.status_message.emit(str(exc), 5000)
            return
        self.hinge.show_table(ht, scores, y)
        self.softmax.show_table(st)
        self.questions.show_state(scores, y, delta, ht, st)
        self.reg.set_data_losses(ht.mean, st.mean)
        self.summary.setText(formula(f"mean hinge loss <b>{self.hinge.mean_value.text()}</b> &nbsp;·&nbsp; "
                                     f"mean softmax loss <b>{self.softmax.mean_value.text()}</b>"))

    # -- workspace hooks -----------------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        super().set_presentation(on)
        style = style_for(on)
        font = QtGui.QFont(self.font())
        font.setPointSize(style.font_pt)
        self.setFont(font)
        self.editor.set_spin_width(int(7.5 * style.font_pt))
        for panel in (self.hinge, self.softmax, self.questions, self.reg):
            panel.apply_style(style)

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """A theme change (new palette): plots take the new background and axis colours."""
        super().changeEvent(event)
        if event.type() == QtCore.QEvent.Type.PaletteChange and hasattr(self, "reg"):
            style = style_for(self.presentation)
            for panel in (self.hinge, self.softmax, self.questions, self.reg):
                panel.apply_style(style)

    def export_targets(self) -> dict[str, Any]:
        out = {}
        for panel in (self.hinge, self.softmax, self.questions, self.reg):
            out.update(panel.export_targets())
        return out

    def table_for_export(self):
        scores, y = self.editor.scores(), self.editor.labels()
        ht = hinge_table(scores, y, self.delta_spin.value())
        st = softmax_table(scores, y)
        header = ["image", "correct class"] + [f"score {n}" for n in self.editor.class_names] + \
                 [f"p {n}" for n in self.editor.class_names] + ["hinge loss", "softmax loss"]
        rows = []
        for i in range(scores.shape[1]):
            rows.append([i + 1, self.editor.class_names[y[i]], *scores[:, i].tolist(),
                         *st.images[i].probs.tolist(), ht.losses[i], st.losses[i]])
        return header, rows

    def save_settings(self, settings: QtCore.QSettings) -> None:
        # only the open tab: the lab always opens on the slide's numbers
        settings.setValue("tab", self.tabs.tabText(self.tabs.currentIndex()))

    def restore_settings(self, settings: QtCore.QSettings) -> None:
        tab = settings.value("tab", "")
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == tab:
                self.tabs.setCurrentIndex(i)
