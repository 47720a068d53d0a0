"""Reading a ``.npy`` header safely, before any array is allocated (used by the .npz data-set loader
and by model files). Hostile files can claim any shape; callers compare the claimed size with what the
zip member really holds, and refuse object dtypes, before reading data."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["NpyHeader", "read_npy_header", "NotNpy"]

_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
            (3, 0): np.lib.format.read_array_header_2_0}   # 3.0 = 2.0 with a UTF-8 header: same layout


class NotNpy(ValueError):
    """The stream does not start with the ``.npy`` magic."""


@dataclass(frozen=True)
class NpyHeader:
    version: tuple
    shape: tuple
    fortran_order: bool
    dtype: np.dtype
    data_offset: int          # bytes from the start of the member to the first data byte

    @property
    def nbytes(self) -> int:
        """Bytes the header claims for the data: ``prod(shape) * itemsize``."""
        return math.prod(self.shape) * self.dtype.itemsize


def read_npy_header(fh, *, versions=((1, 0), (2, 0), (3, 0))) -> NpyHeader:
    """Read the magic and header of a ``.npy`` stream positioned at its start.

    Raises
    ------
    NotNpy
        No ``.npy`` magic.
    ValueError
        An unsupported format version or a damaged header (NumPy's own errors, which include
        ``SyntaxError``/``tokenize`` errors, are passed on for the caller to convert).
    """
    magic = fh.read(len(np.lib.format.MAGIC_PREFIX))
    if magic != np.lib.format.MAGIC_PREFIX:
        raise NotNpy("not a .npy array (no magic)")
    version = tuple(fh.read(2))
    if version not in versions or version not in _READERS:
        raise ValueError(f"unsupported .npy format version {version}")
    with warnings.catch_warnings():     # NumPy's literal_eval of a damaged header: "invalid escape" noise
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        shape, fortran, dtype = _READERS[version](fh)
    return NpyHeader(version, tuple(shape), bool(fortran), dtype, fh.tell())
