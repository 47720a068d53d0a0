"""The model file format of :mod:`core.persistence`: what the arrays and the JSON metadata of a saved
linear classifier are, how the training history is encoded, and how a file is read and checked.

Conventions
-----------
* A model file is a NumPy ``.npz`` archive holding only numeric arrays and one JSON string:

  ``W`` (C, D) float32, ``b`` (C,) float32, ``classes`` (C,) int64, ``mean`` (D,) float32 (only when a
  fitted preprocessor is saved), ``history`` (K, 9) float64 (columns of
  :data:`core.training.CSV_COLUMNS`, NaN where not measured) and ``metadata``: a 0-d unicode array
  (``np.str_``) with a JSON object -- format name and version, hyperparameters, class names, image shape
  ``(H, W, C)``, data-set name, preprocessing flags.
* Reading takes the zip members itself and never unpickles: a file can never run code. Each ``.npy``
  header is checked before its array is allocated (plain numeric dtype, number of dimensions,
  ``prod(shape) * itemsize`` equal to the member's size, at most :data:`MAX_ARRAY_BYTES`), every metadata
  field against a small schema (type and range); :func:`finite32` checks the weights and mean for finite
  float32 values. A file that fails a check raises :class:`ModelFileError` naming the file, and
  :data:`PARSE_ERRORS` lists what a damaged or hostile file can make the parsers raise.

Turning the arrays into a model, and checking that they fit together, is :mod:`core.persistence`'s part.
"""
from __future__ import annotations

import json
import math
import struct
import tokenize
import zipfile
import zlib

import numpy as np

try:
    import lzma
except ImportError:   # Python built without liblzma: zipfile cannot open LZMA members either
    lzma = None

from core.linear import Record
from core.npy import NotNpy, read_npy_header

__all__ = ["ModelFileError", "FORMAT_NAME", "FORMAT_VERSION", "HISTORY_FIELDS", "MAX_ARRAY_BYTES", "PARSE_ERRORS",
           "PARAM_TYPES", "file_error", "short_repr", "json_param", "history_array", "read_model_file",
           "finite32", "history_records"]

FORMAT_NAME = "linear-classifier-lab/model"
FORMAT_VERSION = 1
HISTORY_FIELDS = ("iteration", "epoch", "data_loss", "reg_loss", "total_loss", "batch_accuracy",
                  "train_accuracy", "val_accuracy", "epoch_end")


class ModelFileError(ValueError):
    """A model file that cannot be read, is not ours, or does not fit the data; the message names the file."""


def file_error(path, what):
    """A :class:`ModelFileError` whose message starts with the file's name."""
    return ModelFileError(f"{path}: {what}")


def short_repr(value, limit=60):
    """``repr(value)`` cut to ``limit`` characters (safe for huge ints and deep lists from a hostile file)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):        # int beyond sys.get_int_max_str_digits(), deep nesting
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: everything a damaged or hostile file can make the zip/.npy/JSON parsers or a numeric conversion raise;
#: core.persistence.load_model turns these (and only these) into ModelFileError, so programming errors stay visible
PARSE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, zlib.error,
                struct.error, SyntaxError, tokenize.TokenError, RecursionError, ValueError, TypeError,
                OverflowError) + ((lzma.LZMAError,) if lzma is not None else ())

#: the arrays of a model file: name -> (required, allowed dtype kinds, number of dimensions)
_ARRAYS = {"metadata": (True, "U", 0), "W": (True, "f", 2), "b": (True, "f", 1), "classes": (True, "iu", 1),
           "mean": (False, "f", 1), "history": (False, "fiu", 2)}
MAX_ARRAY_BYTES = 2 ** 30          # one array (a 1000-class model of 224x224x3 images needs 0.6 GB)
_MAX_METADATA_BYTES = 2 ** 24
_KIND_TEXT = {"U": "a unicode string", "f": "floating point", "iu": "integer", "fiu": "real numbers"}


# ---------------------------------------------------------------------- writing
def json_param(v):
    """A hyperparameter value as JSON can store it (NumPy numbers as Python numbers), else None."""
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return None  # e.g. a Generator random_state: not storable, saved as None


def history_array(records):
    """Training history (a list of :class:`core.linear.Record`) as a ``(K, 9)`` float64 array with the
    columns :data:`HISTORY_FIELDS`, NaN where a value was not measured (None)."""
    return np.array([[np.nan if getattr(r, f) is None else float(getattr(r, f)) for f in HISTORY_FIELDS]
                     for r in records], dtype=np.float64).reshape(len(records), len(HISTORY_FIELDS))


# ---------------------------------------------------------------------- reading
def read_model_file(path):
    """The checked metadata (a dict) and arrays (``{name: ndarray}``, ``mean`` and ``history`` only when
    present) of the model file at ``path``; the arrays are as stored (not yet cast or checked for finite values)."""
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "metadata.npy" not in names:
            raise file_error(path, "not a Linear Classifier Lab model (no 'metadata' entry)")
        meta = _metadata(path, _read_npy(zf, path, "metadata"))
        data = {}
        for key, (required, *_) in _ARRAYS.items():
            if key != "metadata" and f"{key}.npy" in names:
                data[key] = _read_npy(zf, path, key)
            elif required and key != "metadata":
                raise file_error(path, f"the array {key!r} is missing")
    return meta, data


def _read_npy(zf, path, key):
    """One array of the model, read straight from the zip. The ``.npy`` header is checked (format version,
    plain numeric dtype, no objects, number of dimensions, ``prod(shape) * itemsize`` equal to the member's
    size) before anything is allocated, so a header promising 32 GiB in a 1 KB file is refused."""
    kinds, ndim = _ARRAYS[key][1:]
    member = f"{key}.npy"
    info = zf.getinfo(member)
    limit = _MAX_METADATA_BYTES if key == "metadata" else MAX_ARRAY_BYTES
    if info.flag_bits & 0x1:
        raise file_error(path, f"{member} is encrypted")
    if info.file_size > limit:
        raise file_error(path, f"{member} is {info.file_size:,} bytes (more than the {limit:,} allowed)")
    with zf.open(info) as fh:
        try:
            head = read_npy_header(fh, versions=((1, 0), (2, 0)))
        except ValueError as exc:
            if "unsupported" in str(exc) and not isinstance(exc, NotNpy):
                raise file_error(path, f"{member}: {exc}") from None
            raise   # no magic or a damaged header: "not a readable model file" (core.persistence.load_model)
        shape, fortran, dtype = head.shape, head.fortran_order, head.dtype
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise file_error(path, f"{member} holds Python objects or records ({dtype}); "
                                   "only plain numbers are allowed")
        if dtype.kind not in kinds or dtype.itemsize == 0:
            raise file_error(path, f"{member} has dtype {dtype} (expected {_KIND_TEXT[kinds]})")
        if len(shape) != ndim or any(s < 0 for s in shape):
            raise file_error(path, f"{member} has shape {short_repr(shape)} (expected {ndim} dimensions)")
        count = math.prod(shape)
        nbytes, held = count * dtype.itemsize, info.file_size - fh.tell()
        if nbytes != held:
            raise file_error(path, f"{member} claims shape {short_repr(shape)} of {dtype} ({nbytes:,} bytes) "
                                   f"but holds {max(0, held):,} bytes of data")
        data = fh.read(nbytes)
    if len(data) != nbytes:
        raise file_error(path, f"{member} is truncated")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def finite32(path, arr, what):
    """``arr`` as a contiguous float32 copy; refuses NaN/inf, also after the cast (1e300 -> inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.array(arr, dtype=np.float32, order="C")
    if not np.isfinite(out).all():
        raise file_error(path, f"{what} contain NaN or infinite values (or values beyond the float32 range)")
    return out


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


#: metadata key -> (accepts(value), what a valid value is); missing keys take the saver's defaults
_META = {
    "params": (lambda v: v is None or isinstance(v, dict), "an object of hyperparameters"),
    "n_features": (lambda v: v is None or _is_int(v), "an integer"),
    "n_classes": (lambda v: v is None or _is_int(v), "an integer"),
    "n_iter": (lambda v: v is None or (_is_int(v) and 0 <= v < 2 ** 63), "an integer >= 0"),
    "class_names": (lambda v: v is None or (isinstance(v, list) and all(isinstance(c, str) for c in v)),
                    "a list of strings"),
    "image_shape": (lambda v: v is None or (isinstance(v, list) and len(v) == 3
                                            and all(_is_int(s) and 1 <= s < 2 ** 31 for s in v)),
                    "three positive integers [H, W, C]"),
    "dataset_name": (lambda v: v is None or isinstance(v, str), "a string"),
    "preprocessor": (lambda v: v is None or (isinstance(v, dict) and all(
        isinstance(v.get(k, True), bool) for k in ("scale", "subtract_mean"))),
        "an object with boolean 'scale' and 'subtract_mean'"),
    "history_columns": (lambda v: v is None or v == list(HISTORY_FIELDS),
                        f"the list {list(HISTORY_FIELDS)}"),
}
#: hyperparameter -> accepts(value) (the ranges are checked by LinearClassifier.validated_params)
PARAM_TYPES = {"loss": lambda v: isinstance(v, str), "penalty": lambda v: v is None or isinstance(v, str),
               "batch_size": _is_int, "random_state": lambda v: v is None or _is_int(v),
               **{k: _is_real for k in ("reg", "learning_rate", "init_scale", "delta", "momentum")}}


def _metadata(path, arr):
    """The JSON metadata of a model file as a dict, checked against the format, version and schema."""
    try:
        meta = json.loads(str(arr[()]))
    except (ValueError, RecursionError) as exc:
        raise file_error(path, f"the metadata is not valid JSON ({short_repr(str(exc), 120)})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise file_error(path, "not a Linear Classifier Lab model (unknown format)")
    version = meta.get("version")
    if not _is_int(version) or version < 1:
        raise file_error(path, f"model format version {short_repr(version)} is not a version number")
    if version > FORMAT_VERSION:
        raise file_error(path, f"model format version {short_repr(version)} is newer than this program "
                               f"understands ({FORMAT_VERSION})")
    for key, (ok, rule) in _META.items():
        if not ok(meta.get(key)):
            raise file_error(path, f"metadata {key!r} must be {rule} (got {short_repr(meta.get(key))})")
    params = meta.get("params") or {}
    for key, ok in PARAM_TYPES.items():
        if key in params and not ok(params[key]):
            raise file_error(path, f"invalid hyperparameters ({key} has the wrong type: "
                                   f"{short_repr(params[key])})")
    return meta


def history_records(path, h):
    """The stored history array ``h`` (or None) back as a list of :class:`core.linear.Record`, checked:
    whole non-negative counts, finite losses, accuracies in [0, 1] (NaN = not measured), 0/1 epoch ends."""
    if h is None or h.size == 0:
        return []
    if h.shape[1] != len(HISTORY_FIELDS):
        raise file_error(path, f"history must have {len(HISTORY_FIELDS)} columns (got shape {h.shape})")
    h = h.astype(np.float64)
    counts, acc = h[:, :2], h[:, 6:8]
    if not (np.isfinite(h[:, :6]).all() and (counts == np.floor(counts)).all() and (counts >= 0).all()
            and (counts <= 2.0 ** 53).all() and ((h[:, 5] >= 0) & (h[:, 5] <= 1)).all()
            and (np.isnan(acc) | ((acc >= 0) & (acc <= 1))).all() and np.isin(h[:, 8], (0.0, 1.0)).all()):
        raise file_error(path, "the history is damaged (iteration and epoch must be whole numbers >= 0, losses "
                               "finite, accuracies in [0, 1] (train/val NaN when not measured), epoch_end 0 or 1)")
    out = []
    for row in h.tolist():
        it, ep, dl, rl, tl, ba, tr, va, end = row
        out.append(Record(int(it), int(ep), dl, rl, tl, ba, None if math.isnan(tr) else tr,
                          None if math.isnan(va) else va, bool(end)))
    return out
