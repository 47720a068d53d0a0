"""core._topk.smallest_k: the k smallest of each row through group minima, for small and large k."""
from __future__ import annotations

import numpy as np
import pytest

from core import _topk


@pytest.mark.parametrize("m, k", [(8000, 1), (8000, 10), (8000, 100), (8000, 300), (10000, 100),
                                  (700, 50), (300, 299), (4000, 999)])
@pytest.mark.parametrize("levels", [7, 100000])              # 7: ties everywhere
def test_smallest_k_matches_a_full_sort(m, k, levels):
    rng = np.random.default_rng(m + k + levels)
    n = 40
    V = np.full((n, _topk.padded_width(m)), np.inf, dtype=np.float32)
    V[:, :m] = rng.integers(0, levels, (n, m)).astype(np.float32) - levels / 2
    idx, vals, nxt = _topk.smallest_k(V, m, k)
    full = np.sort(V[:, :m], axis=1)
    np.testing.assert_array_equal(vals, full[:, :k])          # the k smallest values, ascending
    np.testing.assert_array_equal(nxt, full[:, k] if k < m else np.inf)
    np.testing.assert_array_equal(np.take_along_axis(V, idx, axis=1), vals)
    assert all(len(set(row)) == k for row in idx.tolist()) and idx.max() < m
    same = vals[:, 1:] == vals[:, :-1]                        # equal values ordered by index
    assert (idx[:, 1:][same] > idx[:, :-1][same]).all()


def test_a_large_k_partitions_fewer_values(monkeypatch):
    """k = 100 among 8000 columns: groups of 16, so 101 x 16 values are partitioned, not 8000."""
    sizes = []
    real = np.argpartition

    def spy(a, kth, axis=-1, **kw):
        sizes.append(a.shape[-1])
        return real(a, kth, axis=axis, **kw)

    monkeypatch.setattr(np, "argpartition", spy)
    V = np.random.default_rng(0).random((8, _topk.padded_width(8000))).astype(np.float32)
    V[:, 8000:] = np.inf
    _topk.smallest_k(V, 8000, 100)
    assert sizes == [_topk.padded_width(8000) // 16, 101 * 16]
