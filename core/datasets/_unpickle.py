"""Unpickling untrusted CIFAR batches: no code runs, nothing is sized from a number in the file.

Conventions
-----------
* :class:`RestrictedUnpickler` resolves only the four globals a NumPy array needs
  (``_reconstruct`` under its old and new module names, ``ndarray``, ``dtype``); anything
  else, such as ``os.system`` smuggled in through ``__reduce__``, raises :class:`RefusedGlobal`.
* It is the pure-Python unpickler (``pickle._Unpickler``): its memo is a dict, so a
  ``LONG_BINPUT 100000000`` costs one entry, not the 1.5 GB array the C unpickler reserves.
* A counted length (strings, bytes, bytearrays, frames) larger than the pickle is refused
  before anything is read or allocated, and a shorter read is an error, not a short value.
* The allowed callables are checked before they run: an array may not be larger (in
  elements) than the pickle itself, a dtype must be a plain type code such as ``'u1'``.
* ``BUILD`` states are checked before NumPy sees them: NumPy 2.4's ``dtype.__setstate__``
  reads uninitialised memory for a state tuple of an unexpected length (numpy/numpy#30476)
  and trusts the flags in the state; ``ndarray.__setstate__`` of an object array with too
  few items crashes the interpreter. Only the states NumPy itself writes for plain
  (non-object, non-structured) dtypes and arrays are passed on.
"""
from __future__ import annotations

import io
import math
import pickle
import re
import struct

import numpy as np

from core.datasets._base import DatasetError

__all__ = ["RestrictedUnpickler", "RefusedGlobal", "safe_unpickle", "MAX_PICKLE_BYTES"]

MAX_PICKLE_BYTES = 1024 ** 3   #: default bound for counted lengths when the pickle's size is not given

_RECONSTRUCT = np.ndarray((0,), np.uint8).__reduce__()[0]   # numpy's _reconstruct, any version
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
_TYPE_CODE = re.compile(r"[<>|=]?[a-zA-Z?][0-9]{0,4}")   # 'u1', '<i8', 'b', '|S10' -- no structured specs
_ENDIAN = {"<", ">", "|", "="}

#: opcodes followed by a byte count: (opcode, struct format of the count, name)
_COUNTED = ((pickle.BINSTRING, "<i", "BINSTRING"), (pickle.SHORT_BINSTRING, "<B", "SHORT_BINSTRING"),
            (pickle.BINBYTES, "<I", "BINBYTES"), (pickle.SHORT_BINBYTES, "<B", "SHORT_BINBYTES"),
            (pickle.BINBYTES8, "<Q", "BINBYTES8"), (pickle.BINUNICODE, "<I", "BINUNICODE"),
            (pickle.SHORT_BINUNICODE, "<B", "SHORT_BINUNICODE"), (pickle.BINUNICODE8, "<Q", "BINUNICODE8"),
            (pickle.BYTEARRAY8, "<Q", "BYTEARRAY8"), (pickle.FRAME, "<Q", "FRAME"))


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle asked for a global outside the allow-list."""


def _counted(opcode: bytes, fmt: str, what: str):
    """A loader for a counted-length opcode that refuses a length the pickle cannot hold.

    The stock loaders read the length first and then allocate (``BYTEARRAY8``: zero-filled) or
    read that many bytes; a short read is only noticed later, or never.
    """
    width = struct.calcsize(fmt)

    def load(self):
        n, = struct.unpack(fmt, self.read(width))
        if n < 0 or n > self.max_bytes:
            raise pickle.UnpicklingError(f"{what} claims {n:,} bytes; the whole pickle is {self.max_bytes:,} bytes")
        if opcode == pickle.FRAME:
            self._unframer.load_frame(n)
            return
        data = self.read(n)
        if len(data) != n:
            raise pickle.UnpicklingError(f"{what} is truncated ({len(data):,} of {n:,} bytes)")
        if opcode in (pickle.BINSTRING, pickle.SHORT_BINSTRING):
            self.append(self._decode_string(data))
        elif opcode in (pickle.BINUNICODE, pickle.SHORT_BINUNICODE, pickle.BINUNICODE8):
            self.append(str(data, "utf-8", "surrogatepass"))
        elif opcode == pickle.BYTEARRAY8:
            self.append(bytearray(data))
        else:
            self.append(data)
    load.__name__ = f"load_{what.lower()}"
    return load


def _text(value) -> str | None:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value if isinstance(value, str) else None


def _check_call(func, args, max_bytes: int) -> None:
    """Refuse an allowed callable's arguments that would allocate more than the pickle holds."""
    if not isinstance(args, tuple):
        return   # pickle's own REDUCE raises
    if func is np.dtype:
        code = _text(args[0]) if args else None
        if code is None or not _TYPE_CODE.fullmatch(code):
            raise pickle.UnpicklingError(f"dtype {args[:1]!r} is not a plain type code such as 'u1'")
        return
    shape = args[1] if func is _RECONSTRUCT and len(args) > 1 else args[0] if args else ()
    shape = (shape,) if isinstance(shape, int) else shape
    if isinstance(shape, tuple) and all(isinstance(s, int) for s in shape):
        count = math.prod(max(s, 0) for s in shape)
        if count > max_bytes:
            raise pickle.UnpicklingError(f"an array of shape {shape} is larger than the whole pickle "
                                         f"({max_bytes:,} bytes)")


def _check_dtype_state(inst: np.dtype, state) -> None:
    """Only ``(3, endian, None, None, None, elsize, alignment, flags)`` with the dtype's own flags."""
    ok = (isinstance(state, tuple) and len(state) == 8 and state[0] == 3 and _text(state[1]) in _ENDIAN
          and state[2] is None and state[3] is None and state[4] is None
          and all(type(v) is int for v in state[5:]) and state[7] == inst.flags)
    if not ok:
        raise pickle.UnpicklingError(f"unexpected state for {inst!r}: {str(state)[:80]}")


def _check_array_state(state) -> None:
    """Only ``([1,] shape, dtype, fortran, data)`` with a plain (non-object) dtype."""
    ok = isinstance(state, tuple) and len(state) in (4, 5)
    dtype = state[-3] if ok else None
    if not (isinstance(dtype, np.dtype) and not dtype.hasobject):
        raise pickle.UnpicklingError(f"unexpected array state (only plain, non-object arrays): {str(state)[:80]}")


class RestrictedUnpickler(pickle._Unpickler):  # noqa: SLF001 - the pure-Python unpickler, on purpose
    """An unpickler that can build dicts, lists, strings, numbers and NumPy arrays, nothing else.

    Parameters
    ----------
    file : binary file
    max_bytes : int
        The size of the pickle: no counted length, array or memo may need more.
    **kwargs : passed to :class:`pickle.Unpickler` (``encoding="bytes"`` for Python-2 pickles).
    """

    def __init__(self, file, *, max_bytes: int = MAX_PICKLE_BYTES, **kwargs):
        super().__init__(file, **kwargs)
        self.max_bytes = max_bytes

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(f"refused global {module}.{name}") from None

    def load_reduce(self):
        _check_call(self.stack[-2], self.stack[-1], self.max_bytes)
        super().load_reduce()

    def load_build(self):
        state, inst = self.stack[-1], self.stack[-2]
        if isinstance(inst, np.dtype):
            _check_dtype_state(inst, state)
        elif isinstance(inst, np.ndarray):
            _check_array_state(state)
        elif isinstance(inst, type):
            raise pickle.UnpicklingError(f"refused to set the state of {inst.__name__}")
        super().load_build()

    dispatch = {**pickle._Unpickler.dispatch,  # noqa: SLF001
                **{op[0]: _counted(op, fmt, what) for op, fmt, what in _COUNTED},
                pickle.REDUCE[0]: load_reduce, pickle.BUILD[0]: load_build}


#: what unpickling a damaged or hostile pickle can raise (struct.error: a truncated fixed-width argument)
_DAMAGED = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, LookupError, ArithmeticError,
            MemoryError, struct.error, RecursionError)


def safe_unpickle(data: bytes, name: str):
    """Unpickle ``data`` (read from ``name``) with :class:`RestrictedUnpickler`, ``encoding='bytes'``.

    Raises
    ------
    DatasetError
        The pickle asks for any other global, claims more bytes than it holds, or is damaged.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes", max_bytes=len(data)).load()
    except RefusedGlobal as exc:
        raise DatasetError(f"{name}: not a plain CIFAR batch ({exc}; only NumPy arrays, lists, "
                           f"strings and numbers are allowed); nothing in it was run") from exc
    except _DAMAGED as exc:
        what = "truncated" if isinstance(exc, struct.error) else type(exc).__name__
        raise DatasetError(f"{name}: damaged pickle ({what}: {exc})") from exc
