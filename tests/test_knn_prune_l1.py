"""core._prune_l1: the pooled lower bound that lets L1 kNN skip most exact distances.

The search must give exactly the full search's answer (the k nearest, ties to the lower index), so
every test compares against an independent int64 brute force or the full search.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import _prune_l1, knn
from core.distances import TrainSet, paired_keys
from core.knn import KNearestNeighbor
from tests.conftest import shared_path
from tests.test_knn import read_idx_gz


def brute_l1(Q, X, k):
    """Exact int64 L1 distances, ordered by (distance, index)."""
    D = np.abs(Q.astype(np.int64)[:, None, :] - X.astype(np.int64)[None, :, :]).sum(axis=2)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=1)[:, :k]
    return np.take_along_axis(D, order, axis=1), order


def pooled(X, Q, k):
    """kneighbors that must take the pooled search (fails if it did not)."""
    model = KNearestNeighbor(k, "l1").fit(X, np.zeros(len(X), int))
    out = model.kneighbors(Q, k)
    assert model._pooled is not None, "the pooled search was not used"
    return out


def _images(rng, n, d=768):
    """Smooth-ish images: a random walk along the features, so neighbouring features move together."""
    steps = rng.integers(-20, 21, (n, d)).cumsum(axis=1) + rng.integers(0, 256, (n, 1))
    return np.clip(steps, 0, 255).astype(np.uint8)


@settings(max_examples=60, deadline=None)
@given(d=st.integers(1, 70), seed=st.integers(0, 2**31))
def test_property_the_pooled_bound_never_exceeds_the_distance(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 256, (6, d), dtype=np.uint8)
    B = np.concatenate([rng.integers(0, 256, (6, d), dtype=np.uint8), A[:2], 255 - A[2:4]])
    qa, qb = _prune_l1.pool(A).astype(np.int64), _prune_l1.pool(B).astype(np.int64)
    groups = qa.shape[1]
    assert groups == -(-d // 4)
    padded = np.zeros((len(A), 4 * groups), dtype=np.int64)
    padded[:, :d] = A
    np.testing.assert_array_equal(qa, padded.reshape(len(A), groups, 4).sum(axis=2) // 4)
    lb = 4 * np.abs(qa[:, None, :] - qb[None, :, :]).sum(axis=2) - 3 * groups
    exact = np.abs(A.astype(np.int64)[:, None, :] - B.astype(np.int64)[None, :, :]).sum(axis=2)
    assert (lb <= exact).all()


def test_exact_l1_matches_the_direct_pairs():
    rng = np.random.default_rng(3)
    A = rng.integers(0, 256, (30, 3072), dtype=np.uint8)
    X = rng.integers(0, 256, (500, 3072), dtype=np.uint8)
    rows = np.sort(rng.integers(0, 30, 400))
    cols = rng.integers(0, 500, 400)
    got = _prune_l1.exact_l1(A, A.sum(1, dtype=np.int64).astype(float), X, X.sum(1, dtype=np.int64).astype(float),
                             rows, cols)
    np.testing.assert_array_equal(got, paired_keys(A, rows, X, cols, "l1"))
    assert _prune_l1.exact_l1(A, A.sum(1).astype(float), X, X.sum(1).astype(float), rows[:0], cols[:0]).size == 0


@pytest.mark.parametrize("d", [768, 781])           # 781: the last group padded with zeros
def test_same_neighbours_as_an_int64_brute_force(d):
    rng = np.random.default_rng(4)
    X = _images(rng, 4200, d)
    X[4100:] = X[:100]                               # exact copies: ties go to the lower index
    Q = np.concatenate([_images(rng, 70, d), X[:30]])
    for k in (1, 5, 10, 42):
        dist, idx = pooled(X, Q, k)
        bd, bi = brute_l1(Q, X, k)
        np.testing.assert_array_equal(idx, bi)
        np.testing.assert_array_equal(dist, bd.astype(np.float32))
    assert (idx[70:, 0] == np.arange(30)).all()      # a copy of training image i: i itself, not i + 4100


def test_binary_and_constant_images_with_many_exact_ties():
    rng = np.random.default_rng(5)
    X = rng.integers(0, 2, (4500, 256), dtype=np.uint8) * 255
    X[:50] = 0
    X[50:100] = 255
    Q = np.concatenate([rng.integers(0, 2, (80, 256), dtype=np.uint8) * 255, X[:4], X[60:64]])
    for k in (1, 9):
        np.testing.assert_array_equal(pooled(X, Q, k)[1], brute_l1(Q, X, k)[1])


def test_noise_images_defeat_the_bound_and_fall_back_to_the_full_search(monkeypatch):
    rng = np.random.default_rng(6)
    X = rng.integers(0, 256, (4200, 512), dtype=np.uint8)
    Q = rng.integers(0, 256, (80, 512), dtype=np.uint8)
    dense = []
    real = knn._dense_search
    monkeypatch.setattr(knn, "_dense_search", lambda A, *a: dense.append(len(A)) or real(A, *a))
    np.testing.assert_array_equal(pooled(X, Q, 3)[1], brute_l1(Q, X, 3)[1])
    assert dense and dense[0] > 40                   # most queries: no narrowing on noise


def test_small_problems_brute_force_and_float_data_do_not_pool():
    rng = np.random.default_rng(7)
    X = _images(rng, 5000, 128)
    Q = _images(rng, 100, 128)
    y = np.zeros(len(X), int)
    for model, A in ((KNearestNeighbor(3, "l1").fit(X[:4000], y[:4000]), Q),      # M < 4096
                     (KNearestNeighbor(3, "l1").fit(X, y), Q[:63]),               # < 64 queries
                     (KNearestNeighbor(3, "l1", "brute").fit(X, y), Q),
                     (KNearestNeighbor(60, "l1").fit(X, y), Q),                   # k > max(10, M / 100)
                     (KNearestNeighbor(3, "l1").fit(X.astype(np.float32), y), Q)):
        model.kneighbors(A)
        assert model._pooled is None
    assert _prune_l1.worth_it(100, 5000, 128, 50) and not _prune_l1.worth_it(100, 5000, 128, 51)


@pytest.fixture(scope="module")
def mnist_pixels():
    images = read_idx_gz(shared_path("mnist", "t10k-images-idx3-ubyte.gz"))
    return images.reshape(len(images), -1)


@pytest.mark.parametrize("k", [1, 7, 10])
def test_real_mnist_same_neighbours_as_the_full_search(mnist_pixels, k):
    X, Q = mnist_pixels[:8000], mnist_pixels[8000:8600]
    dist, idx = pooled(X, Q, k)
    ref_d, ref_i = KNearestNeighbor(k, "l1", "brute").fit(X, np.zeros(8000, int)).kneighbors(Q)
    np.testing.assert_array_equal(idx, ref_i)
    np.testing.assert_array_equal(dist, ref_d)


def test_real_cifar10_same_neighbours_as_the_full_search_k10_and_k100():
    """Real CIFAR-10 (10000 training JPEGs, 200 test images): k = 10 and k = 100 (M / 100)."""
    from core.datasets import load
    ds = load(str(shared_path("cifar10", "yoongikim_jpg")))
    X, Q = ds.X_train.reshape(len(ds.X_train), -1), ds.X_test[:200].reshape(200, -1)
    for k in (10, 100):
        dist, idx = pooled(X, Q, k)
        ref_d, ref_i = KNearestNeighbor(k, "l1", "brute").fit(X, np.zeros(len(X), int)).kneighbors(Q)
        np.testing.assert_array_equal(idx, ref_i)
        np.testing.assert_array_equal(dist, ref_d)
    assert TrainSet(_prune_l1.pool(X), "l1").d == 768
