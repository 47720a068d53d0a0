"""A log-scale slider: the slider index picks from a precomputed table of values (optionally with 0).

Used for the learning rate and λ (convention 9). The value, not the index, is what callers read,
set and persist.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtWidgets

__all__ = ["LogSlider", "format_value"]


def format_value(v: float) -> str:
    """Compact human form: 0, 0.001, 1e-05, 3.2e+02."""
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    return f"{v:.1e}"


class LogSlider(QtWidgets.QWidget):
    """Horizontal slider over ``lo .. hi`` in log steps, with a label showing the value.

    Parameters
    ----------
    lo, hi : float
        Positive range ends.
    steps_per_decade : int
        Resolution (e.g. 4 gives 1, 1.78, 3.16, 5.62, 10).
    allow_zero : bool
        Prepend an exact 0 at the far left (λ = 0: no regularization).
    """

    value_changed = QtCore.Signal(float)

    def __init__(self, lo: float, hi: float, value: float, *, steps_per_decade: int = 4,
                 allow_zero: bool = False, name: str = "", parent=None):
        super().__init__(parent)
        if not (0 < lo < hi):
            raise ValueError(f"LogSlider needs 0 < lo < hi (got lo={lo}, hi={hi})")
        n = int(round(math.log10(hi / lo) * steps_per_decade)) + 1
        vals = np.logspace(math.log10(lo), math.log10(hi), n)
        self.values = np.concatenate([[0.0], vals]) if allow_zero else vals
        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.setRange(0, len(self.values) - 1)
        self.slider.setObjectName(f"{name}_slider" if name else "log_slider")
        self.label = QtWidgets.QLabel()
        self.label.setMinimumWidth(64)
        self.label.setAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
        lay = QtWidgets.QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        self.slider.valueChanged.connect(self._on_index)
        self.set_value(value)
        self._on_index(self.slider.value())

    def index_for(self, value: float) -> int:
        """Index of the table entry closest to ``value`` in log space (0 maps to 0 if allowed)."""
        if value <= 0:
            return 0
        pos = self.values > 0
        logs = np.full(len(self.values), np.inf)
        logs[pos] = np.abs(np.log10(self.values[pos]) - math.log10(value))
        return int(np.argmin(logs))

    def value(self) -> float:
        return float(self.values[self.slider.value()])

    def set_value(self, value: float) -> None:
        self.slider.setValue(self.index_for(float(value)))

    def _on_index(self, i: int) -> None:
        v = float(self.values[i])
        self.label.setText(format_value(v))
        self.value_changed.emit(v)
