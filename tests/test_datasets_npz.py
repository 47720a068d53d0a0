""".npz data sets: accepted layouts, value rules, and refusals."""
from __future__ import annotations

import io
import re
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from core.datasets import DatasetError, load, load_npz


def _save(tmp_path, fname="d.npz", **arrays):
    p = tmp_path / fname
    np.savez(p, **arrays)
    return p


def _labels(n, c=3):
    return np.arange(n) % c


def test_train_test_keys_with_names(tmp_path):
    X = np.random.default_rng(0).integers(0, 256, (12, 5, 5, 3), dtype=np.uint8)
    p = _save(tmp_path, X_train=X, y_train=_labels(12), X_test=X[:3], y_test=_labels(3),
              class_names=np.array(["a", "b", "c"]), name=np.array("My set"))
    ds = load(p)
    assert ds.name == "My set" and ds.class_names == ["a", "b", "c"]
    assert ds.n_train == 12 and ds.n_test == 3 and not ds.notes
    np.testing.assert_array_equal(ds.X_train, X)


def test_x_y_only_is_split(tmp_path):
    p = _save(tmp_path, X=np.zeros((20, 4, 4), np.uint8), y=_labels(20, 2))
    ds = load_npz(p)
    assert ds.image_shape == (4, 4, 1) and ds.n_train == 16 and ds.n_test == 4
    assert ds.name == "d" and ds.class_names == ["0", "1"] and any("split 16/4" in n for n in ds.notes)


@pytest.mark.parametrize("shape,expected", [((10, 16), (4, 4, 1)), ((10, 48), (4, 4, 3)), ((10, 3, 5, 6), (5, 6, 3)),
                                            ((10, 5, 6, 1), (5, 6, 1))])
def test_shapes(tmp_path, shape, expected):
    X = np.arange(np.prod(shape)).reshape(shape) % 256
    ds = load_npz(_save(tmp_path, X=X.astype(np.uint8), y=_labels(10, 2)))
    assert ds.image_shape == expected


def test_flat_rgb_rows_are_hwc_row_major(tmp_path):
    img = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    X = np.stack([img.reshape(-1)] * 4)
    ds = load_npz(_save(tmp_path, X=X, X_test=X[:2], y=_labels(4, 2), y_test=_labels(2, 2)))
    np.testing.assert_array_equal(ds.X_train[0], img)


def test_float_rules(tmp_path):
    unit = np.linspace(0, 1, 4 * 16).reshape(4, 4, 4)
    ds = load_npz(_save(tmp_path, "a.npz", X=unit, X_test=unit, y=_labels(4, 2), y_test=_labels(4, 2)))
    assert ds.X_train.max() == 255 and ds.X_train.min() == 0 and ds.X_train.dtype == np.uint8
    big = unit * 200.0
    ds = load_npz(_save(tmp_path, "b.npz", X=big, X_test=big, y=_labels(4, 2), y_test=_labels(4, 2)))
    assert ds.X_train.max() == 200
    with pytest.raises(DatasetError, match=r"c.npz: 'X' holds floats -1..1; expected values in \[0, 1\] or \[0, 255\]"):
        load_npz(_save(tmp_path, "c.npz", X=unit * 2 - 1, y=_labels(4, 2)))
    with pytest.raises(DatasetError, match="NaN"):
        load_npz(_save(tmp_path, "d.npz", X=np.full((4, 4, 4), np.nan), y=_labels(4, 2)))
    with pytest.raises(DatasetError, match="integers 0..300"):
        load_npz(_save(tmp_path, "e.npz", X=np.arange(4 * 16).reshape(4, 4, 4) * 300 // 63, y=_labels(4, 2)))


def test_string_labels(tmp_path):
    y = np.array(["dog", "cat"] * 5)
    ds = load_npz(_save(tmp_path, X=np.zeros((10, 3, 3), np.uint8), y=y))
    assert ds.class_names == ["cat", "dog"]


@pytest.mark.parametrize("arrays,match", [
    (dict(X=np.zeros((10, 7), np.uint8), y=np.zeros(10, int)), r"'X' has shape \(10, 7\)"),
    (dict(X=np.zeros((10, 4, 4, 2), np.uint8), y=np.zeros(10, int)), r"'X' has shape \(10, 4, 4, 2\)"),
    (dict(X=np.zeros((10, 4, 4), np.uint8), y=np.zeros(9, int)), "10 images but 'y' has 9 labels"),
    (dict(images=np.zeros((10, 4, 4), np.uint8)), "needs arrays 'X' and 'y'"),
    (dict(X=np.zeros((4, 4, 4), np.uint8), y=np.array([0, 1, 2, 3]), class_names=np.array(["a"])),
     "lists 1 names but labels go up to 3"),
    (dict(X=np.zeros((4, 4, 4), np.uint8), y=np.array([0, 1, 0, 1]), X_test=np.zeros((2, 4, 4), np.uint8)),
     "must come together"),
    (dict(X=np.zeros((4, 4, 4), np.uint8), y=np.array([0.5, 1, 0, 1])), "integer class labels"),
])
def test_bad_contents(tmp_path, arrays, match):
    with pytest.raises(DatasetError, match=match):
        load_npz(_save(tmp_path, **arrays))


def test_object_arrays_are_never_unpickled(tmp_path):
    p = tmp_path / "o.npz"
    np.savez(p, X=np.array([np.zeros((2, 2)), "x"], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DatasetError, match="o.npz: contains an object"):
        load(p)


def test_not_a_zip(tmp_path):
    p = tmp_path / "fake.npz"
    p.write_bytes(b"hello")
    with pytest.raises(DatasetError, match="fake.npz: not a NumPy .npz"):
        load(p)


def test_absurd_labels_and_tiny_sets_are_refused_quickly(tmp_path):
    with pytest.raises(DatasetError, match="label 2147483647; class labels must be 0..999"):
        load_npz(_save(tmp_path, "a.npz", X=np.zeros((2, 3, 3), np.uint8), y=np.array([0, 2 ** 31 - 1])))
    with pytest.raises(DatasetError, match="only 1 image"):
        load_npz(_save(tmp_path, "b.npz", X=np.zeros((1, 3, 3), np.uint8), y=np.array([0])))


def test_damaged_npy_header(tmp_path):
    p = _save(tmp_path, X=np.zeros((4, 3, 3), np.uint8), y=_labels(4, 2))
    data = bytearray(p.read_bytes())
    i = data.index(b"{'descr'")
    data[i:i + 8] = b"{'descr("          # an unbalanced bracket: NumPy's header parser raises a tokenizer error
    p.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="damaged .npz"):
        load_npz(p)


# ------------------------------------------------------------------- headers claiming more than a member holds
def _npy_claiming(shape, dtype="|u1", payload=b"\0" * 16) -> bytes:
    """A .npy whose header promises ``shape`` but which holds only ``payload``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def _zip(path, members: dict):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


@pytest.mark.parametrize("member,shape,dtype", [("X.npy", (2 ** 33,), "|u1"), ("X.npy", (2 ** 31, 2 ** 31), "|u1"),
                                                ("y.npy", (2 ** 30,), "<i8"), ("X_test.npy", (17,), "|u1"),
                                                ("X", (2 ** 20, 4), "<f8")])
def test_headers_claiming_more_than_the_member_holds_are_refused_before_allocating(tmp_path, member, shape, dtype):
    """NumPy allocates prod(shape) * itemsize (8 GiB, 2**62 B) before it finds the data missing."""
    members = {"X.npy": _npy(np.zeros((4, 2, 2), np.uint8)), "y.npy": _npy(np.arange(4) % 2),
               "X_test.npy": _npy(np.zeros((2, 2, 2), np.uint8)), "y_test.npy": _npy(np.arange(2))}
    members.pop(f"{member.removesuffix('.npy')}.npy")
    members[member] = _npy_claiming(shape, dtype)
    p = _zip(tmp_path / "claims.npz", members)
    key = member.removesuffix(".npy")
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=rf"claims.npz: '{key}' claims shape {re.escape(str(shape))} "
                                               rf"of .* but its member holds only 16 bytes"):
            load_npz(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 ** 2


def test_exact_and_longer_members_still_load_and_unread_object_members_are_ignored(tmp_path):
    X = np.arange(4 * 9, dtype=np.uint8).reshape(4, 3, 3)
    p = _zip(tmp_path / "ok.npz", {"X.npy": _npy(X), "y.npy": _npy(np.arange(4) % 2) + b"trailing",
                                   "extra.npy": _npy(np.array([{"a": 1}], dtype=object))})
    ds = load_npz(p, random_state=0)
    assert ds.n_train + ds.n_test == 4
    p = _zip(tmp_path / "obj.npz", {"X.npy": _npy(X), "y.npy": _npy(np.array([0, 1, 0, {}], dtype=object))})
    with pytest.raises(DatasetError, match="obj.npz: contains an object .*'y'"):
        load_npz(p)


# ---------------------------------------------------------------------------- found by a longer fuzzing campaign
@pytest.mark.parametrize("X", [np.zeros((0, 0), np.uint8), np.zeros((4, 0), np.uint8),
                               np.zeros((4, 0, 3), np.float32), np.zeros((4, 3, 0, 1), np.int16)])
def test_images_without_pixels_are_refused(tmp_path, X):
    """(N, 0) rows crashed the reshape; a float (N, 0, W) crashed min() of an empty array."""
    with pytest.raises(DatasetError, match=r"e.npz: 'X' has shape \((0|4), "):
        load_npz(_save(tmp_path, "e.npz", X=X, y=np.arange(len(X)) % 2))


@pytest.mark.parametrize("key,code", [("class_names", 0x7F000000), ("y", 0x110000), ("name", 0xD800)])
def test_strings_with_invalid_code_points_are_refused(tmp_path, key, code):
    """NumPy builds str objects from any UCS4 value; str() of one over U+10FFFF raises SystemError."""
    arrays = {"X": np.zeros((4, 2, 2), np.uint8), "y": np.array(["a", "b", "a", "b"]),
              "class_names": np.array(["a", "b"]), "name": np.array(["nm"])}
    arrays[key] = arrays[key].copy()
    arrays[key].view(np.uint32)[0] = code
    with pytest.raises(DatasetError, match=rf"u.npz: '{key}' holds characters that are not valid Unicode"):
        load_npz(_save(tmp_path, "u.npz", **arrays))
    big_endian = {**arrays, key: np.array(["ok"] * arrays[key].size).astype(">U2")}
    assert load_npz(_save(tmp_path, "v.npz", **big_endian)).n_train == 3


@pytest.mark.parametrize("compressed", [False, True])
def test_pieces_read_exactly_what_numpy_reads(tmp_path, monkeypatch, compressed):
    """Arrays are read member by member in pieces (here 1000 bytes) -- Fortran order, big-endian labels,
    strings -- and must equal NumPy's own reading."""
    from core.datasets import npz as npz_mod
    monkeypatch.setattr(npz_mod, "_READ_PIECE", 1000)
    rng = np.random.default_rng(5)
    X = np.asfortranarray(rng.integers(0, 256, (30, 6, 6, 3), dtype=np.uint8))
    y = (np.arange(30) % 3).astype(">i4")
    p = tmp_path / "f.npz"
    (np.savez_compressed if compressed else np.savez)(p, X=X, y=y, X_test=X[:4].copy(), y_test=y[:4].copy(),
                                                      class_names=np.array(["ant", "bee", "cat"]))
    ds = load_npz(p)
    np.testing.assert_array_equal(ds.X_train, X)
    np.testing.assert_array_equal(ds.y_train, y.astype(np.int64))
    assert ds.class_names == ["ant", "bee", "cat"] and ds.X_test.shape == (4, 6, 6, 3)


def test_reading_reports_progress_and_can_be_cancelled_inside_an_array(tmp_path, monkeypatch):
    from core.datasets import npz as npz_mod
    from core.progress import Cancelled
    monkeypatch.setattr(npz_mod, "_READ_PIECE", 4096)
    X = np.random.default_rng(6).integers(0, 256, (200, 16, 16, 3), dtype=np.uint8)    # 150 KB: ~38 pieces
    p = _save(tmp_path, X=X, y=_labels(200))
    seen = []
    load(p, progress=lambda done, total, msg="": seen.append((done, total)))
    assert len(seen) > 30 and seen[-1][0] == seen[-1][1]
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    polls = []
    with pytest.raises(Cancelled):
        load(p, cancel=lambda: polls.append(1) or len(polls) > 5)
    assert len(polls) == 6                     # stopped within the first array, after five pieces
