"""LinearClassifier: estimator contract, gradients of the full loss, SGD mechanics, real-data accuracy."""
import gzip
import math
import time

import numpy as np
import pytest
from conftest import shared_path

from core.gradcheck import check_gradient
from core.linear import LinearClassifier, LossParts, Record, TrainingDiverged
from core.preprocess import Preprocessor
from core.validation import NotFittedError


def _blobs(n_per=60, c=3, d=5, seed=0, sep=4.0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=sep, size=(c, d))
    X = np.concatenate([centres[k] + rng.normal(size=(n_per, d)) for k in range(c)]).astype(np.float32)
    y = np.repeat(np.arange(c), n_per)
    return X, y


# --------------------------------------------------------------------------- estimator contract
def test_init_stores_params_unchanged_and_validates_nothing():
    m = LinearClassifier(loss="nonsense", learning_rate=-1.0, batch_size=0, random_state="x")
    p = m.get_params()
    assert p["loss"] == "nonsense" and p["learning_rate"] == -1.0 and p["batch_size"] == 0
    assert set(p) == {"loss", "penalty", "reg", "learning_rate", "batch_size", "init_scale", "delta",
                      "momentum", "random_state"}
    assert not [k for k in vars(m) if k.endswith("_")]
    with pytest.raises(TypeError):
        LinearClassifier("softmax")  # keyword-only


def test_get_set_params_round_trip_and_clone():
    from sklearn.base import clone
    m = LinearClassifier(loss="hinge", reg=0.5, momentum=0.9, random_state=3)
    m2 = LinearClassifier(**m.get_params())
    assert m2.get_params() == m.get_params()
    assert clone(m).get_params() == m.get_params()
    assert m.set_params(learning_rate=0.1) is m and m.learning_rate == 0.1
    with pytest.raises(ValueError, match="invalid parameter 'lr'"):
        m.set_params(lr=0.1)
    assert "loss='hinge'" in repr(m)


@pytest.mark.parametrize("params, match", [
    ({"learning_rate": -0.1}, "learning_rate must be a finite number > 0 .*learning_rate=-0.1"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"reg": -1}, "reg must be a finite number >= 0"),
    ({"loss": "svm"}, "loss must be one of"),
    ({"penalty": "l3"}, "penalty must be one of"),
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"momentum": 1.0}, "momentum must be >= 0 and < 1"),
    ({"init_scale": -1e-3}, "init_scale"),
])
def test_validation_happens_in_fit(params, match):
    X, y = _blobs()
    m = LinearClassifier(**params)
    with pytest.raises(ValueError, match=match):
        m.fit(X, y, epochs=1)


def test_fit_rejects_bad_data():
    X, y = _blobs()
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LinearClassifier().fit(Xn, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LinearClassifier().fit(X, np.zeros(len(y), dtype=int))
    with pytest.raises(ValueError, match="different lengths"):
        LinearClassifier().fit(X, y[:-1])
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        LinearClassifier(batch_size=2.5).fit(X, y)


def test_predict_before_fit_names_the_class():
    m = LinearClassifier()
    for call in (lambda: m.predict(np.zeros((1, 3))), lambda: m.score(np.zeros((1, 3)), [0]),
                 lambda: m.decision_function(np.zeros((1, 3))), lambda: m.templates((1, 3))):
        with pytest.raises(NotFittedError, match="LinearClassifier"):
            call()


def test_seeded_fits_repeat_exactly_and_seeds_matter():
    X, y = _blobs()
    a = LinearClassifier(random_state=7, momentum=0.5).fit(X, y, epochs=3)
    b = LinearClassifier(random_state=7, momentum=0.5).fit(X, y, epochs=3)
    c = LinearClassifier(random_state=8, momentum=0.5).fit(X, y, epochs=3)
    np.testing.assert_array_equal(a.W_, b.W_)
    np.testing.assert_array_equal(a.b_, b.b_)
    assert a.history_ == b.history_
    assert not np.array_equal(a.W_, c.W_)


def test_learned_state_shapes_and_init():
    X, y = _blobs(d=400)
    m = LinearClassifier(init_scale=0.01, random_state=0).fit(X, y, epochs=0)
    assert m.W_.shape == (3, 400) and m.W_.dtype == np.float32
    assert m.b_.shape == (3,) and m.b_.dtype == np.float32 and not m.b_.any()
    assert m.W_.std() == pytest.approx(0.01, rel=0.1)
    np.testing.assert_array_equal(m.W_, (0.01 * np.random.default_rng(0).standard_normal((3, 400))).astype(np.float32))
    assert m.n_iter_ == 0 and m.history_ == [] and m.n_features_in_ == 400


def test_learns_blobs_and_keeps_history():
    X, y = _blobs()
    m = LinearClassifier(loss="softmax", learning_rate=0.1, batch_size=32, random_state=0)
    m.fit(X, y, epochs=5, X_val=X[::2], y_val=y[::2])
    assert m.score(X, y) > 0.95
    assert m.n_iter_ == 5 * math.ceil(180 / 32) == len(m.history_)
    ends = [r for r in m.history_ if r.epoch_end]
    assert [r.epoch for r in ends] == [1, 2, 3, 4, 5]
    assert all(r.train_accuracy is not None and r.val_accuracy is not None for r in ends)
    assert isinstance(m.history_[0], Record) and m.history_[0].iteration == 1
    assert m.history_[-1].total_loss < m.history_[0].total_loss


def test_arbitrary_labels_and_explicit_classes():
    X, y = _blobs()
    labels = np.array([3, 7, 9])[y]
    m = LinearClassifier(learning_rate=0.1, random_state=0).fit(X, labels, epochs=5)
    np.testing.assert_array_equal(m.classes_, [3, 7, 9])
    assert set(np.unique(m.predict(X))) <= {3, 7, 9}
    assert m.score(X, labels) > 0.9
    m2 = LinearClassifier(random_state=0).fit(X, y, epochs=1, classes=np.arange(5))
    assert m2.W_.shape[0] == 5
    assert m.score(X, y) == 0.0  # labels 0..2 are not among the classes 3, 7, 9
    with pytest.raises(ValueError, match="does not know"):
        m.compute_loss(X, y)


class _Spy(LinearClassifier):
    """Records the first feature of every minibatch it is trained on."""

    def _step(self, X, idx, yb, it, jobs, buf, next_idx=None):     # every SGD step comes through here
        self.seen.append((X if idx is None else X[idx])[:, 0].copy())
        return super()._step(X, idx, yb, it, jobs, buf, next_idx)


def test_each_epoch_is_a_new_shuffle_of_all_examples():
    X, y = _blobs()
    m = _Spy(batch_size=50, random_state=0)
    m.seen = []
    m.fit(X, y, epochs=2)
    assert [len(b) for b in m.seen] == [50, 50, 50, 30] * 2
    e1, e2 = np.concatenate(m.seen[:4]), np.concatenate(m.seen[4:])
    assert sorted(e1.tolist()) == sorted(X[:, 0].tolist()) == sorted(e2.tolist())
    assert not np.array_equal(e1, X[:, 0]) and not np.array_equal(e1, e2)


def test_partial_fit_is_one_epoch():
    X, y = _blobs()
    m = LinearClassifier(batch_size=60, random_state=0)
    m.partial_fit(X, y)
    assert m.n_iter_ == 3
    m.partial_fit(X, y)
    assert m.n_iter_ == 6 and m.history_[-1].epoch == 2


# --------------------------------------------------------------------------- the full loss
@pytest.mark.parametrize("loss", ["softmax", "hinge", "ova_hinge"])
@pytest.mark.parametrize("penalty", ["l2", "l1"])
def test_full_loss_gradients(loss, penalty):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(15, 6))
    y = rng.integers(0, 4, 15)
    m = LinearClassifier(loss=loss, penalty=penalty, reg=0.3, random_state=0).fit(X, y, epochs=0, classes=np.arange(4))
    W = rng.normal(scale=0.5, size=(4, 6))
    b = rng.normal(scale=0.5, size=4)
    parts = m.compute_loss(X, y, W=W, b=b)
    assert isinstance(parts, LossParts) and parts.dW.dtype == np.float64
    assert parts.total == pytest.approx(parts.data + parts.reg)
    rw = check_gradient(lambda w: m.compute_loss(X, y, W=w, b=b).total, W, parts.dW)
    rb = check_gradient(lambda v: m.compute_loss(X, y, W=W, b=v).total, b, parts.db)
    assert rw.relative_error < 1e-7, rw.relative_error
    assert rb.relative_error < 1e-7, rb.relative_error


def test_bias_is_not_regularized():
    X, y = _blobs()
    m = LinearClassifier(reg=10.0, random_state=0).fit(X, y, epochs=0)
    b = np.array([5.0, -5.0, 0.0])
    p0 = m.compute_loss(X, y, W=m.W_.astype(np.float64), b=np.zeros(3))
    p1 = m.compute_loss(X, y, W=m.W_.astype(np.float64), b=b)
    assert p0.reg == p1.reg == pytest.approx(10.0 * float(np.sum(m.W_.astype(np.float64) ** 2)))


@pytest.mark.parametrize("loss, expected", [("softmax", math.log(10)), ("hinge", 9.0)])
def test_initial_loss_sanity_check(loss, expected):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 100)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    m = LinearClassifier(loss=loss, init_scale=1e-4, random_state=0).fit(X, y, epochs=0)
    assert m.compute_loss(X, y).data == pytest.approx(expected, rel=0.01)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("penalty", ["l2", "l1", None])
def test_sgd_step_is_gradient_descent(momentum, penalty):
    X, y = _blobs(d=8)
    m = LinearClassifier(learning_rate=0.05, reg=0.1, penalty=penalty, momentum=momentum, random_state=0)
    m.fit(X, y, epochs=0)
    xb, yb = X[:20], y[:20]
    v = np.zeros_like(m.W_, dtype=np.float64)
    for _ in range(3):
        W0 = m.W_.astype(np.float64)
        parts = m.compute_loss(xb, yb, W=W0, b=m.b_.astype(np.float64))
        r = m.sgd_step(xb, yb)
        assert r.total_loss == pytest.approx(parts.total, rel=1e-4)
        v = momentum * v - 0.05 * parts.dW
        np.testing.assert_allclose(m.W_, W0 + v, rtol=1e-4, atol=1e-6)
    assert m.n_iter_ == 3


def test_divergence_in_fit_keeps_finite_weights():
    X, y = _blobs()
    m = LinearClassifier(loss="hinge", learning_rate=1e12, random_state=0)
    with pytest.raises(TrainingDiverged, match=r"at iteration \d+ \(learning rate 1e\+12 is too large; try 1e\+11\)"):
        m.fit(X, y, epochs=50)
    assert np.isfinite(m.W_).all() and np.isfinite(m.b_).all()
    assert np.isfinite(m.decision_function(X)).all()


def test_predictions_and_templates():
    X, y = _blobs(d=12)
    m = LinearClassifier(learning_rate=0.1, random_state=0).fit(X, y, epochs=3)
    s = m.decision_function(X)
    assert s.shape == (180, 3) and s.dtype == np.float32
    np.testing.assert_allclose(s, X @ m.W_.T + m.b_, rtol=1e-6)
    np.testing.assert_array_equal(m.predict(X), s.argmax(axis=1))
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)
    assert m.templates((2, 2, 3)).shape == (3, 2, 2, 3)
    assert m.templates((2, 6), shared=True).dtype == np.uint8
    with pytest.raises(ValueError, match="5 features but the classifier expects 12"):
        m.predict(X[:, :5])


# --------------------------------------------------------------------------- real data
def _mnist_split():
    folder = shared_path("mnist")
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz") as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28, 1)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    perm = np.random.default_rng(0).permutation(len(y))
    tr, te = perm[:8000], perm[8000:]
    p = Preprocessor().fit(X[tr])
    return p.transform(X[tr]), y[tr], p.transform(X[te]), y[te]


@pytest.mark.slow
def test_mnist_accuracy_close_to_logistic_regression():
    """Real MNIST t10k, 8000 train / 2000 test, pixels/255 minus the mean image for both.

    LogisticRegression gets the same objective: mean log-loss + reg * ||W||^2 <=> C = 1 / (2 reg N).
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits
    t0 = time.perf_counter()
    A, ytr, B, yte = _mnist_split()
    reg = 1e-3
    soft = LinearClassifier(loss="softmax", learning_rate=0.5, reg=reg, random_state=0).fit(A, ytr, epochs=15)
    hinge = LinearClassifier(loss="hinge", learning_rate=0.05, reg=reg, random_state=0).fit(A, ytr, epochs=15)
    with threadpool_limits(1):  # 2 BLAS threads on 2 busy shared cores made lbfgs ~8x slower
        lr = LogisticRegression(C=1 / (2 * reg * len(ytr)), max_iter=200).fit(A, ytr)
    ref = lr.score(B, yte)
    acc_soft, acc_hinge = soft.score(B, yte), hinge.score(B, yte)
    elapsed = time.perf_counter() - t0
    print(f"MNIST: LogisticRegression {ref:.3f}, softmax {acc_soft:.3f}, hinge {acc_hinge:.3f}, {elapsed:.1f}s")
    assert ref > 0.88
    assert abs(acc_soft - ref) <= 0.02
    assert acc_hinge >= ref - 0.03
