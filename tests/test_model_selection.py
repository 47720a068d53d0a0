"""core.model_selection: fold properties, CV of k equals the naive loop, one search per fold."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from core.knn import KNearestNeighbor
from core.metrics import accuracy
from core.model_selection import CVResult, KFold, cross_validate_knn, cross_validate_linear
from core.progress import Cancelled


def labels(counts):
    return np.repeat(np.arange(len(counts)), counts)


@pytest.mark.parametrize("stratified", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_folds_are_disjoint_and_cover_everything(stratified, shuffle):
    y = np.random.default_rng(0).permutation(labels([13, 7, 22, 5]))
    splits = KFold(5, shuffle=shuffle, stratified=stratified, random_state=1).split(y)
    assert len(splits) == 5
    vals = np.concatenate([va for _, va in splits])
    assert sorted(vals.tolist()) == list(range(len(y)))
    for tr, va in splits:
        assert np.intersect1d(tr, va).size == 0 and tr.size + va.size == len(y)
        assert (np.diff(va) > 0).all() and tr.dtype == np.int64
    sizes = [va.size for _, va in splits]
    assert max(sizes) - min(sizes) <= 1


def test_stratified_counts_are_balanced():
    y = labels([13, 7, 22, 5, 50])
    splits = KFold(5, random_state=3).split(y)
    per_fold = np.array([np.bincount(y[va], minlength=5) for _, va in splits])   # (folds, C)
    assert (per_fold.max(axis=0) - per_fold.min(axis=0) <= 1).all()
    np.testing.assert_array_equal(per_fold.sum(axis=0), [13, 7, 22, 5, 50])


def test_seeded_and_repeatable():
    y = labels([30, 30, 30])
    a = KFold(4, random_state=7).split(y)
    b = KFold(4, random_state=7).split(y)
    c = KFold(4, random_state=8).split(y)
    assert all((x[1] == z[1]).all() for x, z in zip(a, b))
    assert any((x[1] != z[1]).any() for x, z in zip(a, c))
    unshuffled = KFold(3, shuffle=False, stratified=False).split(np.zeros(9, int))
    assert [va.tolist() for _, va in unshuffled] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


def test_kfold_validation():
    with pytest.raises(ValueError, match="n_splits must be an integer >= 2"):
        KFold(1).split([0, 1])
    msg = r"n_splits must be <= the number of samples \(got n_splits=5, n=3\)"
    with pytest.raises(ValueError, match=msg):
        KFold(5).split([0, 1, 0])


def naive_cv(X, y, ks, folds, metric, seed):
    splits = KFold(folds, random_state=seed).split(y)
    out = np.empty((len(ks), folds))
    for f, (tr, va) in enumerate(splits):
        for i, k in enumerate(ks):
            out[i, f] = accuracy(y[va], KNearestNeighbor(k, metric).fit(X[tr], y[tr]).predict(X[va]))
    return out


@pytest.fixture
def small_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 240)
    centers = rng.integers(60, 200, (4, 24))
    X = np.clip(centers[y] + rng.normal(0, 45, (240, 24)), 0, 255).astype(np.uint8)
    return X, y


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_cross_validate_knn_equals_naive_loop(small_data, metric):
    X, y = small_data
    ks = [1, 2, 3, 5, 8, 20]
    res = cross_validate_knn(X, y, ks, folds=4, metric=metric, random_state=5)
    np.testing.assert_array_equal(res.scores, naive_cv(X, y, ks, 4, metric, 5))
    assert res.param_name == "k" and res.values.tolist() == ks
    np.testing.assert_allclose(res.mean, res.scores.mean(axis=1))
    np.testing.assert_allclose(res.std, res.scores.std(axis=1))
    assert res.best_index == int(np.argmax(res.mean)) and res.best_value == ks[res.best_index]


def test_each_pair_of_folds_distances_computed_once(small_data, monkeypatch):
    """Ten k, five folds, brute force: no per-fold search; one block per pair of folds covers both
    directions, so every distance between two images of different folds is computed once, and each fold
    selects its top-19 once."""
    from core import _cv_blocks
    X, y = small_data
    pairs, selections = [], []
    real_block, real_select = _cv_blocks.FoldBlocks._block, _cv_blocks.select

    def spy_block(self, f, g, A, cancel):
        out = real_block(self, f, g, A, cancel)
        pairs.append((f, g, out.shape))
        return out

    def spy_select(A, train, V, k, cancel=None):
        selections.append((len(A), V.shape[1] >= train.m, k))
        return real_select(A, train, V, k, cancel)

    monkeypatch.setattr(_cv_blocks.FoldBlocks, "_block", spy_block)
    monkeypatch.setattr(_cv_blocks, "select", spy_select)
    monkeypatch.setattr(KNearestNeighbor, "kneighbors", lambda *a, **kw: pytest.fail("per-fold search"))
    cross_validate_knn(X, y, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19], folds=5)
    sizes = [len(va) for _, va in KFold(5, random_state=0).split(y)]
    assert sorted((f, g) for f, g, _ in pairs) == [(f, g) for f in range(5) for g in range(f + 1, 5)]
    assert all(shape == (sizes[f], sizes[g]) for f, g, shape in pairs)
    assert sum(sizes[f] * sizes[g] for f, g, _ in pairs) == (len(y) ** 2 - sum(n * n for n in sizes)) // 2
    assert selections == [(n, True, 19) for n in sizes]


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("kind", ["uint8 with many ties", "float64"])
def test_fold_blocks_give_the_per_fold_searchs_neighbours(metric, kind):
    from core import _cv_blocks
    from core._topk import padded_width
    rng = np.random.default_rng(4)
    if kind == "float64":
        X = rng.normal(0, 1, (600, 40))
    else:                                             # 4 grey levels: exact ties between many distances
        X = (rng.integers(0, 4, (600, 40)) * 85).astype(np.uint8)
    y = rng.integers(0, 3, 600)
    splits = KFold(4, random_state=2).split(y)
    assert _cv_blocks.usable(X, splits, 25, metric, "brute")
    blocks = _cv_blocks.FoldBlocks(X, splits, metric)
    for f, (tr, va) in enumerate(splits):
        model = KNearestNeighbor(25, metric, "brute").fit(X[tr], y[tr])
        d_ref, i_ref = model.kneighbors(X[va])
        V = blocks.keys(f, padded_width(len(tr)))
        d, i = _cv_blocks.select(X[va], blocks.train_set(X[tr]), V, 25)   # keys and set: one centre
        np.testing.assert_array_equal(i, i_ref)       # same neighbours, ties in index order
        np.testing.assert_allclose(d, d_ref, rtol=1e-5, atol=1e-5)
    assert blocks.blocks == {} and blocks.block_calls == 6      # every block used by both folds, then freed


def test_fold_blocks_are_not_used_where_the_shortcut_or_memory_says_no(small_data, monkeypatch):
    from core import _cv_blocks
    X, y = small_data
    splits = KFold(5, random_state=0).split(y)
    assert _cv_blocks.usable(X, splits, 10, "l2", "auto")        # 192 training images: no shortcut
    assert not _cv_blocks.usable(X, KFold(21, random_state=0).split(y), 1, "l1", "brute")   # > MAX_FOLDS
    monkeypatch.setattr(_cv_blocks, "MAX_IMAGES", 200)
    assert not _cv_blocks.usable(X, splits, 10, "l2", "brute")   # 240 images > the memory cap
    searches = []
    real = KNearestNeighbor.kneighbors
    monkeypatch.setattr(KNearestNeighbor, "kneighbors",
                        lambda self, Q, k=None, **kw: searches.append(k) or real(self, Q, k, **kw))
    res = cross_validate_knn(X, y, [1, 5], folds=5)
    assert searches == [5] * 5                                   # the per-fold search instead
    np.testing.assert_array_equal(res.scores, naive_cv(X, y, [1, 5], 5, "l2", 0))


def test_cross_validate_knn_progress_cancel_and_errors(small_data):
    X, y = small_data
    seen = []
    cross_validate_knn(X, y, [1, 3], folds=3, progress=lambda d, t, m: seen.append((d, t)))
    assert all(t == 3 for _, t in seen) and seen[-1][0] == 3
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    with pytest.raises(Cancelled):
        cross_validate_knn(X, y, [1], folds=3, cancel=lambda: True)
    with pytest.raises(ValueError, match="k must be <= the number of training images"):
        cross_validate_knn(X[:10], y[:10], [9], folds=5)
    with pytest.raises(ValueError, match="ks must contain"):
        cross_validate_knn(X, y, [])


def test_cvresult_csv():
    res = CVResult.from_scores([1, 3], [[0.5, 0.7], [0.9, 0.8]], "k")
    assert res.best_value == 3 and res.best_index == 1
    lines = res.to_csv().splitlines()
    assert lines[0] == "k,fold_1,fold_2,mean,std"
    assert lines[2] == "3,0.9,0.8,0.85,0.05"
    tie = CVResult.from_scores([1, 3], [[0.8], [0.8]], "k")
    assert tie.best_value == 1                   # first value with the top mean


class FakeLinear:
    """Stands in for core.linear.LinearClassifier: accuracy is a known function of reg."""

    calls: list = []

    def __init__(self, *, reg, random_state=None, **params):
        self.reg, self.random_state, self.params = reg, random_state, params

    def fit(self, X, y, epochs=10):
        FakeLinear.calls.append((self.reg, len(X), epochs, self.params))
        return self

    def score(self, X, y):
        return 1.0 / (1.0 + abs(np.log10(self.reg) + 2)) - len(X) * 1e-6


def test_cross_validate_linear_with_stub(small_data, monkeypatch):
    X, y = small_data
    fake = types.ModuleType("core.linear")
    fake.LinearClassifier = FakeLinear
    monkeypatch.setitem(sys.modules, "core.linear", fake)
    FakeLinear.calls = []
    seen = []
    res = cross_validate_linear(X, y, [1e-4, 1e-2, 1.0], folds=3, estimator_params={"loss": "hinge"},
                                epochs=2, progress=lambda d, t, m: seen.append(d))
    assert res.param_name == "reg" and res.best_value == 1e-2 and res.scores.shape == (3, 3)
    assert len(FakeLinear.calls) == 9
    assert all(c[2] == 2 and c[3] == {"loss": "hinge"} for c in FakeLinear.calls)
    assert seen == list(range(1, 10))
    with pytest.raises(ValueError, match="must not contain 'reg'"):
        cross_validate_linear(X, y, [1.0], estimator_params={"reg": 1})


def test_cross_validate_linear_real_classifier(small_data):
    pytest.importorskip("core.linear")
    X, y = small_data
    Xf = (X.astype(np.float32) - 128) / 64
    res = cross_validate_linear(Xf, y, [1e-3, 1e3], folds=3, epochs=3,
                                estimator_params={"learning_rate": 1e-2})
    assert res.scores.shape == (2, 3) and res.best_value == 1e-3
    assert res.mean[0] > 0.6


def test_cross_validate_knn_algorithm_brute_and_auto_agree_and_only_auto_prunes(monkeypatch):
    """``algorithm`` reaches every fold's classifier: "auto" builds the projection lower bound of
    core._prune on a training fold big enough for it, "brute" never does, and the scores are equal."""
    from core import _prune
    rng = np.random.default_rng(3)
    n, d = 5200, 512                                  # 4160 training images per fold (>= 4096)
    y = rng.integers(0, 5, n)
    basis = rng.normal(0, 40, (8, d))
    X = np.clip(128 + rng.normal(0, 1, (n, 8)) @ basis + 20 * y[:, None] + rng.normal(0, 8, (n, d)),
                0, 255).astype(np.uint8)
    built = []
    real_init = _prune.Projection.__init__

    def spy_init(self, *args, **kw):
        built.append(1)
        real_init(self, *args, **kw)

    monkeypatch.setattr(_prune.Projection, "__init__", spy_init)
    ks = [1, 2, 5, 10]
    auto = cross_validate_knn(X, y, ks, folds=5, random_state=1)
    assert len(built) == 5                            # the shortcut ran in every fold
    brute = cross_validate_knn(X, y, ks, folds=5, algorithm="brute", random_state=1)
    assert len(built) == 5                            # ... and never for "brute"
    np.testing.assert_array_equal(auto.scores, brute.scores)
    assert 0.3 < auto.mean.min() <= auto.mean.max() < 1.0


def test_cross_validate_knn_rejects_an_unknown_algorithm_or_metric_before_any_work(small_data, monkeypatch):
    X, y = small_data
    monkeypatch.setattr(KNearestNeighbor, "fit", lambda *a, **kw: pytest.fail("fit before validation"))
    with pytest.raises(ValueError, match=r"algorithm must be one of 'auto', 'brute' \(got algorithm='kd_tree'\)"):
        cross_validate_knn(X, y, [1, 3], algorithm="kd_tree")
    with pytest.raises(ValueError, match=r"metric must be one of .*\(got metric='cosine'\)"):
        cross_validate_knn(X, y, [1, 3], metric="cosine")


def _walk_images(rng, n, d):
    """Smooth-ish uint8 rows (a random walk along the features), some exact copies, some pure noise."""
    X = np.clip(rng.integers(-20, 21, (n, d)).cumsum(axis=1) + rng.integers(0, 256, (n, 1)), 0, 255)
    X = X.astype(np.uint8)
    X[n - 100:] = X[:100]                                     # exact copies: ties to the lower index
    X[100:160] = rng.integers(0, 256, (60, d))                # noise: the bound cannot narrow these down
    return X


def test_pooled_l1_fold_blocks_give_the_per_fold_searchs_neighbours():
    from core import _cv_blocks
    from core._topk import padded_width
    from core.distances import TrainSet
    rng = np.random.default_rng(8)
    X, y = _walk_images(rng, 5200, 96), rng.integers(0, 3, 5200)
    splits = KFold(5, random_state=0).split(y)                # 4160 training images per fold
    blocks = _cv_blocks.FoldBlocks(X, splits, "l1", pooled=True)
    for f, (tr, va) in enumerate(splits):
        V = blocks.keys(f, padded_width(len(tr)))
        d, i = _cv_blocks.select_pooled(blocks.rows[f], TrainSet(X[tr], "l1"), V, 26, blocks.sets[f].d)
        d_ref, i_ref = KNearestNeighbor(26, "l1", "brute").fit(X[tr], y[tr]).kneighbors(X[va])
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_array_equal(d, d_ref)
    assert blocks.blocks == {} and blocks.block_calls == 10


def test_l1_cross_validation_pools_only_where_it_pays(monkeypatch):
    from core import _cv_blocks
    rng = np.random.default_rng(9)
    X, y = _walk_images(rng, 5200, 96), rng.integers(0, 3, 5200)
    splits = KFold(5, random_state=0).split(y)
    assert _cv_blocks.pools(X, splits, 26, "l1", "auto")      # k <= max(10, 4160 / 160)
    assert not _cv_blocks.pools(X, splits, 27, "l1", "auto")
    assert not _cv_blocks.pools(X, splits, 5, "l1", "brute") and not _cv_blocks.pools(X, splits, 5, "l2", "auto")
    assert not _cv_blocks.pools(X[:4000], KFold(5).split(y[:4000]), 5, "l1", "auto")   # folds < 4096 images
    assert not _cv_blocks.pools(X.astype(np.float32), splits, 5, "l1", "auto")
    seen = []
    real = _cv_blocks.select_pooled
    monkeypatch.setattr(_cv_blocks, "select_pooled", lambda *a, **kw: seen.append(a[3]) or real(*a, **kw))
    ks = [1, 4, 10, 26]
    pooled = cross_validate_knn(X, y, ks, metric="l1")
    assert seen == [26] * 5
    np.testing.assert_array_equal(pooled.scores, cross_validate_knn(X, y, ks, metric="l1", algorithm="brute").scores)
    cross_validate_knn(X, y, [1, 27], metric="l1")
    assert seen == [26] * 5                                   # k = 27: the full blocks
