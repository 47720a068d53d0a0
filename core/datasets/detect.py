"""``load(source)``: open any supported data set by path or catalog name.

Conventions
-----------
Format detection, in this order:

* a ``str`` equal to a catalog name ("digits", "mnist", "fashion-mnist", "cifar10",
  "cifar100") -> the bundled digits or the cached download (pass a ``Path`` to open a folder
  that happens to have such a name);
* a file: ``.npz`` -> :func:`load_npz`; a tar archive (``.tar.gz``, ``.tgz``, ``.tar``) ->
  :func:`load_cifar`; an IDX file (by name or by its magic bytes) -> its folder via
  :func:`load_idx_folder`;
* a folder: CIFAR batches (``data_batch_*``/``test_batch``, ``train``/``test``/``meta`` or the
  ``cifar-10-batches-py``/``cifar-100-python`` sub-folders) -> :func:`load_cifar`; a CIFAR tar.gz
  inside (like a cache folder) -> :func:`load_cifar`; IDX files -> :func:`load_idx_folder`;
  anything else -> :func:`load_image_folder`.

A missing path raises ``FileNotFoundError``; everything else that cannot be read raises
:class:`DatasetError` naming the file.
"""
from __future__ import annotations

import gzip
from pathlib import Path

from core.datasets._base import Dataset, DatasetError
from core.datasets.bundled import load_digits
from core.datasets.catalog import CATALOG, default_cache_dir, load_cached
from core.datasets.cifar import load_cifar, looks_like_cifar
from core.datasets.folders import load_image_folder
from core.datasets.idx import find_idx_files, load_idx_folder
from core.datasets.npz import load_npz

__all__ = ["load", "detect_format"]

_TAR_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tar.xz")


def _is_idx_file(p: Path) -> bool:
    try:
        with open(p, "rb") as f:
            head = f.read(4)
            if head[:2] == b"\x1f\x8b":
                f.seek(0)
                with gzip.GzipFile(fileobj=f) as g:
                    head = g.read(4)
    except (OSError, EOFError):
        return False
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in (8, 9, 11, 12, 13, 14)


def detect_format(path) -> str:
    """Name the loader for ``path``: "npz", "cifar", "idx" or "folder".

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    DatasetError
        A file of an unknown kind.
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"not found: {p}")
    name = p.name.lower()
    if p.is_file():
        if name.endswith(".npz"):
            return "npz"
        if name.endswith(_TAR_SUFFIXES):
            return "cifar"
        if "ubyte" in name or _is_idx_file(p):
            return "idx"
        raise DatasetError(f"{p}: unknown data file; open a .npz, a CIFAR python .tar.gz, an MNIST IDX file, "
                           f"or a folder of class sub-folders with images")
    if looks_like_cifar(p):
        return "cifar"
    if any(c.is_file() and c.name.lower().startswith("cifar-") and c.name.lower().endswith(_TAR_SUFFIXES)
           for c in p.iterdir()):
        return "cifar"
    if find_idx_files(p):
        return "idx"
    return "folder"


def load(source, *, progress=None, cancel=None, cache_dir=None) -> Dataset:
    """Load a data set from a path or a catalog name.

    Parameters
    ----------
    source : str or Path
        A path (see the module docstring for detection) or one of "digits", "mnist",
        "fashion-mnist", "cifar10", "cifar100".
    progress, cancel : optional hooks (see :mod:`core.progress`)
    cache_dir : path or None
        Cache root for catalog names and for decoded image folders (its ``folders/``); default
        ``default_cache_dir()``.

    Returns
    -------
    Dataset

    Raises
    ------
    FileNotFoundError
        A path that does not exist.
    DatasetError
        Unreadable data, or a catalog data set that is not downloaded (the message says
        which files to put in which folder, or to use File > Download).
    """
    if isinstance(source, str) and source.strip().lower() in ("digits",) + tuple(CATALOG):
        key = source.strip().lower()
        if key == "digits":
            return load_digits()
        return load_cached(key, cache_dir=cache_dir, progress=progress, cancel=cancel)
    p = Path(source).expanduser()
    kind = detect_format(p)
    if kind == "npz":
        return load_npz(p, progress=progress, cancel=cancel)
    if kind == "cifar":
        if p.is_dir() and not looks_like_cifar(p):
            p = next(c for c in sorted(p.iterdir())
                     if c.is_file() and c.name.lower().startswith("cifar-") and c.name.lower().endswith(_TAR_SUFFIXES))
        return load_cifar(p, progress=progress, cancel=cancel)
    if kind == "idx":
        return load_idx_folder(p, progress=progress, cancel=cancel)
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    return load_image_folder(p, progress=progress, cancel=cancel, cache_dir=root / "folders")
