"""core.distances: L1/L2 against plain loops and scipy, clipping, blocking, the slide's 456."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from core import distances as dmod
from core.distances import (distance, iter_distance_blocks, paired_distances,
                            pairwise_distances)
from core.progress import Cancelled

SLIDE_TEST = np.array([[56, 32, 10, 18], [90, 23, 128, 133], [24, 26, 178, 200], [2, 0, 255, 220]],
                      dtype=np.uint8)
SLIDE_TRAIN = np.array([[10, 20, 24, 17], [8, 10, 89, 100], [12, 16, 178, 170], [4, 32, 233, 112]],
                       dtype=np.uint8)
SCIPY = {"l1": "cityblock", "l2": "euclidean"}


def loop_distances(A, B, metric):
    """The lecture's two-loop version, in float64."""
    out = np.zeros((len(A), len(B)))
    for i in range(len(A)):
        for j in range(len(B)):
            diff = [float(a) - float(b) for a, b in zip(A[i], B[j])]
            if metric == "l1":
                out[i, j] = sum(abs(d) for d in diff)
            else:
                out[i, j] = sum(d * d for d in diff) ** 0.5
    return out


def test_slide_example_l1_is_456():
    assert distance(SLIDE_TEST, SLIDE_TRAIN, "l1") == 456
    d = pairwise_distances(SLIDE_TEST.reshape(1, -1), SLIDE_TRAIN.reshape(1, -1), "l1")
    assert d.dtype == np.float32 and d.shape == (1, 1) and d[0, 0] == 456
    np.testing.assert_allclose(distance(SLIDE_TEST, SLIDE_TRAIN, "l2"),
                               np.sqrt(((SLIDE_TEST.astype(int) - SLIDE_TRAIN) ** 2).sum()))


@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("kind", ["uint8", "float64", "float32"])
def test_matches_loop_reference_and_scipy(metric, kind):
    rng = np.random.default_rng(1)
    if kind == "uint8":
        A = rng.integers(0, 256, (7, 13), dtype=np.uint8)
        B = rng.integers(0, 256, (9, 13), dtype=np.uint8)
    else:
        A = rng.normal(size=(7, 13)).astype(kind)
        B = rng.normal(size=(9, 13)).astype(kind)
    got = pairwise_distances(A, B, metric)
    assert got.shape == (7, 9) and got.dtype == np.float32
    np.testing.assert_allclose(got, loop_distances(A, B, metric), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got, cdist(A.astype(np.float64), B.astype(np.float64), SCIPY[metric]),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", ["l1", "l2"])
@pytest.mark.parametrize("d", [3, 30, 784, 1100, 3072])
def test_uint8_threaded_tiles_match_scipy(metric, d):
    # M not a multiple of the tile/worker split; D not a multiple of 4 or of 1024.
    rng = np.random.default_rng(d)
    A = rng.integers(0, 256, (11, d), dtype=np.uint8)
    B = rng.integers(0, 256, (157, d), dtype=np.uint8)
    ref = cdist(A.astype(np.float64), B.astype(np.float64), SCIPY[metric])
    got = pairwise_distances(A, B, metric)
    if metric == "l1":
        np.testing.assert_array_equal(got, ref.astype(np.float32))   # exact integers
    else:
        np.testing.assert_allclose(got, ref, rtol=2e-6)


def test_mixed_uint8_and_float_inputs():
    rng = np.random.default_rng(2)
    A = rng.integers(0, 256, (5, 20), dtype=np.uint8)
    B = rng.integers(0, 256, (70, 20)).astype(np.float64) + 0.5
    for metric in ("l1", "l2"):
        np.testing.assert_allclose(pairwise_distances(A, B, metric),
                                   cdist(A.astype(float), B, SCIPY[metric]), rtol=1e-5)


@pytest.mark.parametrize("kind", ["uint8", "float32", "float64"])
def test_identical_rows_give_exactly_zero_not_nan(kind):
    rng = np.random.default_rng(3)
    # CIFAR-sized bright images: the GEMM expansion is inexact here (sums exceed 2**24).
    A = rng.integers(128, 256, (6, 3072)).astype(kind)
    B = np.concatenate([A[::-1], rng.integers(0, 256, (4, 3072)).astype(kind)])
    for metric in ("l1", "l2"):
        d = pairwise_distances(A, B, metric)
        assert not np.isnan(d).any()
        assert (np.diag(d[:, ::-1][:, 4:]) == 0).all()
        assert (d[:, 6:] > 0).all()


def test_near_duplicates_are_accurate():
    rng = np.random.default_rng(4)
    a = rng.integers(100, 200, (1, 3072), dtype=np.uint8)
    b = a.copy()
    b[0, 17] += 1                      # true distance exactly 1
    c = a.copy()
    c[0, :4] += 2                      # true distance exactly 4
    d = pairwise_distances(a, np.concatenate([b, c]), "l2")
    np.testing.assert_array_equal(d, [[1.0, 4.0]])


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_blockwise_equals_unblocked(metric, monkeypatch):
    rng = np.random.default_rng(5)
    A = rng.integers(0, 256, (23, 50), dtype=np.uint8)
    B = rng.integers(0, 256, (130, 50), dtype=np.uint8)
    full = pairwise_distances(A, B, metric)
    blocks = np.concatenate([blk.copy() for _, blk in iter_distance_blocks(A, B, metric, rows=4)])
    np.testing.assert_array_equal(blocks, full)
    monkeypatch.setattr(dmod, "BLOCK_BYTES", 4 * 192 * 3)     # 3 rows of 130 (padded to 192)
    np.testing.assert_array_equal(pairwise_distances(A, B, metric), full)
    starts = [s for s, _ in iter_distance_blocks(A, B, metric)]
    assert starts == list(range(0, 23, 3))


def test_squared_blocks():
    rng = np.random.default_rng(6)
    A, B = rng.normal(size=(4, 8)), rng.normal(size=(5, 8))
    (_, sq), = list(iter_distance_blocks(A, B, "l2", squared=True))
    np.testing.assert_allclose(sq, cdist(A, B, "sqeuclidean"), rtol=1e-5)


def test_paired_distances_exact_for_uint8():
    rng = np.random.default_rng(7)
    A = rng.integers(0, 256, (50, 3072), dtype=np.uint8)
    B = rng.integers(0, 256, (50, 3072), dtype=np.uint8)
    diff = A.astype(np.int64) - B
    np.testing.assert_array_equal(paired_distances(A, B, "l1"), np.abs(diff).sum(1))
    np.testing.assert_array_equal(paired_distances(A, B, "l2"), np.sqrt((diff ** 2).sum(1)))


def test_validation_messages():
    A = np.zeros((2, 3))
    with pytest.raises(ValueError, match="metric must be one of"):
        pairwise_distances(A, A, "cosine")
    with pytest.raises(ValueError, match="same number of features.*D=3.*D=4"):
        pairwise_distances(A, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="B must be 2-D"):
        pairwise_distances(A, np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        pairwise_distances(A, np.full((1, 3), np.nan))
    with pytest.raises(ValueError, match="same shape"):
        distance(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("metric", ["l1", "l2"])
def test_progress_and_cancel(metric, monkeypatch):
    monkeypatch.setattr(dmod, "BLOCK_BYTES", 4 * 64 * 5)   # 5-row blocks
    rng = np.random.default_rng(8)
    A = rng.integers(0, 256, (20, 10), dtype=np.uint8)
    B = rng.integers(0, 256, (64, 10), dtype=np.uint8)
    seen = []
    pairwise_distances(A, B, metric, progress=lambda done, total, msg: seen.append((done, total)))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1] == (20, 20)
    assert len(seen) == 4
    calls = []
    with pytest.raises(Cancelled):
        pairwise_distances(A, B, metric, cancel=lambda: calls.append(1) or len(calls) > 2)


def test_cancel_stops_worker_threads_mid_block():
    import time
    rng = np.random.default_rng(9)
    A = rng.integers(0, 256, (24, 3072), dtype=np.uint8)
    B = rng.integers(0, 256, (20000, 3072), dtype=np.uint8)
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        pairwise_distances(A, B, "l1", cancel=lambda: time.perf_counter() > t0 + 0.05)
    stopped = time.perf_counter() - t0
    t1 = time.perf_counter()
    d = pairwise_distances(A[:2], B[:500], "l1")         # the pool is free again
    assert time.perf_counter() - t1 < 5 and d.shape == (2, 500)
    full = time.perf_counter()
    pairwise_distances(A, B, "l1")
    assert stopped < 0.8 * (time.perf_counter() - full) + 0.25


def test_uint8_l2_keys_expand_around_the_rounded_mean_image():
    rng = np.random.default_rng(7)
    X = rng.integers(90, 256, (300, 50), dtype=np.uint8)
    Q = rng.integers(0, 256, (20, 50), dtype=np.uint8)
    tr = dmod.TrainSet(X)
    Xf, Qf = X.astype(np.float64), Q.astype(np.float64)
    assert tr.centrable and tr.centres(20) and not tr.centres(dmod._FEW_ROWS)   # a few rows: plain keys
    assert len(tr._expansions) == 1                                           # the centre: when needed
    e = tr.expansion(True)
    np.testing.assert_array_equal(e.center, np.round(Xf.mean(axis=0)))
    np.testing.assert_array_equal(tr.sq_norms, (Xf ** 2).sum(axis=1))         # exact norms stay uncentred
    np.testing.assert_array_equal(e.sq32, ((Xf - e.center) ** 2).sum(axis=1).astype(np.float32))
    np.testing.assert_allclose(e.max_norm, np.sqrt(((Xf - e.center) ** 2).sum(axis=1)).max())
    ks = tr.key_stats(Q, True)
    np.testing.assert_array_equal(ks, ((Qf - e.center) ** 2).sum(axis=1))
    exact = cdist(Qf, Xf, "sqeuclidean")
    for rows in (slice(None), slice(0, 3)):                    # centred (20 rows) and plain (3 rows)
        centred = tr.centres(len(Q[rows]))
        V = np.empty((len(Q[rows]), 300), dtype=np.float32)
        tr.keys(Q[rows], V)
        np.testing.assert_array_equal(V + tr.key_stats(Q[rows], centred)[:, None], exact[rows])   # small D: exact
    np.testing.assert_array_equal(tr.key_stats(Q, False), (Qf ** 2).sum(axis=1))
    given = dmod.TrainSet(X, center=np.zeros(50))
    np.testing.assert_array_equal(given.key_stats(Q, True), (Qf ** 2).sum(axis=1))
    assert not dmod.TrainSet(Xf).centrable and dmod.TrainSet(Xf).expansion(True).center is None
    assert not dmod.TrainSet(X, "l1").centrable
    with pytest.raises(ValueError, match=r"center must be 50 integers in 0\.\.255"):
        dmod.TrainSet(X, center=np.full(50, 0.5))
    with pytest.raises(ValueError, match=r"center must be 50 integers"):
        dmod.TrainSet(X, center=np.zeros(49))


def test_mean_image_sums_without_overflow_in_chunks():
    X = np.full((70_000, 64), 255, dtype=np.uint8)    # two chunks of 65536 rows
    X[::2, 1] = 0
    X[:, 2] = np.arange(70_000) % 7
    X[:66_000, 3] = 0                                 # the mean of a column is not the same in both chunks
    np.testing.assert_array_equal(dmod.mean_image(X), np.round(X.mean(axis=0)))


def test_centring_shrinks_the_rounding_bound_on_real_cifar10_and_the_bound_holds():
    """Real CIFAR-10: the float32 keys' error stays within the bound with and without the centre, and the
    centre makes both the bound and the error ~4x smaller (the bound decides how many of the ranked
    neighbours are re-measured exactly)."""
    from core.datasets import load
    from tests.conftest import shared_path
    ds = load(str(shared_path("cifar10", "yoongikim_jpg")))
    X = ds.X_train.reshape(len(ds.X_train), -1)[:4000]
    Q = ds.X_test[:300].reshape(300, -1)
    Xf, Qf = X.astype(np.float64), Q.astype(np.float64)
    exact = (Qf ** 2).sum(axis=1)[:, None] + (Xf ** 2).sum(axis=1) - 2 * Qf @ Xf.T    # integers: exact
    worst, bound = {}, {}
    tr = dmod.TrainSet(X)
    for name, centred in (("centred", True), ("plain", False)):
        V = np.empty((300, 4000), dtype=np.float32)
        if centred:
            tr.keys(Q, V)                                 # 300 rows: centred
        else:
            for i in range(0, 300, dmod._FEW_ROWS):      # a few rows at a time: plain
                tr.keys(Q[i:i + dmod._FEW_ROWS], V[i:i + dmod._FEW_ROWS])
        ks = tr.key_stats(Q, centred)
        err = np.abs(V + ks[:, None] - exact)
        tol = tr.tolerance(Q, ks, centred)
        assert (err <= tol[:, None]).all(), name
        tol_at = tr.tolerance_at(Q, ks, np.broadcast_to(np.arange(4000), (300, 4000)), centred)
        assert (err <= tol_at).all() and (tol_at <= tol[:, None]).all(), name
        widest = np.argmax(tr.expansion(centred).norms)
        assert np.allclose(tol_at[:, widest], tol), name  # the largest norm: the row's bound
        worst[name], bound[name] = err.max(), tol.max()
    assert bound["centred"] < 0.35 * bound["plain"]
    assert worst["centred"] < 0.25 * worst["plain"]
