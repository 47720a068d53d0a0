"""The weight templates choose their tile size from the room they have: in compare mode both models'
ten templates (captions included) show without a scroll bar, single models keep their large tiles,
tiles never shrink below ``MIN_TILE`` and grow back when the room grows (pytest-qt, offscreen)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtGui

from gui.templates_view import MIN_TILE, TemplatesView
from gui.theme import style_for

pytestmark = pytest.mark.gui
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SHAPE = (32, 32, 3)


def _view(qtbot, models, size, presentation=False):
    v = TemplatesView()
    qtbot.addWidget(v)
    if presentation:
        font = QtGui.QFont(v.font())
        font.setPointSize(16)
        v.setFont(font)
        v.set_presentation(True)
    v.resize(*size)
    v.show()
    qtbot.waitExposed(v)
    _set_models(qtbot, v, models)
    return v


def _set_models(qtbot, v, models):
    v.set_layout(models, CLASSES, SHAPE)
    rng = np.random.default_rng(0)
    v.set_weights({m: rng.normal(size=(len(CLASSES), int(np.prod(SHAPE)))) for m in models})
    qtbot.wait(30)


def _resize(qtbot, v, w, h):
    v.resize(w, h)
    qtbot.wait(30)


def _assert_all_visible(v):
    """No scroll bar and every template rectangle (with its caption) inside the viewport."""
    vp = v.scroll.viewport()
    assert v.scroll.widget().sizeHint().height() <= vp.height(), "the templates need more height than shown"
    assert v.scroll.verticalScrollBar().maximum() == 0, "the templates can still scroll vertically"
    assert v.scroll.horizontalScrollBar().maximum() == 0, "the templates can still scroll sideways"
    for name, grid in v.grids.items():
        assert grid.captions() == CLASSES
        for i in range(len(CLASSES)):
            rect = grid.tile_rect(i).adjusted(0, 0, 0, grid.fontMetrics().height() + 3)   # tile + caption
            top_left = grid.mapTo(vp, rect.topLeft())
            bottom_right = grid.mapTo(vp, rect.bottomRight())
            assert vp.rect().contains(top_left) and vp.rect().contains(bottom_right), \
                f"{name} template {i} ({CLASSES[i]}) is cut off: {top_left}..{bottom_right} in {vp.size()}"


def test_compare_mode_in_presentation_fits_both_models_without_scrolling(qtbot):
    # the room the templates get next to the curves at 1920x1080 in presentation mode
    v = _view(qtbot, ["hinge", "softmax"], (650, 300), presentation=True)
    _assert_all_visible(v)
    assert MIN_TILE <= v.tile() < style_for(True).tile, "the tiles did not shrink to fit two models"
    assert all(g.tile == v.tile() for g in v.grids.values())


def test_compare_mode_in_normal_mode_fits_too(qtbot):
    v = _view(qtbot, ["hinge", "softmax"], (540, 420))
    _assert_all_visible(v)
    assert v.tile() >= MIN_TILE


def test_a_single_model_with_ample_room_keeps_its_large_tiles(qtbot):
    for presentation in (False, True):
        v = _view(qtbot, ["softmax"], (1600, 1200), presentation=presentation)
        tile = style_for(presentation).tile
        assert v.tile() == int(tile * 2.4) >= tile, "a single model that fits got smaller tiles"
        _assert_all_visible(v)


def test_tiles_never_go_below_the_minimum_then_the_area_scrolls(qtbot):
    v = _view(qtbot, ["hinge", "softmax"], (260, 140), presentation=True)
    assert v.tile() == MIN_TILE
    assert v.scroll.verticalScrollBar().maximum() > 0, "too little room: the rest must stay reachable"


def test_tiles_grow_back_after_a_resize_to_larger(qtbot):
    v = _view(qtbot, ["hinge", "softmax"], (650, 300), presentation=True)
    small = v.tile()
    _resize(qtbot, v, 1400, 1100)
    assert v.tile() > small
    assert v.tile() >= style_for(True).tile
    _assert_all_visible(v)
    _resize(qtbot, v, 650, 300)
    assert v.tile() == small
    _assert_all_visible(v)


def test_adding_a_model_and_presentation_recompute_the_tiles(qtbot):
    v = _view(qtbot, ["softmax"], (650, 420))
    one = v.tile()
    _assert_all_visible(v)
    _set_models(qtbot, v, ["hinge", "softmax"])             # set_layout: now two models in the same room
    assert v.tile() < one
    _assert_all_visible(v)
    font = QtGui.QFont(v.font())
    font.setPointSize(16)
    v.setFont(font)
    v.set_presentation(True)                                # bigger captions and headers: still no scrolling
    qtbot.wait(30)
    _assert_all_visible(v)
    _set_models(qtbot, v, ["softmax"])                       # back to one model: the tiles grow again
    assert v.tile() > MIN_TILE
    _assert_all_visible(v)
