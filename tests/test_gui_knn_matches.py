"""Nearest Neighbour workspace, Matches tab: pick an image, k slider/spin, L1/L2, ties, random, next wrong."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6 import QtCore

from core.knn import TIE_RULE, KNearestNeighbor
from tests._knn_gui import click_tile, make_workspace, plain, synthetic, wait_idle

pytestmark = pytest.mark.gui


@pytest.fixture
def ws(qtbot, digits):
    w = make_workspace(qtbot, digits)
    yield w
    w.shutdown()
    w.runner.shutdown()


def _expected_neighbours(ds, index, metric, k):
    """Independent brute force: distances to every training image, stable order."""
    x = ds.X_test[index].reshape(-1).astype(np.float64)
    X = ds.X_train.reshape(ds.n_train, -1).astype(np.float64)
    d = np.abs(X - x).sum(1) if metric == "l1" else np.sqrt(((X - x) ** 2).sum(1))
    order = np.argsort(d, kind="stable")[:k]
    return order, d[order]


def _caption_labels(ws):
    names = ws.session.dataset.class_names
    return [names.index(c.split("\n")[0].split(" · ")[1]) for c in ws.matches.gallery.captions()]


def _caption_distances(ws):
    return [float(c.split("\n")[1].replace(",", "")) for c in ws.matches.gallery.captions()]


def test_first_image_shows_its_k_nearest_with_distances(ws, digits):
    m = ws.matches
    assert m.gallery.count() == 5
    assert plain(m.query_caption.text()).startswith("Test image #0")
    order, dist = _expected_neighbours(digits, 0, "l2", 5)
    assert _caption_labels(ws) == list(digits.y_train[order])
    np.testing.assert_allclose(_caption_distances(ws), dist, rtol=5e-3)
    assert [c.split(" · ")[0] for c in m.gallery.captions()] == ["1", "2", "3", "4", "5"]
    assert "Predicted:" in plain(m.result_label.text())
    assert "5 nearest training images by L2" in m.gallery_title.text()


def test_k_slider_and_spin_revote(ws, digits):
    m = ws.matches
    ws.k_slider.setValue(1)
    assert ws.k_spin.value() == 1 and m.gallery.count() == 1
    assert m.tally.values.sum() == 1
    ws.k_spin.setValue(12)
    assert ws.k_slider.value() == 12 and m.gallery.count() == 12
    order, _ = _expected_neighbours(digits, 0, "l2", 12)
    expected_tally = np.bincount(digits.y_train[order], minlength=10)
    np.testing.assert_array_equal(m.tally.values, expected_tally)
    assert "k = 12" in m.tally.plotItem.titleLabel.text
    pred = digits.class_names[int(m.vote.pred[0])]
    assert f"Predicted: {pred}" in plain(m.result_label.text())


def test_changing_k_does_not_search_again(qtbot, monkeypatch):
    """k only re-votes over the cached 100 neighbours: no new distance computation."""
    ds = synthetic(5000, 20, shape=(8, 8, 1))
    ws = make_workspace(qtbot, ds)
    calls = []
    original = KNearestNeighbor.kneighbors
    monkeypatch.setattr(KNearestNeighbor, "kneighbors",
                        lambda self, X, k=None, **kw: calls.append(len(X)) or original(self, X, k, **kw))
    for k in (1, 7, 33, 100, 2):
        ws.k_slider.setValue(k)
        assert ws.matches.gallery.count() == k
    assert calls == []
    ws.metric_buttons["l1"].click()              # a new metric: one query row
    assert calls == [1]
    ws.runner.shutdown()


def test_metric_switch_l1(ws, digits):
    ws.metric_buttons["l1"].click()
    assert ws.metric_name() == "l1"
    order, dist = _expected_neighbours(digits, 0, "l1", 5)
    assert _caption_labels(ws) == list(digits.y_train[order])
    np.testing.assert_allclose(_caption_distances(ws), dist)
    assert "by L1 distance" in ws.matches.gallery_title.text()


def test_click_in_test_strip(qtbot, ws, digits):
    click_tile(qtbot, ws.matches.strip, 3)
    assert ws.matches.index == 3
    assert ws.matches.index_spin.value() == 3
    assert plain(ws.matches.query_caption.text()).startswith("Test image #3")
    order, _ = _expected_neighbours(digits, 3, "l2", 5)
    assert _caption_labels(ws) == list(digits.y_train[order])
    qtbot.mouseClick(ws.matches.next_button, QtCore.Qt.MouseButton.LeftButton)
    click_tile(qtbot, ws.matches.strip, 0)
    assert ws.matches.index == ws.matches.picker.page_size
    assert "images 20–39" in ws.matches.page_label.text()


def test_random_button_picks_and_shows_an_image(qtbot, ws, digits):
    seen = set()
    for _ in range(3):
        qtbot.mouseClick(ws.matches.random_button, QtCore.Qt.MouseButton.LeftButton)
        i = ws.matches.index
        seen.add(i)
        assert plain(ws.matches.query_caption.text()).startswith(f"Test image #{i}")
        assert f"true label: {digits.class_names[digits.y_test[i]]}" in plain(ws.matches.query_caption.text())
    assert len(seen) > 1


def test_next_misclassified(qtbot, ws, digits):
    model = KNearestNeighbor(5, "l2").fit(digits.X_train.reshape(digits.n_train, -1).astype(np.float32),
                                          digits.y_train)
    pred = model.predict(digits.X_test.reshape(digits.n_test, -1).astype(np.float32))
    wrong = np.flatnonzero(pred != digits.y_test)
    ws.matches.show_test_image(1)
    qtbot.mouseClick(ws.matches.miss_button, QtCore.Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws, "knn-search")
    expected = int(wrong[wrong > 1][0])
    assert ws.matches.index == expected
    assert "wrong" in plain(ws.matches.result_label.text())
    qtbot.mouseClick(ws.matches.miss_button, QtCore.Qt.MouseButton.LeftButton)
    wait_idle(qtbot, ws, "knn-search")
    assert ws.matches.index == int(wrong[wrong > expected][0])


def test_tie_rule_is_shown_when_it_decides(ws, digits):
    model = ws.session.models["l2"]
    X = ws.session.test_features["l2"]
    dist, idx = model.kneighbors(X, 10)
    found = None
    for k in range(2, 11):
        v = model.vote(digits.y_train[idx[:, :k]], dist[:, :k])
        if v.tied.any():
            found = (int(np.flatnonzero(v.tied)[0]), k, v)
            break
    assert found is not None
    i, k, v = found
    ws.set_k(k)
    ws.matches.show_test_image(i)
    assert ws.matches.tie_label.isVisible()
    text = plain(ws.matches.tie_label.text())
    assert text.startswith("Tie:") and "the tied class whose nearest member is closest wins" in text
    assert ws.matches.tie_label.toolTip() == TIE_RULE
    winner = digits.class_names[int(v.pred[i])]
    assert text.endswith(f"→ {winner}.")
    assert f"({winner}'s closest is #" in text        # the winner's evidence comes first
    ws.set_k(1)
    assert not ws.matches.tie_label.isVisible()


def test_background_query_on_a_big_training_set(qtbot, monkeypatch):
    import gui.knn_matches as km

    monkeypatch.setattr(km, "_SYNC_QUERY_LIMIT", 0)
    ds = synthetic(600, 30)
    ws = make_workspace(qtbot, ds)
    wait_idle(qtbot, ws)
    assert ws.matches.gallery.count() == 5
    ws.metric_buttons["l1"].click()
    assert "Searching 600 training images (L1)" in ws.matches.gallery_title.text()
    wait_idle(qtbot, ws)
    assert "by L1 distance" in ws.matches.gallery_title.text()
    ws.runner.shutdown()


def test_presentation_mode_makes_tiles_bigger(ws):
    small = ws.matches.strip.tile
    ws.set_presentation(True)
    assert ws.matches.strip.tile > small
    assert ws.matches.gallery.tile >= ws.matches.strip.tile
    assert ws.matches.tally.plotItem.getAxis("left").style["tickFont"].pointSize() == 16
    ws.set_presentation(False)
    assert ws.matches.strip.tile == small


def test_settings_round_trip_and_no_dataset(qtbot, ws, tmp_path):
    from PySide6 import QtCore as _QtCore

    ws.set_k(9)
    ws.metric_buttons["l1"].click()
    ws.tabs.setCurrentWidget(ws.cv)
    ws.cv.ks_edit.setText("1, 2, 4")
    ws.cv.folds_spin.setValue(3)
    ws.cv.set_mode("val")
    settings = _QtCore.QSettings(str(tmp_path / "s.ini"), _QtCore.QSettings.Format.IniFormat)
    ws.save_settings(settings)
    other = make_workspace(qtbot)
    other.restore_settings(settings)
    assert other.k() == 9 and other.metric_name() == "l1"
    assert other.tabs.currentWidget() is other.cv
    assert other.cv.ks_edit.text() == "1, 2, 4" and other.cv.folds_spin.value() == 3 and other.cv.mode() == "val"
    # no data set: every control that needs one is disabled, nothing crashes
    assert not other.matches.random_button.isEnabled() and not other.evaluate.run_button.isEnabled()
    assert not other.cv.run_button.isEnabled()
    assert other.data_label.text() == "No data set loaded"
    assert other.table_for_export() is None
    ws.set_dataset(None)
    assert ws.session is None and ws.matches.gallery.count() == 0
    other.runner.shutdown()


def test_big_data_sets_are_prepared_in_the_background(qtbot, digits, monkeypatch):
    import gui.knn_workspace as kw

    monkeypatch.setattr(kw, "_SYNC_LIMIT", 0)
    ws = make_workspace(qtbot)
    ws.set_dataset(digits)
    assert ws.session is None and "preparing" in ws.data_label.text()
    qtbot.waitUntil(lambda: ws.session is not None, timeout=20000)
    assert ws.matches.gallery.count() == 5
    ws.set_dataset(digits.subsample(20, 5))              # a second set while nothing runs
    qtbot.waitUntil(lambda: ws.session is not None and ws.session.dataset.n_train == 200, timeout=20000)
    ws.runner.shutdown()


def test_standalone_preview_builds(qtbot, monkeypatch):
    from PySide6 import QtWidgets

    import gui.knn_workspace as kw

    shown = []
    monkeypatch.setattr(QtWidgets.QApplication, "exec", lambda self: shown.append(True) or 0)
    monkeypatch.setattr(kw.KnnWorkspace, "show", lambda self: (shown.append(self), qtbot.addWidget(self)))
    assert kw.main(["digits"]) == 0
    ws = shown[0]
    assert ws.session is not None and ws.matches.gallery.count() == 5
    ws.runner.shutdown()
    from gui import app_style
    app_style.apply(QtWidgets.QApplication.instance(), "light", False)
