"""core.knn: exact neighbours, the tie rule, many-k from one pass, real MNIST vs scikit-learn."""
from __future__ import annotations

import gzip

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from core.knn import TIE_RULE, KNearestNeighbor, vote
from core.progress import Cancelled
from core.validation import NotFittedError
from tests.conftest import shared_path

SCIPY = {"l1": "cityblock", "l2": "euclidean"}


def read_idx_gz(path) -> np.ndarray:
    """Tiny IDX reader (independent of core.datasets): magic, dims, uint8 payload."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert raw[:2] == b"\x00\x00" and raw[2] == 0x08, f"{path}: not an unsigned-byte IDX file"
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def reference_kneighbors(A, B, k, metric):
    """Exact float64 distances; order by (distance, training index)."""
    D = cdist(A.astype(np.float64), B.astype(np.float64), SCIPY[metric])
    cols = np.broadcast_to(np.arange(B.shape[0]), D.shape)
    order = np.lexsort((cols, D), axis=1)[:, :k]
    return np.take_along_axis(D, order, axis=1), order


# -- neighbours -------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("kind", ["uint8", "float32", "float64"])
def test_kneighbors_matches_reference_with_duplicates(metric, kind):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (300, 40)).astype(kind)
    X[200:230] = X[0:30]                      # exact duplicates: ties must go to the lower index
    X[250:260] = X[5]
    y = rng.integers(0, 4, 300)
    Q = np.concatenate([X[:10], rng.integers(0, 256, (25, 40)).astype(kind)])
    dist, idx = KNearestNeighbor(7, metric).fit(X, y).kneighbors(Q)
    rd, ri = reference_kneighbors(Q, X, 7, metric)
    assert dist.dtype == np.float32 and idx.dtype == np.int64 and dist.shape == (35, 7)
    np.testing.assert_array_equal(idx, ri)
    np.testing.assert_allclose(dist, rd, rtol=1e-6)
    assert (np.diff(dist, axis=1) >= 0).all()
    assert (dist[:10, 0] == 0).all()


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_exact_order_at_near_ties_on_cifar_sized_images(metric):
    # D=3072 bright images: float32 sums are inexact, and neighbours differ by 1 in d^2.
    rng = np.random.default_rng(1)
    base = rng.integers(60, 200, (1, 3072), dtype=np.uint8)
    X = np.repeat(base, 40, axis=0)
    for j in range(40):
        X[j, rng.choice(3072, size=1 + j % 5, replace=False)] += 1 + (j % 3)
    X = np.concatenate([X, rng.integers(0, 256, (500, 3072), dtype=np.uint8)])
    rng.shuffle(X)
    Q = np.concatenate([base, np.clip(base.astype(int) + 1, 0, 255).astype(np.uint8)])
    dist, idx = KNearestNeighbor(12, metric).fit(X, np.zeros(len(X), int)).kneighbors(Q)
    rd, ri = reference_kneighbors(Q, X, 12, metric)
    np.testing.assert_array_equal(idx, ri)
    np.testing.assert_allclose(dist, rd, rtol=1e-7)


def test_kneighbors_on_large_train_set_uses_group_selection():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5000, 16)).astype(np.float32)
    Q = rng.normal(size=(40, 16)).astype(np.float32)
    for k in (1, 5, 30):
        _, idx = KNearestNeighbor(k).fit(X, np.zeros(5000, int)).kneighbors(Q)
        np.testing.assert_array_equal(idx, reference_kneighbors(Q, X, k, "l2")[1])


def test_images_are_flattened_and_features_checked():
    rng = np.random.default_rng(3)
    imgs = rng.integers(0, 256, (20, 4, 4, 3), dtype=np.uint8)
    knn = KNearestNeighbor(1).fit(imgs, np.arange(20) % 3)
    assert knn.X_.shape == (20, 48) and knn.X_.dtype == np.uint8
    np.testing.assert_array_equal(knn.predict(imgs), np.arange(20) % 3)
    with pytest.raises(ValueError, match="X has 12 features per image.*fitted with 48"):
        knn.predict(np.zeros((2, 12)))


def test_not_fitted_and_k_errors():
    with pytest.raises(NotFittedError, match="not fitted"):
        KNearestNeighbor().predict(np.zeros((1, 2)))
    knn = KNearestNeighbor(k=7).fit(np.eye(5), np.arange(5))
    msg = r"k must be <= the number of training images \(got k=7, n_train=5\)"
    with pytest.raises(ValueError, match=msg):
        knn.predict(np.eye(5))
    with pytest.raises(ValueError, match="k must be >= 1"):
        knn.kneighbors(np.eye(5), k=0)
    with pytest.raises(ValueError, match="metric must be one of"):
        KNearestNeighbor(metric="cosine").fit(np.eye(2), [0, 1])


def test_metric_can_change_after_fit():
    X = np.array([[0, 0], [3, 0], [0, 2.5]])
    knn = KNearestNeighbor(1).fit(X, [0, 1, 2])
    q = np.array([[2.0, 1.9]])                       # L2 nearer to (3,0)?  L1: 2.9 vs 2.6
    l2 = knn.kneighbors(q)[1][0, 0]
    knn.metric = "l1"
    l1 = knn.kneighbors(q)[1][0, 0]
    assert (l2, l1) == (np.argmin(cdist(q, X)), np.argmin(cdist(q, X, "cityblock")))


# -- voting ------------------------------------------------------------------------------
def test_tie_rule_examples():
    assert "closest" in TIE_RULE
    # 2-2 tie between classes 1 and 0: class 1's nearest member (dist 1.0) is closer.
    r = vote([[1, 0, 0, 1]], [[1.0, 2.0, 3.0, 4.0]], n_classes=3)
    assert r.pred.tolist() == [1] and r.tied.tolist() == [True]
    assert r.tally.tolist() == [[2, 2, 0]]
    # same labels, distances in another order: class 0 now owns the nearest neighbour.
    r = vote([[1, 0, 0, 1]], [[5.0, 2.0, 3.0, 4.0]], n_classes=3)
    assert r.pred.tolist() == [0] and r.tied.tolist() == [True]
    # a clear majority is not a tie, even if the nearest neighbour disagrees.
    r = vote([[2, 1, 1]], [[0.1, 0.5, 0.6]])
    assert r.pred.tolist() == [1] and r.tied.tolist() == [False]
    # three-way tie at equal distances: the first listed (lower training index) wins.
    r = vote([[2, 0, 1]], [[1.0, 1.0, 1.0]])
    assert r.pred.tolist() == [2] and r.tied.tolist() == [True]
    # a class outside the tie never wins, even if it is nearest.
    r = vote([[3, 1, 2, 2, 1]], [[0.1, 0.2, 0.3, 0.4, 0.5]])
    assert r.pred.tolist() == [1] and r.tied.tolist() == [True]


def test_vote_validation():
    with pytest.raises(ValueError, match="same shape"):
        vote([[0, 1]], [[1.0]])
    with pytest.raises(ValueError, match="n_classes=2"):
        vote([[0, 2]], [[1.0, 2.0]], n_classes=2)


def test_predict_many_k_equals_predict_for_each_k():
    rng = np.random.default_rng(4)
    X = rng.integers(0, 256, (400, 30), dtype=np.uint8)
    y = rng.integers(0, 5, 400)
    Q = rng.integers(0, 256, (60, 30), dtype=np.uint8)
    knn = KNearestNeighbor(3).fit(X, y)
    ks = [1, 2, 3, 4, 7, 10, 25]
    many = knn.predict_many_k(Q, ks)
    assert sorted(many) == ks
    for k in ks:
        np.testing.assert_array_equal(many[k], knn.predict(Q, k=k))
        dist, idx = knn.kneighbors(Q, k)
        np.testing.assert_array_equal(many[k], knn.vote(y[idx], dist).pred)
    assert knn.score(Q, y[:60], k=3) == np.mean(knn.predict(Q) == y[:60])


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_progress_increases_and_cancel_raises(metric, monkeypatch):
    from core import distances
    monkeypatch.setattr(distances, "BLOCK_BYTES", 4 * 320 * 16)      # 16 rows per block
    rng = np.random.default_rng(5)
    X = rng.integers(0, 256, (300, 20), dtype=np.uint8)
    knn = KNearestNeighbor(3, metric).fit(X, rng.integers(0, 3, 300))
    seen = []
    knn.kneighbors(X[:50], progress=lambda d, t, m: seen.append((d, t, m)))
    assert [s[0] for s in seen] == [16, 32, 48, 50] and all(s[1] == 50 for s in seen)
    assert "50/50" in seen[-1][2]
    polls = []
    with pytest.raises(Cancelled):
        knn.predict(X[:50], cancel=lambda: polls.append(1) or len(polls) >= 2)


# -- real data ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mnist():
    images = read_idx_gz(shared_path("mnist", "t10k-images-idx3-ubyte.gz"))
    labels = read_idx_gz(shared_path("mnist", "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    X = images.reshape(len(images), -1)
    return X[:8000], labels[:8000], X[8000:], labels[8000:]


@pytest.mark.slow
@pytest.mark.parametrize("metric,n_test", [("l2", 2000), ("l1", 300)])
def test_mnist_k1_matches_sklearn_brute(mnist, metric, n_test):
    """Same 1-NN predictions as scikit-learn's float64 brute force on real digits.

    Predictions may only differ where the two nearest training images are at exactly the
    same distance (a tie each library may break its own way); we count those rows.
    """
    from sklearn.neighbors import KNeighborsClassifier
    Xtr, ytr, Xte, yte = mnist
    Xte, yte = Xte[:n_test], yte[:n_test]
    ours = KNearestNeighbor(1, metric).fit(Xtr, ytr)
    dist, idx = ours.kneighbors(Xte, 2)
    pred = ours.predict(Xte)
    sk_metric = {"l2": "euclidean", "l1": "manhattan"}[metric]
    sk = KNeighborsClassifier(n_neighbors=1, algorithm="brute", metric=sk_metric).fit(Xtr, ytr)
    sk_dist, sk_idx = sk.kneighbors(Xte, 2)          # float64: exact for integer pixels
    sk_pred = ytr[sk_idx[:, 0]]
    ties = sk_dist[:, 0] == sk_dist[:, 1]
    differ = pred != sk_pred
    assert not (differ & ~ties).any(), f"{int((differ & ~ties).sum())} disagreements without a tie"
    assert int(differ.sum()) == 0 and int(ties.sum()) == 0          # none on this split
    np.testing.assert_array_equal(idx[~ties, 0], sk_idx[~ties, 0])
    np.testing.assert_allclose(dist, sk_dist, rtol=1e-6)
    np.testing.assert_array_equal(pred, ytr[idx[:, 0]])
    assert np.mean(pred == yte) > 0.94


# -- property: any small problem matches the float64 reference exactly -------------------------
@settings(max_examples=40, deadline=None)
@given(n_train=st.integers(1, 300), n_test=st.integers(1, 20), d=st.integers(1, 40),
                  k=st.integers(1, 12), metric=st.sampled_from(["l1", "l2"]),
                  kind=st.sampled_from(["uint8", "float32", "float64"]), levels=st.sampled_from([2, 256]),
                  seed=st.integers(0, 2**31))
def test_kneighbors_property(n_train, n_test, d, k, metric, kind, levels, seed):
    # levels=2 gives binary images: many exact ties, which must go to the lower index.
    k = min(k, n_train)
    rng = np.random.default_rng(seed)
    X = rng.integers(0, levels, (n_train, d)).astype(kind)
    Q = rng.integers(0, levels, (n_test, d)).astype(kind)
    dist, idx = KNearestNeighbor(k, metric).fit(X, np.zeros(n_train, int)).kneighbors(Q)
    rd, ri = reference_kneighbors(Q, X, k, metric)
    np.testing.assert_array_equal(idx, ri)
    np.testing.assert_allclose(dist, rd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("k", [2, 5])
def test_neighbours_one_unit_apart_are_ordered_exactly_despite_float32_keys(k):
    """Each query is a training image plus noise, and a twin of that image -- one pixel one level
    brighter, stored at a lower index -- is one squared unit farther. The float32 keys (~5e7, a float32
    step of 4) cannot tell the two apart; only re-measuring close keys exactly (knn._select) puts the
    image before its twin. 3072 bright/dark pixels make the norms as large as CIFAR-10's; the noise keeps the distances out
    of reach of the near-zero repair."""
    rng = np.random.default_rng(11)
    base = rng.choice(np.array([20, 235], dtype=np.uint8), size=(40, 3072))
    twin = base.copy()
    twin[:, 100] += 1                                    # one level brighter at pixel 100
    X = np.concatenate([twin, base, rng.integers(0, 256, (200, 3072), dtype=np.uint8)])
    Q = (base + rng.integers(-15, 16, base.shape)).astype(np.uint8)    # d^2 ~ 250000: not "near zero"
    Q[:, 100] = base[:, 100]                             # so the twin is exactly one squared unit farther
    model = KNearestNeighbor(k, "l2", "brute").fit(X, np.zeros(len(X), dtype=np.int64))
    dist, idx = model.kneighbors(Q)
    d2 = ((Q.astype(np.int64) - X[idx[:, 0]].astype(np.int64)) ** 2).sum(axis=1)
    d2_twin = ((Q.astype(np.int64) - twin.astype(np.int64)) ** 2).sum(axis=1)
    np.testing.assert_array_equal(d2_twin, d2 + 1)
    np.testing.assert_array_equal(idx[:, 0], np.arange(40) + 40)    # the image itself ...
    np.testing.assert_array_equal(idx[:, 1], np.arange(40))         # ... then its twin
