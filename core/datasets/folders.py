"""Image-folder data sets: ``root/<class>/*.png`` (optionally ``root/train/<class>`` + ``root/test/<class>``).

Conventions
-----------
* Classes are the sub-folder names, sorted alphabetically; label ``c`` is ``class_names[c]``
  (so the CIFAR-10 JPEG folders give airplane, automobile, bird, ..., truck).
* Without ``train/`` and ``test/`` folders the images are split 80/20, stratified and
  seeded, and a note says so. A Kaggle-style folder (``trainLabels.csv`` with
  ``N.png,classname`` rows, optional ``id,label`` header, images next to it or in ``train/``)
  works too.
* Files: .png .jpg .jpeg .bmp .gif (first frame) .webp. Hidden files are ignored; other
  files are ignored with a note; files that fail to decode are skipped with a note naming
  up to five of them; images over ``max_pixels`` are skipped before decoding (a
  decompression-bomb guard; Pillow's own ``DecompressionBombError`` is a skip too, while its
  warning for images over ``Image.MAX_IMAGE_PIXELS`` is left alone: we change no global).
* **Mixed images.** Every image becomes grey (``C = 1``, Pillow mode L) if all images are
  grey -- mode L/1/I/F, or colour modes whose three channels are equal everywhere --
  otherwise every image becomes RGB (``C = 3``; alpha is dropped, palettes expanded).
  Every image is resized (Pillow BILINEAR, antialiased when shrinking) to ``size`` if given,
  else to the most common ``(H, W)``; a note counts the resized images.
* Decoding runs in a small thread pool when the images are large (Pillow releases the GIL while
  decoding pixels); small images (the first chunk decides, under 64 x 64 on average) are decoded on
  one thread, because for them most of the time is Python parsing headers and two threads only fight
  over the interpreter lock (20,000 CIFAR-10 JPEGs: 2.8 s on one thread, 3.8 s on two).
"""
from __future__ import annotations

import csv
import io
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from core.datasets import folder_cache
from core.datasets._base import Dataset, DatasetError, split_off_test
from core.progress import check_cancel, report

__all__ = ["load_image_folder", "IMAGE_EXTENSIONS", "MAX_IMAGE_PIXELS", "MAX_FOLDER_BYTES"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
MAX_IMAGE_PIXELS = 4096 * 4096     #: larger images are skipped, not decoded
MAX_FOLDER_BYTES = 2 * 1024 ** 3   #: decoded pixels of one data set, in bytes
MAX_FILE_BYTES = 256 * 1024 ** 2   #: larger files are skipped unread
_FORMATS = ["PNG", "JPEG", "BMP", "GIF", "WEBP"]
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}
_CHUNK = 128
THREAD_MIN_PIXELS = 64 * 64        #: smaller images decode faster on one thread (Python-bound, see _decode_all)


def _decode(path, max_pixels, size):
    """Decode one file -> (array (H,W) or (H,W,3) uint8, is_grey, None) or (None, None, reason)."""
    try:
        with open(path, "rb") as f:   # parsing headers from memory is much faster than from the file
            if os.fstat(f.fileno()).st_size > MAX_FILE_BYTES:
                return None, None, "too large"
            data = f.read()
        with Image.open(io.BytesIO(data), formats=_FORMATS) as im:
            w, h = im.size
            if w * h > max_pixels:
                return None, None, "too large"
            grey = im.mode in _GREY_MODES
            if im.mode == "P":
                im = im.convert("RGBA")
            mode = "L" if grey else "RGB"
            if im.mode != mode:
                im = im.convert(mode)
            if size is not None and im.size != (size[1], size[0]):
                im = im.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except Image.DecompressionBombError:
        return None, None, "too large"
    except Exception:  # noqa: BLE001 - any decoder failure means "unreadable file", reported in a note
        return None, None, "unreadable"
    if not grey:
        grey = bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all())
    return arr, grey, None


def _decode_chunk(paths, max_pixels, size):
    return [_decode(p, max_pixels, size) for p in paths]


def _list_files(folder: Path):
    images, others = [], []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.startswith(".") or not entry.is_file():
            continue
        (images if entry.name.lower().endswith(IMAGE_EXTENSIONS) else others).append(Path(entry.path))
    return images, others


def _class_dirs(folder: Path) -> list:
    return sorted((d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")),
                  key=lambda d: d.name)


def _find_child(folder: Path, name: str):
    for c in folder.iterdir():
        if c.name.lower() == name:
            return c
    return None


def _read_label_csv(csv_path: Path):
    """Rows ``file,label`` -> list of (Path, label); plus files that are listed but missing."""
    img_dir = _find_child(csv_path.parent, "train") or csv_path.parent
    if not img_dir.is_dir():
        img_dir = csv_path.parent
    rows, missing = [], []
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        for i, row in enumerate(csv.reader(f)):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise DatasetError(f"{csv_path}: line {i + 1} should be 'file,label' (got {row!r})")
            name, label = row[0].strip(), row[1].strip()
            if i == 0 and name.lower() in ("id", "file", "filename", "image") and label.lower() in ("label", "class"):
                continue
            candidates = [img_dir / name] if Path(name).suffix else [img_dir / (name + e) for e in IMAGE_EXTENSIONS]
            path = next((c for c in candidates if c.is_file()), None)
            if path is None:
                missing.append(name)
            else:
                rows.append((path, label))
    return rows, missing


def _scan(root: Path):
    """Return (entries, class_names, has_test, notes); entries are (path, class_index, is_test)."""
    notes, others = [], []
    csv_path = next((c for c in root.iterdir() if c.name.lower() in ("trainlabels.csv", "labels.csv")), None)
    if csv_path is not None and csv_path.is_file():
        rows, missing = _read_label_csv(csv_path)
        names = sorted({label for _, label in rows})
        index = {n: i for i, n in enumerate(names)}
        if missing:
            notes.append(f"{len(missing)} files listed in {csv_path.name} were not found: {', '.join(missing[:5])}")
        return [(p, index[label], False) for p, label in rows], names, False, notes, csv_path
    train, test = _find_child(root, "train"), _find_child(root, "test")
    splits = []
    if train is not None and train.is_dir() and _class_dirs(train):
        splits.append((train, False))
        if test is not None and test.is_dir() and _class_dirs(test):
            splits.append((test, True))
    else:
        splits.append((root, False))
    names = [d.name for d in _class_dirs(splits[0][0])]
    index = {n: i for i, n in enumerate(names)}
    entries = []
    for folder, is_test in splits:
        for d in _class_dirs(folder):
            if d.name not in index:
                raise DatasetError(f"{d}: test class '{d.name}' has no matching folder in {splits[0][0]}")
            images, other = _list_files(d)
            others += other
            entries += [(p, index[d.name], is_test) for p in images]
    if others:
        notes.append(f"ignored {len(others)} non-image files: {', '.join(p.name for p in others[:5])}")
    return entries, names, len(splits) == 2, notes, splits[0][0]


def _decode_all(paths, max_pixels, size, workers, progress, cancel, where):
    """Decode every file, a chunk at a time: the first chunk here; the rest on ``workers`` threads only if
    the images are large enough for that to pay (see :data:`THREAD_MIN_PIXELS`)."""
    chunks = [paths[i:i + _CHUNK] for i in range(0, len(paths), _CHUNK)]
    results, used = [], 0

    def add(part):
        nonlocal results, used
        for arr, _, _ in part:
            used += 0 if arr is None else arr.nbytes
        if used > MAX_FOLDER_BYTES:
            raise DatasetError(f"{where}: the images add up to over {MAX_FOLDER_BYTES // 1024 ** 3} GiB once "
                               f"decoded; load them with a smaller size, e.g. size=(32, 32)")
        results += part
        report(progress, len(results), len(paths), f"decoding images {len(results)}/{len(paths)}")

    if not chunks:
        return results
    check_cancel(cancel)
    first = _decode_chunk(chunks[0], max_pixels, size)
    add(first)
    decoded = [a for a, _, _ in first if a is not None]
    pixels = np.mean([a.shape[0] * a.shape[1] for a in decoded]) if decoded else 0
    if int(workers) <= 1 or pixels < THREAD_MIN_PIXELS:
        for c in chunks[1:]:
            check_cancel(cancel)
            add(_decode_chunk(c, max_pixels, size))
        return results
    ex = ThreadPoolExecutor(max_workers=int(workers), thread_name_prefix="lcl-decode")
    try:
        futures = [ex.submit(_decode_chunk, c, max_pixels, size) for c in chunks[1:]]
        for fut in futures:
            while True:
                check_cancel(cancel)
                try:
                    part = fut.result(timeout=0.1)
                    break
                except TimeoutError:
                    continue
            add(part)
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
    return results


def _name_list(paths) -> str:
    more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
    return ", ".join(p.name for p in paths[:5]) + more


def load_image_folder(path, *, size=None, test_fraction=0.2, random_state=0, max_pixels=MAX_IMAGE_PIXELS,
                      workers=2, progress=None, cancel=None, cache_dir=None) -> Dataset:
    """Load a folder of class sub-folders of images (see the module docstring for the rules).

    Parameters
    ----------
    path : str or Path
        ``root`` holding ``<class>/`` folders, or ``train/<class>`` and ``test/<class>``, or a
        Kaggle-style ``trainLabels.csv``.
    size : (H, W) or None
        Resize every image to this; ``None`` uses the most common size.
    test_fraction : float
        Share held out as the test set when the folder has no ``test/`` part.
    random_state : seed for that split.
    max_pixels : int
        Images with more pixels are skipped (noted), never decoded.
    workers : int
        Decoding threads.
    progress, cancel : optional hooks (see :mod:`core.progress`)
    cache_dir : path or None
        Keep the decoded images of a large folder here and reuse them while no file changes (see
        :mod:`core.datasets.folder_cache`; :func:`core.datasets.load` passes the app's cache).

    Returns
    -------
    Dataset with ``(N, H, W, C)`` uint8 images, C = 1 or 3.

    Raises
    ------
    DatasetError
        Fewer than two classes, a class with no readable image, or too much pixel data.
    """
    root = Path(path)
    if not root.is_dir():
        raise FileNotFoundError(f"folder not found: {root}")
    if size is not None:
        size = (int(size[0]), int(size[1]))
        if min(size) < 1:
            raise ValueError(f"size must be two positive integers (H, W) (got size={size!r})")
    entries, names, has_test, notes, class_root = _scan(root)
    if len(names) < 2:
        raise DatasetError(f"{root}: found {len(names)} class folder(s) ({', '.join(names) or 'none'}); an image "
                           f"folder data set needs at least 2, laid out as {root.name}/<class name>/<image files>")
    cached_at = fp = None          # the cache needs a reproducible split: an integer seed
    if (cache_dir is not None and len(entries) >= folder_cache.MIN_FILES
            and isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)):
        params = {"size": size, "test_fraction": float(test_fraction), "max_pixels": int(max_pixels),
                  "random_state": int(random_state)}
        fp = folder_cache.fingerprint(root, entries, params)
        cached_at = folder_cache.cache_file(Path(cache_dir), root)
        ds = folder_cache.read(cached_at, fp)
        if ds is not None:
            report(progress, len(entries), len(entries), "decoded images read from the cache")
            return ds
    results = _decode_all([e[0] for e in entries], max_pixels, size, workers, progress, cancel, root)
    keep = [i for i, r in enumerate(results) if r[0] is not None]
    bad = [entries[i][0] for i, r in enumerate(results) if r[2] == "unreadable"]
    big = [entries[i][0] for i, r in enumerate(results) if r[2] == "too large"]
    if bad:
        notes.append(f"skipped {len(bad)} unreadable files: {_name_list(bad)}")
    if big:
        notes.append(f"skipped {len(big)} images over the {max_pixels:,}-pixel limit: {_name_list(big)}")
    y_all = np.array([entries[i][1] for i in keep], dtype=np.int64)
    test_mask = np.array([entries[i][2] for i in keep], dtype=bool)
    counts = np.bincount(y_all[~test_mask], minlength=len(names))
    empty = [names[c] for c in range(len(names)) if counts[c] == 0]
    if empty:
        raise DatasetError(f"{class_root}: no readable images in class folder(s) {', '.join(empty)}")
    if has_test and not test_mask.any():
        raise DatasetError(f"{root}: the test folder holds no readable images")

    arrays = [results[i][0] for i in keep]
    channels = 1 if all(results[i][1] for i in keep) else 3
    if size is None:
        size = Counter(a.shape[:2] for a in arrays).most_common(1)[0][0]
    n = len(arrays)
    if n * size[0] * size[1] * channels > MAX_FOLDER_BYTES:
        raise DatasetError(f"{root}: {n} images of {size[0]}×{size[1]}×{channels} would need over "
                           f"{MAX_FOLDER_BYTES // 1024 ** 3} GiB; load them with a smaller size, e.g. size=(32, 32)")
    X = np.empty((n, size[0], size[1], channels), dtype=np.uint8)
    resized = 0
    for j, a in enumerate(arrays):
        if a.shape[:2] != size:
            a = np.asarray(Image.fromarray(a).resize((size[1], size[0]), Image.Resampling.BILINEAR))
            resized += 1
        if channels == 1:
            X[j, :, :, 0] = a if a.ndim == 2 else a[..., 0]
        else:
            X[j] = a[..., np.newaxis] if a.ndim == 2 else a
        if j % 4096 == 0:
            check_cancel(cancel)
    if resized:
        notes.append(f"resized {resized} images to {size[0]}×{size[1]}")
    if has_test:
        Xtr, ytr, Xte, yte = X[~test_mask], y_all[~test_mask], X[test_mask], y_all[test_mask]
    else:
        Xtr, ytr, Xte, yte, _, _ = split_off_test(X, y_all, test_fraction, random_state)
        notes.append(f"no train/test folders; split {len(ytr)}/{len(yte)} "
                     f"(stratified {round((1 - test_fraction) * 100)}/{round(test_fraction * 100)}, "
                     f"seed {random_state})")
    ds = Dataset(name=root.name, X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte,
                 class_names=names, source=str(root), notes=notes)
    if cached_at is not None:
        folder_cache.write(cached_at, fp, ds)
    return ds
