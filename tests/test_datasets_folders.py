"""Image-folder data sets: real CIFAR-10 JPEG/PNG folders and small folders made here."""
from __future__ import annotations

import time

import numpy as np
import pytest
from conftest import shared_path
from PIL import Image

from core.datasets import DatasetError, load, load_image_folder
from core.datasets import folders as folders_mod
from core.datasets.cifar import CIFAR10_CLASSES
from core.progress import Cancelled


def _img(path, size=(8, 6), mode="RGB", value=None, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w, h = size
    shape = (h, w) if mode == "L" else (h, w, 3)
    arr = rng.integers(0, 256, shape, dtype=np.uint8) if value is None else np.full(shape, value, np.uint8)
    Image.fromarray(arr, mode).save(path)
    return arr


def _simple_folder(root, classes=("cat", "dog"), n=5, **kw):
    for c in classes:
        for i in range(n):
            _img(root / c / f"{i}.png", seed=hash((c, i)) % 1000, **kw)
    return root


# ---------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def cifar_jpg():
    folder = shared_path("cifar10", "yoongikim_jpg")
    t0 = time.perf_counter()
    ds = load(folder)
    return ds, time.perf_counter() - t0


@pytest.mark.slow
def test_real_cifar10_jpeg_folders(cifar_jpg):
    ds, _ = cifar_jpg
    assert ds.n_train == 10000 and ds.n_test == 10000
    assert ds.class_names == CIFAR10_CLASSES and ds.image_shape == (32, 32, 3)
    assert ds.class_counts().tolist() == [1000] * 10 and ds.class_counts("test").tolist() == [1000] * 10
    assert ds.notes in ([], ["decoded images read from the cache"])   # another module may have loaded it


@pytest.mark.slow
def test_real_cifar10_jpeg_matches_lossless_png(cifar_jpg):
    ds, _ = cifar_jpg
    png = np.asarray(Image.open(shared_path("cifar10", "foolbox_samples", "cifar10_00_3.png")).convert("RGB"))
    first_cat = ds.X_test[np.flatnonzero(ds.y_test == 3)[0]]          # test/cat/0000.jpg
    assert np.abs(first_cat.astype(int) - png.astype(int)).mean() < 12
    other = ds.X_test[np.flatnonzero(ds.y_test == 8)[0]]              # a ship is far from the cat
    assert np.abs(other.astype(int) - png.astype(int)).mean() > 20


def test_real_kaggle_csv_folder():
    ds = load(shared_path("cifar10", "kaggle_train_first200"))
    assert ds.class_names == CIFAR10_CLASSES
    assert (ds.class_counts() + ds.class_counts("test")).tolist() == [14, 28, 22, 21, 19, 19, 18, 21, 15, 23]
    assert ds.n_train == 160 and ds.n_test == 40 and any("split 160/40" in n for n in ds.notes)


def test_real_flat_png_folder_is_not_a_class_folder():
    with pytest.raises(DatasetError, match="found 0 class folder"):
        load(shared_path("cifar10", "foolbox_samples"))


# ---------------------------------------------------------------------------- layouts
def test_class_folders_split_80_20_sorted_classes(tmp_path):
    _simple_folder(tmp_path / "set", classes=("zebra", "ant", "moose"), n=10)
    ds = load_image_folder(tmp_path / "set")
    assert ds.class_names == ["ant", "moose", "zebra"]
    assert ds.class_counts().tolist() == [8, 8, 8] and ds.class_counts("test").tolist() == [2, 2, 2]
    assert ds.image_shape == (6, 8, 3) and any("split 24/6" in n for n in ds.notes)
    np.testing.assert_array_equal(load_image_folder(tmp_path / "set").X_test, ds.X_test)


def test_train_test_folders(tmp_path):
    root = tmp_path / "tt"
    a = _img(root / "train" / "a" / "1.png", seed=1)
    _img(root / "train" / "b" / "1.png", seed=2)
    _img(root / "train" / "b" / "2.png", seed=3)
    t = _img(root / "test" / "b" / "9.png", seed=4)
    ds = load(root)
    assert ds.n_train == 3 and ds.n_test == 1 and ds.y_test.tolist() == [1] and not ds.notes
    np.testing.assert_array_equal(ds.X_train[0], a)
    np.testing.assert_array_equal(ds.X_test[0], t)


def test_test_class_without_train_folder(tmp_path):
    root = _simple_folder(tmp_path / "tt" / "train", n=2).parent
    _img(root / "test" / "cow" / "1.png")
    with pytest.raises(DatasetError, match="cow"):
        load_image_folder(root)


def test_kaggle_csv_with_header_and_bare_ids(tmp_path):
    root = tmp_path / "k"
    labels = ["frog", "truck"] * 5
    for i in range(10):
        _img(root / "train" / f"{i + 1}.png", seed=i)
    (root / "trainLabels.csv").write_text("id,label\n" + "".join(f"{i + 1},{c}\n" for i, c in enumerate(labels))
                                          + "11,frog\n")
    ds = load(root)
    assert ds.class_names == ["frog", "truck"] and ds.n_train + ds.n_test == 10
    assert any("11" in n and "not found" in n for n in ds.notes)


# ---------------------------------------------------------------------------- problems
def test_empty_folder(tmp_path):
    (tmp_path / "e").mkdir()
    with pytest.raises(DatasetError, match="e: found 0 class folder"):
        load_image_folder(tmp_path / "e")


def test_one_class_only(tmp_path):
    _simple_folder(tmp_path / "one", classes=("only",))
    with pytest.raises(DatasetError, match=r"found 1 class folder\(s\) \(only\).*at least 2"):
        load(tmp_path / "one")


def test_corrupt_and_non_image_files_are_skipped_with_notes(tmp_path):
    root = _simple_folder(tmp_path / "c", n=4)
    (root / "cat" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (root / "dog" / "empty.png").write_bytes(b"")
    (root / "dog" / "README.txt").write_text("notes")
    (root / "dog" / ".hidden.png").write_bytes(b"junk")
    ds = load_image_folder(root)
    assert ds.n_train + ds.n_test == 8
    notes = " | ".join(ds.notes)
    assert "skipped 2 unreadable files: broken.jpg, empty.png" in notes
    assert "ignored 1 non-image files: README.txt" in notes and ".hidden" not in notes


def test_class_with_only_corrupt_files(tmp_path):
    root = _simple_folder(tmp_path / "c", n=3)
    (root / "emu").mkdir()
    (root / "emu" / "x.png").write_bytes(b"nope")
    with pytest.raises(DatasetError, match="no readable images in class folder.*emu"):
        load_image_folder(root)


def test_mixed_sizes_resized_to_most_common(tmp_path):
    root = _simple_folder(tmp_path / "m", n=4, size=(10, 12))
    _img(root / "cat" / "big.png", size=(40, 30))
    _img(root / "dog" / "small.jpg", size=(5, 5))
    ds = load_image_folder(root)
    assert ds.image_shape == (12, 10, 3)
    assert "resized 2 images to 12×10" in ds.notes


def test_explicit_size(tmp_path):
    root = _simple_folder(tmp_path / "m", n=3, size=(10, 12))
    ds = load_image_folder(root, size=(4, 5))
    assert ds.image_shape == (4, 5, 3) and not any("resized" in n for n in ds.notes)


def test_mixed_grey_and_colour_become_rgb(tmp_path):
    root = tmp_path / "g"
    grey = _img(root / "a" / "1.png", mode="L", seed=1)
    _img(root / "a" / "2.png", mode="L", seed=2)
    _img(root / "b" / "1.png", mode="RGB", seed=3)
    _img(root / "b" / "2.png", mode="RGB", seed=4)
    ds = load_image_folder(root, test_fraction=0.5)
    assert ds.image_shape[2] == 3
    X = np.concatenate([ds.X_train, ds.X_test])
    match = [np.array_equal(x, np.repeat(grey[..., None], 3, axis=2)) for x in X]
    assert any(match)


def test_all_grey_stay_one_channel_even_if_saved_as_rgb(tmp_path):
    root = tmp_path / "g"
    _img(root / "a" / "1.png", mode="L", seed=1)
    _img(root / "a" / "2.png", mode="L", seed=2)
    _img(root / "b" / "1.png", mode="RGB", value=128)      # RGB file, but grey content
    _img(root / "b" / "2.png", mode="L", seed=3)
    ds = load_image_folder(root, test_fraction=0.5)
    assert ds.image_shape == (6, 8, 1)


def test_palette_gif_and_rgba_webp(tmp_path):
    root = tmp_path / "p"
    (root / "a").mkdir(parents=True)
    rgb = np.random.default_rng(0).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(rgb).convert("P").save(root / "a" / "x.gif")
    Image.new("RGBA", (8, 6), (10, 20, 30, 0)).save(root / "a" / "y.png")
    _simple_folder(root, classes=("b",), n=2)
    ds = load_image_folder(root, test_fraction=0.25)
    assert ds.image_shape == (6, 8, 3) and ds.n_train + ds.n_test == 4


def test_pixel_limit_skips_big_images(tmp_path):
    root = _simple_folder(tmp_path / "b", n=3, size=(8, 6))
    _img(root / "cat" / "huge.png", size=(100, 100))
    ds = load_image_folder(root, max_pixels=1000)
    assert any("skipped 1 images over the 1,000-pixel limit: huge.png" in n for n in ds.notes)
    assert ds.n_train + ds.n_test == 6


def test_progress_and_cancel(tmp_path):
    root = _simple_folder(tmp_path / "p", n=5)
    seen = []
    load_image_folder(root, progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1] == (10, 10)
    with pytest.raises(Cancelled):
        load_image_folder(root, cancel=lambda: True)


def test_total_decoded_size_cap(tmp_path, monkeypatch):
    root = _simple_folder(tmp_path / "big", n=3)
    monkeypatch.setattr(folders_mod, "MAX_FOLDER_BYTES", 500)
    with pytest.raises(DatasetError, match="big: the images add up to over"):
        load_image_folder(root)


@pytest.mark.parametrize("side, threaded", [(16, False), (80, True)])
def test_small_images_decode_on_one_thread_large_ones_on_the_pool(tmp_path, monkeypatch, side, threaded):
    """Tiny images are Python-bound (two threads only fight over the interpreter lock); large ones
    decode in parallel. Either way every image arrives, in order."""
    root = _simple_folder(tmp_path / f"s{side}", n=80, size=(side, side))     # 160 files: 2 chunks
    pools = []
    real = folders_mod.ThreadPoolExecutor

    def spy(*a, **kw):
        pools.append(kw)
        return real(*a, **kw)

    monkeypatch.setattr(folders_mod, "ThreadPoolExecutor", spy)
    ds = load_image_folder(root, workers=2, test_fraction=0.25)
    assert bool(pools) == threaded
    one = load_image_folder(root, workers=1, test_fraction=0.25)
    np.testing.assert_array_equal(ds.X_train, one.X_train)
    np.testing.assert_array_equal(ds.y_test, one.y_test)
    assert ds.X_train.shape[1:] == (side, side, 3) and len(ds.X_train) + len(ds.X_test) == 160


# ---------------------------------------------------------------------------- decode cache
def _count_decodes(monkeypatch):
    calls = []
    real = folders_mod._decode_chunk
    monkeypatch.setattr(folders_mod, "_decode_chunk", lambda paths, *a: calls.append(len(paths)) or real(paths, *a))
    return calls


def test_a_large_folder_is_decoded_once_then_read_from_the_cache(tmp_path, monkeypatch):
    import os
    from core.datasets import folder_cache
    monkeypatch.setattr(folder_cache, "MIN_FILES", 10)
    root = _simple_folder(tmp_path / "imgs", n=8)                      # 16 files
    cache = tmp_path / "cache"
    calls = _count_decodes(monkeypatch)
    first = load_image_folder(root, cache_dir=cache)
    assert sum(calls) == 16 and len(list(cache.glob("*.npz"))) == 1
    calls.clear()
    again = load_image_folder(root, cache_dir=cache)
    assert calls == [] and again.notes[-1] == "decoded images read from the cache"
    for a in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, a), getattr(first, a))
    assert again.class_names == first.class_names and again.source == first.source
    # a re-saved file, another size or another seed: decoded again
    f = root / "cat" / "3.png"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    load_image_folder(root, cache_dir=cache)
    assert sum(calls) == 16
    calls.clear()
    load_image_folder(root, cache_dir=cache, size=(4, 4))
    load_image_folder(root, cache_dir=cache, random_state=1)
    assert sum(calls) == 32
    calls.clear()
    (root / "dog" / "0.png").rename(root / "dog" / "0b.png")
    load_image_folder(root, cache_dir=cache, random_state=1)
    assert sum(calls) == 16


def test_a_damaged_or_unwritable_cache_never_breaks_loading(tmp_path, monkeypatch):
    from core.datasets import folder_cache
    monkeypatch.setattr(folder_cache, "MIN_FILES", 10)
    root = _simple_folder(tmp_path / "imgs", n=8)
    cache = tmp_path / "cache"
    good = load_image_folder(root, cache_dir=cache)
    (path,) = cache.glob("*.npz")
    path.write_bytes(b"PK\x03\x04 not really a zip")
    calls = _count_decodes(monkeypatch)
    again = load_image_folder(root, cache_dir=cache)
    assert sum(calls) == 16 and np.array_equal(again.X_train, good.X_train)
    assert folder_cache.read(path, "x") is None and np.load(path)["fingerprint"].size == 1   # rewritten
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder should be")
    assert np.array_equal(load_image_folder(root, cache_dir=blocked).X_train, good.X_train)
    assert not list(tmp_path.glob("**/*.tmp"))
    # no cache for small folders, for a random split, or without a cache folder
    monkeypatch.setattr(folder_cache, "MIN_FILES", 100)
    load_image_folder(root, cache_dir=tmp_path / "small")
    load_image_folder(root, cache_dir=tmp_path / "rng", random_state=np.random.default_rng(0))
    assert not (tmp_path / "small").exists() and not (tmp_path / "rng").exists()


def test_the_cache_keeps_under_its_size_limit_dropping_the_least_recently_used(tmp_path, monkeypatch):
    import os
    from core.datasets import folder_cache
    monkeypatch.setattr(folder_cache, "MIN_FILES", 10)
    cache = tmp_path / "cache"
    roots = [_simple_folder(tmp_path / f"imgs{i}", n=8) for i in range(3)]
    load_image_folder(roots[0], cache_dir=cache)
    (one,) = cache.glob("*.npz")
    size = one.stat().st_size
    monkeypatch.setattr(folder_cache, "MAX_BYTES", 2 * size + size // 2)        # room for two folders
    load_image_folder(roots[1], cache_dir=cache)
    t = time.time()
    for i, f in enumerate(sorted(cache.glob("*.npz"), key=lambda p: p.name)):
        os.utime(f, (t - 100 + i, t - 100 + i))                                  # both used a while ago
    calls = _count_decodes(monkeypatch)
    assert load_image_folder(roots[0], cache_dir=cache).notes[-1] == "decoded images read from the cache"
    assert calls == []                                                           # a hit: roots[0] is now fresh
    load_image_folder(roots[2], cache_dir=cache)                                 # a third: one has to go
    names = sorted(f.name.split("-")[0] for f in cache.glob("*.npz"))
    assert names == ["imgs0", "imgs2"]                                           # imgs1 was used least recently
    assert sum(f.stat().st_size for f in cache.glob("*.npz")) <= folder_cache.MAX_BYTES
    calls.clear()
    load_image_folder(roots[1], cache_dir=cache)                                 # decoded again, then cached
    assert sum(calls) == 16


def test_pruning_never_deletes_the_file_just_written_and_clears_stale_temporary_files(tmp_path):
    import os
    from core.datasets import folder_cache
    cache = tmp_path / "cache"
    cache.mkdir()
    big, old, keep = cache / "big-1.npz", cache / "old-2.npz", cache / "new-3.npz"
    for f, n in ((big, 5000), (old, 3000), (keep, 8000)):
        f.write_bytes(b"x" * n)
    stale, fresh = cache / "a.npz.123.tmp", cache / "b.npz.456.tmp"                # a crashed write, a running one
    stale.write_bytes(b"x")
    fresh.write_bytes(b"x")
    (cache / "notes.txt").write_text("not ours to delete")
    t = time.time()
    os.utime(stale, (t - 7200, t - 7200))
    os.utime(big, (t - 50, t - 50))
    os.utime(old, (t - 60, t - 60))
    removed = folder_cache.prune(cache, keep=keep, max_bytes=6000)
    assert set(removed) == {stale, old, big}                                     # keep alone is over the limit
    assert sorted(f.name for f in cache.iterdir()) == ["b.npz.456.tmp", "new-3.npz", "notes.txt"]
    assert folder_cache.prune(tmp_path / "missing") == []


def test_the_app_loader_caches_under_its_cache_root(tmp_path, monkeypatch):
    from core.datasets import folder_cache
    monkeypatch.setattr(folder_cache, "MIN_FILES", 10)
    monkeypatch.setenv("LCL_CACHE_DIR", str(tmp_path / "lcl"))
    root = _simple_folder(tmp_path / "imgs", n=8)
    load(root)
    assert len(list((tmp_path / "lcl" / "folders").glob("imgs-*.npz"))) == 1
    assert load(root).notes[-1] == "decoded images read from the cache"
