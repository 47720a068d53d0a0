"""The data-set bar: summary text, chooser, debounced subsample controls with an "all" option."""
import pytest

from gui.dataset_bar import DEBOUNCE_MS, DatasetBar
from gui.settings import Subsample
from _gui_data import tiny_dataset

pytestmark = pytest.mark.gui


@pytest.fixture
def bar(qtbot):
    b = DatasetBar()
    qtbot.addWidget(b)
    b.resize(1600, 80)
    b.show()
    return b


def test_shows_name_sizes_shape_notes_and_used_part(bar):
    full = tiny_dataset(n_classes=3, per_class=12, test_per_class=4)
    full.notes = ["skipped 3 unreadable files: a.jpg, b.jpg, c.jpg"]
    used = full.subsample(5, 2, random_state=0)
    bar.show_dataset(full, used)
    assert bar.name_label.text() == "Tiny"
    text = bar.summary_label.full_text
    assert "36 train / 12 test" in text and "6×5×3" in text and "3 classes" in text
    assert "using 15 / 6" in text
    assert "skipped 3 unreadable files" in bar.notes_label.full_text
    bar.show_dataset(full, full)
    assert "using" not in bar.summary_label.full_text


def test_subsample_controls_are_debounced_and_zero_means_all(qtbot, bar):
    bar.set_subsample(Subsample(train_per_class=100, test_per_class=10, val_fraction=0.2, seed=3))
    assert bar.subsample() == Subsample(100, 10, 0.2, 3)
    assert bar.train_spin.text() == "100"
    fired = []
    bar.subsample_changed.connect(lambda: fired.append(bar.subsample()))
    bar.train_spin.setValue(0)
    bar.seed_spin.setValue(9)
    assert fired == []  # debounced
    qtbot.waitUntil(lambda: len(fired) == 1, timeout=DEBOUNCE_MS * 4)
    assert bar.train_spin.text() == "all"
    assert fired[0] == Subsample(None, 10, 0.2, 9)


def test_set_subsample_does_not_emit(qtbot, bar):
    fired = []
    bar.subsample_changed.connect(lambda: fired.append(1))
    bar.set_subsample(Subsample(5, 5, 0.1, 1))
    qtbot.wait(DEBOUNCE_MS + 100)
    assert fired == []


def test_chooser_lists_catalog_recent_and_open(qtbot, bar):
    bar.set_choices("/data/mine.npz", ["/data/mine.npz", "/data/other"], cached={"mnist"})
    texts = [bar.chooser.itemText(i) for i in range(bar.chooser.count())]
    assert texts[0] == "Digits 8×8 (bundled)"
    assert "MNIST" in texts and any(t.startswith("CIFAR-10") and "⤓" in t for t in texts)
    assert "data/mine.npz" in texts and "data/other" in texts
    assert texts[-1] == "Open file or folder…"
    assert bar.chooser.currentText() == "data/mine.npz"
    chosen, opened = [], []
    bar.source_chosen.connect(chosen.append)
    bar.open_requested.connect(lambda: opened.append(1))
    bar.chooser.activated.emit(bar.chooser.findData("cifar10"))
    bar.chooser.activated.emit(bar.chooser.count() - 1)
    assert chosen == ["cifar10"] and opened == [1]
    assert bar.chooser.currentText() == "data/mine.npz"  # switches only once the new set has loaded
