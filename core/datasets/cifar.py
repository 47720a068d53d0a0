"""CIFAR-10 and CIFAR-100, "python version": the official tar.gz or its extracted folder.

Conventions
-----------
* Each batch file is a Python-2 pickle of a dict with *bytes* keys: ``b'data'`` is a uint8
  ``(N, 3072)`` array whose rows hold 1024 red, then 1024 green, then 1024 blue values of a
  32x32 image (row-major); we reshape to ``(N, 3, 32, 32)`` and transpose to
  ``(N, 32, 32, 3)``. CIFAR-10 labels are ``b'labels'`` (names in ``batches.meta``:
  ``b'label_names'``); CIFAR-100 has ``b'fine_labels'`` and ``b'coarse_labels'`` (names in
  ``meta``: ``b'fine_label_names'``, ``b'coarse_label_names'``).
* **No code runs while reading a pickle, and nothing is sized from a number in it.**
  :func:`safe_unpickle` (from :mod:`core.datasets._unpickle`) allows only the globals a NumPy
  array needs; anything else, such as ``os.system`` smuggled in through ``__reduce__``, raises
  :class:`DatasetError` before it can be called. Memo indexes, counted lengths and array
  shapes larger than the batch file itself are refused before anything is allocated.
* Tar archives are read in memory, member by member, from the stream; nothing is extracted
  to disk. Only regular files are read (links, devices, and names with ``..`` or an absolute
  path are ignored), at most :data:`MAX_MEMBER_BYTES` each and :data:`MAX_TOTAL_BYTES` in all.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import posixpath
import tarfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from core.datasets._base import Dataset, DatasetError
from core.datasets._unpickle import RefusedGlobal, RestrictedUnpickler, safe_unpickle
from core.progress import check_cancel, report

__all__ = ["load_cifar", "RestrictedUnpickler", "RefusedGlobal", "safe_unpickle", "looks_like_cifar",
           "CIFAR10_CLASSES", "MAX_MEMBER_BYTES", "MAX_TOTAL_BYTES"]

MAX_MEMBER_BYTES = 300 * 1024 ** 2   #: largest single batch file we read
MAX_TOTAL_BYTES = 1024 ** 3          #: largest total we read from one archive/folder
MAX_STREAM_BYTES = 2 * 1024 ** 3     #: largest uncompressed archive we stream through (skipped members count)
MAX_MEMBERS = 10_000                 #: archives with more entries are refused

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
_C10_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
_C10_FILES = set(_C10_TRAIN) | {"test_batch", "batches.meta"}
_C100_FILES = {"train", "test", "meta"}


# --------------------------------------------------------------------------- reading files
class _CountingReader(io.RawIOBase):
    """Wraps a binary file: counts bytes read, polls ``cancel``, reports progress, enforces ``limit``."""

    def __init__(self, f, total=None, progress=None, cancel=None, label="", limit=None):
        self._f, self._total, self._progress, self._cancel = f, total, progress, cancel
        self._label, self._limit = label, limit
        self.done = 0

    def readable(self):
        return True

    def readinto(self, b):
        check_cancel(self._cancel)
        n = self._f.readinto(b) or 0
        self.done += n
        if self._limit is not None and self.done > self._limit:
            raise DatasetError(f"{self._label}: the archive unpacks to over {self._limit // 1024 ** 2} MB; "
                               f"not a CIFAR archive")
        if self._progress is not None:
            report(self._progress, self.done, self._total, f"reading {self._label}")
        return n


def _decompressed(f):
    """A file object that yields the uncompressed bytes of ``f`` (gzip, bzip2, xz or plain)."""
    head = f.peek(6)[:6]
    if head[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")
    if head[:3] == b"BZh":
        return bz2.BZ2File(f)
    if head[:6] == b"\xfd7zXZ\x00":
        return lzma.LZMAFile(f)
    return f


def _safe_member_name(name: str) -> str | None:
    p = PurePosixPath(name.replace("\\", "/"))
    if not p.parts or p.is_absolute() or ".." in p.parts:
        return None
    return posixpath.basename(p.as_posix())


def _read_tar(path: Path, wanted: set, progress, cancel) -> dict:
    """Return ``{basename: bytes}`` for the wanted regular-file members of a tar (any compression)."""
    out: dict = {}
    total = 0
    size = path.stat().st_size
    with open(path, "rb") as raw:
        # We decompress ourselves (bounded buffers) and give tarfile a plain stream: tarfile's own
        # stream decompression copies its whole buffer on every block, which crawls on a zip bomb.
        counted = io.BufferedReader(_CountingReader(raw, size, progress, cancel, path.name), 1 << 20)
        try:
            plain = _CountingReader(_decompressed(counted), cancel=cancel, label=str(path),
                                    limit=MAX_STREAM_BYTES)
            with tarfile.open(fileobj=plain, mode="r|") as tar:
                for i, m in enumerate(tar):
                    if i >= MAX_MEMBERS:
                        raise DatasetError(f"{path}: more than {MAX_MEMBERS} entries; not a CIFAR archive")
                    base = _safe_member_name(m.name)
                    if base is None or not m.isfile() or base not in wanted or base in out:
                        continue
                    if m.size > MAX_MEMBER_BYTES:
                        raise DatasetError(f"{path}: member {m.name} is {m.size:,} bytes, over the "
                                           f"{MAX_MEMBER_BYTES // 1024 ** 2} MB limit for one batch")
                    total += m.size
                    if total > MAX_TOTAL_BYTES:
                        raise DatasetError(f"{path}: members add up to over {MAX_TOTAL_BYTES // 1024 ** 2} MB")
                    fobj = tar.extractfile(m)
                    data = fobj.read(m.size) if fobj is not None else b""   # size checked above
                    if len(data) != m.size:
                        raise DatasetError(f"{path}: member {m.name} is truncated")
                    out[base] = data
        except (tarfile.TarError, EOFError, zlib.error, OSError, lzma.LZMAError) as exc:
            raise DatasetError(f"{path}: damaged or unreadable archive ({exc})") from exc
    return out


def _read_folder(folder: Path, wanted: set, cancel) -> dict:
    out: dict = {}
    total = 0
    for name in sorted(wanted):
        p = folder / name
        if p.is_symlink() or not p.is_file():   # like tar members: regular files only, links are not followed
            continue
        check_cancel(cancel)
        size = p.stat().st_size
        total += size
        if size > MAX_MEMBER_BYTES:
            raise DatasetError(f"{p}: {size:,} bytes, over the {MAX_MEMBER_BYTES // 1024 ** 2} MB limit for one batch")
        if total > MAX_TOTAL_BYTES:
            raise DatasetError(f"{folder}: batch files add up to over {MAX_TOTAL_BYTES // 1024 ** 2} MB")
        out[name] = p.read_bytes()
    return out


def looks_like_cifar(path) -> str | None:
    """``"cifar10"``/``"cifar100"`` if ``path`` is such a folder (or holds one), else None."""
    p = Path(path)
    if not p.is_dir():
        return None
    names = {c.name for c in p.iterdir()}
    if "test_batch" in names or "batches.meta" in names or any(n.startswith("data_batch_") for n in names):
        return "cifar10"
    if {"train", "test", "meta"} <= names and (p / "meta").is_file() and (p / "train").is_file():
        return "cifar100"
    if "cifar-10-batches-py" in names:
        return "cifar10"
    if "cifar-100-python" in names:
        return "cifar100"
    return None


# --------------------------------------------------------------------------- decoding batches
def _get(d, key: str, name: str):
    if not isinstance(d, dict):
        raise DatasetError(f"{name}: expected a dict, found {type(d).__name__}")
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    raise DatasetError(f"{name}: has no '{key}' entry (keys: {', '.join(repr(k) for k in list(d)[:8])})")


def _images(batch, name: str) -> np.ndarray:
    data = _get(batch, "data", name)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DatasetError(f"{name}: 'data' must be a uint8 array of shape (N, 3072) "
                           f"(got {type(data).__name__} {getattr(data, 'dtype', '')} {shape})")
    return np.ascontiguousarray(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _labels(batch, key: str, n: int, n_classes: int, name: str) -> np.ndarray:
    raw = _get(batch, key, name)
    try:
        y = np.asarray(raw)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{name}: '{key}' is not a list of integers") from exc
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{name}: '{key}' must be {n} integers (got {y.dtype} {y.shape})")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DatasetError(f"{name}: '{key}' holds labels outside 0..{n_classes - 1}")
    return y.astype(np.int64)


def _names(meta, key: str, expected: int, name: str) -> list:
    raw = _get(meta, key, name)
    if not isinstance(raw, list) or len(raw) != expected:
        raise DatasetError(f"{name}: '{key}' must list {expected} names")
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in raw]


def _build_cifar10(files: dict, where: str) -> Dataset:
    if "test_batch" not in files:
        raise DatasetError(f"{where}: no CIFAR-10 'test_batch' found (expected cifar-10-batches-py/test_batch)")
    present = [b for b in _C10_TRAIN if b in files]
    if not present:
        raise DatasetError(f"{where}: no CIFAR-10 training batches (data_batch_1 .. data_batch_5) found")
    notes = []
    if len(present) < 5:
        missing = [b for b in _C10_TRAIN if b not in files]
        notes.append(f"{', '.join(missing)} missing; using {len(present)} of 5 training batches")
    if "batches.meta" in files:
        names = _names(safe_unpickle(files["batches.meta"], f"{where}/batches.meta"), "label_names", 10,
                       f"{where}/batches.meta")
    else:
        names = list(CIFAR10_CLASSES)
        notes.append("batches.meta missing; used the standard CIFAR-10 class names")
    Xs, ys = [], []
    for b in present:
        batch = safe_unpickle(files[b], f"{where}/{b}")
        X = _images(batch, f"{where}/{b}")
        Xs.append(X)
        ys.append(_labels(batch, "labels", len(X), 10, f"{where}/{b}"))
    test = safe_unpickle(files["test_batch"], f"{where}/test_batch")
    Xte = _images(test, f"{where}/test_batch")
    yte = _labels(test, "labels", len(Xte), 10, f"{where}/test_batch")
    return Dataset(name="CIFAR-10", X_train=np.concatenate(Xs), y_train=np.concatenate(ys),
                   X_test=Xte, y_test=yte, class_names=names, source=where, notes=notes)


def _build_cifar100(files: dict, where: str) -> Dataset:
    missing = sorted(_C100_FILES - set(files))
    if missing:
        raise DatasetError(f"{where}: CIFAR-100 file(s) {', '.join(missing)} missing "
                           f"(expected cifar-100-python/train, test and meta)")
    meta = safe_unpickle(files["meta"], f"{where}/meta")
    fine = _names(meta, "fine_label_names", 100, f"{where}/meta")
    coarse = _names(meta, "coarse_label_names", 20, f"{where}/meta")
    parts = {}
    for split in ("train", "test"):
        batch = safe_unpickle(files[split], f"{where}/{split}")
        X = _images(batch, f"{where}/{split}")
        parts[split] = (X, _labels(batch, "fine_labels", len(X), 100, f"{where}/{split}"),
                        _labels(batch, "coarse_labels", len(X), 20, f"{where}/{split}"))
    (Xtr, ytr, ctr), (Xte, yte, cte) = parts["train"], parts["test"]
    return Dataset(name="CIFAR-100", X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte,
                   class_names=fine, source=where, coarse_train=ctr, coarse_test=cte, coarse_names=coarse)


def load_cifar(path, *, progress=None, cancel=None) -> Dataset:
    """Load CIFAR-10 or CIFAR-100 (python version) from the tar.gz or the extracted folder.

    Parameters
    ----------
    path : str or Path
        ``cifar-10-python.tar.gz``, ``cifar-100-python.tar.gz``, a folder
        ``cifar-10-batches-py`` / ``cifar-100-python``, or a folder holding one of those.
    progress, cancel : optional hooks (see :mod:`core.progress`)

    Returns
    -------
    Dataset
        ``(N, 32, 32, 3)`` uint8 images; CIFAR-100 also fills ``coarse_*``.

    Raises
    ------
    DatasetError
        Missing batches, a bad batch, a refused pickle, a damaged or oversized archive.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"not found: {path}")
    where = str(path)
    wanted = _C10_FILES | _C100_FILES
    if path.is_file():
        files = _read_tar(path, wanted, progress, cancel)
    else:
        folder = path
        for sub in ("cifar-10-batches-py", "cifar-100-python"):
            if (path / sub).is_dir():
                folder = path / sub
        files = _read_folder(folder, wanted, cancel)
        where = str(folder)
    check_cancel(cancel)
    report(progress, 1, 1, "decoding CIFAR batches")
    if "test_batch" in files or any(b in files for b in _C10_TRAIN):
        return _build_cifar10(files, where)
    if files.keys() & _C100_FILES:
        return _build_cifar100(files, where)
    raise DatasetError(f"{where}: no CIFAR batches found (expected cifar-10-batches-py/data_batch_1..5, "
                       f"test_batch, batches.meta or cifar-100-python/train, test, meta)")
