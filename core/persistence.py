"""Saving and loading trained linear classifiers as ``.npz`` files -- plain arrays, no pickle.

Conventions
-----------
* A model file is a NumPy ``.npz`` archive holding only numeric arrays and one JSON string:

  ``W`` (C, D) float32, ``b`` (C,) float32, ``classes`` (C,) int64, ``mean`` (D,) float32 (only when a
  fitted preprocessor is saved), ``history`` (K, 9) float64 (columns of
  :data:`core.training.CSV_COLUMNS`, NaN where not measured) and ``metadata``: a 0-d unicode array
  (``np.str_``) with a JSON object -- format name and version, hyperparameters, class names, image shape
  ``(H, W, C)``, data-set name, preprocessing flags.
* Loading reads the zip members itself and never unpickles: a file can never run code. Each ``.npy``
  header is checked before its array is allocated (plain numeric dtype, number of dimensions,
  ``prod(shape) * itemsize`` equal to the member's size, at most :data:`MAX_ARRAY_BYTES`), every metadata
  field against a small schema (type and range), the weights and mean for finite float32 values. Whatever
  a damaged or hostile file makes the parsers raise becomes :class:`ModelFileError` naming the file.
* Saving is atomic: the archive is written to a temporary file in the target folder, then moved over
  the target with ``os.replace`` (an interrupted save leaves the old file intact and no temp file).
* The weights are stored as they are (no rescaling), so a loaded model predicts exactly like the saved one.
"""
from __future__ import annotations

import json
import math
import os
import struct
import tokenize
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

try:
    import lzma
except ImportError:   # Python built without liblzma: zipfile cannot open LZMA members either
    lzma = None

from core.fileio import atomic_path
from core.npy import NotNpy, read_npy_header
from core.linear import LinearClassifier, Record
from core.preprocess import Preprocessor

__all__ = ["ModelFileError", "LoadedModel", "save_model", "load_model", "check_compatible",
           "FORMAT_NAME", "FORMAT_VERSION", "MAX_ARRAY_BYTES"]

FORMAT_NAME = "linear-classifier-lab/model"
FORMAT_VERSION = 1
_HISTORY_FIELDS = ("iteration", "epoch", "data_loss", "reg_loss", "total_loss", "batch_accuracy",
                   "train_accuracy", "val_accuracy", "epoch_end")


class ModelFileError(ValueError):
    """A model file that cannot be read, is not ours, or does not fit the data; the message names the file."""


@dataclass
class LoadedModel:
    """What :func:`load_model` returns.

    Attributes
    ----------
    model : LinearClassifier (fitted)
    preprocessor : Preprocessor or None
    class_names : list[str] or None
    image_shape : tuple (H, W, C) or None
    dataset_name : str or None
    history : list[Record]
    path : str
    """

    model: LinearClassifier
    preprocessor: Preprocessor | None
    class_names: list | None
    image_shape: tuple | None
    dataset_name: str | None
    history: list
    path: str = ""

    @property
    def n_features(self):
        """D, the number of input features the model expects."""
        return int(self.model.W_.shape[1])


def _json_param(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return None  # e.g. a Generator random_state: not storable, saved as None


def save_model(path, model, *, preprocessor=None, class_names=None, image_shape=None, dataset_name=None,
               history=None):
    """Write a fitted model (and what is needed to use it) to ``path`` atomically.

    Parameters
    ----------
    path : str or Path (``.npz`` recommended; the name is used as given)
    model : fitted LinearClassifier
    preprocessor : Preprocessor, optional (its ``mean_`` is stored when fitted)
    class_names : list of C strings, optional
    image_shape : (H, W, C), optional; taken from the preprocessor when it knows it
    dataset_name : str, optional
    history : list of Record, optional (default ``model.history_``)

    Raises
    ------
    NotFittedError
        The model is not fitted.
    ValueError
        ``class_names`` or ``image_shape`` do not match the weights.
    """
    model._check_fitted()
    W = np.asarray(model.W_, dtype=np.float32)
    C, D = W.shape
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if len(class_names) != C:
            raise ValueError(f"class_names has {len(class_names)} names but the model has {C} classes")
    if image_shape is None and preprocessor is not None:
        image_shape = getattr(preprocessor, "image_shape_", None)
    if image_shape is not None:
        image_shape = [int(s) for s in image_shape]
        if len(image_shape) == 2:
            image_shape.append(1)
        if len(image_shape) != 3 or math.prod(image_shape) != D:
            raise ValueError(f"image_shape {tuple(image_shape)} does not match the model's {D} features")
    hist = list(model.history_ if history is None and hasattr(model, "history_") else history or [])
    harr = np.array([[np.nan if getattr(r, f) is None else float(getattr(r, f)) for f in _HISTORY_FIELDS]
                     for r in hist], dtype=np.float64).reshape(len(hist), len(_HISTORY_FIELDS))
    arrays = {"W": W, "b": np.asarray(model.b_, dtype=np.float32),
              "classes": np.asarray(model.classes_, dtype=np.int64), "history": harr}
    pre = None
    if preprocessor is not None:
        pre = {"scale": bool(preprocessor.scale), "subtract_mean": bool(preprocessor.subtract_mean)}
        if hasattr(preprocessor, "mean_"):
            arrays["mean"] = np.asarray(preprocessor.mean_, dtype=np.float32).reshape(-1)
            if arrays["mean"].shape != (D,):
                raise ValueError(f"the preprocessor has {arrays['mean'].shape[0]} features but the model {D}")
    meta = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION,
        "params": {k: _json_param(v) for k, v in model.get_params().items()},
        "n_features": D, "n_classes": C, "n_iter": int(getattr(model, "n_iter_", 0)),
        "class_names": class_names, "image_shape": image_shape,
        "dataset_name": None if dataset_name is None else str(dataset_name),
        "preprocessor": pre, "history_columns": list(_HISTORY_FIELDS),
    }
    arrays["metadata"] = np.array(json.dumps(meta), dtype=np.str_)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())


def _bad(path, what):
    return ModelFileError(f"{path}: {what}")


def _short(value, limit=60):
    """``repr(value)`` cut to ``limit`` characters (safe for huge ints and deep lists from a hostile file)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError):        # int beyond sys.get_int_max_str_digits(), deep nesting
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


#: everything a damaged or hostile file can make the zip/.npy/JSON parsers or a numeric conversion raise;
#: load_model turns these (and only these) into ModelFileError, so programming errors stay visible
_PARSE_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, zlib.error,
                 struct.error, SyntaxError, tokenize.TokenError, RecursionError, ValueError, TypeError,
                 OverflowError) + ((lzma.LZMAError,) if lzma is not None else ())

#: the arrays of a model file: name -> (required, allowed dtype kinds, number of dimensions)
_ARRAYS = {"metadata": (True, "U", 0), "W": (True, "f", 2), "b": (True, "f", 1), "classes": (True, "iu", 1),
           "mean": (False, "f", 1), "history": (False, "fiu", 2)}
MAX_ARRAY_BYTES = 2 ** 30          # one array (a 1000-class model of 224x224x3 images needs 0.6 GB)
_MAX_METADATA_BYTES = 2 ** 24
_KIND_TEXT = {"U": "a unicode string", "f": "floating point", "iu": "integer", "fiu": "real numbers"}


def _read_npy(zf, path, key):
    """One array of the model, read straight from the zip. The ``.npy`` header is checked (format version,
    plain numeric dtype, no objects, number of dimensions, ``prod(shape) * itemsize`` equal to the member's
    size) before anything is allocated, so a header promising 32 GiB in a 1 KB file is refused."""
    kinds, ndim = _ARRAYS[key][1:]
    member = f"{key}.npy"
    info = zf.getinfo(member)
    limit = _MAX_METADATA_BYTES if key == "metadata" else MAX_ARRAY_BYTES
    if info.flag_bits & 0x1:
        raise _bad(path, f"{member} is encrypted")
    if info.file_size > limit:
        raise _bad(path, f"{member} is {info.file_size:,} bytes (more than the {limit:,} allowed)")
    with zf.open(info) as fh:
        try:
            head = read_npy_header(fh, versions=((1, 0), (2, 0)))
        except ValueError as exc:
            if "unsupported" in str(exc) and not isinstance(exc, NotNpy):
                raise _bad(path, f"{member}: {exc}") from None
            raise   # no magic or a damaged header: "not a readable model file" below
        shape, fortran, dtype = head.shape, head.fortran_order, head.dtype
        if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
            raise _bad(path, f"{member} holds Python objects or records ({dtype}); only plain numbers are allowed")
        if dtype.kind not in kinds or dtype.itemsize == 0:
            raise _bad(path, f"{member} has dtype {dtype} (expected {_KIND_TEXT[kinds]})")
        if len(shape) != ndim or any(s < 0 for s in shape):
            raise _bad(path, f"{member} has shape {_short(shape)} (expected {ndim} dimensions)")
        count = math.prod(shape)
        nbytes, held = count * dtype.itemsize, info.file_size - fh.tell()
        if nbytes != held:
            raise _bad(path, f"{member} claims shape {_short(shape)} of {dtype} ({nbytes:,} bytes) but holds "
                             f"{max(0, held):,} bytes of data")
        data = fh.read(nbytes)
    if len(data) != nbytes:
        raise _bad(path, f"{member} is truncated")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def _finite32(path, arr, what):
    """``arr`` as a contiguous float32 copy; refuses NaN/inf, also after the cast (1e300 -> inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.array(arr, dtype=np.float32, order="C")
    if not np.isfinite(out).all():
        raise _bad(path, f"{what} contain NaN or infinite values (or values beyond the float32 range)")
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
    "history_columns": (lambda v: v is None or v == list(_HISTORY_FIELDS),
                        f"the list {list(_HISTORY_FIELDS)}"),
}
#: hyperparameter -> accepts(value) (the ranges are checked by LinearClassifier.validated_params)
_PARAM_TYPES = {"loss": lambda v: isinstance(v, str), "penalty": lambda v: v is None or isinstance(v, str),
                "batch_size": _is_int, "random_state": lambda v: v is None or _is_int(v),
                **{k: _is_real for k in ("reg", "learning_rate", "init_scale", "delta", "momentum")}}


def _metadata(path, arr):
    try:
        meta = json.loads(str(arr[()]))
    except (ValueError, RecursionError) as exc:
        raise _bad(path, f"the metadata is not valid JSON ({_short(str(exc), 120)})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise _bad(path, "not a Linear Classifier Lab model (unknown format)")
    version = meta.get("version")
    if not _is_int(version) or version < 1:
        raise _bad(path, f"model format version {_short(version)} is not a version number")
    if version > FORMAT_VERSION:
        raise _bad(path, f"model format version {_short(version)} is newer than this program understands "
                         f"({FORMAT_VERSION})")
    for key, (ok, rule) in _META.items():
        if not ok(meta.get(key)):
            raise _bad(path, f"metadata {key!r} must be {rule} (got {_short(meta.get(key))})")
    params = meta.get("params") or {}
    for key, ok in _PARAM_TYPES.items():
        if key in params and not ok(params[key]):
            raise _bad(path, f"invalid hyperparameters ({key} has the wrong type: {_short(params[key])})")
    return meta


def load_model(path):
    """Read a model saved by :func:`save_model`.

    Every metadata field is checked for type and range, every array for dtype, shape and finite values, and
    the ``.npy`` headers before anything is allocated; nothing in the file can run code.

    Returns
    -------
    LoadedModel

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ModelFileError
        Not an ``.npz`` archive, not a Linear Classifier Lab model, a newer format version, a damaged
        or inconsistent file; the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        return _load(path)
    except ModelFileError:
        raise
    except _PARSE_ERRORS as exc:          # a damaged zip, .npy header or number the checks did not foresee
        raise _bad(path, f"not a readable model file ({type(exc).__name__}: {_short(str(exc), 160)})") from exc


def _load(path):
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
        if "metadata.npy" not in names:
            raise _bad(path, "not a Linear Classifier Lab model (no 'metadata' entry)")
        meta = _metadata(path, _read_npy(zf, path, "metadata"))
        data = {}
        for key, (required, *_) in _ARRAYS.items():
            if key != "metadata" and f"{key}.npy" in names:
                data[key] = _read_npy(zf, path, key)
            elif required and key != "metadata":
                raise _bad(path, f"the array {key!r} is missing")
    W, b, classes = data["W"], data["b"], data["classes"]
    C, D = W.shape
    if C < 2 or D < 1 or b.shape != (C,) or classes.shape != (C,):
        raise _bad(path, f"inconsistent shapes: W {W.shape}, b {b.shape}, classes {classes.shape}")
    if meta.get("n_classes") not in (None, C) or meta.get("n_features") not in (None, D):
        raise _bad(path, f"the metadata says {meta.get('n_classes')} classes x {meta.get('n_features')} "
                         f"features but W is {C} x {D}")
    W = _finite32(path, W, "the weights")
    b = _finite32(path, b, "the biases")
    if classes.dtype.kind == "u" and classes.max() > np.iinfo(np.int64).max:
        raise _bad(path, "the class labels do not fit in int64")
    classes = classes.astype(np.int64)
    if (np.diff(classes) <= 0).any():
        raise _bad(path, f"the class labels must be distinct and increasing (got {_short(classes.tolist())})")
    params = meta.get("params") or {}
    try:
        model = LinearClassifier(**{k: v for k, v in params.items() if k in _PARAM_TYPES})
        model.validated_params()
    except (TypeError, ValueError, OverflowError) as exc:
        raise _bad(path, f"invalid hyperparameters ({exc})") from None
    model.W_, model.b_, model.classes_ = W, b, classes
    model.n_features_in_ = D
    model.n_iter_ = int(meta.get("n_iter") or 0)
    model._rng = np.random.default_rng(params.get("random_state"))
    model.reset_optimizer()
    history = _history_from_array(path, data.get("history"))
    model.history_ = history
    names = meta.get("class_names")
    if names is not None and len(names) != C:
        raise _bad(path, f"class_names must list {C} names (got {len(names)})")
    shape = meta.get("image_shape")
    if shape is not None:
        shape = tuple(shape)
        if math.prod(shape) != D:
            raise _bad(path, f"image_shape {shape} does not match the {D} features")
    mean = data.get("mean")
    if mean is not None:
        if mean.shape != (D,):
            raise _bad(path, f"the mean image has {mean.size} values but the model has {D} features")
        mean = _finite32(path, mean, "the mean image")
    pre = None
    pmeta = meta.get("preprocessor")
    if pmeta is not None:
        pre = Preprocessor.from_dict({"scale": pmeta.get("scale", True),
                                      "subtract_mean": pmeta.get("subtract_mean", True),
                                      "mean": mean, "image_shape": shape})
    return LoadedModel(model, pre, names, shape, meta.get("dataset_name"), history, str(path))


def _history_from_array(path, h):
    if h is None or h.size == 0:
        return []
    if h.shape[1] != len(_HISTORY_FIELDS):
        raise _bad(path, f"history must have {len(_HISTORY_FIELDS)} columns (got shape {h.shape})")
    h = h.astype(np.float64)
    counts, acc = h[:, :2], h[:, 6:8]
    if not (np.isfinite(h[:, :6]).all() and (counts == np.floor(counts)).all() and (counts >= 0).all()
            and (counts <= 2.0 ** 53).all() and ((h[:, 5] >= 0) & (h[:, 5] <= 1)).all()
            and (np.isnan(acc) | ((acc >= 0) & (acc <= 1))).all() and np.isin(h[:, 8], (0.0, 1.0)).all()):
        raise _bad(path, "the history is damaged (iteration and epoch must be whole numbers >= 0, losses finite, "
                         "accuracies in [0, 1] (train/val NaN when not measured), epoch_end 0 or 1)")
    out = []
    for row in h.tolist():
        it, ep, dl, rl, tl, ba, tr, va, end = row
        out.append(Record(int(it), int(ep), dl, rl, tl, ba, None if math.isnan(tr) else tr,
                          None if math.isnan(va) else va, bool(end)))
    return out


def _shape_text(shape):
    return "x".join(str(s) for s in shape) if shape else "?"


def check_compatible(loaded, dataset):
    """Refuse to use a loaded model on data of another shape or with other classes.

    Parameters
    ----------
    loaded : LoadedModel
    dataset : a ``core.datasets.Dataset`` or anything with ``n_features`` / ``image_shape`` /
        ``class_names`` attributes, or a ``(N, D)`` feature array.

    Raises
    ------
    ModelFileError
        The message names the model file and the data set and says what differs.
    """
    D = loaded.n_features
    src = loaded.path or "the model"
    dname = getattr(dataset, "name", None) or "the data set"
    if isinstance(dataset, np.ndarray):
        if dataset.ndim != 2 or dataset.shape[1] != D:
            raise ModelFileError(f"{src} expects {D} features but the data has shape {dataset.shape}")
        return
    shape = getattr(dataset, "image_shape", None)
    nf = getattr(dataset, "n_features", None)
    if nf is None and shape is not None:
        nf = math.prod(shape)
    if nf is not None and int(nf) != D:
        raise ModelFileError(f"{src} expects {_shape_text(loaded.image_shape)} images ({D} features) but "
                             f"{dname} has {_shape_text(shape)} images ({int(nf)} features)")
    if shape is not None and loaded.image_shape is not None and tuple(shape) != tuple(loaded.image_shape):
        raise ModelFileError(f"{src} expects {_shape_text(loaded.image_shape)} images but {dname} has "
                             f"{_shape_text(shape)} images")
    names = getattr(dataset, "class_names", None)
    C = loaded.model.W_.shape[0]
    if names is not None and len(names) != C:
        raise ModelFileError(f"{src} has {C} classes but {dname} has {len(names)}")
    if names is not None and loaded.class_names is not None and list(names) != list(loaded.class_names):
        raise ModelFileError(f"{src} was trained on classes {', '.join(loaded.class_names)} but {dname} has "
                             f"classes {', '.join(map(str, names))}")
