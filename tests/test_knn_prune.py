"""core._prune: the projection lower bound that lets kNN skip most exact distances.

The search must give exactly the full search's answer (the k nearest, ties to the lower index),
so every test compares against an independent integer (int64) brute force or the full search itself.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import _prune
from core.knn import KNearestNeighbor
from core.progress import Cancelled
from tests.conftest import shared_path
from tests.test_knn import read_idx_gz


def brute(Q, X, k):
    """Exact integer squared distances (int64), ordered by (distance, index)."""
    Qi, Xi = Q.astype(np.int64), X.astype(np.int64)
    D = (Qi * Qi).sum(1)[:, None] + (Xi * Xi).sum(1)[None, :] - 2 * Qi @ Xi.T
    cols = np.broadcast_to(np.arange(len(X)), D.shape)
    order = np.lexsort((cols, D), axis=1)[:, :k]
    return np.take_along_axis(D, order, axis=1), order


def full_search(X, Q, k, monkeypatch=None):
    model = KNearestNeighbor(k, algorithm="brute").fit(X, np.zeros(len(X), int))
    out = model.kneighbors(Q, k)
    assert getattr(model, "_proj", None) is None
    return out


def pruned(X, Q, k):
    model = KNearestNeighbor(k).fit(X, np.zeros(len(X), int))
    out = model.kneighbors(Q, k)
    assert model._proj is not None, "the pruned search was not used"
    return out


@pytest.fixture(scope="module")
def mnist_pixels():
    images = read_idx_gz(shared_path("mnist", "t10k-images-idx3-ubyte.gz"))
    return images.reshape(len(images), -1)


@pytest.mark.parametrize("k", [1, 7, 10])
def test_real_mnist_same_neighbours_as_the_full_search_and_brute_force(mnist_pixels, k, monkeypatch):
    X, Q = mnist_pixels[:8000], mnist_pixels[8000:8600]
    dist, idx = pruned(X, Q, k)
    full_d, full_i = full_search(X, Q, k, monkeypatch)
    bd, bi = brute(Q, X, k)
    np.testing.assert_array_equal(idx, bi)
    np.testing.assert_array_equal(idx, full_i)
    np.testing.assert_array_equal(dist, np.sqrt(bd).astype(np.float32))   # exact, not just close
    np.testing.assert_allclose(full_d, dist, rtol=1e-5)


def _images(rng, n, d=768, levels=256):
    """Smooth 'images': a few shared patterns plus noise, so the projection bound is tight."""
    basis = rng.integers(0, 256, (8, d)).astype(np.float64)
    mix = rng.dirichlet(np.ones(8), n)
    noise = rng.integers(-20, 21, (n, d))
    X = np.clip(mix @ basis + noise, 0, 255)
    return np.round(X * (levels - 1) / 255).astype(np.uint8)


def test_duplicates_and_exact_copies_tie_to_the_lower_index(monkeypatch):
    rng = np.random.default_rng(0)
    X = _images(rng, 5000)
    X[4000:4300] = X[0:300]                      # duplicates: equal distances everywhere
    X[4500:4510] = X[7]
    Q = np.concatenate([X[:40], X[4505:4506].repeat(5, 0), _images(rng, 100)])
    for k in (1, 5, 10):
        dist, idx = pruned(X, Q, k)
        bd, bi = brute(Q, X, k)
        np.testing.assert_array_equal(idx, bi)
        assert (dist[:40, 0] == 0).all() and (idx[:40, 0] == np.arange(40)).all()
        assert idx[40, 0] == 7                   # the lowest of the 11 copies of image 7
        np.testing.assert_array_equal(idx, full_search(X, Q, k, monkeypatch)[1])


def test_binary_images_with_many_exact_ties():
    rng = np.random.default_rng(1)
    X = _images(rng, 4500, d=512, levels=2)      # 0/1 pixels: distances collide all the time
    Q = _images(rng, 120, d=512, levels=2)
    for k in (1, 4, 9):
        np.testing.assert_array_equal(pruned(X, Q, k)[1], brute(Q, X, k)[1])


def test_noise_images_defeat_the_bound_and_fall_back_to_the_full_search():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 256, (4200, 1024), dtype=np.uint8)
    Q = rng.integers(0, 256, (80, 1024), dtype=np.uint8)
    model = KNearestNeighbor(3).fit(X, np.zeros(len(X), int))
    d2, _, heavy = _prune.search_block(Q, model._train.query_stats(Q), X, model._train.sq_norms,
                                       model._projection(None), _buffer(Q, X), 3)
    assert heavy.size > 40                       # most queries: no narrowing on noise
    np.testing.assert_array_equal(model.kneighbors(Q)[1], brute(Q, X, 3)[1])


def test_saturated_and_constant_images_are_exact():
    # all-255 rows make every x.W sum as large as the scaling allows; constant images make the
    # mean direction dominate; the answer must not move.
    rng = np.random.default_rng(3)
    X = _images(rng, 4400)
    X[:50] = 255
    X[50:100] = 0
    X[100:150] = rng.integers(0, 256, (50, 1))
    Q = np.concatenate([np.full((3, X.shape[1]), 255, np.uint8), np.zeros((3, X.shape[1]), np.uint8),
                        X[100:110], _images(rng, 60)])
    np.testing.assert_array_equal(pruned(X, Q, 6)[1], brute(Q, X, 6)[1])


def _buffer(Q, X):
    from core import _topk
    return np.full((len(Q), _topk.padded_width(len(X))), np.inf, dtype=np.float32)


def test_basis_products_are_exact_integers_and_the_basis_is_orthonormal():
    rng = np.random.default_rng(4)
    X = _images(rng, 4096, d=3072)
    sq = (X.astype(np.float64) ** 2).sum(1)
    proj = _prune.Projection(X, sq)
    assert len(proj.bands) == _prune.BLOCKS and proj.p == sum(W.shape[1] for _, _, W, _ in proj.bands)
    assert [(lo, hi) for lo, hi, _, _ in proj.bands] == [(0, 768), (768, 1536), (1536, 2304), (2304, 3072)]
    worst = np.concatenate([np.full((1, 3072), 255, np.uint8), X[:200]])
    for lo, hi, W32, R_inv in proj.bands:
        W = W32.astype(np.float64)
        assert np.array_equal(W, np.round(W)) and (255 * np.abs(W).sum(0) < 2**24).all()
        exact = worst[:, lo:hi].astype(np.float64) @ W                # float64: exact for these integers
        np.testing.assert_array_equal((worst[:, lo:hi].astype(np.float32) @ W32).astype(np.float64), exact)
        U = W @ R_inv
        np.testing.assert_allclose(U.T @ U, np.eye(U.shape[1]), atol=1e-9)
    # each row of Z: (z, rho per band, N) with |z_band|^2 + rho_band^2 = the band's squared norm
    z, rho = proj.Z[:, :proj.p].astype(np.float64), proj.Z[:, proj.p:-1].astype(np.float64)
    col = 0
    for i, (lo, hi, W, _) in enumerate(proj.bands):
        band = (X[:, lo:hi].astype(np.float64) ** 2).sum(1)
        np.testing.assert_allclose((z[:, col:col + W.shape[1]] ** 2).sum(1) + rho[:, i] ** 2, band, rtol=1e-6)
        col += W.shape[1]
    np.testing.assert_array_equal(proj.Z[:, -1], sq.astype(np.float32))


@pytest.mark.parametrize("d", [784, 961, 3072, 4386, 4387, 12288, 65793])
def test_exact_distances_are_exact_for_any_width(d):
    # digits: 4 bits up to 4386 pixels, then 2 bits, then 1; all-255 rows are the worst case
    rng = np.random.default_rng(d)
    A = rng.integers(0, 256, (5, d), dtype=np.uint8)
    A[0] = 255
    X = rng.integers(0, 256, (40, d), dtype=np.uint8)
    X[:3] = 255
    X[3] = 0
    a_sq = (A.astype(np.float64) ** 2).sum(1)
    b_sq = (X.astype(np.float64) ** 2).sum(1)
    want = ((A[:, None, :].astype(np.int64) - X[None].astype(np.int64)) ** 2).sum(-1)
    rows = np.repeat(np.arange(5), 40)
    cols = np.tile(np.arange(40), 5)
    np.testing.assert_array_equal(_prune.exact_sq(A, a_sq, X, b_sq, rows, cols), want.ravel())
    np.testing.assert_array_equal(_prune.exact_rows(A, a_sq, X, b_sq, np.tile(np.arange(40), (5, 1))), want)
    assert _prune.digit_bits(d) == (4 if d <= 4386 else 2 if d <= 21930 else 1)
    assert _prune.digit_bits(65794) == 0 and not _prune.worth_it(1000, 10000, 65794, 1)


def test_the_lower_bound_never_exceeds_the_exact_distance():
    rng = np.random.default_rng(5)
    X = _images(rng, 4096, d=1024)
    X[:20] = 255
    Q = np.concatenate([_images(rng, 200, d=1024), X[:5], np.full((2, 1024), 255, np.uint8)])
    sq = (X.astype(np.float64) ** 2).sum(1)
    qsq = (Q.astype(np.float64) ** 2).sum(1)
    proj = _prune.Projection(X, sq)
    Za, margin = proj.query(Q, qsq)
    keys = Za @ proj.Z.T                                          # LB - N_a, float32 as in the search
    exact = brute(Q, X, len(X))
    d2 = np.empty((len(Q), len(X)))
    np.put_along_axis(d2, exact[1], exact[0].astype(np.float64), axis=1)
    slack = (d2 - qsq[:, None]) - keys.astype(np.float64)        # >= -margin is what the search needs
    assert (slack >= -margin[:, None]).all()
    lb = keys + qsq[:, None]
    assert np.median(lb / np.maximum(d2, 1)) > 0.5                # and it is a useful bound


def test_building_the_projection_can_be_cancelled():
    rng = np.random.default_rng(6)
    X = _images(rng, 9000, d=768)
    polls = []
    model = KNearestNeighbor(1).fit(X, np.zeros(len(X), int))
    with pytest.raises(Cancelled):
        model.kneighbors(_images(rng, 300, d=768), cancel=lambda: polls.append(1) or len(polls) > 2)
    assert model._proj is None


def test_small_problems_and_single_queries_do_not_build_a_projection():
    rng = np.random.default_rng(7)
    X = _images(rng, 5000)
    model = KNearestNeighbor(1).fit(X, np.zeros(len(X), int))
    model.kneighbors(X[:3])
    assert model._proj is None                                   # one image: not worth a basis
    assert not _prune.worth_it(1000, 5000, 64, 1)                # 8x8 digits: D is too small
    assert not _prune.worth_it(1000, 5000, 768, 100)             # k = 100: too many candidates
    assert not _prune.worth_it(1000, 5000, 300, 1)               # D too small for 4 bands x 64 directions
    assert _prune.worth_it(1000, 5000, 961, 1)                   # 31 x 31: any width works
    model.kneighbors(X[:300])
    assert model._proj is not None
    model.fit(X[:4500], np.zeros(4500, int))
    assert model._proj is None                                   # a new training set drops it


def test_algorithm_is_a_validated_parameter():
    model = KNearestNeighbor(3, algorithm="brute")
    assert model.get_params() == {"k": 3, "metric": "l2", "algorithm": "brute"}
    assert model.set_params(algorithm="auto").algorithm == "auto"
    with pytest.raises(ValueError, match="algorithm"):
        KNearestNeighbor(algorithm="kd_tree").fit(np.zeros((3, 2)), [0, 1, 2])


@pytest.mark.parametrize("kind", ["zeros", "all 255", "one image repeated", "two images", "rank 3",
                                  "one band black"])
def test_degenerate_training_sets_give_the_exact_answer(kind):
    """No spread to build a basis from, or very little: the search must still answer (shortcut or not)."""
    rng = np.random.default_rng(8)
    d = 512
    X = {"zeros": lambda: np.zeros((4500, d), np.uint8),
         "all 255": lambda: np.full((4500, d), 255, np.uint8),
         "one image repeated": lambda: np.tile(rng.integers(0, 256, (1, d), dtype=np.uint8), (4500, 1)),
         "two images": lambda: np.repeat(rng.integers(0, 256, (2, d), dtype=np.uint8), 2250, axis=0),
         "rank 3": lambda: np.clip(rng.random((4500, 3)) @ rng.integers(0, 80, (3, d)), 0, 255).astype(np.uint8),
         "one band black": lambda: np.concatenate([_images(rng, 4500, d=d - 128),
                                                   np.zeros((4500, 128), np.uint8)], axis=1),
         }[kind]()
    Q = np.concatenate([X[:70], rng.integers(0, 256, (10, d), dtype=np.uint8)])
    model = KNearestNeighbor(4).fit(X, np.zeros(len(X), int))
    dist, idx = model.kneighbors(Q)
    bd, bi = brute(Q, X, 4)
    np.testing.assert_array_equal(idx, bi)
    np.testing.assert_array_equal(dist, np.sqrt(bd).astype(np.float32))
    if kind in ("rank 3", "one band black"):            # spread enough: the shortcut answered
        assert model._proj is not None
    if kind == "one band black":                        # a band without spread has no directions
        assert model._proj.bands[-1][2].shape[1] == 0


@settings(max_examples=12, deadline=None)
@given(m=st.integers(4096, 4400), d=st.sampled_from([512, 576, 784, 961, 1024]), k=st.integers(1, 10),
       levels=st.sampled_from([2, 4, 256]), mix=st.integers(1, 12), seed=st.integers(0, 2**31))
def test_property_same_neighbours_as_integer_brute_force(m, d, k, levels, mix, seed):
    """Random structured images (a few patterns + noise, quantised to ``levels`` values): exact ties abound
    at low ``levels``; the pruned search must still give the brute force's neighbours in its order."""
    rng = np.random.default_rng(seed)
    basis = rng.integers(0, 256, (mix, d)).astype(np.float64)
    W = rng.dirichlet(np.ones(mix), m + 80)
    X = np.clip(W @ basis + rng.normal(0, 15, (m + 80, d)), 0, 255)
    X = (np.round(X * (levels - 1) / 255) * (255 // (levels - 1))).astype(np.uint8)
    train, Q = X[:m], X[m - 10:]                     # 10 queries are training images themselves
    model = KNearestNeighbor(k).fit(train, np.zeros(m, int))
    dist, idx = model.kneighbors(Q)
    assert model._proj is not None
    bd, bi = brute(Q, train, k)
    np.testing.assert_array_equal(idx, bi)
    # queries the bound cannot narrow get the full search's float32 distances (exact order, not value)
    np.testing.assert_allclose(dist, np.sqrt(bd), rtol=1e-5)


@pytest.mark.parametrize("m, k0", [(1000, 15), (100, 5)])   # 16 groups > 15; 2 groups <= 5: all of them
def test_seeds_are_distinct_real_images_with_the_smallest_bounds(m, k0):
    from core._topk import GROUP, padded_width
    rng = np.random.default_rng(9)
    V = np.full((40, padded_width(m)), np.inf, dtype=np.float32)
    V[:, :m] = rng.random((40, m), dtype=np.float32)
    G = V.reshape(40, -1, GROUP)
    idx = _prune._smallest(G, G.min(axis=2), k0)
    assert idx.shape == (40, k0) and (idx < m).all()
    for row, cols in zip(V, idx):
        assert len(set(cols)) == k0
        if G.shape[1] > k0:              # the minimum of each of the k0 groups with the smallest minima
            mins = row.reshape(-1, GROUP).min(axis=1)
            assert sorted(cols // GROUP) == sorted(np.argsort(mins)[:k0])
            assert all(row[c] == mins[c // GROUP] for c in cols)
        else:                            # the k0 smallest of all
            assert sorted(row[cols]) == sorted(np.sort(row[:m])[:k0])


@pytest.mark.parametrize("d", [3072, 2**40])        # packed int64 keys; too many bits -> the lexsort
def test_k_smallest_per_row_orders_by_distance_then_index(d):
    rng = np.random.default_rng(7)
    n, m, k = 40, 5000, 4
    r = np.repeat(np.arange(n), rng.integers(k, 30, n))
    c = rng.integers(0, m, r.size)
    d2 = rng.integers(0, 50, r.size).astype(np.float64) * (1 if d == 3072 else 2**30)   # many ties
    perm = rng.permutation(r.size)                    # input in any order
    rows = np.setdiff1d(np.arange(n), [3, 17])        # two rows left out (answered another way)
    got_d, got_c = _prune._k_smallest_per_row(r[perm], d2[perm], c[perm], rows, k, n, m, d)
    for i, row in enumerate(rows):
        pairs = sorted(zip(d2[r == row], c[r == row]))[:k]
        assert got_d[i].tolist() == [p[0] for p in pairs] and got_c[i].tolist() == [p[1] for p in pairs]
    assert got_d.dtype == np.float64 and got_c.dtype == np.int64


def _brute_f64(Q, X, k):
    """:func:`brute` through a float64 product: exact too (every sum is an integer below 2^53), and fast
    enough for tens of thousands of training images."""
    Qf, Xf = Q.astype(np.float64), X.astype(np.float64)
    D = ((Qf * Qf).sum(1)[:, None] + (Xf * Xf).sum(1)[None, :] - 2 * Qf @ Xf.T).astype(np.int64)
    order = np.lexsort((np.broadcast_to(np.arange(len(X)), D.shape), D), axis=1)[:, :k]
    return np.take_along_axis(D, order, axis=1), order


def test_a_larger_k_on_a_larger_training_set_uses_the_shortcut_and_stays_exact():
    """The k limit grows with M x D (30 for 20000 images of 1536 pixels): seeds, candidates and the
    packed per-row sort at k = 30, with exact copies of training images among the queries."""
    rng = np.random.default_rng(11)
    X = _images(rng, 20200, d=1536, levels=64)
    train, Q = X[:20000], np.concatenate([X[20000:], X[:40]])
    assert _prune.worth_it(len(Q), 20000, 1536, 30) and not _prune.worth_it(len(Q), 20000, 1536, 31)
    dist, idx = pruned(train, Q, 30)
    bd, bi = _brute_f64(Q, train, 30)
    np.testing.assert_array_equal(idx, bi)
    np.testing.assert_array_equal(dist, np.sqrt(bd).astype(np.float32))
    assert (idx[200:, 0] == np.arange(40)).all() and (dist[200:, 0] == 0).all()


@pytest.fixture(scope="module")
def cifar_pixels():
    """Real CIFAR-10: the 10000 training JPEGs and 300 test images, (N, 3072) uint8."""
    from core.datasets import load
    ds = load(str(shared_path("cifar10", "yoongikim_jpg")))
    return ds.X_train.reshape(len(ds.X_train), -1), ds.X_test[:300].reshape(300, -1)


def test_real_cifar10_k30_same_neighbours_as_an_exact_brute_force(cifar_pixels):
    """Real CIFAR-10 (10000 training JPEGs, 300 test images), k = 30: the limit for M D = 3.1e7."""
    X, Q = cifar_pixels
    assert X.shape == (10000, 3072)
    dist, idx = pruned(X, Q, 30)
    bd, bi = _brute_f64(Q, X, 30)
    np.testing.assert_array_equal(idx, bi)
    np.testing.assert_array_equal(dist, np.sqrt(bd).astype(np.float32))


def test_real_cifar10_full_search_k100_same_neighbours_as_an_exact_brute_force(cifar_pixels):
    """The full search at k = 100 on real CIFAR-10: deep in the ranking, neighbouring float32 keys are
    often closer than their rounding bounds and are re-measured and re-sorted (knn._select, each key's
    bound with its own image's norm); the ranking must still be the exact one."""
    X, Q = cifar_pixels
    model = KNearestNeighbor(100, "l2", "brute").fit(X, np.zeros(len(X), dtype=np.int64))
    dist, idx = model.kneighbors(Q[:200])
    bd, bi = _brute_f64(Q[:200], X, 100)
    np.testing.assert_array_equal(idx, bi)
    np.testing.assert_allclose(dist, np.sqrt(bd), rtol=1e-6)    # keys not re-measured: float32 rounding
