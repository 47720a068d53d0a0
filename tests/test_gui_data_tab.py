"""The Data tab: class grid rows and counts, click -> pixel numbers, RGB channels, mean images, CIFAR-100 scroll."""
import numpy as np
import pytest
from PySide6 import QtCore

from core.preprocess import mean_image
from gui.data_tab import EXAMPLES_PER_CLASS, DataTab
from gui.image_numbers import shape_text
from gui.workers import JobRunner
from _gui_data import tiny_dataset

pytestmark = pytest.mark.gui


@pytest.fixture
def tab(qtbot):
    runner = JobRunner()
    t = DataTab(runner)
    qtbot.addWidget(t)
    t.resize(1600, 900)
    t.show()
    qtbot.waitExposed(t)
    yield t
    t.shutdown()
    assert runner.shutdown(2.0)


def _wait_means(qtbot, tab):
    qtbot.waitUntil(lambda: tab.means.means is not None, timeout=5000)


def test_class_rows_show_names_counts_and_examples(qtbot, tab):
    ds = tiny_dataset(n_classes=3, per_class=12, test_per_class=4)
    tab.set_dataset(ds)
    assert len(tab.rows.grids) == 3
    assert "class1" in tab.rows.labels[1].text()
    assert "12 train · 4 test" in tab.rows.labels[1].text()
    assert tab.rows.shown_per_row() == EXAMPLES_PER_CLASS
    assert [g.count() for g in tab.rows.grids] == [EXAMPLES_PER_CLASS] * 3
    assert "3 classes" in tab.header.text() and "6×5 pixels RGB" in tab.header.text()
    # the first example of each class is the first training image with that label
    assert tab.rows.examples[2][0] == np.flatnonzero(ds.y_train == 2)[0]
    _wait_means(qtbot, tab)


def test_click_an_image_shows_its_numbers(qtbot, tab):
    ds = tiny_dataset(shape=(4, 4, 1))
    tab.set_dataset(ds)
    grid = tab.rows.grids[2]
    qtbot.mouseClick(grid, QtCore.Qt.MouseButton.LeftButton, pos=grid.tile_rect(3).center())
    idx = int(np.flatnonzero(ds.y_train == 2)[3])
    assert tab.selected == (2, idx)
    assert grid.selected() == 3 and tab.rows.grids[0].selected() is None
    v = tab.numbers.view
    assert np.array_equal(v.image, ds.X_train[idx])
    assert tab.numbers.shape_label.text() == "4 × 4 × 1 = 16 numbers"
    assert f"#{idx}" in tab.numbers.caption.text() and "class2" in tab.numbers.caption.text()
    assert v.visible_rect() == (0, 0, 4, 4)  # a small image fits whole
    assert v.numbers_visible()
    assert v.cell_texts(1, 2) == [str(int(ds.X_train[idx, 1, 2, 0]))]
    assert not tab.numbers.channel_buttons["R"].isVisibleTo(tab)  # grey: no channel selector
    _wait_means(qtbot, tab)


def test_rgb_channels_and_a_legible_crop_for_32x32(qtbot, tab):
    ds = tiny_dataset(shape=(32, 32, 3))
    tab.set_dataset(ds)
    v = tab.numbers.view
    assert tab.numbers.shape_label.text() == "32 × 32 × 3 = 3072 numbers" == shape_text((32, 32, 3))
    img = v.image
    r0, c0, rows, cols = v.visible_rect()
    assert rows < 32 and cols < 32, "32×32 RGB with three numbers per pixel must be a readable crop"
    assert v.numbers_visible() and v.font_px() >= 10
    assert v.cell_texts(r0, c0) == [str(int(x)) for x in img[r0, c0]]
    assert "Showing rows" in tab.numbers.hint.text()
    qtbot.mouseClick(tab.numbers.channel_buttons["G"], QtCore.Qt.MouseButton.LeftButton)
    assert v.channel == "G" and v.cell_texts(r0, c0) == [str(int(img[r0, c0, 1]))]
    # the overview moves the crop
    ov = tab.numbers.overview
    qtbot.mouseClick(ov, QtCore.Qt.MouseButton.LeftButton, pos=QtCore.QPoint(ov.width() - 3, ov.height() - 3))
    assert v.visible_rect()[0] + v.visible_rect()[2] == 32 and v.visible_rect()[1] + v.visible_rect()[3] == 32
    # zoom out until the numbers are hidden, with a hint
    v.set_cell(12)
    assert not v.numbers_visible() and "Zoom in" in tab.numbers.hint.text()
    _wait_means(qtbot, tab)


def test_mean_images_match_core(qtbot, tab):
    ds = tiny_dataset(n_classes=3, shape=(5, 5, 3))
    tab.set_dataset(ds)
    _wait_means(qtbot, tab)
    m = tab.means.means
    assert np.array_equal(m.overall, np.clip(np.rint(mean_image(ds.X_train)), 0, 255).astype(np.uint8))
    assert np.array_equal(m.per_class[1], np.rint(mean_image(ds.X_train[ds.y_train == 1])).astype(np.uint8))
    assert tab.means.grid.captions() == ds.class_names
    assert "Mean of all 36 training images" == tab.means.overall_caption.text()
    # clicking a class mean shows its numbers
    g = tab.means.grid
    qtbot.mouseClick(g, QtCore.Qt.MouseButton.LeftButton, pos=g.tile_rect(1).center())
    assert np.array_equal(tab.numbers.view.image, m.per_class[1])
    assert "class1" in tab.numbers.caption.text()


def test_hundred_classes_scroll(qtbot, tab):
    ds = tiny_dataset(n_classes=100, per_class=3, test_per_class=1, shape=(8, 8, 3))
    tab.set_dataset(ds)
    assert len(tab.rows.grids) == 100
    qtbot.waitUntil(lambda: tab.scroll.verticalScrollBar().maximum() > 0, timeout=3000)
    assert [g.count() for g in tab.rows.grids[:2]] == [3, 3]
    _wait_means(qtbot, tab)
    assert tab.means.means.per_class.shape == (100, 8, 8, 3)


def test_table_and_export_targets(qtbot, tab):
    ds = tiny_dataset(n_classes=2, per_class=7, test_per_class=3)
    tab.set_dataset(ds)
    header, rows = tab.table_for_export()
    assert header == ["class", "name", "train images", "test images"]
    assert rows == [[0, "class0", 7, 3], [1, "class1", 7, 3]]
    assert set(tab.export_targets()) == {"Class grid", "Pixel numbers", "Mean images"}
    _wait_means(qtbot, tab)


def test_presentation_makes_tiles_bigger(qtbot, tab):
    tab.set_dataset(tiny_dataset())
    small = tab.rows.grids[0].tile
    tab.set_presentation(True)
    assert tab.rows.grids[0].tile > small
    tab.set_presentation(False)
    assert tab.rows.grids[0].tile == small
    _wait_means(qtbot, tab)
