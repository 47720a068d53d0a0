"""Saving and loading trained linear classifiers as ``.npz`` files -- plain arrays, no pickle.

Conventions
-----------
* The file format -- the arrays, the JSON metadata and the checks made while reading them -- is
  :mod:`core.model_format`; this module is the API on top: :func:`save_model` turns a fitted model (with its
  preprocessing, class names, image shape and history) into those arrays, :func:`load_model` turns a
  file's checked arrays back into a :class:`LoadedModel` and :func:`check_compatible` compares it with a
  data set.
* Loading never unpickles: a file can never run code. On top of the format's checks, the weights, biases
  and mean image must be finite float32 values, and they, the class labels, the hyperparameters and the
  image shape must fit together. Whatever a damaged or hostile file makes the parsers raise becomes
  :class:`ModelFileError` naming the file.
* Saving is atomic: the archive is written to a temporary file in the target folder, then moved over
  the target with ``os.replace`` (an interrupted save leaves the old file intact and no temp file).
* The weights are stored as they are (no rescaling), so a loaded model predicts exactly like the saved one.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.fileio import atomic_path
from core.linear import LinearClassifier
from core.model_format import (FORMAT_NAME, FORMAT_VERSION, HISTORY_FIELDS, MAX_ARRAY_BYTES, PARAM_TYPES,
                               PARSE_ERRORS, ModelFileError, file_error, finite32, history_array,
                               history_records, json_param, read_model_file, short_repr)
from core.preprocess import Preprocessor

__all__ = ["ModelFileError", "LoadedModel", "save_model", "load_model", "check_compatible",
           "FORMAT_NAME", "FORMAT_VERSION", "MAX_ARRAY_BYTES"]


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
    harr = history_array(hist)
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
        "params": {k: json_param(v) for k, v in model.get_params().items()},
        "n_features": D, "n_classes": C, "n_iter": int(getattr(model, "n_iter_", 0)),
        "class_names": class_names, "image_shape": image_shape,
        "dataset_name": None if dataset_name is None else str(dataset_name),
        "preprocessor": pre, "history_columns": list(HISTORY_FIELDS),
    }
    arrays["metadata"] = np.array(json.dumps(meta), dtype=np.str_)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())


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
    except PARSE_ERRORS as exc:          # a damaged zip, .npy header or number the checks did not foresee
        raise file_error(path, f"not a readable model file ({type(exc).__name__}: "
                               f"{short_repr(str(exc), 160)})") from exc


def _load(path):
    meta, data = read_model_file(path)
    W, b, classes = data["W"], data["b"], data["classes"]
    C, D = W.shape
    if C < 2 or D < 1 or b.shape != (C,) or classes.shape != (C,):
        raise file_error(path, f"inconsistent shapes: W {W.shape}, b {b.shape}, classes {classes.shape}")
    if meta.get("n_classes") not in (None, C) or meta.get("n_features") not in (None, D):
        raise file_error(path, f"the metadata says {meta.get('n_classes')} classes x {meta.get('n_features')} "
                               f"features but W is {C} x {D}")
    W = finite32(path, W, "the weights")
    b = finite32(path, b, "the biases")
    if classes.dtype.kind == "u" and classes.max() > np.iinfo(np.int64).max:
        raise file_error(path, "the class labels do not fit in int64")
    classes = classes.astype(np.int64)
    if (np.diff(classes) <= 0).any():
        raise file_error(path, f"the class labels must be distinct and increasing "
                               f"(got {short_repr(classes.tolist())})")
    params = meta.get("params") or {}
    try:
        model = LinearClassifier(**{k: v for k, v in params.items() if k in PARAM_TYPES})
        model.validated_params()
    except (TypeError, ValueError, OverflowError) as exc:
        raise file_error(path, f"invalid hyperparameters ({exc})") from None
    model.W_, model.b_, model.classes_ = W, b, classes
    model.n_features_in_ = D
    model.n_iter_ = int(meta.get("n_iter") or 0)
    model._rng = np.random.default_rng(params.get("random_state"))
    model.reset_optimizer()
    history = history_records(path, data.get("history"))
    model.history_ = history
    names = meta.get("class_names")
    if names is not None and len(names) != C:
        raise file_error(path, f"class_names must list {C} names (got {len(names)})")
    shape = meta.get("image_shape")
    if shape is not None:
        shape = tuple(shape)
        if math.prod(shape) != D:
            raise file_error(path, f"image_shape {shape} does not match the {D} features")
    mean = data.get("mean")
    if mean is not None:
        if mean.shape != (D,):
            raise file_error(path, f"the mean image has {mean.size} values but the model has {D} features")
        mean = finite32(path, mean, "the mean image")
    pre = None
    pmeta = meta.get("preprocessor")
    if pmeta is not None:
        pre = Preprocessor.from_dict({"scale": pmeta.get("scale", True),
                                      "subtract_mean": pmeta.get("subtract_mean", True),
                                      "mean": mean, "image_shape": shape})
    return LoadedModel(model, pre, names, shape, meta.get("dataset_name"), history, str(path))


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
