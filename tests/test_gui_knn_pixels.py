"""Nearest Neighbour workspace, Pixel distance tab: changed copies, their distances, their new nearest image."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from core import perturb
from tests._knn_gui import make_workspace, plain, synthetic, wait_idle

pytestmark = pytest.mark.gui


@pytest.fixture
def ws(qtbot):
    w = make_workspace(qtbot, synthetic(300, 30, shape=(16, 16, 3)))
    w.tabs.setCurrentWidget(w.pixels)
    yield w
    w.runner.shutdown()


def _nearest(ds, image, metric):
    X = ds.X_train.reshape(ds.n_train, -1).astype(np.float64)
    x = image.reshape(-1).astype(np.float64)
    d = np.abs(X - x).sum(1) if metric == "l1" else np.sqrt(((X - x) ** 2).sum(1))
    i = int(np.argmin(d))
    return i, d[i]


def test_same_distance_versions_are_shown_with_both_distances(ws):
    p, ds = ws.pixels, ws.session.dataset
    img = ds.X_test[0]
    titles = [plain(c["title"].text()) for c in p.cells]
    assert titles[0] == "original" and titles[1] == "shifted 1 px right"
    assert [v.name for v in p.versions] == ["shifted", "brightness", "tinted", "occluded"]
    expected = perturb.equal_distance_versions(img, shift_px=1, metric="l2", tint_color=(255, 140, 0))
    for col, v in enumerate(expected, start=1):
        l2 = perturb.image_distance(img, v.image, "l2")
        l1 = perturb.image_distance(img, v.image, "l1")
        text = plain(p.cells[col]["dist"].text())
        assert text.startswith(f"L2 = {l2:,.0f}") and f"L1 = {l1:,.0f}" in text
        assert l2 == pytest.approx(expected[0].distance, rel=0.02)
    heights = p.bars.opts["height"]
    np.testing.assert_allclose(heights, p.l2)
    assert np.ptp(heights) / heights.max() < 0.03                 # the lecture's point: all about equal


def test_nearest_training_image_of_each_version(ws):
    p, ds = ws.pixels, ws.session.dataset
    images = [ds.X_test[0]] + [v.image for v in p.versions]
    for col, im in enumerate(images):
        i, d = _nearest(ds, im, "l2")
        text = plain(p.cells[col]["near_text"].text())
        assert f"{ds.class_names[ds.y_train[i]]} at {d:,.0f}" in text
        assert text.startswith("nearest training image:")
    ref = plain(p.ref_text.toPlainText())
    assert f"{_nearest(ds, images[0], 'l2')[1]:,.0f}" in ref


def test_follows_the_matches_tab_and_metric(qtbot, ws):
    ws.matches.show_test_image(7)
    assert ws.pixels.index == 7 and "Test image #7" in plain(ws.pixels.image_label.text())
    ws.metric_buttons["l1"].click()
    assert plain(ws.pixels.cells[1]["dist"].text()).startswith("L1 = ")
    assert ws.pixels.bars_plot.plotItem.getAxis("left").labelText == "L1 distance"
    l1 = [perturb.image_distance(ws.session.dataset.X_test[7], v.image, "l1") for v in ws.pixels.versions]
    assert np.ptp(l1) / max(l1) < 0.03                             # equalised in the chosen metric
    ws.pixels.follow_check.setChecked(False)
    ws.matches.show_test_image(9)
    assert ws.pixels.index == 7


def test_custom_strengths(qtbot, ws):
    p = ws.pixels
    qtbot.mouseClick(p.custom_radio, QtCore.Qt.MouseButton.LeftButton)
    assert p.bright_spin.isEnabled()
    p.bright_spin.setValue(60)
    p.occ_spin.setValue(6)
    qtbot.waitUntil(lambda: p.versions[1].description == "brightness +60", timeout=2000)
    img = ws.session.dataset.X_test[0]
    expected = perturb.brighten(img, 60)
    np.testing.assert_array_equal(p.versions[1].image, expected)
    assert plain(p.cells[2]["title"].text()) == "brightness +60"
    assert plain(p.cells[4]["title"].text()) == "6×6 square covered"
    d = perturb.image_distance(img, expected, "l2")
    assert plain(p.cells[2]["dist"].text()).startswith(f"L2 = {d:,.0f}")


def test_random_image_and_background_search(qtbot, monkeypatch):
    import gui.pixel_distance as pd

    monkeypatch.setattr(pd, "_SYNC_LIMIT", 0)
    ws = make_workspace(qtbot, synthetic(300, 30, shape=(16, 16, 3)))
    ws.tabs.setCurrentWidget(ws.pixels)
    wait_idle(qtbot, ws)
    qtbot.mouseClick(ws.pixels.random_button, QtCore.Qt.MouseButton.LeftButton)
    assert not ws.pixels.follow_check.isChecked()
    assert plain(ws.pixels.cells[0]["near_text"].text()) == "searching…"
    wait_idle(qtbot, ws)
    assert plain(ws.pixels.cells[0]["near_text"].text()).startswith("nearest training image:")
    ws.runner.shutdown()


def test_grey_images_have_no_tint_column(qtbot):
    ws = make_workspace(qtbot, synthetic(200, 10, shape=(12, 12, 1)))
    ws.tabs.setCurrentWidget(ws.pixels)
    assert [v.name for v in ws.pixels.versions] == ["shifted", "brightness", "occluded"]
    assert not ws.pixels.cells[4]["image"].isVisibleTo(ws)
    ws.runner.shutdown()
