"""Loss Lab: the slide's numbers on screen, and they follow edits (pytest-qt, offscreen)."""
from __future__ import annotations

import math

import pytest
from PySide6 import QtCore, QtWidgets

from core.loss_lab import SLIDE_SCORES
from gui.loss_lab import LossLab
from gui.workers import JobRunner


@pytest.fixture
def lab(qtbot):
    runner = JobRunner()
    w = LossLab(runner)
    qtbot.addWidget(w)
    w.resize(1600, 1000)
    w.show()
    yield w
    w.shutdown()
    runner.shutdown()


def _text(w, name, cls=QtWidgets.QLabel):
    child = w.findChild(cls, name)
    assert child is not None, name
    return child.text()


def _hinge(w):
    return [_text(w, f"hinge_loss_{i}") for i in range(3)] + [_text(w, "hinge_mean")]


def _probs(w, image):
    table = w.findChild(QtWidgets.QTableWidget, f"softmax_table_{image}")
    return [table.item(r, 2).text() for r in range(table.rowCount())]


def test_opens_on_the_slides_numbers(lab):
    spins = [[lab.findChild(QtWidgets.QDoubleSpinBox, f"score_{r}_{i}").value() for i in range(3)] for r in range(3)]
    assert spins == SLIDE_SCORES.tolist()
    assert [lab.findChild(QtWidgets.QComboBox, f"correct_{i}").currentText() for i in range(3)] == ["cat", "car", "frog"]
    assert _hinge(lab) == ["2.9", "0", "12.9", "5.27"]
    assert _probs(lab, 0) == ["0.13", "0.87", "0.00"]
    assert _text(lab, "softmax_loss_0") == "2.04"
    note = _text(lab, "log_note")
    assert "0.89" in note and "2.04" in note and "base 10" in note
    table = lab.findChild(QtWidgets.QTableWidget, "softmax_table_0")
    assert [table.item(r, 1).text() for r in range(3)] == ["24.5", "164.0", "0.18"]
    derivation = _text(lab, "hinge_derivation_0")
    assert "max(0, 5.1 − 3.2 + 1)" in derivation and "max(0, −1.7 − 3.2 + 1)" in derivation


def test_editing_a_cell_updates_every_number(lab, qtbot):
    spin = lab.findChild(QtWidgets.QDoubleSpinBox, "score_1_0")      # car score of the cat image
    spin.selectAll()
    qtbot.keyClicks(spin, "2.5")                                     # typed, live
    assert spin.value() == 2.5
    # cat image: max(0, 2.5 - 3.2 + 1) + 0 = 0.3
    assert _hinge(lab)[0] == "0.3"
    assert _hinge(lab)[3] == "4.4"                                    # (0.3 + 0 + 12.9) / 3
    assert _probs(lab, 0) != ["0.13", "0.87", "0.00"]
    assert "2.5" in _text(lab, "hinge_derivation_0")
    qtbot.mouseClick(lab.findChild(QtWidgets.QPushButton, "reset_scores"), QtCore.Qt.MouseButton.LeftButton)
    assert _hinge(lab) == ["2.9", "0", "12.9", "5.27"]


def test_correct_class_choice_changes_the_losses(lab):
    lab.findChild(QtWidgets.QComboBox, "correct_0").setCurrentIndex(1)    # call image 1 a car
    # s_car = 5.1: max(0, 3.2 - 5.1 + 1) + max(0, -1.7 - 5.1 + 1) = 0
    assert _hinge(lab)[0] == "0"
    assert _probs(lab, 0) == ["0.13", "0.87", "0.00"]
    assert _text(lab, "softmax_loss_0") == "0.14"


def test_delta_changes_the_hinge_but_not_softmax(lab):
    delta = lab.findChild(QtWidgets.QDoubleSpinBox, "delta")
    delta.setValue(2.0)
    # cat: max(0, 5.1-3.2+2)=3.9, max(0, -1.7-3.2+2)=0 ; car: max(0,1.3-4.9+2)=0, max(0,2-4.9+2)=0 ;
    # frog: 7.3 + 7.6 = 14.9 -> mean 6.27
    assert _hinge(lab) == ["3.9", "0", "14.9", "6.27"]
    assert _text(lab, "softmax_loss_0") == "2.04"
    delta.setValue(0.0)
    assert _hinge(lab)[0] == "1.9"


def test_nudging_the_car_score_moves_softmax_not_hinge(lab, qtbot):
    hinge_before = _text(lab, "hinge_loss_1")
    soft_before = _text(lab, "softmax_loss_1")
    assert lab.findChild(QtWidgets.QComboBox, "nudge_image").currentIndex() == 1
    assert lab.findChild(QtWidgets.QComboBox, "nudge_class").currentText() == "car"
    lab.findChild(QtWidgets.QDoubleSpinBox, "nudge_amount").setValue(0.5)
    hinge_line = _text(lab, "nudge_hinge")
    soft_line = _text(lab, "nudge_softmax")
    assert "0 → <b>0</b>" in hinge_line and "unchanged" in hinge_line
    assert "changes" in soft_line
    qtbot.mouseClick(lab.findChild(QtWidgets.QPushButton, "nudge_apply"), QtCore.Qt.MouseButton.LeftButton)
    assert lab.findChild(QtWidgets.QDoubleSpinBox, "score_1_1").value() == pytest.approx(5.4)
    assert _text(lab, "hinge_loss_1") == hinge_before == "0"
    assert _text(lab, "softmax_loss_1") != soft_before


def test_questions_min_max_and_scores_near_zero(lab, qtbot):
    minmax = _text(lab, "minmax_text")
    assert "min 0" in minmax and "max ∞" in minmax and "6.1" in minmax
    curve = lab.questions.hinge_curve.getData()
    assert curve[1].min() == 0 and curve[1].max() > 10
    initial = _text(lab, "initial_loss_text")
    assert "= <b>2</b>" in initial and "1.099" in initial
    lab.findChild(QtWidgets.QSpinBox, "n_classes_q3").setValue(10)
    assert "= <b>9</b>" in _text(lab, "initial_loss_text") and "2.303" in _text(lab, "initial_loss_text")
    qtbot.mouseClick(lab.findChild(QtWidgets.QPushButton, "zero_scores"), QtCore.Qt.MouseButton.LeftButton)
    assert _hinge(lab)[3] == "2"
    assert float(_text(lab, "softmax_mean")) == pytest.approx(math.log(3), abs=0.01)
    assert _text(lab, "current_means_text").count("≈ ✓") == 2


def test_regularization_example(lab):
    table = lab.findChild(QtWidgets.QTableWidget, "reg_table")
    cells = [[table.item(r, c).text() for c in range(2)] for r in range(2)]
    assert cells == [["1", "0.25"], ["1", "1"]]                       # L2 row, L1 row
    assert "w1ᵀx = <b>1</b>" in _text(lab, "reg_scores") and "w2ᵀx = <b>1</b>" in _text(lab, "reg_scores")
    assert "L2 prefers <b>w2</b>" in _text(lab, "reg_verdict")
    lab.findChild(QtWidgets.QDoubleSpinBox, "w1_1").setValue(1.0)      # w1 = [1, 1, 0, 0]
    assert table.item(0, 0).text() == "2" and table.item(1, 0).text() == "2"
    lab.findChild(QtWidgets.QPushButton, "reset_vectors").click()
    assert table.item(0, 0).text() == "1"


def test_full_loss_sum(lab):
    lam = lab.findChild(QtWidgets.QDoubleSpinBox, "lambda")
    lam.setValue(0.1)
    assert _text(lab, "full_loss_text").endswith("L = 5.27 + 0.1 · 1 = 5.37</span>")
    assert _text(lab, "full_loss_total") == "5.37"
    lab.findChild(QtWidgets.QComboBox, "full_w").setCurrentIndex(1)           # w2: R = 0.25
    assert _text(lab, "full_loss_total") == "5.29"
    lab.findChild(QtWidgets.QComboBox, "data_loss_source").setCurrentIndex(1)  # softmax mean 2.76
    lam.setValue(2.0)
    assert _text(lab, "full_loss_total") == "3.26"                           # 2.759 + 2 * 0.25
    lab.findChild(QtWidgets.QComboBox, "full_penalty").setCurrentIndex(1)      # L1: R(w2) = 1
    assert _text(lab, "full_loss_total") == "4.76"
    assert "no preference" in _text(lab, "full_loss_compare")
    bars = lab.reg.reg_bars.opts["height"]
    assert bars == pytest.approx([2.0, 2.0])


def test_presentation_mode_and_exports(lab):
    lab.set_presentation(True)
    assert lab.font().pointSize() == 16
    assert _hinge(lab) == ["2.9", "0", "12.9", "5.27"]
    assert _probs(lab, 0) == ["0.13", "0.87", "0.00"]
    lab.set_presentation(False)
    assert lab.font().pointSize() == 10
    header, rows = lab.table_for_export()
    assert header[0] == "image" and len(rows) == 3 and rows[0][-2] == pytest.approx(2.9)
    assert len(lab.export_targets()) >= 7
