"""``.npz`` data sets (NumPy archives), read with ``allow_pickle=False``.

Conventions
-----------
* Keys: ``X`` and ``y`` (or ``X_train`` and ``y_train``) are required; ``X_test``/``y_test``,
  ``class_names`` (a string array) and ``name`` (a string) are optional. Without a test
  part the data are split 80/20, stratified and seeded, and a note says so.
* Image shapes: ``(N, H, W)`` (grey), ``(N, H, W, C)`` with C = 1 or 3, channel-first
  ``(N, C, H, W)`` with C = 1 or 3 (transposed, with a note), or flat ``(N, D)``: D = s*s is an
  s×s grey image, D = 3*s*s an s×s RGB image stored row-major as ``(H, W, C)`` -- the same
  order ``core.preprocess.to_features`` produces. (CIFAR's own channel-planar rows are read
  by :mod:`core.datasets.cifar`, not here.)
* Pixel values: uint8 as is; bool -> 0/255; other integers must be within 0..255; floats
  must be finite and either within [0, 1] (then scaled by 255) or within [0, 255]; a float
  array whose maximum is <= 1 counts as [0, 1]. Values are rounded to the nearest integer.
* Labels: integers >= 0, or strings (mapped to sorted class names).
* Before NumPy reads a member, its ``.npy`` header is read on its own: a shape whose bytes
  (``prod(shape) * itemsize``) are more than the member holds, or an object dtype, is refused
  -- NumPy allocates the whole claimed array before it notices the data are missing.
* Arrays are then read in 16 MB pieces straight into their final buffer, so ``progress`` and ``cancel``
  work inside a large array too (a 1 GB ``X`` stops within one piece of Cancel).
"""
from __future__ import annotations

import math
import zipfile
from pathlib import Path

import numpy as np

from core.datasets._base import MAX_CLASSES, Dataset, DatasetError, split_off_test
from core.npy import NotNpy, read_npy_header
from core.progress import Cancelled, check_cancel, report

__all__ = ["load_npz", "images_from_array", "MAX_NPZ_BYTES"]

MAX_NPZ_BYTES = 2 * 1024 ** 3   #: largest total uncompressed size we accept
_READ_PIECE = 16 * 1024 ** 2    # bytes read between two polls of ``cancel``


def images_from_array(X, name: str = "X", where: str = "") -> tuple[np.ndarray, list]:
    """Convert an array to ``(N, H, W, C)`` uint8 images by the rules in the module docstring.

    Returns
    -------
    images : (N, H, W, C) uint8
    notes : list of str (conversions that were made)
    """
    prefix = f"{where}: " if where else ""
    X = np.asarray(X)
    notes = []
    if X.dtype == object or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise DatasetError(f"{prefix}'{name}' must hold numbers (got dtype {X.dtype})")
    if X.ndim == 2:
        d = X.shape[1]
        s = math.isqrt(d)
        s3 = math.isqrt(d // 3) if d % 3 == 0 else 0
        if d and s * s == d:
            X = X.reshape(-1, s, s, 1)
        elif s3 and 3 * s3 * s3 == d:
            X = X.reshape(-1, s3, s3, 3)
        else:
            raise DatasetError(f"{prefix}'{name}' has shape {X.shape}: D={d} is neither s*s nor 3*s*s, "
                               f"so it cannot be reshaped into square images")
        notes.append(f"reshaped '{name}' rows of {d} values into {X.shape[1]}×{X.shape[2]}×{X.shape[3]} images")
    elif X.ndim == 3:
        X = X[..., np.newaxis]
    elif X.ndim == 4 and X.shape[3] not in (1, 3) and X.shape[1] in (1, 3):
        X = X.transpose(0, 2, 3, 1)
        notes.append(f"'{name}' looked channel-first (N, C, H, W); transposed to (N, H, W, C)")
    if X.ndim != 4 or X.shape[3] not in (1, 3) or X.size == 0:
        raise DatasetError(f"{prefix}'{name}' has shape {np.shape(X)}; expected (N, H, W), (N, H, W, C) with "
                           f"C = 1 or 3, or (N, D) with D = s*s or 3*s*s, and at least one pixel")
    if X.dtype == np.uint8:
        return np.ascontiguousarray(X), notes
    if X.dtype == bool:
        return X.astype(np.uint8) * 255, notes
    lo, hi = (X.min(), X.max())
    if np.issubdtype(X.dtype, np.integer):
        if lo < 0 or hi > 255:
            raise DatasetError(f"{prefix}'{name}' holds integers {lo}..{hi}; pixel values must be within 0..255")
        return X.astype(np.uint8), notes
    if not np.isfinite(X).all():
        raise DatasetError(f"{prefix}'{name}' contains NaN or infinite values")
    if lo < 0 or hi > 255:
        raise DatasetError(f"{prefix}'{name}' holds floats {lo:g}..{hi:g}; expected values in [0, 1] or [0, 255]")
    scale = 255.0 if hi <= 1.0 else 1.0
    if scale != 1.0:
        notes.append(f"'{name}' floats in [0, 1] were scaled to 0..255")
    return np.rint(X.astype(np.float64) * scale).astype(np.uint8), notes


def _labels(y, key: str, where: str):
    y = np.asarray(y)
    if y.ndim != 1:
        raise DatasetError(f"{where}: '{key}' must be 1-D (got shape {y.shape})")
    if y.dtype.kind in "US":
        return None, y
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.isfinite(y).all() and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise DatasetError(f"{where}: '{key}' must hold integer class labels (got dtype {y.dtype})")
    if y.size and (y.min() < 0 or y.max() >= MAX_CLASSES):
        raise DatasetError(f"{where}: '{key}' holds a label {int(y.min() if y.min() < 0 else y.max())}; class "
                           f"labels must be 0..{MAX_CLASSES - 1}")
    return y.astype(np.int64), None


def _check_text(arr: np.ndarray, key: str, where: str) -> None:
    """Refuse a unicode array holding code points Python strings cannot (NumPy builds them anyway)."""
    arr = np.asarray(arr)   # a member without the .npy magic comes back as bytes
    if arr.dtype.kind != "U" or arr.size == 0 or arr.dtype.itemsize == 0:
        return
    codes = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("=")).reshape(-1).view(np.uint32)
    if ((codes > 0x10FFFF) | ((codes >= 0xD800) & (codes <= 0xDFFF))).any():
        raise DatasetError(f"{where}: '{key}' holds characters that are not valid Unicode")


def _text(value) -> list:
    arr = np.asarray(value)
    if arr.dtype.kind == "S":
        return [v.decode("utf-8", "replace") for v in arr.reshape(-1)]
    return [str(v) for v in arr.reshape(-1)]


#: the members :func:`load_npz` reads
_KEYS = ("X", "y", "X_train", "y_train", "X_test", "y_test", "class_names", "name")


def _check_headers(zf: zipfile.ZipFile, where: str) -> None:
    """Refuse a member whose ``.npy`` header claims more bytes than the member holds, or objects.

    Only the members :func:`load_npz` reads are checked, under the name ``np.load`` would pick
    (``key`` itself, else ``key.npy``). Members without the ``.npy`` magic are left to the
    value checks (``np.load`` returns their raw bytes).
    """
    names = set(zf.namelist())
    for key in _KEYS:
        member = key if key in names else f"{key}.npy" if f"{key}.npy" in names else None
        if member is None:
            continue
        info = zf.getinfo(member)
        with zf.open(info) as f:
            try:
                head = read_npy_header(f)
            except NotNpy:
                continue
            except ValueError as exc:
                if "unsupported" not in str(exc):
                    raise
                raise DatasetError(f"{where}: '{key}' is a .npy of {exc}") from None
        shape, dtype, available = head.shape, head.dtype, info.file_size - head.data_offset
        if dtype.hasobject:
            raise DatasetError(f"{where}: contains an object (pickled) array '{key}', which is never loaded")
        claimed = head.nbytes
        if claimed > available:
            raise DatasetError(f"{where}: '{key}' claims shape {shape} of {dtype} ({claimed:,} bytes) but its "
                               f"member holds only {max(available, 0):,} bytes of data")


def _read_arrays(npz, keys, where, progress, cancel) -> dict:
    """The arrays ``keys`` of an open ``np.load`` archive, each ``.npy`` member read in 16 MB pieces so
    that ``cancel`` is polled and ``progress`` told ``(bytes read, bytes in all)`` as it goes; members
    without the ``.npy`` magic come from NumPy as before (their raw bytes)."""
    zf = npz.zip
    names = set(zf.namelist())
    members = {k: k if k in names else f"{k}.npy" for k in keys}
    total = sum(zf.getinfo(m).file_size for m in members.values())
    done = 0
    out = {}
    for k, member in members.items():
        check_cancel(cancel)
        with zf.open(member) as f:
            try:
                head = read_npy_header(f)
            except NotNpy:
                head = None
            if head is not None:
                if head.dtype.hasobject:
                    raise DatasetError(f"{where}: contains an object (pickled) array '{k}', which is never loaded")
                arr = np.empty(head.shape[::-1] if head.fortran_order else head.shape, dtype=head.dtype)
                raw = arr.reshape(-1).view(np.uint8) if arr.nbytes else np.empty(0, np.uint8)
                view, pos = memoryview(raw), 0
                while pos < raw.size:
                    check_cancel(cancel)
                    got = f.readinto(view[pos:pos + _READ_PIECE])
                    if not got:
                        raise DatasetError(f"{where}: '{k}' ends after {pos:,} of its {raw.size:,} data bytes")
                    pos += got
                    report(progress, done + head.data_offset + pos, total, f"reading {k}: {pos // 2**20} MB")
                out[k] = arr.T if head.fortran_order else arr
        if head is None:
            out[k] = npz[k]
        done += zf.getinfo(member).file_size
        report(progress, done, total, f"read {k}")
    return out


def load_npz(path, *, random_state=0, progress=None, cancel=None) -> Dataset:
    """Load an ``.npz`` data set (see the module docstring for keys and conversions).

    Parameters
    ----------
    path : str or Path
    random_state : seed for the split made when there is no test part.
    progress, cancel : optional hooks (see :mod:`core.progress`); large arrays are read in pieces,
        so a cancel takes effect within one piece (16 MB).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        Not a zip, object arrays (pickles are never loaded), missing keys, bad shapes or values.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"file not found: {path}")
    where = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, ValueError, EOFError) as exc:
        # zipfile raises NotImplementedError for an unknown "version needed" or compression method
        raise DatasetError(f"{where}: not a NumPy .npz archive ({exc})") from exc
    with zf:
        total = sum(i.file_size for i in zf.infolist())
        if total > MAX_NPZ_BYTES:
            raise DatasetError(f"{where}: holds {total:,} bytes uncompressed, "
                               f"over the {MAX_NPZ_BYTES // 1024 ** 3} GiB limit")
        try:
            _check_headers(zf, where)
        except DatasetError:
            raise
        except Exception as exc:  # noqa: BLE001 - zipfile/NumPy header parsing can raise almost anything
            raise DatasetError(f"{where}: damaged .npz archive ({type(exc).__name__}: {exc})") from exc
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = set(npz.files)
            trk = "X" if "X" in keys else "X_train" if "X_train" in keys else None
            ytrk = "y" if "y" in keys else "y_train" if "y_train" in keys else None
            if trk is None or ytrk is None:
                raise DatasetError(f"{where}: needs arrays 'X' and 'y' (or 'X_train' and 'y_train'); "
                                   f"found {', '.join(sorted(keys)) or 'none'}")
            wanted = [k for k in (trk, ytrk, "X_test", "y_test", "class_names", "name") if k in keys]
            arrays = _read_arrays(npz, wanted, where, progress, cancel)
        for k, v in arrays.items():
            _check_text(v, k, where)
    except (DatasetError, Cancelled):
        raise
    except Exception as exc:  # noqa: BLE001 - NumPy's header parser can raise almost anything on a damaged file
        if "allow_pickle" in str(exc):
            raise DatasetError(f"{where}: contains an object (pickled) array, which is never loaded") from exc
        raise DatasetError(f"{where}: damaged .npz archive ({type(exc).__name__}: {exc})") from exc

    Xtr, notes = images_from_array(arrays[trk], trk, where)
    ytr, ytr_s = _labels(arrays[ytrk], ytrk, where)
    if len(arrays[ytrk]) != len(Xtr):
        raise DatasetError(f"{where}: '{trk}' has {len(Xtr)} images but '{ytrk}' has {len(arrays[ytrk])} labels")
    has_test = "X_test" in arrays or "y_test" in arrays
    if has_test:
        if not ("X_test" in arrays and "y_test" in arrays):
            raise DatasetError(f"{where}: 'X_test' and 'y_test' must come together")
        Xte, more = images_from_array(arrays["X_test"], "X_test", where)
        notes += more
        yte, yte_s = _labels(arrays["y_test"], "y_test", where)
        if len(arrays["y_test"]) != len(Xte):
            raise DatasetError(f"{where}: 'X_test' has {len(Xte)} images but 'y_test' has "
                               f"{len(arrays['y_test'])} labels")
        if Xte.shape[1:] != Xtr.shape[1:]:
            raise DatasetError(f"{where}: 'X_test' images are {Xte.shape[1:]} but '{trk}' images are {Xtr.shape[1:]}")
    if has_test and (ytr is None) != (yte is None):
        raise DatasetError(f"{where}: '{ytrk}' and 'y_test' must both be numbers or both be strings")
    if ytr is None:
        names = sorted(set(_text(ytr_s)) | (set(_text(yte_s)) if has_test else set()))
        if len(names) > MAX_CLASSES:
            raise DatasetError(f"{where}: '{ytrk}' names {len(names)} different classes (at most {MAX_CLASSES})")
        index = {n: i for i, n in enumerate(names)}
        ytr = np.array([index[v] for v in _text(ytr_s)], dtype=np.int64)
        if has_test:
            yte = np.array([index[v] for v in _text(yte_s)], dtype=np.int64)
    else:
        top = int(max(ytr.max(), yte.max() if has_test and yte.size else 0))
        names = [str(c) for c in range(top + 1)]
        if "class_names" in arrays:
            if np.size(arrays["class_names"]) > MAX_CLASSES:
                raise DatasetError(f"{where}: 'class_names' lists {np.size(arrays['class_names'])} names "
                                   f"(at most {MAX_CLASSES})")
            given = _text(arrays["class_names"])
            if len(given) <= top:
                raise DatasetError(f"{where}: 'class_names' lists {len(given)} names but labels go up to {top}")
            names = given
    if not has_test:
        if len(ytr) < 2:
            raise DatasetError(f"{where}: only {len(ytr)} image and no 'X_test'/'y_test'; need at least 2 to split")
        Xtr, ytr, Xte, yte, _, _ = split_off_test(Xtr, ytr, 0.2, random_state)
        notes.append(f"no 'X_test'/'y_test'; split {len(ytr)}/{len(yte)} (stratified 80/20, seed {random_state})")
    name = _text(arrays["name"])[0] if "name" in arrays and np.size(arrays["name"]) else path.stem
    return Dataset(name=name, X_train=Xtr, y_train=ytr, X_test=Xte, y_test=yte, class_names=names,
                   source=where, notes=notes)
