"""SGD on two cores (core._halves' helper thread: rows gathered ahead, compare mode's models side by side,
accuracy in two parts): the same weights to the last bit as on one core, errors still land where they
belong, and the hot loop's shortcuts (cached hyperparameters, unchecked losses) change nothing but the
speed."""
import threading

import numpy as np
import pytest

from core import _halves
from core.linear import LinearClassifier, TrainingDiverged
from core.losses import data_loss, hinge_loss, one_vs_all_hinge_loss, softmax_loss
from core.training import Trainer
from tests.conftest import shared_path


def _data(n, d, c, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32)
    y = rng.integers(0, c, n)
    return X, y


def _mnist(n=3000):
    from core.datasets.idx import read_idx
    images = read_idx(shared_path("mnist", "t10k-images-idx3-ubyte.gz"))[:n]
    labels = read_idx(shared_path("mnist", "t10k-labels-idx1-ubyte.gz"))[:n]
    return images.reshape(n, -1).astype(np.float32) / 255 - 0.5, labels.astype(np.int64)


@pytest.mark.parametrize("n, d, c, batch", [(1000, 784, 10, 200),   # MNIST's shape: OpenBLAS sums a
                                            (900, 3072, 10, 256),   # 200 x 784 block differently on
                                            (700, 300, 7, 37),      # 1 and 2 threads; the cut does not
                                            (300, 2, 3, 20),        # tiny batch: one half only
                                            (999, 785, 10, 199)])
@pytest.mark.parametrize("loss", ["softmax", "hinge", "ova_hinge"])
def test_one_and_two_cores_give_bit_identical_weights(n, d, c, batch, loss):
    X, y = _data(n, d, c)
    W = []
    for jobs in (1, 2):
        model = LinearClassifier(loss=loss, learning_rate=1e-3, momentum=0.9, batch_size=batch, random_state=0)
        t = Trainer({"m": model}, X, y, jobs=jobs)
        t.step(12)
        W.append((model.W_.copy(), model.b_.copy(), [r.total_loss for r in t.history["m"]]))
    np.testing.assert_array_equal(W[0][0], W[1][0])
    np.testing.assert_array_equal(W[0][1], W[1][1])
    assert W[0][2] == W[1][2]


def test_real_mnist_one_and_two_cores_and_compare_mode_agree():
    X, y = _mnist()
    runs = {}
    for jobs in (1, 2):
        models = {"softmax": LinearClassifier(loss="softmax", learning_rate=0.05, random_state=0),
                  "hinge": LinearClassifier(loss="hinge", learning_rate=0.05, random_state=0)}
        t = Trainer(models, X, y, jobs=jobs)               # compare mode: the models share the cores
        for _ in range(3):
            t.run_epoch()
        runs[jobs] = {k: m.W_.copy() for k, m in models.items()}
    alone = LinearClassifier(loss="hinge", learning_rate=0.05, random_state=0)
    t = Trainer({"hinge": alone}, X, y, jobs=2)             # one model: next rows gathered ahead
    for _ in range(3):
        t.run_epoch()
    for k in runs[1]:
        np.testing.assert_array_equal(runs[1][k], runs[2][k])
    np.testing.assert_array_equal(runs[2]["hinge"], alone.W_)
    assert alone.score(X, y) > 0.75                 # and it learned (3 epochs on 3000 digits: ~80 %)


def test_fit_uses_both_cores_with_the_one_core_result(monkeypatch):
    X, y = _data(600, 784, 10)
    W = []
    for workers in (1, 2):
        monkeypatch.setattr("core.linear.WORKERS", workers)
        W.append(LinearClassifier(learning_rate=1e-3, random_state=0).fit(X, y, epochs=2).W_.copy())
    np.testing.assert_array_equal(W[0], W[1])


def test_a_model_diverging_on_the_helper_thread_stops_only_that_model():
    X, y = _data(400, 50, 3)
    X *= 1e4
    models = {"wild": LinearClassifier(learning_rate=1e6, random_state=0),      # runs on the helper
              "calm": LinearClassifier(learning_rate=1e-6, random_state=0)}
    t = Trainer(models, X, y, jobs=2, init_same_weights=False)
    t.step(30)
    assert t.stopped["wild"] and "learning rate" in t.stopped["wild"]
    assert t.stopped["calm"] is None and len(t.history["calm"]) == 30
    assert np.isfinite(models["wild"].W_).all()


def test_helper_errors_reach_the_caller_and_the_helper_keeps_working():
    seen = []

    def boom(lo, hi):
        seen.append((lo, hi, threading.current_thread().name))
        if lo == 0:
            raise RuntimeError("half failed")

    with pytest.raises(RuntimeError, match="half failed"):
        _halves.halves(boom, 5, 10, 2)
    assert sorted(s[:2] for s in seen) == [(0, 5), (5, 10)]
    if _halves.WORKERS > 1:
        assert {s[2] for s in seen} == {"lcl-sgd", threading.current_thread().name}
    out = []
    _halves.halves(lambda lo, hi: out.append((lo, hi)), 5, 10, 2)     # still usable afterwards
    assert sorted(out) == [(0, 5), (5, 10)]


def test_the_helper_keeps_the_callers_floating_point_settings():
    flagged = []

    def half(lo, hi):
        try:
            np.float32(3e38) * np.float32(10)
        except FloatingPointError:
            flagged.append(lo)

    with np.errstate(over="raise"):
        _halves.halves(half, 1, 2, 2)
    assert sorted(flagged) == [0, 1]


@pytest.mark.parametrize("name, fn", [("hinge", hinge_loss), ("softmax", softmax_loss),
                                      ("ova_hinge", one_vs_all_hinge_loss)])
def test_unchecked_losses_in_halves_add_up_to_the_checked_loss(name, fn):
    rng = np.random.default_rng(1)
    s = rng.standard_normal((40, 6)).astype(np.float32)
    y = rng.integers(0, 6, 40)
    loss, d = fn(s, y) if name == "softmax" else fn(s, y, 1.0)
    full = data_loss(name, s, y, 1.0, checked=True)
    assert full[0] == loss and np.array_equal(full[1], d)
    a = data_loss(name, s[:15], y[:15], 1.0, checked=True, n=40)
    b = data_loss(name, s[15:], y[15:], 1.0, checked=True, n=40)
    assert a[0] + b[0] == pytest.approx(loss, rel=1e-6)
    np.testing.assert_allclose(np.concatenate([a[1], b[1]]), d, rtol=1e-6)


def test_hyperparameters_are_revalidated_after_any_change():
    X, y = _data(100, 5, 3)
    m = LinearClassifier(random_state=0).fit(X, y, epochs=1)
    assert m.validated_params()["reg"] == 1e-4
    m.reg = -1.0                                        # plain assignment, no set_params
    with pytest.raises(ValueError, match="reg"):
        m.fit(X, y, epochs=1)
    m.set_params(reg=0.5)
    assert m.validated_params()["reg"] == 0.5
    with pytest.raises(TypeError):
        m.validated_params()["reg"] = 3                 # a read-only view: the cache cannot be changed
    assert m.validated_params()["reg"] == 0.5


def test_sgd_step_still_checks_labels_unless_told_they_are_checked():
    X, y = _data(50, 4, 3)
    m = LinearClassifier(random_state=0).fit(X, y, epochs=1)
    with pytest.raises(ValueError, match="yb"):
        m.sgd_step(X[:10], np.full(10, 7))
    with pytest.raises(ValueError, match="Xb"):
        m.sgd_step(X[:10, :3], y[:10])
    with pytest.raises(TrainingDiverged):
        LinearClassifier(learning_rate=1e9, random_state=0).fit(X * 1e6, y, epochs=3)


def test_a_split_inside_a_split_runs_in_place_instead_of_waiting_for_itself():
    seen = []

    def inner(lo, hi):
        seen.append(("inner", lo, hi))

    def outer(lo, hi):
        _halves.halves(inner, 1, 2, 2)                   # would wait forever for the busy helper
        seen.append(("outer", lo, hi))

    _halves.halves(outer, 1, 2, 2)
    assert sorted(seen) == [("inner", 0, 1), ("inner", 0, 1), ("inner", 1, 2), ("inner", 1, 2),
                            ("outer", 0, 1), ("outer", 1, 2)]


def test_an_interrupted_wait_does_not_lock_the_helper_for_the_next_call():
    """Ctrl-C in a notebook can land while the caller waits for the helper's half; the next fit must
    still run (it waits for the old half to end) instead of hanging."""
    if _halves.WORKERS < 2:
        pytest.skip("one core: no helper thread")
    helper = _halves._get_helper()
    real = helper._done

    class Interrupted:
        def __init__(self):
            self.armed = True

        def acquire(self, *a):
            if self.armed:
                self.armed = False
                raise KeyboardInterrupt
            return real.acquire(*a)

        def release(self):
            real.release()

    helper._done = Interrupted()
    release = threading.Event()
    try:
        with pytest.raises(KeyboardInterrupt):
            _halves.halves(lambda lo, hi: release.wait(5) if lo == 0 else None, 1, 2, 2)
        release.set()
        out = []
        runner = threading.Thread(target=_halves.halves, args=(lambda lo, hi: out.append(lo), 1, 2, 2),
                                  daemon=True)              # a hang must fail the test, not the run
        runner.start()
        runner.join(10)
        assert not runner.is_alive() and sorted(out) == [0, 1]
    finally:
        release.set()
        helper._done = real


def test_accuracy_in_two_parts_is_the_models_own_score_and_runs_the_first_part_on_the_helper(monkeypatch):
    X, y = _mnist(2000)
    t = Trainer({"softmax": LinearClassifier(loss="softmax", learning_rate=0.05, random_state=0),
                 "hinge": LinearClassifier(loss="hinge", learning_rate=0.05, random_state=0)}, X[:1500], y[:1500])
    for _ in range(8):
        t.run_epoch()
    ran_on = []
    real = _halves.halves

    def spy(fn, cut, n, jobs):
        def wrapped(lo, hi):
            ran_on.append((lo, hi, threading.current_thread().name))
            fn(lo, hi)
        real(wrapped, cut, n, jobs)

    monkeypatch.setattr("core._halves.halves", spy)
    acc = t.accuracy(X[1500:], y[1500:])
    assert acc == {k: m.score(X[1500:], y[1500:]) for k, m in t.models.items()}
    assert 0.6 < acc["softmax"] < 1.0                       # it learned, and some test digits are missed
    assert sorted((lo, hi) for lo, hi, _ in ran_on) == [(0, 200), (0, 200), (200, 500), (200, 500)]
    assert {name for lo, _, name in ran_on if lo == 0} == {"lcl-sgd"}
    t.jobs = 1
    assert t.accuracy(X[1500:], y[1500:]) == acc           # one core: the same counts


def test_epoch_end_accuracies_match_score_on_the_eval_and_validation_sets():
    X, y = _data(700, 40, 4, seed=3)
    y = (X[:, :4].argmax(axis=1))                           # learnable labels
    m = LinearClassifier(loss="hinge", learning_rate=0.1, batch_size=64, random_state=0)
    t = Trainer({"m": m}, X[:500], y[:500], X[500:], y[500:], eval_cap=300)
    recs = t.run_epoch()["m"]
    end = recs[-1]
    assert end.epoch_end and not any(r.epoch_end for r in recs[:-1])
    assert end.train_accuracy == m.score(t._X_eval, t._y_eval)
    assert end.val_accuracy == m.score(X[500:], y[500:])
    assert end.val_accuracy > 0.5


def test_accuracy_rejects_data_of_the_wrong_shape():
    X, y = _data(200, 30, 3)
    t = Trainer({"m": LinearClassifier(random_state=0)}, X, y)
    with pytest.raises(ValueError, match=r"X must have shape \(N, 30\)"):
        t.accuracy(X[:, :29], y)
    with pytest.raises(ValueError, match="y shape"):
        t.accuracy(X, y[:-1])
    assert t.accuracy(X[:0], y[:0]) == {"m": 0.0}
