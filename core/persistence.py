"""Saving and loading trained linear classifiers as ``.npz`` files -- plain arrays, no pickle.

Conventions
-----------
* A model file is a NumPy ``.npz`` archive holding only numeric arrays and one JSON string:

  ``W`` (C, D) float32, ``b`` (C,) float32, ``classes`` (C,) int64, ``mean`` (D,) float32 (only when a
  fitted preprocessor is saved), ``history`` (K, 9) float64 (columns of
  :data:`core.training.CSV_COLUMNS`, NaN where not measured) and ``metadata``: a 0-d unicode array
  (``np.str_``) with a JSON object -- format name and version, hyperparameters, class names, image shape
  ``(H, W, C)``, data-set name, preprocessing flags.
* Loading uses ``np.load(..., allow_pickle=False)``: a file can never run code.
* Saving is atomic: the archive is written to a temporary file in the target folder, then moved over
  the target with ``os.replace`` (an interrupted save leaves the old file intact and no temp file).
* The weights are stored as they are (no rescaling), so a loaded model predicts exactly like the saved one.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.linear import LinearClassifier, Record
from core.preprocess import Preprocessor

__all__ = ["ModelFileError", "LoadedModel", "save_model", "load_model", "check_compatible",
           "FORMAT_NAME", "FORMAT_VERSION"]

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
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    done = False
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _bad(path, what):
    return ModelFileError(f"{path}: {what}")


def load_model(path):
    """Read a model saved by :func:`save_model`.

    Returns
    -------
    LoadedModel

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ModelFileError
        Not an ``.npz`` archive, not a Linear Classifier Lab model, a newer format version, or
        inconsistent arrays; the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, ValueError, EOFError,
            KeyError, SyntaxError, TypeError, zlib.error) as exc:
        # zipfile: NotImplementedError for an unknown version/compression; NumPy's header parser:
        # ValueError/SyntaxError; zlib.error for a damaged deflate stream
        raise _bad(path, f"not a readable .npz model file ({exc})") from None
    if "metadata" not in data:
        raise _bad(path, "not a Linear Classifier Lab model (no 'metadata' entry)")
    try:
        meta = json.loads(str(data["metadata"]))
    except (ValueError, TypeError) as exc:
        raise _bad(path, f"the metadata is not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise _bad(path, "not a Linear Classifier Lab model (unknown format)")
    if not isinstance(meta.get("version"), int) or meta["version"] > FORMAT_VERSION:
        raise _bad(path, f"model format version {meta.get('version')!r} is newer than this program "
                         f"understands ({FORMAT_VERSION})")
    for key in ("W", "b", "classes"):
        if key not in data:
            raise _bad(path, f"the array {key!r} is missing")
    W, b, classes = data["W"], data["b"], data["classes"]
    if W.ndim != 2 or W.shape[0] < 2 or b.shape != (W.shape[0],) or classes.shape != (W.shape[0],):
        raise _bad(path, f"inconsistent shapes: W {W.shape}, b {b.shape}, classes {classes.shape}")
    if not (np.issubdtype(W.dtype, np.floating) and np.issubdtype(b.dtype, np.floating)
            and np.issubdtype(classes.dtype, np.integer)):
        raise _bad(path, "W and b must be floating point and classes integer")
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise _bad(path, "the weights contain NaN or infinite values")
    C, D = W.shape
    params = meta.get("params") or {}
    try:
        model = LinearClassifier(**{k: v for k, v in params.items() if k in LinearClassifier().get_params()})
        model.validated_params()
    except (TypeError, ValueError) as exc:
        raise _bad(path, f"invalid hyperparameters ({exc})") from None
    model.W_ = np.ascontiguousarray(W, dtype=np.float32)
    model.b_ = np.ascontiguousarray(b, dtype=np.float32)
    model.classes_ = classes.astype(np.int64)
    model.n_features_in_ = D
    model.n_iter_ = int(meta.get("n_iter", 0) or 0)
    model._rng = np.random.default_rng(params.get("random_state") if isinstance(params.get("random_state"), int)
                                       else None)
    model.reset_optimizer()
    history = _history_from_array(path, data.get("history"))
    model.history_ = history
    pre = None
    pmeta = meta.get("preprocessor")
    if isinstance(pmeta, dict):
        mean = data.get("mean")
        if mean is not None and mean.shape != (D,):
            raise _bad(path, f"the mean image has {mean.size} values but the model has {D} features")
        pre = Preprocessor.from_dict({"scale": pmeta.get("scale", True),
                                      "subtract_mean": pmeta.get("subtract_mean", True),
                                      "mean": mean, "image_shape": meta.get("image_shape")})
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list) or len(names) != C):
        raise _bad(path, f"class_names must list {C} names")
    shape = meta.get("image_shape")
    if shape is not None:
        if not isinstance(shape, list) or len(shape) != 3 or math.prod(int(s) for s in shape) != D:
            raise _bad(path, f"image_shape {shape!r} does not match the {D} features")
        shape = tuple(int(s) for s in shape)
    return LoadedModel(model, pre, names, shape, meta.get("dataset_name"), history, str(path))


def _history_from_array(path, h):
    if h is None or h.size == 0:
        return []
    if h.ndim != 2 or h.shape[1] != len(_HISTORY_FIELDS):
        raise _bad(path, f"history must have {len(_HISTORY_FIELDS)} columns (got shape {h.shape})")
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
