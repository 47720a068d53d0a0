"""The SGD step's kernel (core._sgd_kernel): products cut into small pieces give the plain product, the
batch gradient is the readable losses' gradient, and rows gathered ahead on the helper thread are the
right rows, never the ones being computed on."""
import threading
import time

import numpy as np
import pytest

from core import _halves, _sgd_kernel
from core._sgd_kernel import BatchRows, batch_gradient, rows_times, times_cols
from core.linear import LinearClassifier
from core.losses import hinge_loss, one_vs_all_hinge_loss, softmax_loss
from core.training import Trainer


def _ints(shape, rng, lo=-3, hi=4):
    """Small integers as float32: every product and partial sum is exact, so any summation order gives
    the same bits and a wrong index or stride shows as a plain mismatch."""
    return rng.integers(lo, hi, shape).astype(np.float32)


@pytest.mark.parametrize("h, d, c", [(200, 3072, 10),    # CIFAR-10: 6 pieces of 32 rows + 8; columns 500s
                                     (120, 3072, 10),    # 3 x 32 + 24 rows
                                     (80, 3072, 10),
                                     (37, 3000, 7),      # odd sizes: a short last piece both ways
                                     (200, 784, 10),     # MNIST
                                     (64, 3072, 100),    # pieces would be tiny: no cut
                                     (5, 3, 2)])
def test_products_in_small_pieces_equal_the_plain_products(h, d, c):
    rng = np.random.default_rng(h + d + c)
    xs, W, ds = _ints((h, d), rng), _ints((c, d), rng), _ints((h, c), rng)
    s = np.full((h, c), np.nan, np.float32)
    rows_times(xs, W.T, s)
    np.testing.assert_array_equal(s, xs @ W.T)
    g = np.full((c, d), np.nan, np.float32)
    times_cols(ds.T, xs, g)
    np.testing.assert_array_equal(g, ds.T @ xs)


def test_the_pieces_are_small_enough_for_openblas_small_kernels_and_not_tiny():
    r = _sgd_kernel._piece(200, 3072 * 10)
    w = _sgd_kernel._piece(3072, 10 * 200)
    assert (r, w) == (32, 500)
    assert r * 3072 * 10 <= _sgd_kernel.SMALL_GEMM and 10 * 200 * w <= _sgd_kernel.SMALL_GEMM
    assert _sgd_kernel._piece(120, 784 * 10) == 120             # MNIST's halves fit whole
    assert _sgd_kernel._piece(200, 3072 * 100) == 200           # 3-row pieces: not worth the calls


@pytest.mark.parametrize("loss, fn", [("softmax", softmax_loss), ("hinge", hinge_loss),
                                      ("ova_hinge", one_vs_all_hinge_loss)])
def test_batch_gradient_is_the_readable_losses_gradient(loss, fn):
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((200, 3072), dtype=np.float32)
    W = (0.01 * rng.standard_normal((10, 3072))).astype(np.float32)
    b = (0.1 * rng.standard_normal(10)).astype(np.float32)
    y = rng.integers(0, 10, 200)
    grad = np.empty_like(W)
    data, acc, dW, db = batch_gradient(W, b, xs, y, loss, 1.0, grad)
    s = xs.astype(np.float64) @ W.T.astype(np.float64) + b
    ref, ds = fn(s, y) if loss == "softmax" else fn(s, y, 1.0)
    assert dW is grad
    assert data == pytest.approx(ref, rel=1e-5)
    assert acc == np.mean(s.argmax(axis=1) == y)
    np.testing.assert_allclose(dW, ds.T @ xs, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(db, ds.sum(axis=0), rtol=1e-4, atol=1e-7)


def _rows_data(n=500, d=64):
    X = np.arange(n * d, dtype=np.float32).reshape(n, d)
    rng = np.random.default_rng(3)
    return X, rng.permutation(n)[:40], rng.permutation(n)[:40]


def _before_helper_jobs(monkeypatch, before):
    """Every job handed to the helper thread first calls ``before()`` there; returns the helper."""
    helper = _halves._get_helper()
    real = helper.start

    def start(fn, lo, hi, blocking=True):
        def job(a, b):
            before()
            fn(a, b)
        return real(job, lo, hi, blocking)

    monkeypatch.setattr(helper, "start", start)
    return helper


def test_rows_gathered_ahead_are_used_and_the_batch_in_use_is_never_overwritten():
    X, first, second = _rows_data()
    rows = BatchRows(40, X.shape[1])
    xs = rows.gather(X, first)
    np.testing.assert_array_equal(xs, X[first])
    started = rows.prefetch(X, second)
    if started:
        assert _halves._get_helper().finished(5.0)         # done (not collected yet: gather does that)
    np.testing.assert_array_equal(xs, X[first])            # the other buffer took the next rows
    expected = X[second].copy()
    X[second] = -1                                         # rows changed after they were gathered ahead
    got = rows.gather(X, second)
    if started:
        np.testing.assert_array_equal(got, expected)       # the gathered-ahead copy, not a new gather
    else:
        assert _halves.WORKERS < 2
        np.testing.assert_array_equal(got, X[second])


def test_rows_gathered_ahead_for_other_indices_or_data_are_not_used():
    X, first, second = _rows_data()
    rows = BatchRows(40, X.shape[1])
    rows.gather(X, first)
    rows.prefetch(X, second)
    rows.finish()
    other = second[::-1].copy()
    np.testing.assert_array_equal(rows.gather(X, other), X[other])
    rows.prefetch(X, second)
    rows.finish()
    Y = X + 1                                              # same indices, another array
    np.testing.assert_array_equal(rows.gather(Y, second), Y[second])
    np.testing.assert_array_equal(rows.gather(X, second[:7]), X[second[:7]])   # a short last batch


def test_rows_are_gathered_ahead_on_the_helper_thread_unless_it_is_busy(monkeypatch):
    if _halves.WORKERS < 2:
        pytest.skip("one core: no helper thread")
    X, first, second = _rows_data()
    rows = BatchRows(40, X.shape[1])
    seen = []
    helper = _before_helper_jobs(monkeypatch, lambda: seen.append(threading.current_thread().name))
    rows.gather(X, first)
    assert rows.prefetch(X, second)
    rows.finish()
    assert seen == ["lcl-sgd"]
    release = threading.Event()
    assert helper.start(lambda lo, hi: release.wait(5), 0, 0)   # another caller holds the helper
    try:
        assert not rows.prefetch(X, first)                # no wait for it: nothing started
        rows.finish()                                     # and nothing to wait for
    finally:
        release.set()
        helper.wait()
    np.testing.assert_array_equal(rows.gather(X, first), X[first])


def test_a_trainer_gathers_every_next_batch_of_a_segment_ahead(monkeypatch):
    if _halves.WORKERS < 2:
        pytest.skip("one core: no helper thread")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 300), dtype=np.float32)
    y = rng.integers(0, 5, 1000)
    calls = []
    real = BatchRows.prefetch

    def spy(self, X_, idx):
        calls.append(np.array(idx))
        return real(self, X_, idx)

    monkeypatch.setattr(BatchRows, "prefetch", spy)
    t = Trainer({"m": LinearClassifier(batch_size=100, random_state=0)}, X, y, jobs=2)
    t.run_epoch()                                          # 10 batches: the 9 after the first ahead
    assert len(calls) == 9
    perm_rows = np.concatenate([c for c in calls])
    assert len(set(perm_rows.tolist())) == 900             # each row once, the first batch's not
    calls.clear()
    t.step(15)                                             # across the epoch end: not the next epoch's first
    assert len(calls) == 14 - 1                            # batch (the helper measures the accuracies then)
    first_of_epoch_3 = t._perm[:100]
    assert not any(np.array_equal(c, first_of_epoch_3) for c in calls)
    calls.clear()
    Trainer({"m": LinearClassifier(batch_size=100, random_state=0)}, X, y, jobs=1).run_epoch()
    assert calls == []                                     # one core: gathered in turn


def test_a_late_helper_is_not_waited_for_and_after_two_late_gathers_is_left_alone_for_a_while(monkeypatch):
    if _halves.WORKERS < 2:
        pytest.skip("one core: no helper thread")
    monkeypatch.setattr(_sgd_kernel, "PAUSE_STEPS", 3)
    gate = threading.Event()
    _before_helper_jobs(monkeypatch, lambda: gate.wait(10))       # a helper that got no core in time
    X, A, B = _rows_data()
    rows = BatchRows(40, X.shape[1])
    try:
        for round_ in range(2):
            rows.gather(X, A)
            assert rows.prefetch(X, B)                     # the helper starts, and gets stuck
            rows.settle()                                  # no waiting between steps
            xs = rows.gather(X, B)                         # B is not ready: gathered here instead
            np.testing.assert_array_equal(xs, X[B])
            assert not np.shares_memory(xs, rows._bufs[rows._pending[2]])   # not where the helper writes
            assert not rows.prefetch(X, A)                 # the helper is still busy
            gate.set()
            rows.finish()
            gate.clear()
        started = []
        for i in range(6):                                 # late twice: 3 steps without the helper
            gate.set()
            rows.gather(X, (A, B)[i % 2])
            started.append(rows.prefetch(X, (B, A)[i % 2]))
            rows.finish()
        assert started == [False, False, False, True, True, True]
    finally:
        gate.set()
        rows.finish()


def _steps(rows, X, A, B, gate, pattern):
    """A run of steps, one per entry of ``pattern``: True when the helper gets no core in time for that
    step's prefetch (it is still gathering when the step needs the rows). Returns, per step, whether the
    prefetch went to the helper at all."""
    helper = _halves._get_helper()
    started = []
    for i, late in enumerate(pattern):
        nxt = (B, A)[i % 2]
        (gate.clear if late else gate.set)()
        started.append(rows.prefetch(X, nxt))
        if started[-1] and not late:
            assert helper.finished(5)
            rows.settle()                                  # on time: ready before the rows are needed
        np.testing.assert_array_equal(rows.gather(X, nxt), X[nxt])
        gate.set()
        rows.finish()
    return started


def test_the_helper_is_left_alone_briefly_after_a_burst_and_longer_while_it_stays_late(monkeypatch):
    """A repaint takes the helper's core for a few ms: the pause after it must be short (with a fixed 200-step
    pause, 64 % of the app's training steps gathered their own rows). A core that stays busy doubles the
    pause up to PAUSE_STEPS; each gather ready in time halves it again."""
    if _halves.WORKERS < 2:
        pytest.skip("one core: no helper thread")
    monkeypatch.setattr(_sgd_kernel, "PAUSE_MIN_STEPS", 2)
    monkeypatch.setattr(_sgd_kernel, "PAUSE_STEPS", 8)
    gate = threading.Event()
    _before_helper_jobs(monkeypatch, lambda: gate.wait(10))
    X, A, B = _rows_data()
    rows = BatchRows(40, X.shape[1])
    T, F = True, False
    try:
        rows.gather(X, A)
        assert _steps(rows, X, A, B, gate, [T] * 22) == (
            [T, T, F, F] + [T, T] + [F] * 4 + [T, T] + [F] * 8 + [T, T])     # pauses of 2, 4, 8, 8 (the cap)
        assert _steps(rows, X, A, B, gate, [F] * 9 + [T] * 7) == (
            [F] * 8 + [T] + [T, T] + [F] * 4 + [T])        # (the last pause); on time once: 8 -> 4
        for _ in range(3):                                 # on time often: back to the shortest pause
            _steps(rows, X, A, B, gate, [F] * 3)
        assert _steps(rows, X, A, B, gate, [T] * 5) == [T, T, F, F, T]
    finally:
        gate.set()
        rows.finish()


def test_a_slow_helper_changes_the_speed_only(monkeypatch):
    """Whether the next rows come from the helper or are gathered here, the weights are the same."""
    if _halves.WORKERS < 2:
        pytest.skip("one core: no helper thread")
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 300), dtype=np.float32)
    y = rng.integers(0, 5, 2000)
    late = []
    real_note = BatchRows._note_late
    monkeypatch.setattr(BatchRows, "_note_late", lambda self, was: (late.append(was), real_note(self, was)))
    W = []
    for slow in (False, True):
        if slow:
            _before_helper_jobs(monkeypatch, lambda: time.sleep(0.002))
        t = Trainer({"m": LinearClassifier(batch_size=100, random_state=0)}, X, y, jobs=2)
        t.run_epoch()
        t.step(7)
        W.append(t.models["m"].W_.copy())
    assert sum(late) >= 2                                  # the slow run did gather rows itself
    np.testing.assert_array_equal(W[0], W[1])
    assert _halves._get_helper().start(lambda lo, hi: None, 0, 0, blocking=False)   # the helper is free
    _halves._get_helper().wait()
