"""The catalog of downloadable data sets, the local cache, and loading a data set from it.

Conventions
-----------
* The cache root is :func:`default_cache_dir` (environment variable ``LCL_CACHE_DIR`` if
  set, else ``$XDG_CACHE_HOME/linear-classifier-lab`` or ``~/.cache/linear-classifier-lab``);
  each data set lives in its own sub-folder named after the catalog key, e.g.
  ``~/.cache/linear-classifier-lab/cifar10/cifar-10-python.tar.gz``.
* The files kept there are the official downloads, unchanged (md5-checked on download),
  so a user can also copy them in by hand.
* Checksums and sizes are the published ones (torchvision checks the same md5s).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from core.datasets._base import Dataset, DatasetError

__all__ = ["CatalogFile", "CatalogEntry", "CATALOG", "CATALOG_NAMES", "default_cache_dir", "dataset_dir",
           "get_entry", "is_cached", "missing_files", "not_cached_message", "load_cached"]

_CIFAR_LICENSE = ("No formal license. The images are a labelled subset of the 80 Million Tiny Images collection "
                  "(photos belong to third parties); when you use them, cite Krizhevsky 2009.")
_CIFAR_CITATION = ("Alex Krizhevsky. Learning Multiple Layers of Features from Tiny Images. Technical report, "
                   "University of Toronto, 2009. https://www.cs.toronto.edu/~kriz/cifar.html")


@dataclass(frozen=True)
class CatalogFile:
    """One official file: its name in the cache, primary URL, md5 and size in bytes (0 = unknown)."""

    filename: str
    url: str
    md5: str
    size: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class CatalogEntry:
    """A downloadable data set.

    ``mirrors`` are alternative base URLs (ending in ``/``) tried in order after each file's
    own ``url``; ``loader`` is ``"idx"`` or ``"cifar"``.
    """

    name: str
    display_name: str
    files: tuple
    loader: str
    license: str
    citation: str
    homepage: str
    mirrors: tuple = field(default=())

    @property
    def total_size(self) -> int:
        """Sum of the file sizes in bytes."""
        return sum(f.size for f in self.files)

    def urls(self, f: CatalogFile, base_url: str | None = None) -> list:
        """The URLs to try for file ``f``; ``base_url`` (tests, private mirrors) replaces them all."""
        if base_url:
            return [base_url.rstrip("/") + "/" + f.filename]
        return [f.url] + [m + f.filename for m in self.mirrors]


def _idx_files(base: str, md5s: dict, sizes: dict) -> tuple:
    names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    return tuple(CatalogFile(n, base + n, md5s[n], sizes[n]) for n in names)


CATALOG = {
    "mnist": CatalogEntry(
        name="mnist", display_name="MNIST", loader="idx",
        files=_idx_files("https://ossci-datasets.s3.amazonaws.com/mnist/",
                         {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                          "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                          "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                          "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
                         {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
                          "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542}),
        mirrors=("http://yann.lecun.com/exdb/mnist/",),
        license="Creative Commons Attribution-Share Alike 3.0 (CC BY-SA 3.0)",
        citation=("Yann LeCun, Corinna Cortes and Christopher J.C. Burges. The MNIST database of handwritten "
                  "digits. http://yann.lecun.com/exdb/mnist/"),
        homepage="http://yann.lecun.com/exdb/mnist/"),
    "fashion-mnist": CatalogEntry(
        name="fashion-mnist", display_name="Fashion-MNIST", loader="idx",
        files=_idx_files("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                         {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                          "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                          "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                          "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
                         {"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
                          "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148}),
        license="MIT License, Copyright (c) 2017 Zalando SE",
        citation=("Han Xiao, Kashif Rasul and Roland Vollgraf. Fashion-MNIST: a Novel Image Dataset for "
                  "Benchmarking Machine Learning Algorithms. arXiv:1708.07747, 2017."),
        homepage="https://github.com/zalandoresearch/fashion-mnist"),
    "cifar10": CatalogEntry(
        name="cifar10", display_name="CIFAR-10", loader="cifar",
        files=(CatalogFile("cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                           "c58f30108f718f92721af3b95e74349a", 170498071),),
        license=_CIFAR_LICENSE, citation=_CIFAR_CITATION, homepage="https://www.cs.toronto.edu/~kriz/cifar.html"),
    "cifar100": CatalogEntry(
        name="cifar100", display_name="CIFAR-100", loader="cifar",
        files=(CatalogFile("cifar-100-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                           "eb9058c3a382ffc7106e4002c42a8d85", 169001437),),
        license=_CIFAR_LICENSE, citation=_CIFAR_CITATION, homepage="https://www.cs.toronto.edu/~kriz/cifar.html"),
}

#: Names ``load`` accepts besides paths ("digits" is bundled, the rest come from the cache).
CATALOG_NAMES = ("digits",) + tuple(CATALOG)


def default_cache_dir() -> Path:
    """The cache root: ``$LCL_CACHE_DIR``, else ``$XDG_CACHE_HOME`` or ``~/.cache``, plus ``linear-classifier-lab``."""
    env = os.environ.get("LCL_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "linear-classifier-lab"


def get_entry(name) -> CatalogEntry:
    """Look up ``name`` in :data:`CATALOG`; a :class:`CatalogEntry` is returned as it is."""
    if isinstance(name, CatalogEntry):
        return name
    key = str(name).lower()
    if key not in CATALOG:
        raise ValueError(f"name must be one of {', '.join(repr(k) for k in CATALOG)} (got name={name!r})")
    return CATALOG[key]


def dataset_dir(name, cache_dir=None) -> Path:
    """The cache folder of one data set, e.g. ``<cache>/mnist`` (not created)."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return root / get_entry(name).name


def missing_files(name, cache_dir=None) -> list:
    """The :class:`CatalogFile` s not yet in the cache (absent, or of the wrong size)."""
    entry, folder = get_entry(name), dataset_dir(name, cache_dir)
    out = []
    for f in entry.files:
        p = folder / f.filename
        if not p.is_file() or (f.size and p.stat().st_size != f.size):
            out.append(f)
    return out


def is_cached(name, cache_dir=None) -> bool:
    """True when every official file of ``name`` is in the cache with its published size."""
    return not missing_files(name, cache_dir)


def not_cached_message(name, cache_dir=None) -> str:
    """Tell the user how to get ``name`` into the cache."""
    entry, folder = get_entry(name), dataset_dir(name, cache_dir)
    missing = missing_files(name, cache_dir) or list(entry.files)
    which = ", ".join(f.filename for f in missing)
    plural = "files" if len(missing) > 1 else "file"
    return (f"{entry.display_name} is not downloaded yet. Use File > Download, or put the official {plural} "
            f"{which} into {folder} (from {entry.homepage}).")


def load_cached(name, *, cache_dir=None, progress=None, cancel=None) -> Dataset:
    """Load a catalog data set from the cache.

    Raises
    ------
    DatasetError
        It is not cached; the message says which files to put where (or to use File > Download).
    """
    entry = get_entry(name)
    if not is_cached(entry, cache_dir):
        raise DatasetError(not_cached_message(entry, cache_dir))
    folder = dataset_dir(entry, cache_dir)
    if entry.loader == "idx":
        from core.datasets.idx import load_idx_folder
        kind = entry.name if entry.name in ("mnist", "fashion-mnist") else None
        ds = load_idx_folder(folder, kind=kind, progress=progress, cancel=cancel)
    else:
        from core.datasets.cifar import load_cifar
        ds = load_cifar(folder / entry.files[0].filename, progress=progress, cancel=cancel)
    ds.source = entry.name
    ds.name = entry.display_name
    return ds
