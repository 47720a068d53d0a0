"""Dataset container, stratified splits, toy 2-D sets, bundled digits, load() dispatch, catalog."""
from __future__ import annotations

import numpy as np
import pytest

from core.datasets import (CATALOG, TOY2D_KINDS, Dataset, DatasetError, default_cache_dir, is_cached, load,
                           make_toy2d, stratified_indices, train_val_split)
from core.datasets.split import stratified_split_counts


def _toy_dataset(n_per_class=(30, 20, 10), n_test=(5, 5, 5), shape=(4, 4, 3)):
    y_tr = np.repeat(np.arange(3), n_per_class)
    y_te = np.repeat(np.arange(3), n_test)
    rng = np.random.default_rng(0)
    return Dataset(name="Toy", X_train=rng.integers(0, 256, (y_tr.size,) + shape, dtype=np.uint8), y_train=y_tr,
                   X_test=rng.integers(0, 256, (y_te.size,) + shape, dtype=np.uint8), y_test=y_te,
                   class_names=["a", "b", "c"])


# ---------------------------------------------------------------------------- Dataset
def test_dataset_properties_and_summary():
    ds = _toy_dataset()
    assert ds.image_shape == (4, 4, 3)
    assert ds.n_classes == 3 and ds.n_features == 48
    assert ds.n_train == 60 and ds.n_test == 15
    assert ds.y_train.dtype == np.int64
    assert ds.class_counts().tolist() == [30, 20, 10]
    assert ds.class_counts("test").tolist() == [5, 5, 5]
    assert ds.summary() == "Toy · 60 train / 15 test · 4×4×3 · 3 classes"
    with pytest.raises(ValueError, match="split must be"):
        ds.class_counts("val")


def test_dataset_rejects_inconsistent_arrays():
    ds = _toy_dataset()
    with pytest.raises(ValueError, match="y_train must hold labels 0..2"):
        Dataset("x", ds.X_train, ds.y_train + 1, ds.X_test, ds.y_test, ["a", "b", "c"])
    with pytest.raises(TypeError, match="uint8"):
        Dataset("x", ds.X_train.astype(np.float32), ds.y_train, ds.X_test, ds.y_test, ["a", "b", "c"])
    with pytest.raises(ValueError, match="image shape"):
        Dataset("x", ds.X_train, ds.y_train, ds.X_test[:, :2], ds.y_test, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"shape \(60,\)"):
        Dataset("x", ds.X_train, ds.y_train[:-1], ds.X_test, ds.y_test, ["a", "b", "c"])


def test_subsample_is_stratified_seeded_and_copies():
    ds = _toy_dataset()
    sub = ds.subsample(n_train_per_class=8, n_test_per_class=2, random_state=3)
    assert sub.class_counts().tolist() == [8, 8, 8]
    assert sub.class_counts("test").tolist() == [2, 2, 2]
    again = ds.subsample(n_train_per_class=8, n_test_per_class=2, random_state=3)
    np.testing.assert_array_equal(sub.X_train, again.X_train)
    other = ds.subsample(n_train_per_class=8, n_test_per_class=2, random_state=4)
    assert not np.array_equal(sub.X_train, other.X_train)
    sub.X_train[:] = 0
    assert ds.X_train.any()
    assert ds.n_train == 60 and "subsampled" in sub.notes[-1]
    # a class smaller than the cap keeps all of its examples
    assert ds.subsample(n_train_per_class=15).class_counts().tolist() == [15, 15, 10]


def test_subsample_keeps_coarse_labels_aligned():
    ds = _toy_dataset()
    ds = Dataset(ds.name, ds.X_train, ds.y_train, ds.X_test, ds.y_test, ds.class_names,
                 coarse_train=ds.y_train // 2, coarse_test=ds.y_test // 2, coarse_names=["ab", "c"])
    sub = ds.subsample(5, 2, random_state=1)
    np.testing.assert_array_equal(sub.coarse_train, sub.y_train // 2)
    np.testing.assert_array_equal(sub.coarse_test, sub.y_test // 2)


# ---------------------------------------------------------------------------- splits
def test_stratified_indices_counts_and_sorting():
    y = np.repeat(np.arange(4), [10, 3, 7, 1])
    idx = stratified_indices(y, 5, random_state=0)
    assert np.all(np.diff(idx) > 0)
    assert np.bincount(y[idx]).tolist() == [5, 3, 5, 1]
    np.testing.assert_array_equal(idx, stratified_indices(y, 5, random_state=0))
    assert stratified_indices(y, None).size == y.size
    with pytest.raises(ValueError, match="n_per_class must be >= 1"):
        stratified_indices(y, 0)


def test_train_val_split_exact_sizes_and_strata():
    y = np.repeat(np.arange(10), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    tr, va = train_val_split(y, 0.2, random_state=0)
    assert tr.size == 8000 and va.size == 2000
    assert np.intersect1d(tr, va).size == 0
    per_class = np.bincount(y[va])
    assert np.all(np.abs(per_class - 0.2 * np.bincount(y)) <= 1)
    tr2, va2 = train_val_split(y, 0.2, random_state=0)
    np.testing.assert_array_equal(va, va2)
    with pytest.raises(ValueError, match="val_fraction must be between 0 and 1"):
        train_val_split(y, 1.0)


def test_split_counts_keep_one_training_example():
    assert stratified_split_counts([2, 2, 100], 60).tolist()[:2] == [1, 1]
    assert stratified_split_counts([5, 5], 3).sum() == 3
    assert stratified_split_counts([1, 9], 2).tolist() == [0, 2]
    tr, va = train_val_split(np.array([0, 1, 1, 1, 1]), 0.4)
    assert 0 in tr and va.size == 2
    tr, va = train_val_split(np.array([0, 1]), 0.2)      # only singletons: the test part is still not empty
    assert tr.size == 1 and va.size == 1


# ---------------------------------------------------------------------------- toy 2D
@pytest.mark.parametrize("kind", TOY2D_KINDS)
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_toy2d_shapes_counts_and_seed(kind, n_classes):
    X, y = make_toy2d(kind, n_classes=n_classes, n_per_class=17, noise=0.05, random_state=7)
    assert X.shape == (17 * n_classes, 2) and X.dtype == np.float64
    assert y.dtype == np.int64 and np.bincount(y).tolist() == [17] * n_classes
    assert np.abs(X).max() < 1.6
    X2, y2 = make_toy2d(kind, n_classes=n_classes, n_per_class=17, noise=0.05, random_state=7)
    np.testing.assert_array_equal(X, X2)
    X3, _ = make_toy2d(kind, n_classes=n_classes, n_per_class=17, noise=0.05, random_state=8)
    assert not np.array_equal(X, X3)


def test_toy2d_cs231n_layout_is_the_demo_points_without_noise():
    X, y = make_toy2d("cs231n", n_classes=3, n_per_class=3, noise=0.0)
    assert X.shape == (9, 2)
    assert X[0].tolist() == [0.5, 0.4] and y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    # classes sit in different regions: class 0 up-right, class 1 up-left
    assert X[y == 0, 0].mean() > 0 > X[y == 1, 0].mean()


def test_toy2d_xor_two_classes_is_the_quadrant_xor():
    X, y = make_toy2d("xor", n_classes=2, n_per_class=50, noise=0.0)
    assert np.all((np.sign(X[:, 0]) * np.sign(X[:, 1]) > 0) == (y == 0))


def test_toy2d_validation_messages():
    with pytest.raises(ValueError, match="kind must be one of"):
        make_toy2d("moons")
    with pytest.raises(ValueError, match="n_classes must be between 2 and 5"):
        make_toy2d("blobs", n_classes=6)
    with pytest.raises(ValueError, match="noise"):
        make_toy2d("blobs", noise=-1)


# ---------------------------------------------------------------------------- digits and load()
def test_digits_bundled():
    ds = load("digits")
    assert ds.n_train == 1437 and ds.n_test == 360
    assert ds.X_train.shape[1:] == (8, 8, 1) and ds.X_train.dtype == np.uint8
    assert ds.X_train.max() == 255 and ds.class_names == [str(d) for d in range(10)]
    assert np.all(np.abs(ds.class_counts("test") - 36) <= 1)
    np.testing.assert_array_equal(load("digits").y_test, ds.y_test)


def test_load_missing_path_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope")


def test_load_unknown_file_kind(tmp_path):
    p = tmp_path / "notes.txt"
    p.write_text("hello")
    with pytest.raises(DatasetError, match="notes.txt: unknown data file"):
        load(p)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "cifar10", "cifar100"])
def test_catalog_name_not_cached_says_what_to_do(name, tmp_path):
    entry = CATALOG[name]
    assert entry.files and all(len(f.md5) == 32 and f.size > 0 for f in entry.files)
    assert entry.license and entry.citation
    assert not is_cached(name, cache_dir=tmp_path)
    with pytest.raises(DatasetError) as info:
        load(name, cache_dir=tmp_path)
    msg = str(info.value)
    assert "File > Download" in msg and str(tmp_path / name) in msg
    assert all(f.filename in msg for f in entry.files)


def test_default_cache_dir_uses_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LCL_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("LCL_CACHE_DIR")
    assert default_cache_dir().name == "linear-classifier-lab"


def test_digits_fast_reader_matches_sklearn():
    from sklearn.datasets import load_digits as sk_load_digits

    from core.datasets.bundled import _read_sklearn_digits

    images, target = _read_sklearn_digits()
    bunch = sk_load_digits()
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(target, bunch.target)
