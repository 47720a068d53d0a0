"""Runaway training: an overflowing learning rate, NaN/inf data, λ = 1e6.

The rule (CONTRACT, core.training): training stops with the reason stated (``Trainer.stopped[name]``),
the last weights that gave a finite loss are kept, nothing raises out of ``step``, and the trainer
stays usable (lower the rate, clear the stop, carry on). Bad *data* is refused up front with a
message naming the array and the rule.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from core.linear import LinearClassifier

training = pytest.importorskip("core.training")
Trainer = training.Trainer


def _data(n=120, d=20, c=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % c
    centers = rng.normal(size=(c, d)) * 2
    X = (centers[y] + rng.normal(size=(n, d))).astype(np.float32) * np.float32(scale)
    return X, y.astype(np.int64)


def _model(loss="softmax", **kw):
    params = dict(loss=loss, learning_rate=1e-2, reg=1e-4, batch_size=20, random_state=0)
    params.update(kw)
    return LinearClassifier(**params)


def _step_until_stopped(trainer, name, max_steps=300):
    """Step one iteration at a time; return the W before each step and whether the step's loss was finite."""
    before, finite = [], []
    for _ in range(max_steps):
        m = trainer.models[name]
        W = m.W_.copy() if getattr(m, "W_", None) is not None else None
        n_hist = len(trainer.history[name])
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # no RuntimeWarning (overflow) may escape
            trainer.step(1)
        new = trainer.history[name][n_hist:]
        before.append(W)
        finite.append(bool(new) and all(math.isfinite(r.total_loss) for r in new))
        if trainer.stopped[name]:
            break
    return before, finite


def _assert_last_good_weights_kept(trainer, name, before, finite):
    W = trainer.models[name].W_
    assert np.isfinite(W).all() and np.isfinite(trainer.models[name].b_).all()
    good = [w for w, ok in zip(before, finite) if ok and w is not None]
    assert good, "diverged before any finite step"
    np.testing.assert_array_equal(W, good[-1], err_msg="W is not the last weights with a finite loss")


@pytest.mark.parametrize("loss", ["softmax", "hinge"])
def test_overflowing_learning_rate_stops_with_reason_and_keeps_last_good_w(loss):
    X, y = _data()
    trainer = Trainer({loss: _model(loss, learning_rate=1e12)}, X, y, random_state=0)
    before, finite = _step_until_stopped(trainer, loss)
    reason = trainer.stopped[loss]
    assert isinstance(reason, str) and "learning rate" in reason and re_iteration(reason)
    _assert_last_good_weights_kept(trainer, loss, before, finite)
    assert all(math.isfinite(r.total_loss) for r in trainer.history[loss]), "a NaN/inf loss is in the history"
    W = trainer.models[loss].W_.copy()
    trainer.step(5)                                  # stopped: further steps change nothing
    np.testing.assert_array_equal(trainer.models[loss].W_, W)


def re_iteration(reason: str) -> bool:
    import re
    return re.search(r"iteration \d+", reason) is not None


def test_after_a_stop_lower_rate_and_continue():
    X, y = _data()
    trainer = Trainer({"softmax": _model(learning_rate=1e12)}, X, y, random_state=0)
    _step_until_stopped(trainer, "softmax")
    assert trainer.stopped["softmax"]
    trainer.set_params("softmax", learning_rate=1e-2)
    trainer.resume()
    n = len(trainer.history["softmax"])
    trainer.step(30)
    assert trainer.stopped["softmax"] is None
    new = trainer.history["softmax"][n:]
    assert len(new) == 30 and all(math.isfinite(r.total_loss) for r in new)
    assert new[-1].total_loss < new[0].total_loss


def test_in_compare_mode_one_model_diverging_does_not_stop_the_other():
    X, y = _data()
    models = {"hinge": _model("hinge"), "softmax": _model("softmax")}
    trainer = Trainer(models, X, y, random_state=0)
    trainer.set_params("softmax", learning_rate=1e12)
    for _ in range(60):
        trainer.step(1)
    assert trainer.stopped["softmax"] and trainer.stopped["hinge"] is None
    assert len(trainer.history["hinge"]) == 60
    assert np.isfinite(trainer.models["softmax"].W_).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X_train", "X_val"])
def test_nan_or_inf_in_the_data_is_refused_with_the_array_named(bad, where):
    X, y = _data()
    Xv, yv = _data(30, seed=1)
    if where == "X_train":
        X = X.copy()
        X[7, 3] = bad
    else:
        Xv = Xv.copy()
        Xv[2, 0] = bad
    try:
        trainer = Trainer({"softmax": _model()}, X, y, Xv, yv, random_state=0)
    except ValueError as exc:               # refused up front: the message names the array and the rule
        msg = str(exc)
        assert where in msg or where.replace("_train", "") in msg, msg
        assert any(w in msg.lower() for w in ("nan", "inf", "finite")), msg
        return
    # ... or accepted, and then training stops with a reason instead of producing NaN weights
    trainer.step(20)
    assert trainer.stopped["softmax"], "NaN/inf data trained silently"
    assert np.isfinite(trainer.models["softmax"].W_).all()


def test_huge_finite_features_overflow_and_stop_cleanly():
    X, _ = _data(scale=1e30)
    y = np.random.default_rng(3).permutation(np.arange(X.shape[0]) % 3)     # not separable: big gradients
    trainer = Trainer({"hinge": _model("hinge", learning_rate=1.0)}, X, y, random_state=0)
    before, finite = _step_until_stopped(trainer, "hinge", max_steps=50)
    assert trainer.stopped["hinge"], "float32 overflow went unnoticed"
    if any(finite):
        _assert_last_good_weights_kept(trainer, "hinge", before, finite)
    assert np.isfinite(trainer.models["hinge"].W_).all()


@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_lambda_1e6_stops_with_a_reason_or_stays_finite(penalty):
    X, y = _data()
    trainer = Trainer({"softmax": _model(penalty=penalty, reg=1e6, learning_rate=1e-3)}, X, y, random_state=0)
    before, finite = _step_until_stopped(trainer, "softmax", max_steps=100)
    W = trainer.models["softmax"].W_
    assert np.isfinite(W).all()
    assert all(math.isfinite(r.total_loss) for r in trainer.history["softmax"])
    if trainer.stopped["softmax"]:
        assert re_iteration(trainer.stopped["softmax"])
        _assert_last_good_weights_kept(trainer, "softmax", before, finite)
    else:                                   # a stable shrinkage: W driven to ~0
        assert np.abs(W).max() < 1.0


def test_lambda_1e6_with_a_small_rate_shrinks_w_to_zero():
    X, y = _data()
    trainer = Trainer({"softmax": _model(reg=1e6, learning_rate=1e-8)}, X, y, random_state=0)
    W0 = trainer.models["softmax"].W_.copy() if getattr(trainer.models["softmax"], "W_", None) is not None else None
    trainer.step(50)
    assert trainer.stopped["softmax"] is None
    W = trainer.models["softmax"].W_
    assert np.isfinite(W).all()
    if W0 is not None:
        assert np.abs(W).sum() < np.abs(W0).sum()


def test_fit_with_an_overflowing_rate_raises_a_value_error_and_keeps_finite_w():
    X, y = _data()
    m = _model(learning_rate=1e12)
    with pytest.raises(ValueError, match="learning rate"):
        m.fit(X, y, epochs=5)
    assert np.isfinite(m.W_).all() and np.isfinite(m.b_).all()
    assert all(math.isfinite(r.total_loss) for r in m.history_)
