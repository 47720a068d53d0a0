"""Image-grid captions: when a class name is a little too wide for its tile, the grid's captions are set
slightly smaller (one size for the whole grid) instead of cutting the name ("airplane", not "airp…");
only names that do not fit at 3/4 size are elided."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore, QtGui

from gui.widgets.image_grid import ImageGrid

pytestmark = pytest.mark.gui


def _grid(qtbot, captions, point_size=16, tile=60):
    grid = ImageGrid(tile=tile)
    qtbot.addWidget(grid)
    f = grid.font()
    f.setPointSize(point_size)
    grid.setFont(f)
    grid.set_images(np.zeros((len(captions), 8, 8, 3), np.uint8), captions)
    return grid


def _advance(font, text):
    return QtGui.QFontMetrics(font).horizontalAdvance(text)


def test_one_caption_size_for_the_grid_shrinking_only_as_far_as_needed(qtbot):
    w = 66                                                    # a 60-px tile's caption strip
    grid = _grid(qtbot, ["cat", "dog"])
    assert grid.caption_font(w).pointSizeF() == pytest.approx(16)          # short names: untouched
    grid = _grid(qtbot, ["cat", "airplane", "horse"])
    f = grid.caption_font(w)
    assert _advance(grid.font(), "airplane") > w                             # too wide at 16 pt...
    assert 12 <= f.pointSizeF() < 16 and _advance(f, "airplane") <= w        # ...whole a little smaller
    bigger = QtGui.QFont(f)
    bigger.setPointSizeF(f.pointSizeF() + 0.8)
    assert _advance(bigger, "airplane") > w                                  # and no smaller than needed
    grid = _grid(qtbot, ["cat", "automobile-and-more"])
    f = grid.caption_font(w)
    assert f.pointSizeF() == pytest.approx(12)                               # the floor: 3/4 of 16 pt
    grid = _grid(qtbot, ["cat", "airplane"], point_size=10)
    assert grid.caption_font(w).pointSizeF() == pytest.approx(10)            # normal fonts fit as they are
    # the choice is remembered between paints, and made again when the font or the captions change
    f16 = grid.font()
    f16.setPointSize(16)
    grid.setFont(f16)
    assert grid.caption_font(w).pointSizeF() < 16
    grid.set_images(np.zeros((2, 8, 8, 3), np.uint8), ["cat", "dog"])
    assert grid.caption_font(w).pointSizeF() == pytest.approx(16)


def test_the_painted_grid_shows_the_whole_name_where_full_size_would_cut_it(qtbot):
    def caption_pixels(caption):
        grid = _grid(qtbot, [caption])
        grid.resize(120, 140)
        grid.show()
        qtbot.waitExposed(grid)
        r = grid.tile_rect(0)
        return grid.grab().toImage().copy(r.x() - 3, r.bottom() + 3, r.width() + 6, grid.fontMetrics().height())

    f = QtGui.QFont()
    f.setPointSize(16)
    cut = QtGui.QFontMetrics(f).elidedText("airplane", QtCore.Qt.TextElideMode.ElideRight, 66)
    assert cut != "airplane"                                      # full size would have cut it...
    assert caption_pixels("airplane") != caption_pixels(cut)      # ...the grid draws the whole name instead
