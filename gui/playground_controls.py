"""The 2-D playground's control column: toy data, the class a click adds, and the two modes.

Linear mode: ``W`` (C x 2) and ``b`` as spin boxes (type, use the arrows or the mouse wheel), the
loss (Weston-Watkins hinge, one-vs-all hinge, softmax), Δ, the regularizer and λ, the step size,
Step / Play / Randomize, and the loss read-out. kNN mode: k, L1/L2, ties shown or not.
This widget only reads and shows values; the workspace (:mod:`gui.playground`) acts on them.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from core.datasets import TOY2D_KINDS
from core.knn import TIE_RULE
from core.playground import LOSS_NAMES
from gui.theme import Style, class_color

__all__ = ["PlaygroundControls", "KIND_NAMES"]

KIND_NAMES = {"blobs": "blobs", "circles": "circles", "spiral": "spiral", "xor": "xor",
              "cs231n": "CS231n demo layout"}


def _dspin(name, lo, hi, value, decimals=3, step=0.1, tip=""):
    s = QtWidgets.QDoubleSpinBox()
    s.setObjectName(name)
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setValue(value)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)
    return s


def _ispin(name, lo, hi, value, tip=""):
    s = QtWidgets.QSpinBox()
    s.setObjectName(name)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)
    return s


class PlaygroundControls(QtWidgets.QWidget):
    """Controls of the 2-D playground (see the module docstring)."""

    data_changed = QtCore.Signal()
    clear_requested = QtCore.Signal()
    mode_changed = QtCore.Signal(str)
    param_edited = QtCore.Signal(int, int, float)     # class, column (0, 1 = W, 2 = b), value
    hyper_changed = QtCore.Signal()
    step_requested = QtCore.Signal()
    play_toggled = QtCore.Signal(bool)
    randomize_requested = QtCore.Signal()
    knn_changed = QtCore.Signal()
    display_changed = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.n_classes = 3
        # data -------------------------------------------------------------------------------------
        data = QtWidgets.QGroupBox("Toy data")
        form = QtWidgets.QFormLayout(data)
        self.kind = QtWidgets.QComboBox()
        self.kind.setObjectName("toy_kind")
        for k in TOY2D_KINDS:
            self.kind.addItem(KIND_NAMES.get(k, k), k)
        self.kind.setCurrentIndex(TOY2D_KINDS.index("cs231n"))
        self.classes = _ispin("toy_classes", 2, 5, 3, "number of classes")
        self.per_class = _ispin("toy_per_class", 1, 200, 3, "points per class")
        self.noise = _dspin("toy_noise", 0.0, 1.0, 0.0, 2, 0.05, "standard deviation of the jitter")
        self.seed = _ispin("toy_seed", 0, 99999, 0, "random seed (same seed, same points)")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.classes)
        row.addWidget(QtWidgets.QLabel("× points"))
        row.addWidget(self.per_class)
        form.addRow("generator", self.kind)
        form.addRow("classes", row)
        row2 = QtWidgets.QHBoxLayout()
        row2.addWidget(self.noise)
        row2.addWidget(QtWidgets.QLabel("seed"))
        row2.addWidget(self.seed)
        form.addRow("noise", row2)
        self.clear_button = QtWidgets.QPushButton("Clear points")
        self.clear_button.setObjectName("clear_points")
        self.new_button = QtWidgets.QPushButton("New points")
        self.new_button.setObjectName("new_points")
        self.new_button.setToolTip("the next seed")
        row3 = QtWidgets.QHBoxLayout()
        row3.addWidget(self.new_button)
        row3.addWidget(self.clear_button)
        form.addRow(row3)
        self.paint_group = QtWidgets.QButtonGroup(self)
        self.paint_group.setExclusive(True)
        self.paint_row = QtWidgets.QHBoxLayout()
        form.addRow("click adds", self.paint_row)
        hint = QtWidgets.QLabel("click: add a point · drag: move it · right-click: remove it · "
                                "drag empty space: pan · wheel: zoom")
        hint.setWordWrap(True)
        form.addRow(hint)

        # linear -----------------------------------------------------------------------------------
        linear = QtWidgets.QWidget()
        lin = QtWidgets.QVBoxLayout(linear)
        self.param_grid = QtWidgets.QGridLayout()
        lin.addLayout(self.param_grid)
        self.param_spins: list[list[QtWidgets.QDoubleSpinBox]] = []
        hform = QtWidgets.QFormLayout()
        self.loss = QtWidgets.QComboBox()
        self.loss.setObjectName("loss_type")
        for key, name in LOSS_NAMES.items():
            self.loss.addItem(name, key)
        self.delta = _dspin("hinge_delta", 0.0, 10.0, 1.0, 2, 0.1, "hinge margin Δ")
        self.penalty = QtWidgets.QComboBox()
        self.penalty.setObjectName("penalty")
        self.penalty.addItem("L2  (R = Σ W²)", "l2")
        self.penalty.addItem("L1  (R = Σ |W|)", "l1")
        self.penalty.addItem("none", "none")
        self.reg = _dspin("reg_lambda", 0.0, 10.0, 0.1, 4, 0.01, "λ, the regularization strength")
        self.step_size = _dspin("step_size", 0.0001, 10.0, 0.1, 4, 0.01, "learning rate of a gradient step")
        hform.addRow("loss", self.loss)
        hform.addRow("margin Δ", self.delta)
        rrow = QtWidgets.QHBoxLayout()
        rrow.addWidget(self.penalty)
        rrow.addWidget(QtWidgets.QLabel("λ"))
        rrow.addWidget(self.reg)
        hform.addRow("regularizer", rrow)
        hform.addRow("step size", self.step_size)
        lin.addLayout(hform)
        brow = QtWidgets.QHBoxLayout()
        self.step_button = QtWidgets.QPushButton("Step")
        self.step_button.setObjectName("step")
        self.play_button = QtWidgets.QPushButton("Play")
        self.play_button.setObjectName("play")
        self.play_button.setCheckable(True)
        self.random_button = QtWidgets.QPushButton("Randomize")
        self.random_button.setObjectName("randomize")
        self.random_button.setToolTip("a new random W and b")
        for b in (self.step_button, self.play_button, self.random_button):
            brow.addWidget(b)
        lin.addLayout(brow)
        self.readout = QtWidgets.QLabel()
        self.readout.setObjectName("loss_readout")
        self.readout.setTextFormat(QtCore.Qt.TextFormat.RichText)
        lin.addWidget(self.readout)
        drow = QtWidgets.QHBoxLayout()
        self.show_lines = QtWidgets.QCheckBox("zero-score lines")
        self.show_lines.setChecked(True)
        self.show_arrows = QtWidgets.QCheckBox("W rows (arrows)")
        self.show_arrows.setChecked(True)
        drow.addWidget(self.show_lines)
        drow.addWidget(self.show_arrows)
        lin.addLayout(drow)
        lin.addStretch(1)

        # kNN --------------------------------------------------------------------------------------
        knn = QtWidgets.QWidget()
        kform = QtWidgets.QFormLayout(knn)
        self.k = _ispin("knn_k", 1, 1000, 1, "neighbours that vote")
        self.metric_combo = QtWidgets.QComboBox()
        self.metric_combo.setObjectName("knn_metric")
        self.metric_combo.addItem("L2 (Euclidean)", "l2")
        self.metric_combo.addItem("L1 (Manhattan)", "l1")
        self.show_ties = QtWidgets.QCheckBox("show vote ties (hatched grey)")
        self.show_ties.setObjectName("show_ties")
        self.show_ties.setChecked(True)
        kform.addRow("k", self.k)
        kform.addRow("distance", self.metric_combo)
        kform.addRow(self.show_ties)
        rule = QtWidgets.QLabel(f"<b>Tie rule.</b> {TIE_RULE}")
        rule.setWordWrap(True)
        kform.addRow(rule)
        self.knn_info = QtWidgets.QLabel()
        self.knn_info.setObjectName("knn_info")
        self.knn_info.setWordWrap(True)
        kform.addRow(self.knn_info)

        self.mode_tabs = QtWidgets.QTabWidget()
        self.mode_tabs.setObjectName("mode_tabs")
        self.mode_tabs.addTab(linear, "Linear classifier")
        self.mode_tabs.addTab(knn, "k-nearest neighbours")

        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(data)
        lay.addWidget(self.mode_tabs, 1)

        for w in (self.kind,):
            w.currentIndexChanged.connect(self.data_changed)
        for w in (self.classes, self.per_class, self.seed):
            w.valueChanged.connect(self.data_changed)
        self.noise.valueChanged.connect(self.data_changed)
        self.new_button.clicked.connect(lambda: self.seed.setValue(self.seed.value() + 1))
        self.clear_button.clicked.connect(self.clear_requested)
        self.mode_tabs.currentChanged.connect(lambda _i: self.mode_changed.emit(self.mode()))
        for w in (self.loss, self.penalty):
            w.currentIndexChanged.connect(self._on_hyper)
        for w in (self.delta, self.reg, self.step_size):
            w.valueChanged.connect(self._on_hyper)
        self.step_button.clicked.connect(self.step_requested)
        self.play_button.toggled.connect(self._on_play)
        self.random_button.clicked.connect(self.randomize_requested)
        self.k.valueChanged.connect(self.knn_changed)
        self.metric_combo.currentIndexChanged.connect(self.knn_changed)
        self.show_ties.toggled.connect(self.knn_changed)
        self.show_lines.toggled.connect(self.display_changed)
        self.show_arrows.toggled.connect(self.display_changed)
        self.set_n_classes(3)
        self._on_hyper()

    # -- reading ------------------------------------------------------------------------------------
    def mode(self) -> str:
        return "linear" if self.mode_tabs.currentIndex() == 0 else "knn"

    def paint_class(self) -> int:
        return max(0, self.paint_group.checkedId())

    def hyper(self) -> dict:
        return {"loss": self.loss.currentData(), "reg": self.reg.value(), "penalty": self.penalty.currentData(),
                "step_size": self.step_size.value(), "delta": self.delta.value()}

    # -- showing ------------------------------------------------------------------------------------
    def set_n_classes(self, n: int) -> None:
        """Rebuild the W/b rows and the class buttons for ``n`` classes."""
        self.n_classes = int(n)
        keep = self.paint_class()
        for b in self.paint_group.buttons():
            self.paint_group.removeButton(b)
            b.deleteLater()
        for c in range(self.n_classes):
            b = QtWidgets.QPushButton(f"class {c}")
            b.setObjectName(f"paint_{c}")
            b.setCheckable(True)
            col = class_color(c, self.n_classes)
            b.setStyleSheet(f"QPushButton {{ border: 2px solid {col.name()}; padding: 3px 8px; }}"
                            f"QPushButton:checked {{ background: {col.name()}; color: white; font-weight: bold; }}")
            self.paint_group.addButton(b, c)
            self.paint_row.addWidget(b)
        self.paint_group.button(min(keep, self.n_classes - 1)).setChecked(True)
        while self.param_grid.count():
            item = self.param_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for col, text in enumerate(("class", "W[c, 0]  (x₁)", "W[c, 1]  (x₂)", "b[c]")):
            lab = QtWidgets.QLabel(f"<b>{text}</b>")
            self.param_grid.addWidget(lab, 0, col)
        self.param_spins = []
        for c in range(self.n_classes):
            chip = QtWidgets.QLabel(f"  {c}  ")
            chip.setStyleSheet(f"background: {class_color(c, self.n_classes).name()}; color: white; "
                               "font-weight: bold; border-radius: 3px;")
            chip.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self.param_grid.addWidget(chip, c + 1, 0)
            row = []
            for j in range(3):
                s = _dspin(f"param_{c}_{j}", -1000.0, 1000.0, 0.0, 3, 0.1,
                           "type a value, use the arrows, or scroll")
                s.valueChanged.connect(lambda v, c=c, j=j: self.param_edited.emit(c, j, float(v)))
                self.param_grid.addWidget(s, c + 1, j + 1)
                row.append(s)
            self.param_spins.append(row)

    def set_params(self, W, b) -> None:
        """Show ``W`` (C, 2) and ``b`` (C,) without emitting ``param_edited``."""
        for c, row in enumerate(self.param_spins):
            for j, s in enumerate(row):
                v = float(W[c, j]) if j < 2 else float(b[c])
                with QtCore.QSignalBlocker(s):
                    s.setValue(v)

    def show_loss(self, data: float, reg: float, total: float, iteration: int, n_points: int) -> None:
        self.readout.setText(
            f"data loss <b>{data:.4f}</b> &nbsp;+&nbsp; regularization loss <b>{reg:.4f}</b><br>"
            f"= total loss <b style='font-size:120%'>{total:.4f}</b><br>"
            f"<span style='color:gray'>{n_points} points · {iteration} steps</span>")

    def set_k_max(self, n: int) -> None:
        with QtCore.QSignalBlocker(self.k):
            self.k.setMaximum(max(1, int(n)))

    def set_playing(self, on: bool) -> None:
        with QtCore.QSignalBlocker(self.play_button):
            self.play_button.setChecked(on)
        self.play_button.setText("Pause" if on else "Play")

    def _on_play(self, on: bool) -> None:
        self.play_button.setText("Pause" if on else "Play")
        self.play_toggled.emit(on)

    def _on_hyper(self, *_args) -> None:
        self.delta.setEnabled(self.loss.currentData() != "softmax")
        self.hyper_changed.emit()

    def apply_style(self, style: Style) -> None:
        w = int(6.2 * style.font_pt)
        for row in self.param_spins:
            for s in row:
                s.setMinimumWidth(w)
        f = QtGui.QFont(self.font())
        f.setPointSize(style.font_pt)
        self.setFont(f)
