"""IDX files (MNIST, Fashion-MNIST): a safe reader and the four-file folder loader.

Conventions
-----------
* IDX layout (LeCun): 2 zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16,
  0x0C int32, 0x0D float32, 0x0E float64), a byte with the number of dimensions, then one
  big-endian uint32 per dimension, then the data, big-endian, row-major.
* A file may be raw or gzip-compressed; gzip is recognised by its magic bytes ``1f 8b``,
  not by the name.
* The size the header promises is checked *before* any large allocation: it must be
  below :data:`MAX_IDX_BYTES` and match the file exactly (no truncation, no trailing bytes).
* The folder loader returns images ``(N, 28, 28, 1)`` uint8 and labels ``(N,)`` int64.
"""
from __future__ import annotations

import gzip
import hashlib
import math
import os
import re
import zlib
from pathlib import Path

import numpy as np

from core.datasets._base import MAX_CLASSES, Dataset, DatasetError, split_off_test
from core.progress import check_cancel, report

__all__ = ["read_idx", "load_idx_folder", "find_idx_files", "MAX_IDX_BYTES",
           "MNIST_CLASSES", "FASHION_CLASSES", "IDX_FILENAMES"]

#: Largest payload (bytes) an IDX header may announce; bigger headers are refused unread.
MAX_IDX_BYTES = 2 * 1024 ** 3

_TYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
          0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CHUNK = 1 << 20

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

#: The canonical (uncompressed) file names, keyed by (split, part).
IDX_FILENAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def _read_header(f, name: str):
    head = f.read(4)
    if len(head) < 4:
        raise DatasetError(f"{name}: too short to be an IDX file ({len(head)} bytes)")
    if head[0] != 0 or head[1] != 0 or head[2] not in _TYPES:
        raise DatasetError(f"{name}: not an IDX file (magic number 0x{head.hex()}; expected 0x0000 "
                           f"followed by a type code 08/09/0B/0C/0D/0E and the number of dimensions)")
    ndim = head[3]
    if not 1 <= ndim <= 8:
        raise DatasetError(f"{name}: IDX header has {ndim} dimensions (expected 1 to 8)")
    raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DatasetError(f"{name}: truncated IDX header")
    dims = tuple(int.from_bytes(raw_dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    dtype = _TYPES[head[2]]
    return dtype, dims, 4 + 4 * ndim


def read_idx(path, *, progress=None, cancel=None) -> np.ndarray:
    """Read one IDX file (raw or gzip) into a native-endian array.

    Parameters
    ----------
    path : str or Path
    progress, cancel : optional hooks (see :mod:`core.progress`)

    Returns
    -------
    ndarray
        Shape from the header, e.g. ``(10000, 28, 28)`` uint8 for MNIST test images.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    DatasetError
        Wrong magic, bad header, a size over :data:`MAX_IDX_BYTES`, truncated data,
        trailing bytes, or a broken gzip stream.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"IDX file not found: {path}")
    name = str(path)
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw
        try:
            dtype, dims, header_len = _read_header(f, name)
            if 0 in dims:
                raise DatasetError(f"{name}: IDX header has an empty dimension {dims}")
            expected = math.prod(dims) * dtype.itemsize
            if expected > MAX_IDX_BYTES:
                raise DatasetError(f"{name}: IDX header claims shape {dims} ({expected:,} bytes), over the "
                                   f"{MAX_IDX_BYTES // 1024 ** 3} GiB limit; the file is damaged or not IDX")
            if not is_gzip:
                actual = os.fstat(raw.fileno()).st_size - header_len
                if actual < expected:
                    raise DatasetError(f"{name}: truncated: the header promises {expected:,} data bytes "
                                       f"for shape {dims} but the file holds {actual:,}")
                if actual > expected:
                    raise DatasetError(f"{name}: {actual - expected:,} unexpected bytes after the data "
                                       f"(header shape {dims})")
            buf = bytearray()
            while len(buf) <= expected:
                check_cancel(cancel)
                chunk = f.read(min(_CHUNK, expected + 1 - len(buf)))
                if not chunk:
                    break
                buf += chunk
                report(progress, min(len(buf), expected), expected, f"reading {path.name}")
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise DatasetError(f"{name}: damaged or truncated gzip data ({exc})") from exc
    if len(buf) < expected:
        raise DatasetError(f"{name}: truncated: the header promises {expected:,} data bytes for shape "
                           f"{dims} but only {len(buf):,} are there")
    if len(buf) > expected:
        raise DatasetError(f"{name}: unexpected bytes after the data (header shape {dims})")
    arr = np.frombuffer(buf, dtype=dtype).reshape(dims)
    if dtype.itemsize > 1:
        arr = arr.astype(dtype.newbyteorder("="))
    return arr


def _canonical(filename: str) -> str:
    key = filename.lower()
    if key.endswith(".gz"):
        key = key[:-3]
    return re.sub(r"[._]", "-", key)


def find_idx_files(folder) -> dict:
    """Find the MNIST-style files in ``folder`` (or its ``raw/`` sub-folder).

    Accepts ``train-images-idx3-ubyte``, ``train-images.idx3-ubyte`` and the like, with or
    without ``.gz``; an uncompressed file wins over a ``.gz`` twin.

    Returns
    -------
    dict mapping ``(split, part)`` (e.g. ``("test", "labels")``) to a Path.
    """
    folder = Path(folder)
    wanted = {v.replace("_", "-"): k for k, v in IDX_FILENAMES.items()}
    found: dict = {}
    for d in (folder, folder / "raw"):
        if not d.is_dir():
            continue
        for p in sorted(d.iterdir()):
            key = wanted.get(_canonical(p.name))
            if key is None or not p.is_file():
                continue
            if key not in found or (found[key].suffix == ".gz" and p.suffix != ".gz"):
                found[key] = p
        if found:
            break
    return found


_FASHION_LABEL_MD5 = {"25c81989df183df01b3e8a0aad5dffbe", "bb300cfdad3c16e7a12a480ee83cd310"}


def _guess_kind(folder: Path, files: dict) -> str:
    """Fashion-MNIST if a labels file is the official Fashion-MNIST one, or the folder (its parent
    for a ``raw/`` folder) has "fashion" in its name; else MNIST."""
    for key in (("train", "labels"), ("test", "labels")):
        p = files.get(key)
        if p is not None and p.stat().st_size < 1 << 20:
            if hashlib.md5(p.read_bytes()).hexdigest() in _FASHION_LABEL_MD5:
                return "fashion-mnist"
    folder = folder.resolve()
    name = folder.parent.name if folder.name.lower() == "raw" else folder.name
    return "fashion-mnist" if "fashion" in name.lower() else "mnist"


def _load_pair(images_path: Path, labels_path: Path, progress, cancel):
    images = read_idx(images_path, progress=progress, cancel=cancel)
    labels = read_idx(labels_path, cancel=cancel)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(f"{images_path}: expected uint8 images of shape (N, H, W) "
                           f"(got {images.dtype} {images.shape})")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(f"{labels_path}: expected integer labels of shape (N,) "
                           f"(got {labels.dtype} {labels.shape})")
    if labels.shape[0] != images.shape[0]:
        raise DatasetError(f"{labels_path.name} has {labels.shape[0]} labels but {images_path.name} has "
                           f"{images.shape[0]} images; they must come from the same split")
    if labels.min() < 0 or labels.max() >= MAX_CLASSES:
        raise DatasetError(f"{labels_path}: label {int(labels.min() if labels.min() < 0 else labels.max())} is not "
                           f"a class index 0..{MAX_CLASSES - 1}")
    return images[..., np.newaxis], labels.astype(np.int64)


def load_idx_folder(path, *, kind=None, progress=None, cancel=None, random_state=0) -> Dataset:
    """Load an MNIST or Fashion-MNIST folder of IDX files.

    Parameters
    ----------
    path : str or Path
        The folder (or one of its IDX files).
    kind : {"mnist", "fashion-mnist"} or None
        Which class names to use; ``None`` means Fashion-MNIST if a labels file is the
        official Fashion-MNIST one (by md5) or the folder (its parent for ``raw/``) has
        "fashion" in its name, else MNIST.
    progress, cancel : optional hooks (see :mod:`core.progress`)
    random_state : seed for the split made when only one of the two pairs is present.

    Returns
    -------
    Dataset with ``X_*`` ``(N, 28, 28, 1)`` uint8. When only the t10k (or only the train)
    pair is there, that set is split 80/20, stratified and seeded, and a note says so.

    Raises
    ------
    DatasetError
        No complete image/label pair, or a file is bad (see :func:`read_idx`).
    """
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    files = find_idx_files(folder)
    if kind is None:
        kind = _guess_kind(folder, files)
    if kind not in ("mnist", "fashion-mnist"):
        raise ValueError(f"kind must be 'mnist', 'fashion-mnist' or None (got kind={kind!r})")
    pairs = [s for s in ("train", "test") if (s, "images") in files and (s, "labels") in files]
    if not pairs:
        missing = [IDX_FILENAMES[k] + "(.gz)" for k in IDX_FILENAMES if k not in files]
        raise DatasetError(f"{folder}: no complete IDX image/label pair; missing {', '.join(missing)}")
    data = {}
    for i, split in enumerate(pairs):
        sub = None
        if progress is not None:
            def sub(done, total, msg, _i=i):
                progress(_i * total + done, len(pairs) * total, msg)
        data[split] = _load_pair(files[(split, "images")], files[(split, "labels")], sub, cancel)
    notes = []
    if len(pairs) == 2:
        (Xtr, ytr), (Xte, yte) = data["train"], data["test"]
        if Xtr.shape[1:] != Xte.shape[1:]:
            raise DatasetError(f"{folder}: train images are {Xtr.shape[1:3]} but test images are {Xte.shape[1:3]}")
    else:
        only = pairs[0]
        X, y = data[only]
        Xtr, ytr, Xte, yte, _, _ = split_off_test(X, y, 0.2, random_state)
        label = "t10k (test)" if only == "test" else "train"
        notes.append(f"only the {label} files were found; split them {len(ytr)}/{len(yte)} "
                     f"(stratified, seed {random_state}) into train/test")
    n_classes = max(10, int(max(ytr.max(), yte.max())) + 1)
    base = FASHION_CLASSES if kind == "fashion-mnist" else MNIST_CLASSES
    names = base + [str(c) for c in range(len(base), n_classes)]
    return Dataset(name="Fashion-MNIST" if kind == "fashion-mnist" else "MNIST",
                   X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte, class_names=names,
                   source=str(folder), notes=notes)
