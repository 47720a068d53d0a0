"""core.loss_lab: the lecture's worked numbers, computed (no Qt)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from core.loss_lab import (SLIDE_DELTA, SLIDE_LABELS, SLIDE_SCORES, SLIDE_W1, SLIDE_W2, SLIDE_X, fmt,
                           fmt_exp, fmt_fixed, fmt_prob, fmt_score, full_loss, hinge_table, hinge_variants,
                           hinge_zero_point, log_base_note, loss_facts, loss_vs_score, near_zero_scores,
                           nudge_effect, regularization_example, softmax_table)


def _hinge_loop(scores_cn, y, delta):
    """Plain-loop hinge on the slide's column-per-image layout."""
    out = []
    for i in range(scores_cn.shape[1]):
        s = scores_cn[:, i]
        out.append(sum(max(0.0, s[j] - s[y[i]] + delta) for j in range(len(s)) if j != y[i]))
    return np.array(out)


def test_slide_hinge_numbers():
    t = hinge_table(SLIDE_SCORES, SLIDE_LABELS, SLIDE_DELTA)
    assert [fmt(v) for v in t.losses] == ["2.9", "0", "12.9"]
    assert fmt(t.mean) == "5.27"
    assert t.mean_text == "L = (2.9 + 0 + 12.9) / 3 = 5.27"
    cat = t.images[0]
    assert cat.lines[0] == "max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1)"
    assert cat.lines[1:] == ("= max(0, 2.9) + max(0, −3.9)", "= 2.9 + 0", "= 2.9")
    assert t.images[2].lines[0] == "max(0, 2.2 − (−3.1) + 1) + max(0, 2.5 − (−3.1) + 1)"
    assert [term.value for term in t.images[2].terms] == pytest.approx([6.3, 6.6])


def test_hinge_table_matches_loop_on_random_tables():
    rng = np.random.default_rng(0)
    for _ in range(20):
        s = rng.normal(0, 3, size=(4, 5))
        y = rng.integers(0, 4, 5)
        delta = float(rng.uniform(0, 2))
        np.testing.assert_allclose(hinge_table(s, y, delta).losses, _hinge_loop(s, y, delta))


def test_slide_softmax_numbers():
    t = softmax_table(SLIDE_SCORES, SLIDE_LABELS)
    cat = t.images[0]
    assert [fmt_exp(v) for v in cat.exp] == ["24.5", "164.0", "0.18"]
    assert [fmt_fixed(p) for p in cat.probs] == ["0.13", "0.87", "0.00"]
    assert fmt(cat.loss) == "2.04"
    assert fmt(cat.loss_log10) == "0.89"
    assert cat.loss_text == "L = −ln(0.13) = 2.04"
    assert t.images[2].loss_text.startswith("L = −ln(0.0021)")
    np.testing.assert_allclose([im.probs.sum() for im in t.images], 1.0)
    note = log_base_note(cat.probs[0])
    assert "0.89" in note.text and "2.04" in note.text and "base 10" in note.text


def test_softmax_table_survives_huge_scores():
    t = softmax_table(np.array([[1000.0, 0.0], [999.0, 1.0]]), np.array([0, 1]))
    assert fmt_exp(t.images[0].exp[0]) == "overflow"
    assert t.images[0].probs.sum() == pytest.approx(1.0)
    assert t.images[0].loss == pytest.approx(math.log(1 + math.exp(-1)))


def test_formatting():
    assert fmt(-0.0001) == "0" and fmt(2.8999999999) == "2.9" and fmt(-3.9) == "−3.9"
    assert fmt(math.inf) == "∞"
    assert fmt_score(2.0) == "2.0" and fmt_score(-3.1) == "−3.1" and fmt_score(3.25) == "3.25"
    assert fmt_fixed(-0.001) == "0.00"
    assert fmt_prob(0.00212) == "0.0021" and fmt_prob(0.5) == "0.50"


def test_questions_nudge_min_max_and_initial_loss():
    eff = nudge_effect(SLIDE_SCORES, SLIDE_LABELS, image=1, cls=1, amount=0.5)
    assert eff.hinge_before == eff.hinge_after == 0 and not eff.hinge_changed
    assert eff.softmax_changed and eff.softmax_after < eff.softmax_before
    f = loss_facts(3)
    assert (f.hinge_min, f.hinge_max, f.softmax_min, f.softmax_max) == (0, math.inf, 0, math.inf)
    assert f.hinge_at_zero == 2 and f.softmax_at_zero == pytest.approx(math.log(3))
    assert loss_facts(10).hinge_at_zero == 9
    z = near_zero_scores(3, 3)
    assert np.abs(z).max() < 0.01
    assert hinge_table(z, SLIDE_LABELS).mean == pytest.approx(2, abs=0.01)
    assert softmax_table(z, SLIDE_LABELS).mean == pytest.approx(math.log(3), abs=0.01)
    # hinge hits exactly 0 once the correct score clears the others by delta; softmax never does
    zp = hinge_zero_point(SLIDE_SCORES, SLIDE_LABELS, 0)
    assert zp == pytest.approx(6.1)
    h, s = loss_vs_score(SLIDE_SCORES, SLIDE_LABELS, 0, [zp - 0.5, zp, zp + 5])
    np.testing.assert_allclose(h, [0.5, 0, 0], atol=1e-12)
    assert (s > 0).all() and s[0] > s[1] > s[2]


def test_hinge_variants():
    v = hinge_variants(SLIDE_SCORES, SLIDE_LABELS)
    base, mean = v["sum over j ≠ y (slide)"]
    np.testing.assert_allclose(v["sum over all j (incl. y)"][0], base + 1)
    np.testing.assert_allclose(v["mean over j ≠ y"][0], base / 2)
    np.testing.assert_allclose(v["squared terms"][0], [2.9 ** 2, 0, 6.3 ** 2 + 6.6 ** 2])


def test_regularization_example_and_full_loss():
    ex = regularization_example(SLIDE_X, SLIDE_W1, SLIDE_W2)
    assert ex.score1 == ex.score2 == 1
    assert ex.l2 == (1.0, 0.25) and ex.l1 == (1.0, 1.0)
    assert ex.preferred("l2") == 1 and ex.preferred("l1") is None
    fl = full_loss(5.2667, 0.1, 1.0)
    assert fl.total == pytest.approx(5.3667) and fl.text == "L = 5.27 + 0.1 × 1 = 5.37"
    with pytest.raises(ValueError, match="lambda"):
        full_loss(1, -1, 1)
    with pytest.raises(ValueError, match="same length"):
        regularization_example([1, 1], [1], [1])


def test_validation_messages():
    with pytest.raises(ValueError, match=r"one column per image"):
        hinge_table(np.zeros(3), [0])
    with pytest.raises(ValueError, match="correct class of each"):
        hinge_table(SLIDE_SCORES, [0, 1])
    with pytest.raises(ValueError, match="classes 0..2"):
        softmax_table(SLIDE_SCORES, [0, 1, 3])
    with pytest.raises(ValueError, match="delta"):
        hinge_table(SLIDE_SCORES, SLIDE_LABELS, -1)
