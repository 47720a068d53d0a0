"""Convert NumPy images to QImage/QPixmap (GUI-side only; the pixel values come from core)."""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui

__all__ = ["to_qimage", "to_pixmap"]


def to_qimage(img: np.ndarray) -> QtGui.QImage:
    """``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)`` uint8 -> a QImage that owns its pixels."""
    a = np.asarray(img)
    if a.dtype != np.uint8:
        raise TypeError(f"image must be uint8 (got {a.dtype})")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 2:
        q = QtGui.QImage(a.data, w, h, a.strides[0], QtGui.QImage.Format.Format_Grayscale8)
    elif a.ndim == 3 and a.shape[2] == 3:
        q = QtGui.QImage(a.data, w, h, a.strides[0], QtGui.QImage.Format.Format_RGB888)
    else:
        raise ValueError(f"image must be (H, W), (H, W, 1) or (H, W, 3) (got {a.shape})")
    return q.copy()  # detach from the numpy buffer


def to_pixmap(img: np.ndarray, size: int | QtCore.QSize | None = None) -> QtGui.QPixmap:
    """A pixmap scaled with nearest-neighbour (pixels stay visible squares)."""
    pm = QtGui.QPixmap.fromImage(to_qimage(img))
    if size is not None:
        sz = size if isinstance(size, QtCore.QSize) else QtCore.QSize(size, size)
        pm = pm.scaled(sz, QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                       QtCore.Qt.TransformationMode.FastTransformation)
    return pm
