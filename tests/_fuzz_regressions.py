"""The minimal input of every bug the fuzzer found (one entry each), replayed by
``tests/test_reliability_fuzz.py::test_regression_inputs_found_by_fuzzing`` on every CI run."""
from __future__ import annotations

import struct

import numpy as np

from _fuzz_seeds import (_bad_deflate, _bad_utf8_name, _broken_header, _edit_array, _edit_meta, _model_members,
                         _needs_zip_version, _npz, _set, cifar10_members, idx_bytes, npy_bytes, zip_bytes)

_U8 = np.uint8
#: (id, target, files(marker) -> {relative path: bytes}, entry): every one must load or raise the documented error
REGRESSIONS = [
    ("idx-int32-labels-huge-max", "idx", lambda m: {
        "t10k-images-idx3-ubyte": idx_bytes(np.zeros((4, 3, 3), _U8)),
        "t10k-labels-idx1-ubyte": idx_bytes(np.array([0, 1, 2 ** 31 - 1, 0], ">i4"))}, ""),
    ("npz-label-2**62", "npz", lambda m: {"d.npz": _npz({
        "X_train": np.zeros((4, 2, 2), _U8), "y_train": np.array([0, 1, 2 ** 62, 0]),
        "X_test": np.zeros((2, 2, 2), _U8), "y_test": np.array([0, 1])})}, "d.npz"),
    ("npz-damaged-npy-header", "npz", lambda m: {"d.npz": zip_bytes({
        "X.npy": _broken_header(npy_bytes(np.zeros((4, 2, 2), _U8))), "y.npy": npy_bytes(np.arange(4) % 2)})},
     "d.npz"),
    ("npz-zip-version-18.2", "npz", lambda m: {"d.npz": _needs_zip_version(_npz({
        "X": np.zeros((4, 2, 2), _U8), "y": np.arange(4) % 2}))}, "d.npz"),
    ("npz-zip-name-not-utf8", "npz", lambda m: {"d.npz": _bad_utf8_name(_npz({
        "X": np.zeros((4, 2, 2), _U8), "y": np.arange(4) % 2}))}, "d.npz"),
    ("model-zip-version-18.2", "model", lambda m: {"model.npz": _needs_zip_version(
        zip_bytes(_model_members(m)))}, "model.npz"),
    ("npz-one-example-no-test", "npz", lambda m: {"d.npz": _npz({
        "X": np.zeros((1, 2, 2, 3), _U8), "y": np.array([0])})}, "d.npz"),
    ("cifar-pickle-memo-bomb", "cifar-folder", lambda m: {
        **{f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(0)).items()},
        "cifar-10-batches-py/data_batch_1": b"\x80\x02K\x01r" + struct.pack("<I", 100_000_000) + b"."}, ""),
    ("cifar-pickle-length-over-maxsize", "cifar-folder", lambda m: {
        **{f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(0)).items()},
        "cifar-10-batches-py/test_batch": b"\x80\x04\x8e" + struct.pack("<Q", 2 ** 63 + 5) + b"ab."}, ""),
    ("cifar-tar-3-bytes", "cifar-tar", lambda m: {"cifar-10-python.tar.gz": b"\x1f\x8b\x08"},
     "cifar-10-python.tar.gz"),
    ("model-damaged-npy-header", "model", lambda m: {"model.npz": zip_bytes(
        {**_model_members(m), "W.npy": _broken_header(_model_members(m)["W.npy"])})}, "model.npz"),
    ("model-damaged-deflate", "model", lambda m: {"model.npz": _bad_deflate(_model_members(m), "W.npy")},
     "model.npz"),
    ("model-member-not-an-array", "model", lambda m: {"model.npz": zip_bytes(
        {**_model_members(m), "W.npy": b"not an array"})}, "model.npz"),
    ("model-params-not-a-dict", "model", lambda m: {"model.npz": zip_bytes(
        _edit_meta(_model_members(m), params=True))}, "model.npz"),
    ("model-n_iter-not-a-number", "model", lambda m: {"model.npz": zip_bytes(
        _edit_meta(_model_members(m), n_iter={"a": 1}))}, "model.npz"),
    ("model-image_shape-with-a-blank", "model", lambda m: {"model.npz": zip_bytes(
        _edit_meta(_model_members(m), image_shape=["", 2, 3]))}, "model.npz"),
    ("model-history-nan-iteration", "model", lambda m: {"model.npz": zip_bytes(
        _edit_array(_model_members(m), "history.npy", lambda h: _set(h, (0, 0), np.nan)))}, "model.npz"),
    ("model-W-beyond-float32", "model", lambda m: {"model.npz": zip_bytes(
        _edit_array(_model_members(m), "W.npy", lambda W: _set(W, (0, 0), 1e300)))}, "model.npz"),
    ("model-mean-nan", "model", lambda m: {"model.npz": zip_bytes(
        _edit_array(_model_members(m), "mean.npy", lambda a: _set(a, 0, np.nan)))}, "model.npz"),
]
#: bugs still open when this file was written: id -> where and what (remove an entry when it is fixed;
#: the strict xfail turns a fixed bug into a failure so the list cannot go stale)
OPEN_BUGS: dict = {
}
