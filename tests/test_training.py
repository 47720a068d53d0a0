"""Trainer: shared minibatches, live hyperparameter changes, divergence, cancel, reset, history export."""
import csv
import io
import math

import numpy as np
import pytest

from core.linear import LinearClassifier
from core.training import CSV_COLUMNS, Record, Trainer


def _data(n=230, d=6, c=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(c, d))
    y = rng.integers(0, c, n)
    X = (centres[y] + rng.normal(size=(n, d))).astype(np.float32)
    return X, y


class Spy(LinearClassifier):
    """Records the minibatches it is trained on."""

    def _step(self, X, idx, yb, it, jobs, buf, next_idx=None):     # every SGD step comes through here
        self.batches.append(((X if idx is None else X[idx]).copy(), yb.copy()))
        return super()._step(X, idx, yb, it, jobs, buf, next_idx)


def _spy(**kw):
    m = Spy(**kw)
    m.batches = []
    return m


def test_models_see_identical_minibatches():
    X, y = _data()
    h, s = _spy(loss="hinge", random_state=1, batch_size=50), _spy(loss="softmax", random_state=2)
    t = Trainer({"hinge": h, "softmax": s}, X, y, random_state=0)
    t.step(12)
    assert len(h.batches) == len(s.batches) == 12
    for (xa, ya), (xb, yb) in zip(h.batches, s.batches):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    sizes = [len(b[1]) for b in h.batches[:5]]
    assert sizes == [50, 50, 50, 50, 30]      # 230 examples: the last batch of an epoch is smaller
    first_epoch = np.concatenate([b[1] for b in h.batches[:5]])
    assert sorted(first_epoch.tolist()) == sorted(y.tolist())   # each example once per epoch
    e1 = np.concatenate([b[0][:, 0] for b in h.batches[:5]])
    e2 = np.concatenate([b[0][:, 0] for b in h.batches[5:10]])
    assert not np.array_equal(e1, X[:, 0]) and not np.array_equal(e1, e2)   # shuffled anew every epoch
    label_of = {row.tobytes(): label for row, label in zip(X, y)}
    for xb, yb in h.batches:                                    # every image comes with its own label
        assert [label_of[row.tobytes()] for row in xb] == yb.tolist()


def test_same_loss_same_start_gives_identical_weights():
    X, y = _data()
    a, b = LinearClassifier(random_state=1), LinearClassifier(random_state=99)
    t = Trainer({"a": a, "b": b}, X, y, random_state=5)
    np.testing.assert_array_equal(a.W_, b.W_)       # init_same_weights copies the first model's W
    t.step(7)
    np.testing.assert_array_equal(a.W_, b.W_)
    assert not np.array_equal(a.W_, LinearClassifier(random_state=1).fit(X, y, epochs=0).W_)
    c, d = LinearClassifier(random_state=1), LinearClassifier(random_state=99)
    Trainer({"c": c, "d": d}, X, y, init_same_weights=False)
    assert not np.array_equal(c.W_, d.W_)


def test_records_epochs_and_accuracies():
    X, y = _data()
    Xv, yv = _data(n=40, seed=1)
    t = Trainer({"m": LinearClassifier(learning_rate=0.05, batch_size=100, random_state=0)}, X, y, Xv, yv)
    assert t.batches_per_epoch == 3
    out = t.step(7)
    recs = out["m"]
    assert [r.iteration for r in recs] == list(range(1, 8))
    assert [r.epoch for r in recs] == [1, 1, 1, 2, 2, 2, 3]
    ends = [r for r in recs if r.epoch_end]
    assert [r.iteration for r in ends] == [3, 6]
    assert all(r.train_accuracy is not None and r.val_accuracy is not None for r in ends)
    assert all(r.train_accuracy is None for r in recs if not r.epoch_end)
    assert t.iteration == 7 and t.epoch == 2
    assert t.history["m"] == recs and t.models["m"].history_ is t.history["m"]
    assert isinstance(recs[0], Record) and recs[0].total_loss == pytest.approx(math.log(3), rel=0.05)
    assert t.examples_per_second > 0
    rest = t.run_epoch()["m"]
    assert len(rest) == 2 and rest[-1].epoch_end and t.epoch == 3


def test_train_accuracy_uses_a_capped_subset():
    X, y = _data(n=300)
    m = LinearClassifier(batch_size=300, random_state=0)
    t = Trainer({"m": m}, X, y, eval_cap=50)
    r = t.step(1)["m"][0]
    sub = np.arange(0, 300, 6)                               # every 6th: 50 rows spread over all 300
    assert r.train_accuracy == pytest.approx(np.mean(m.predict(X[sub]) == y[sub]))
    assert np.shares_memory(t._X_eval, t.X_train)            # a view, not a copy


def test_set_params_applies_at_next_step_and_validates():
    X, y = _data()
    a, b = LinearClassifier(reg=0.0, random_state=0), LinearClassifier(reg=0.0, random_state=0)
    t = Trainer({"a": a, "b": b}, X, y)
    t.step(2)
    with pytest.raises(ValueError, match="learning_rate must be a finite number > 0"):
        t.set_params("a", learning_rate=-1)
    with pytest.raises(ValueError, match="name must be one of"):
        t.set_params("zzz", reg=1.0)
    with pytest.raises(ValueError, match="batch_size is shared"):
        t.set_params("a", batch_size=10)
    t.set_params("a", reg=10.0)
    assert a.reg == 0.0                      # not yet: between steps nothing changes
    W_before = a.W_.astype(np.float64)
    rec_a, rec_b = t.step(1)["a"][0], t.step.__self__.history["b"][-1]
    assert a.reg == 10.0 and b.reg == 0.0
    assert rec_a.reg_loss == pytest.approx(10.0 * np.sum(W_before ** 2), rel=1e-4)
    assert rec_b.reg_loss == 0.0
    t.set_params(batch_size=40)
    rec = t.step(1)
    assert a.batch_size == b.batch_size == 40 == t.batch_size
    assert len(rec["a"]) == 1


def test_divergence_stops_one_model_and_keeps_finite_weights():
    X, y = _data()
    bad, good = LinearClassifier(loss="hinge", random_state=0), LinearClassifier(random_state=0)
    t = Trainer({"bad": bad, "good": good}, X, y)
    t.step(3)
    t.set_params("bad", learning_rate=1e6)
    t.step(40)
    reason = t.stopped["bad"]
    assert reason is not None
    assert "at iteration" in reason and "learning rate 1e+06 is too large; try 100000" in reason
    assert np.isfinite(bad.W_).all() and np.isfinite(bad.b_).all()
    assert t.stopped["good"] is None and len(t.history["good"]) == 43
    n_bad = len(t.history["bad"])
    assert n_bad < 43
    assert all(math.isfinite(r.total_loss) for r in t.history["bad"])
    W_kept = bad.W_.copy()
    assert t.step(5)["bad"] == []                 # stopped models do not train
    np.testing.assert_array_equal(bad.W_, W_kept)
    t.set_params("bad", learning_rate=1e-3)
    t.resume("bad")
    assert len(t.step(2)["bad"]) == 2 and t.stopped["bad"] is None


def test_inf_weights_and_inf_loss_are_reported():
    X, y = _data()
    m = LinearClassifier(learning_rate=1e37, random_state=0, batch_size=len(y))
    t = Trainer({"m": m}, X * 1000, y)
    W0 = m.W_.copy()
    t.step(3)
    assert t.stopped["m"].startswith("weights became inf/NaN at iteration 1 (learning rate 1e+37")
    np.testing.assert_array_equal(m.W_, W0)          # the weights before the bad update
    m2 = LinearClassifier(learning_rate=1e-3, random_state=0)
    t2 = Trainer({"m": m2}, X, y)
    t2.step(2)
    W_ok = m2.W_.copy()
    t2.step(1)
    m2.W_[...] = 1e37                                  # scores overflow to inf
    t2.step(1)
    assert t2.stopped["m"].startswith("loss became inf/NaN at iteration 4 (learning rate 0.001")
    np.testing.assert_array_equal(m2.W_, W_ok)       # the last weights that gave a finite loss


def test_bad_data_is_refused_at_construction():
    X, y = _data()
    Xn = X.copy()
    Xn[1, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        Trainer({"m": LinearClassifier()}, Xn, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        Trainer({"m": LinearClassifier()}, X, np.zeros_like(y))
    with pytest.raises(ValueError, match="learning_rate"):
        Trainer({"m": LinearClassifier(learning_rate=0)}, X, y)
    with pytest.raises(TypeError, match="LinearClassifier"):
        Trainer({"m": object()}, X, y)
    with pytest.raises(ValueError, match="X_val must have shape"):
        Trainer({"m": LinearClassifier()}, X, y, X[:5, :3], y[:5])


def test_cancel_stops_between_iterations():
    X, y = _data()
    t = Trainer({"m": LinearClassifier(batch_size=10, random_state=0)}, X, y)
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    out = t.step(100, cancel=cancel)
    assert len(out["m"]) == 3 and t.iteration == 3
    assert len(t.step(2)["m"]) == 2 and t.iteration == 5      # a later step continues


@pytest.mark.parametrize("seed", [0, np.random.default_rng(4)])
def test_reset_repeats_exactly(seed):
    X, y = _data()
    models = {"h": LinearClassifier(loss="hinge", random_state=seed, momentum=0.5),
              "s": LinearClassifier(loss="softmax", random_state=3)}
    t = Trainer(models, X, y, random_state=np.random.default_rng(11) if seed else 7)
    W0 = models["h"].W_.copy()
    t.step(13)
    W1, hist1 = models["s"].W_.copy(), list(t.history["s"])
    t.reset()
    assert t.iteration == 0 and t.epoch == 0 and t.history["s"] == []
    np.testing.assert_array_equal(models["h"].W_, W0)
    t.step(13)
    np.testing.assert_array_equal(models["s"].W_, W1)
    assert t.history["s"] == hist1


def test_warm_start_keeps_fitted_weights():
    X, y = _data()
    m = LinearClassifier(learning_rate=0.1, random_state=0).fit(X, y, epochs=3)
    W = m.W_.copy()
    t = Trainer({"m": m}, X, y, warm_start=True)
    np.testing.assert_array_equal(m.W_, W)
    t.step(3)
    t.reset()
    np.testing.assert_array_equal(m.W_, W)
    Trainer({"m": m}, X, y)
    assert not np.array_equal(m.W_, W)


def test_history_csv_parses():
    X, y = _data()
    t = Trainer({"a": LinearClassifier(batch_size=100, random_state=0)}, X, y, X[:20], y[:20])
    t.step(4)
    text = t.history_csv("a")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 4
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    assert rows[0]["train_accuracy"] == "" and float(rows[2]["val_accuracy"]) >= 0
    assert rows[2]["epoch_end"] == "1"
    assert float(rows[1]["total_loss"]) == t.history["a"][1].total_loss
    with pytest.raises(ValueError, match="name must be one of"):
        t.history_csv("b")


def test_snapshot_is_a_copy():
    X, y = _data()
    m = LinearClassifier(random_state=0)
    t = Trainer({"m": m}, X, y)
    W, b = t.snapshot("m")
    t.step(2)
    assert not np.array_equal(W, m.W_)


def test_models_with_identical_weights_are_scored_once(monkeypatch):
    """Right after a reset in compare mode both models hold the same W and b: the test accuracy is computed
    once (half the wait on the GUI thread) and is still each model's own score."""
    X, y = _data(400, 30, 4)
    t = Trainer({"hinge": LinearClassifier(loss="hinge", random_state=0),
                 "softmax": LinearClassifier(loss="softmax", random_state=0)}, X, y)
    calls = []
    real = LinearClassifier._accuracy_idx
    monkeypatch.setattr(LinearClassifier, "_accuracy_idx", lambda self, *a: calls.append(self.loss) or real(self, *a))
    acc = t.accuracy(X, y)
    assert calls == ["hinge"] and acc == {k: m.score(X, y) for k, m in t.models.items()}
    t.step(3)                                            # the losses differ, so the weights do too
    calls.clear()
    acc = t.accuracy(X, y)
    assert calls == ["hinge", "softmax"] and acc == {k: m.score(X, y) for k, m in t.models.items()}


def test_eval_cap_is_validated_and_the_subset_spreads_over_the_whole_set():
    from core.linear import eval_rows
    X, y = _data(n=300)
    with pytest.raises(ValueError, match="eval_cap"):
        Trainer({"m": LinearClassifier()}, X, y, eval_cap=0)
    assert eval_rows(50000) == slice(0, 50000, 5) and len(range(50000)[eval_rows(50000)]) == 10000
    assert eval_rows(10000) == slice(0, 10000, 1)            # up to the cap: every row
    rows = range(15001)[eval_rows(15001)]                  # step 2: 7501 rows, first to last
    assert len(rows) <= 10000 and rows[0] == 0 and rows[-1] == 15000


def test_fit_measures_the_epoch_end_accuracy_on_a_view_of_every_nth_row(monkeypatch):
    """fit, like Trainer, reads the accuracy's rows in place: no copy of up to EVAL_CAP training rows."""
    X, y = _data(n=20500)                                       # above the 10000 cap: every 3rd row
    seen = []
    real = LinearClassifier._accuracy_idx

    def spy(self, Xe, ye, *args):
        seen.append(Xe)
        return real(self, Xe, ye, *args)

    monkeypatch.setattr(LinearClassifier, "_accuracy_idx", spy)
    m = LinearClassifier(batch_size=500, random_state=0).fit(X, y, epochs=2)
    assert len(seen) == 2 and all(np.shares_memory(Xe, X) for Xe in seen)
    np.testing.assert_array_equal(seen[0], X[::3])
    end = [r for r in m.history_ if r.epoch_end][-1]
    assert end.train_accuracy == pytest.approx(np.mean(m.predict(X[::3]) == y[::3]))
