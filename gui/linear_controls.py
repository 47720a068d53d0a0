"""The linear workspace's control panel: loss, regularization, λ, learning rate, batch, init, seed, preprocessing,
and the Play/Pause, Step and Reset buttons.

Two kinds of change, two signals:

* ``live_changed(dict)`` -- penalty, λ, learning rate, batch size: applied to the running Trainer at its
  next step (sliders are debounced by ~60 ms so dragging sends a few messages, not hundreds);
* ``restart_changed(str)`` -- loss mode, init scale, seed, preprocessing: these define the starting point,
  so the workspace resets training (the string says what changed, for the note it shows).

Values (never slider indexes) are what :meth:`values` returns and :meth:`set_values` takes.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtWidgets

from gui.widgets.log_slider import LogSlider, format_value

__all__ = ["LinearControls", "LOSS_MODES", "PENALTIES"]

LOSS_MODES = (("Softmax", "softmax"), ("Hinge (SVM)", "hinge"),
              ("Compare both", "compare"))
PENALTIES = (("L2  (λ·ΣW²)", "l2"), ("L1  (λ·Σ|W|)", "l1"), ("None", "none"))
LIVE_KEYS = ("penalty", "reg", "learning_rate", "batch_size")
PLAY_TEXT = "▶ Play"
PAUSE_TEXT = "❚❚ Pause"   # U+275A: in DejaVu Sans (the pause sign U+23F8 is not, and showed as a box)
RESTART_KEYS = ("loss_mode", "init_scale", "seed", "scale", "subtract_mean")


class LinearControls(QtWidgets.QWidget):
    """Form + transport buttons. Ranges come from ``core.config`` via the constructor."""

    live_changed = QtCore.Signal(dict)
    restart_changed = QtCore.Signal(str)
    play_clicked = QtCore.Signal()
    step_iteration_clicked = QtCore.Signal()
    step_epoch_clicked = QtCore.Signal()
    reset_clicked = QtCore.Signal()

    def __init__(self, *, lr_values, reg_values, batch_sizes: tuple[int, ...], init_values, parent=None):
        super().__init__(parent)
        self.loss_combo = QtWidgets.QComboBox()
        self.loss_combo.setObjectName("loss_combo")
        for label, key in LOSS_MODES:
            self.loss_combo.addItem(label, key)
        self.loss_combo.setToolTip("Compare both: two models from the same initial W, seed and minibatches — "
                                   "only the loss differs")
        self.penalty_combo = QtWidgets.QComboBox()
        self.penalty_combo.setObjectName("penalty_combo")
        for label, key in PENALTIES:
            self.penalty_combo.addItem(label, key)
        self.reg_slider = _table_slider(reg_values, 1e-4, "reg")
        self.reg_slider.setToolTip("λ, the regularization strength (far left: exactly 0)")
        self.lr_slider = _table_slider(lr_values, 1e-3, "lr")
        self.lr_slider.setToolTip("Learning rate: the SGD step size")
        self.batch_combo = QtWidgets.QComboBox()
        self.batch_combo.setObjectName("batch_combo")
        for b in batch_sizes:
            self.batch_combo.addItem(str(b), int(b))
        self.init_slider = _table_slider(init_values, 1e-3, "init")
        self.init_slider.setToolTip("Standard deviation of the initial weights (small W: the sanity check holds)")
        self.seed_spin = QtWidgets.QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setKeyboardTracking(False)
        self.seed_spin.setToolTip("Seeds the initial W and the minibatch order")
        self.scale_box = QtWidgets.QCheckBox("scale pixels to [0, 1]")
        self.mean_box = QtWidgets.QCheckBox("subtract the mean image")
        self.epochs_spin = QtWidgets.QSpinBox()
        self.epochs_spin.setRange(0, 10000)
        self.epochs_spin.setSpecialValueText("no limit")
        self.epochs_spin.setSuffix(" epochs")
        self.epochs_spin.setToolTip("Play stops by itself after this many epochs (0 = no limit)")

        form = QtWidgets.QFormLayout()
        form.setFieldGrowthPolicy(QtWidgets.QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Loss", self.loss_combo)
        form.addRow("Regularization", self.penalty_combo)
        form.addRow("λ", self.reg_slider)
        form.addRow("Learning rate", self.lr_slider)
        form.addRow("Batch size", self.batch_combo)
        form.addRow("Init scale", self.init_slider)
        form.addRow("Seed", self.seed_spin)
        form.addRow("Stop after", self.epochs_spin)
        pre = QtWidgets.QGroupBox("Preprocessing")
        pl = QtWidgets.QVBoxLayout(pre)
        pl.addWidget(self.scale_box)
        pl.addWidget(self.mean_box)

        self.play_button = QtWidgets.QPushButton(PLAY_TEXT)
        self.play_button.setObjectName("play_button")
        self.play_button.setToolTip("Play / Pause (Space)")
        self.step_button = QtWidgets.QPushButton("Step 1 iteration")
        self.step_button.setToolTip("One SGD update (S)")
        self.epoch_button = QtWidgets.QPushButton("Step 1 epoch")
        self.epoch_button.setToolTip("Train to the end of the current epoch (Shift+S)")
        self.reset_button = QtWidgets.QPushButton("Reset")
        self.reset_button.setToolTip("New initial W from the seed; clears the curves (R)")
        self.play_button.clicked.connect(self.play_clicked)
        self.step_button.clicked.connect(self.step_iteration_clicked)
        self.epoch_button.clicked.connect(self.step_epoch_clicked)
        self.reset_button.clicked.connect(self.reset_clicked)
        buttons = QtWidgets.QGridLayout()
        buttons.addWidget(self.play_button, 0, 0, 1, 2)
        buttons.addWidget(self.step_button, 1, 0)
        buttons.addWidget(self.epoch_button, 1, 1)
        buttons.addWidget(self.reset_button, 2, 0, 1, 2)
        self.play_button.setMinimumHeight(36)

        self.save_button = QtWidgets.QPushButton("Save model…")
        self.load_button = QtWidgets.QPushButton("Load model…")
        self.export_button = QtWidgets.QPushButton("Export history CSV…")
        files = QtWidgets.QGridLayout()
        files.addWidget(self.save_button, 0, 0)
        files.addWidget(self.load_button, 0, 1)
        files.addWidget(self.export_button, 1, 0, 1, 2)

        lay = QtWidgets.QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addSpacing(6)
        lay.addLayout(form)
        lay.addWidget(pre)
        lay.addStretch(1)
        lay.addLayout(files)

        self._debounce = QtCore.QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(60)
        self._debounce.timeout.connect(self._emit_live)
        self.penalty_combo.currentIndexChanged.connect(self._emit_live)
        self.batch_combo.currentIndexChanged.connect(self._emit_live)
        self.reg_slider.value_changed.connect(lambda _v: self._debounce.start())
        self.lr_slider.value_changed.connect(lambda _v: self._debounce.start())
        self.loss_combo.currentIndexChanged.connect(lambda _i: self.restart_changed.emit("loss"))
        self.init_slider.value_changed.connect(lambda _v: self.restart_changed.emit("init scale"))
        self.seed_spin.valueChanged.connect(lambda _v: self.restart_changed.emit("seed"))
        self.scale_box.toggled.connect(lambda _b: self.restart_changed.emit("preprocessing"))
        self.mean_box.toggled.connect(lambda _b: self.restart_changed.emit("preprocessing"))
        self._update_reg_enabled()
        self.penalty_combo.currentIndexChanged.connect(self._update_reg_enabled)

    # ------------------------------------------------------------------ values
    def values(self) -> dict:
        return {
            "loss_mode": self.loss_combo.currentData(),
            "penalty": self.penalty_combo.currentData(),
            "reg": self.reg_slider.value(),
            "learning_rate": self.lr_slider.value(),
            "batch_size": int(self.batch_combo.currentData()),
            "init_scale": self.init_slider.value(),
            "seed": int(self.seed_spin.value()),
            "scale": self.scale_box.isChecked(),
            "subtract_mean": self.mean_box.isChecked(),
            "epoch_limit": int(self.epochs_spin.value()),
        }

    def live_values(self) -> dict:
        v = self.values()
        return {k: v[k] for k in LIVE_KEYS}

    def set_values(self, values: dict) -> None:
        """Show ``values`` without emitting change signals (model -> widget)."""
        widgets = [self.loss_combo, self.penalty_combo, self.reg_slider.slider, self.lr_slider.slider,
                   self.batch_combo, self.init_slider.slider, self.seed_spin, self.scale_box, self.mean_box,
                   self.epochs_spin]
        blockers = [QtCore.QSignalBlocker(w) for w in widgets]
        try:
            if "loss_mode" in values:
                _select(self.loss_combo, values["loss_mode"])
            if "penalty" in values:
                _select(self.penalty_combo, "none" if values["penalty"] in (None, "none") else values["penalty"])
            for key, slider in (("reg", self.reg_slider), ("learning_rate", self.lr_slider),
                                ("init_scale", self.init_slider)):
                if key in values:
                    slider.set_value(float(values[key]))
                    slider.label.setText(format_value(slider.value()))
            if "batch_size" in values:
                b = int(values["batch_size"])
                if self.batch_combo.findData(b) < 0:
                    self.batch_combo.addItem(str(b), b)
                _select(self.batch_combo, b)
            if "seed" in values:
                self.seed_spin.setValue(int(values["seed"]))
            if "scale" in values:
                self.scale_box.setChecked(bool(values["scale"]))
            if "subtract_mean" in values:
                self.mean_box.setChecked(bool(values["subtract_mean"]))
            if "epoch_limit" in values:
                self.epochs_spin.setValue(int(values["epoch_limit"]))
        finally:
            del blockers
        self._update_reg_enabled()

    def set_running(self, running: bool) -> None:
        self.play_button.setText(PAUSE_TEXT if running else PLAY_TEXT)
        self.step_button.setEnabled(not running)
        self.epoch_button.setEnabled(not running)

    def set_training_enabled(self, on: bool) -> None:
        """Disable the transport buttons when there is no data set."""
        for b in (self.play_button, self.step_button, self.epoch_button, self.reset_button,
                  self.save_button, self.load_button, self.export_button):
            b.setEnabled(on)

    def _emit_live(self) -> None:
        self._debounce.stop()
        self.live_changed.emit(self.live_values())

    def flush(self) -> None:
        """Send a pending debounced change now (tests, and before Play)."""
        if self._debounce.isActive():
            self._emit_live()

    def _update_reg_enabled(self) -> None:
        self.reg_slider.setEnabled(self.penalty_combo.currentData() != "none")


def _table_slider(values, value: float, name: str) -> LogSlider:
    """A LogSlider whose index picks from ``values`` (the tables of ``core.config``; a leading 0 allowed)."""
    vals = np.asarray(values, dtype=np.float64)
    pos = vals[vals > 0]
    slider = LogSlider(float(pos[0]), float(pos[-1]), value, allow_zero=bool(vals[0] == 0), name=name)
    slider.values = vals
    with QtCore.QSignalBlocker(slider.slider):
        slider.slider.setRange(0, len(vals) - 1)
    slider.set_value(value)
    slider.label.setText(format_value(slider.value()))
    return slider


def _select(combo: QtWidgets.QComboBox, data) -> None:
    i = combo.findData(data)
    if i >= 0:
        combo.setCurrentIndex(i)
