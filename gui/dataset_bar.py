"""The data-set bar: which data set is loaded, its sizes, the loader's notes, and the subsample controls.

Left: a chooser (bundled digits, the downloadable catalog sets, recent files, "Open…") and the summary
(``"CIFAR-10 · 50000 train / 10000 test · 32×32×3 · 10 classes"`` plus what is in use after subsampling).
Right: images per class for train and test (0 = "all"), validation fraction and seed. Changes are
debounced (``DEBOUNCE_MS``) and announced with ``subsample_changed``; the window applies them with
``Dataset.subsample``.
"""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets

from gui.settings import Subsample

__all__ = ["DatasetBar", "CATALOG_CHOICES", "DEBOUNCE_MS", "display_source"]

DEBOUNCE_MS = 500
#: (source, menu text) of the sets the chooser always lists
CATALOG_CHOICES = [("digits", "Digits 8×8 (bundled)"), ("mnist", "MNIST"), ("fashion-mnist", "Fashion-MNIST"),
                   ("cifar10", "CIFAR-10"), ("cifar100", "CIFAR-100")]
_OPEN = "__open__"


def display_source(source: str) -> str:
    """Short text for a source: the catalog name, or a path's last two parts."""
    for key, text in CATALOG_CHOICES:
        if key == source:
            return text
    p = Path(source)
    return str(Path(p.parent.name) / p.name) if p.parent.name else p.name or source


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that ends in "…" when its text does not fit (the full text is in ``full_text``)."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.full_text = ""
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self._elide()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.full_text, QtCore.Qt.TextElideMode.ElideRight,
                                                   max(10, self.width())))


def _count_spin(name: str, tip: str) -> QtWidgets.QSpinBox:
    s = QtWidgets.QSpinBox()
    s.setObjectName(name)
    s.setRange(0, 100_000)
    s.setSingleStep(50)
    s.setSpecialValueText("all")
    s.setToolTip(tip + "\n0 = all images")
    s.setKeyboardTracking(False)
    s.setAccelerated(True)
    return s


class DatasetBar(QtWidgets.QFrame):
    """Signals: ``source_chosen(str)``, ``open_requested()``, ``subsample_changed()``."""

    source_chosen = QtCore.Signal(str)
    open_requested = QtCore.Signal()
    subsample_changed = QtCore.Signal()

    def __init__(self, parent: QtWidgets.QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("dataset_bar")
        self.chooser = QtWidgets.QComboBox()
        self.chooser.setObjectName("dataset_chooser")
        self.chooser.setToolTip("Choose a data set (downloadable sets offer a download when not cached yet)")
        self.chooser.setMinimumContentsLength(18)
        self.chooser.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.activated.connect(self._on_chosen)
        self.name_label = QtWidgets.QLabel("No data set")
        self.name_label.setObjectName("dataset_name")
        f = self.name_label.font()
        f.setBold(True)
        self.name_label.setFont(f)
        self.summary_label = ElidedLabel("")
        self.summary_label.setObjectName("dataset_summary")
        self.notes_label = ElidedLabel("")
        self.notes_label.setObjectName("dataset_notes")
        self.notes_label.setEnabled(False)  # greyed: secondary information

        self.train_spin = _count_spin("train_per_class", "Training images kept per class")
        self.test_spin = _count_spin("test_per_class", "Test images kept per class")
        self.val_spin = QtWidgets.QDoubleSpinBox()
        self.val_spin.setObjectName("val_fraction")
        self.val_spin.setRange(0.0, 0.5)
        self.val_spin.setSingleStep(0.05)
        self.val_spin.setDecimals(2)
        self.val_spin.setKeyboardTracking(False)
        self.val_spin.setToolTip("Fraction of the training images held out for validation (choosing k, λ)")
        self.seed_spin = QtWidgets.QSpinBox()
        self.seed_spin.setObjectName("seed")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setKeyboardTracking(False)
        self.seed_spin.setToolTip("Random seed for the subsample and the validation split (same seed = same images)")

        # row 1: chooser, name, sizes; row 2: the loader's notes, then the subsample controls
        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel("Data set"))
        top.addWidget(self.chooser)
        top.addSpacing(10)
        top.addWidget(self.name_label)
        top.addWidget(self.summary_label, 1)
        bottom = QtWidgets.QHBoxLayout()
        bottom.addWidget(self.notes_label, 1)
        for text, w in (("Train / class", self.train_spin), ("Test / class", self.test_spin),
                        ("Validation", self.val_spin), ("Seed", self.seed_spin)):
            lab = QtWidgets.QLabel(text)
            lab.setBuddy(w)
            bottom.addSpacing(12)
            bottom.addWidget(lab)
            bottom.addWidget(w)
        self.seed_spin.setMaximumWidth(110)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(8, 5, 8, 5)
        lay.setSpacing(3)
        lay.addLayout(top)
        lay.addLayout(bottom)

        self._debounce = QtCore.QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.subsample_changed)
        for s in (self.train_spin, self.test_spin, self.seed_spin):
            s.valueChanged.connect(self._debounce.start)
        self.val_spin.valueChanged.connect(self._debounce.start)
        self._current_source = ""
        self.set_choices("", [])

    # -- chooser ---------------------------------------------------------------------------
    def set_choices(self, current: str, recent: list[str], cached: set[str] | None = None) -> None:
        """Fill the chooser: catalog sets, recent files/folders, "Open…"; select ``current``."""
        cached = cached or set()
        self._current_source = current
        with QtCore.QSignalBlocker(self.chooser):
            self.chooser.clear()
            for key, text in CATALOG_CHOICES:
                mark = "" if key == "digits" or key in cached else "  ⤓"
                self.chooser.addItem(text + mark, key)
                if mark:
                    self.chooser.setItemData(self.chooser.count() - 1, "Not downloaded yet: choose it to download",
                                             QtCore.Qt.ItemDataRole.ToolTipRole)
            others = [r for r in recent if r not in dict(CATALOG_CHOICES)]
            if current and current not in dict(CATALOG_CHOICES) and current not in others:
                others.insert(0, current)
            if others:
                self.chooser.insertSeparator(self.chooser.count())
                for r in others:
                    self.chooser.addItem(display_source(r), r)
                    self.chooser.setItemData(self.chooser.count() - 1, r, QtCore.Qt.ItemDataRole.ToolTipRole)
            self.chooser.insertSeparator(self.chooser.count())
            self.chooser.addItem("Open file or folder…", _OPEN)
            i = self.chooser.findData(current)
            self.chooser.setCurrentIndex(max(i, 0) if current else 0)

    def _on_chosen(self, index: int) -> None:
        data = self.chooser.itemData(index)
        if data == _OPEN:
            self._reselect_current()
            self.open_requested.emit()
        elif isinstance(data, str) and data and data != self._current_source:
            self._reselect_current()  # the bar switches when the new set has loaded
            self.source_chosen.emit(data)

    def _reselect_current(self) -> None:
        with QtCore.QSignalBlocker(self.chooser):
            i = self.chooser.findData(self._current_source)
            if i >= 0:
                self.chooser.setCurrentIndex(i)

    # -- summary ---------------------------------------------------------------------------
    def show_dataset(self, full, used=None) -> None:
        """Show the loaded data set ``full`` and (if subsampled) the part ``used`` by the workspaces."""
        if full is None:
            self.name_label.setText("No data set")
            self.summary_label.set_full_text("")
            self.notes_label.set_full_text("")
            return
        h, w, c = full.image_shape
        self.name_label.setText(full.name)
        text = (f"·  {full.n_train:,} train / {full.n_test:,} test  ·  {h}×{w}×{c}  ·  "
                f"{full.n_classes} classes")
        if used is not None and (used.n_train, used.n_test) != (full.n_train, full.n_test):
            text += f"  ·  using {used.n_train:,} / {used.n_test:,}"
        self.summary_label.set_full_text(text)
        notes = [n for n in (full.notes or [])]
        self.notes_label.set_full_text("; ".join(notes))
        self.notes_label.setToolTip("\n".join(notes) + (f"\nsource: {full.source}" if full.source else ""))

    def summary_text(self) -> str:
        return f"{self.name_label.text()} {self.summary_label.full_text}"

    # -- subsample ---------------------------------------------------------------------------
    def subsample(self) -> Subsample:
        return Subsample(train_per_class=self.train_spin.value() or None,
                         test_per_class=self.test_spin.value() or None,
                         val_fraction=round(self.val_spin.value(), 4), seed=self.seed_spin.value())

    def set_subsample(self, s: Subsample) -> None:
        """Set the controls without emitting ``subsample_changed``."""
        for spin, value in ((self.train_spin, s.train_per_class or 0), (self.test_spin, s.test_per_class or 0),
                            (self.val_spin, s.val_fraction), (self.seed_spin, s.seed)):
            with QtCore.QSignalBlocker(spin):
                spin.setValue(value)

    def apply_now(self) -> None:
        """Emit a pending debounced change immediately (tests, Enter)."""
        if self._debounce.isActive():
            self._debounce.stop()
            self.subsample_changed.emit()
