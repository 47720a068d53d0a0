"""Data sets for the lab: loaders (IDX, CIFAR, image folders, .npz), bundled digits, downloads, toy 2-D sets.

Conventions
-----------
* Images are ``(N, H, W, C)`` ``uint8`` (C = 1 grey, 3 RGB), labels ``(N,)`` ``int64`` in
  ``0 .. C-1``, ``class_names[c]`` names class ``c`` -- see :class:`Dataset`.
* Every loader raises :class:`DatasetError` (a ``ValueError``) naming the file and the
  problem; a missing path stays ``FileNotFoundError``. Pickles are never executed
  (:mod:`core.datasets.cifar`), ``.npz`` is read with ``allow_pickle=False``.
* Randomness (splits, subsamples, toy data) is seeded via ``random_state``.
* Long work takes ``progress(done, total, message)`` and ``cancel() -> bool`` (:mod:`core.progress`).

Modules: ``_base`` (Dataset, DatasetError), ``split``, ``idx``, ``cifar``, ``folders``, ``npz``,
``bundled``, ``catalog``, ``download``, ``toy2d``, ``detect`` (``load``).
"""
from core.datasets._base import Dataset, DatasetError
from core.datasets.bundled import load_digits
from core.datasets.catalog import (CATALOG, CATALOG_NAMES, CatalogEntry, CatalogFile, dataset_dir,
                                   default_cache_dir, is_cached, not_cached_message)
from core.datasets.cifar import load_cifar
from core.datasets.detect import detect_format, load
from core.datasets.download import DownloadError, download
from core.datasets.folders import load_image_folder
from core.datasets.idx import load_idx_folder, read_idx
from core.datasets.npz import load_npz
from core.datasets.split import stratified_indices, train_val_split
from core.datasets.toy2d import TOY2D_KINDS, make_toy2d

__all__ = [
    "Dataset", "DatasetError", "load", "detect_format",
    "read_idx", "load_idx_folder", "load_cifar", "load_image_folder", "load_npz", "load_digits",
    "CATALOG", "CATALOG_NAMES", "CatalogEntry", "CatalogFile", "default_cache_dir", "dataset_dir",
    "is_cached", "not_cached_message", "download", "DownloadError",
    "make_toy2d", "TOY2D_KINDS", "stratified_indices", "train_val_split",
]
