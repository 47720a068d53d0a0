"""Training history as NumPy columns for the live curves, and the initial-loss sanity check.

:class:`History` holds one model's ``core.training.Record`` s as growable float64 columns (appending is
amortised O(1); the curves read views without copying) plus an exponential moving average of the
minibatch losses for the smoothed lines. :class:`SanityCheck` is the lecture's check that the loss at a
small random W is about ``C - 1`` (hinge, Δ = 1) or ``ln C`` (softmax).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["History", "SanityCheck"]


class History:
    """Growable columns of one model's training records, plus an exponential moving average for display.

    Columns (per iteration): ``iteration``, ``data``, ``reg``, ``total``, ``batch_acc``; smoothed copies of
    the minibatch losses with weight ``smoothing`` (``ema_t = a ema_{t-1} + (1 - a) x_t``, started at the
    first value). ``λ·R(W)`` does not depend on the minibatch, so ``smoothed("reg")`` is the value itself.
    Per epoch: ``epoch``, ``train_acc``, ``val_acc`` (NaN when there is no validation set).
    """

    KEYS = ("iteration", "data", "reg", "total", "batch_acc")
    SMOOTH = ("data", "total")

    def __init__(self, smoothing: float = 0.9):
        self.smoothing = float(smoothing)
        self.n = 0
        self._cols = {k: np.empty(1024, dtype=np.float64) for k in self.KEYS}
        self._ema = {k: np.empty(1024, dtype=np.float64) for k in self.SMOOTH}
        self._epochs: list[tuple[int, float, float]] = []
        self.records: list = []

    def __len__(self) -> int:
        return self.n

    @property
    def last_iteration(self) -> int:
        return int(self._cols["iteration"][self.n - 1]) if self.n else 0

    def extend(self, records) -> int:
        """Append records newer than the last one held; returns how many were added."""
        new = [r for r in records if r.iteration > self.last_iteration]
        if not new:
            return 0
        need = self.n + len(new)
        if need > self._cols["iteration"].size:
            cap = max(need, 2 * self._cols["iteration"].size)
            for d in (self._cols, self._ema):
                for k, a in d.items():
                    b = np.empty(cap, dtype=np.float64)
                    b[:self.n] = a[:self.n]
                    d[k] = b
        a = self.smoothing
        c, e = self._cols, self._ema
        for r in new:
            i = self.n
            c["iteration"][i] = r.iteration
            c["batch_acc"][i] = r.batch_accuracy
            c["reg"][i] = r.reg_loss
            for key, v in (("data", r.data_loss), ("total", r.total_loss)):
                c[key][i] = v
                e[key][i] = v if i == 0 or not np.isfinite(e[key][i - 1]) else a * e[key][i - 1] + (1 - a) * v
            if r.epoch_end:
                self._epochs.append((r.epoch, _nan(r.train_accuracy), _nan(r.val_accuracy)))
            self.records.append(r)
            self.n += 1
        return len(new)

    def column(self, key: str) -> np.ndarray:
        return self._cols[key][:self.n]

    def smoothed(self, key: str) -> np.ndarray:
        return self._ema[key][:self.n] if key in self._ema else self.column(key)

    def epoch_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._epochs:
            z = np.empty(0)
            return z, z, z
        a = np.asarray(self._epochs, dtype=np.float64)
        return a[:, 0], a[:, 1], a[:, 2]

    def last(self):
        return self.records[-1] if self.records else None


def _nan(v) -> float:
    return float("nan") if v is None else float(v)


@dataclass
class SanityCheck:
    """Initial data loss vs the expected value for small W (C - 1 for hinge, ln C for softmax)."""

    loss: str
    measured: float
    expected: float
    n_classes: int
    from_history: bool = False     # a loaded model: the first recorded minibatch loss

    @property
    def ok(self) -> bool:
        return abs(self.measured - self.expected) <= 0.1 * max(self.expected, 1e-9)

    @property
    def formula(self) -> str:
        return f"C−1 = {self.n_classes - 1}" if self.loss == "hinge" else f"ln {self.n_classes} = {self.expected:.3f}"
