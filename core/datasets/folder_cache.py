"""A decode cache for image folders: the decoded arrays of a large folder, kept as a plain ``.npz``.

Decoding 20,000 small JPEGs takes ~2.5 s every time a folder is opened; reading the same pixels back
from one uncompressed ``.npz`` takes a fraction of that. The cache is written only by
:func:`core.datasets.load` (the app), under ``<cache root>/folders/``, one file per folder, and only
for folders of at least :data:`MIN_FILES` images.

Conventions
-----------
* **Validity.** A cache file holds a fingerprint: a SHA-256 over every image file's relative path,
  class, split, size and modification time (nanoseconds), plus the loader's parameters and
  :data:`VERSION`. It is used only when the fingerprint of the folder as it is now matches; any
  added, removed, renamed, resized or re-saved file, or other parameters, means a fresh decode, which
  then replaces the file.
* **Safety.** The file is read with ``allow_pickle=False`` and its arrays are checked like any
  :class:`~core.datasets.Dataset`; a damaged, foreign or unreadable file is ignored (and the folder
  decoded). Writing goes to a temporary file renamed into place; a failure to write (read-only or
  full disk) is ignored -- the cache only ever saves time.
* **Size.** After each write the folder caches together are kept under :data:`MAX_BYTES`: the least
  recently used files go first (a cache hit counts as a use), never the one just written; temporary
  files left by a crashed write are removed after an hour. Deleting the folder is always safe.
"""
from __future__ import annotations

import hashlib
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from core.datasets._base import Dataset

__all__ = ["MIN_FILES", "MAX_BYTES", "VERSION", "fingerprint", "cache_file", "read", "write", "prune"]

MIN_FILES = 2000       #: smaller folders decode fast enough; they are not cached
MAX_BYTES = 2 << 30    #: all folder caches together (2 GiB: ~30 folders the size of CIFAR-10's 20,000 JPEGs)
VERSION = 1            #: bump when the decoded result of the same files could change
_STALE_TMP_SECONDS = 3600


def fingerprint(root: Path, entries, params: dict) -> str:
    """SHA-256 (hex) of every ``(path, label, is_test)`` entry's relative path, label, split, size and
    mtime, and of ``params`` (the loader's arguments)."""
    h = hashlib.sha256(f"v{VERSION} {sorted(params.items())!r}\n".encode())
    for path, label, is_test in entries:
        st = os.stat(path)
        h.update(f"{os.path.relpath(path, root)}\t{label}\t{int(is_test)}\t{st.st_size}\t{st.st_mtime_ns}\n"
                 .encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def cache_file(cache_root: Path, root: Path) -> Path:
    """Where the cache of folder ``root`` lives (one file per absolute folder path)."""
    key = hashlib.sha1(str(root.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    return Path(cache_root) / f"{root.name[:40]}-{key}.npz"


def read(path: Path, fp: str):
    """The cached :class:`Dataset` if ``path`` holds one with fingerprint ``fp``, else None."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["fingerprint"]) != fp:
                return None
            ds = Dataset(name=str(z["name"]), X_train=z["X_train"], y_train=z["y_train"],
                           X_test=z["X_test"], y_test=z["y_test"],
                           class_names=[str(c) for c in z["class_names"]], source=str(z["source"]),
                         notes=[str(n) for n in z["notes"]] + ["decoded images read from the cache"])
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile):
        return None
    try:
        os.utime(path)                 # a use: the least recently used caches are pruned first
    except OSError:
        pass
    return ds


def write(path: Path, fp: str, ds: Dataset) -> bool:
    """Store ``ds`` under fingerprint ``fp``; False (and nothing left behind) if it cannot be written."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            np.savez(f, fingerprint=np.array(fp), name=np.array(ds.name), source=np.array(ds.source),
                     X_train=ds.X_train, y_train=ds.y_train, X_test=ds.X_test, y_test=ds.y_test,
                     class_names=np.array(ds.class_names, dtype=str),
                     notes=np.array(list(ds.notes), dtype=str).reshape(-1))
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return False
    prune(path.parent, keep=path)
    return True


def prune(cache_root: Path, keep: Path | None = None, max_bytes: int | None = None) -> list[Path]:
    """Delete the least recently used ``*.npz`` caches in ``cache_root`` until the rest fit in
    ``max_bytes`` (default :data:`MAX_BYTES`; ``keep`` is never deleted), and temporary files over an
    hour old. Returns the deleted paths; files that cannot be read or deleted are skipped."""
    limit = MAX_BYTES if max_bytes is None else int(max_bytes)
    removed: list[Path] = []
    files = []
    now = time.time()
    try:
        listing = list(Path(cache_root).iterdir())
    except OSError:
        return removed
    for f in listing:
        try:
            st = f.stat()
        except OSError:
            continue
        if f.name.endswith(".tmp") and now - st.st_mtime > _STALE_TMP_SECONDS:
            if _unlink(f):
                removed.append(f)
        elif f.suffix == ".npz":
            files.append((st.st_mtime, st.st_size, f))
    total = sum(size for _, size, _ in files)
    for _, size, f in sorted(files, key=lambda t: t[0]):          # oldest use first
        if total <= limit:
            break
        if keep is not None and f == keep:
            continue
        if _unlink(f):
            removed.append(f)
            total -= size
    return removed


def _unlink(f: Path) -> bool:
    try:
        f.unlink()
        return True
    except OSError:
        return False
