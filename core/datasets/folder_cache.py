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
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

import numpy as np

from core.datasets._base import Dataset

__all__ = ["MIN_FILES", "VERSION", "fingerprint", "cache_file", "read", "write"]

MIN_FILES = 2000       #: smaller folders decode fast enough; they are not cached
VERSION = 1            #: bump when the decoded result of the same files could change


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
            return Dataset(name=str(z["name"]), X_train=z["X_train"], y_train=z["y_train"],
                           X_test=z["X_test"], y_test=z["y_test"],
                           class_names=[str(c) for c in z["class_names"]], source=str(z["source"]),
                           notes=[str(n) for n in z["notes"]] + ["decoded images read from the cache"])
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile):
        return None


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
        return True
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return False
