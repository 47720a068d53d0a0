"""IDX reader and MNIST-style folders: real MNIST t10k plus small handmade files."""
from __future__ import annotations

import gzip
import struct
import time

import numpy as np
import pytest
from conftest import shared_path

from core.datasets import DatasetError, load, load_idx_folder, read_idx
from core.datasets.idx import FASHION_CLASSES

T10K_HISTOGRAM = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    head = bytes([0, 0, type_code, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write(path, data: bytes, gz: bool):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def _make_mnist_folder(folder, n_train=30, n_test=20, gz=True, dot_names=False, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    sfx = ".gz" if gz else ""
    sep = "." if dot_names else "-"
    arrays = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        X = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = np.arange(n, dtype=np.uint8) % 10
        _write(folder / f"{split}-images{sep}idx3-ubyte{sfx}", _idx_bytes(X), gz)
        _write(folder / f"{split}-labels{sep}idx1-ubyte{sfx}", _idx_bytes(y), gz)
        arrays[split] = (X, y)
    return arrays


# ---------------------------------------------------------------------------- real data
def test_real_mnist_t10k_read_idx():
    folder = shared_path("mnist")
    X = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    y = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).tolist() == T10K_HISTOGRAM
    assert X.flags.writeable


def test_real_mnist_folder_with_only_t10k_is_split_8000_2000():
    ds = load(shared_path("mnist"))
    assert ds.name == "MNIST" and ds.n_train == 8000 and ds.n_test == 2000
    assert ds.image_shape == (28, 28, 1) and ds.class_names == [str(d) for d in range(10)]
    assert (ds.class_counts() + ds.class_counts("test")).tolist() == T10K_HISTOGRAM
    assert any("t10k" in n and "8000/2000" in n for n in ds.notes)


# ---------------------------------------------------------------------------- reader
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                        (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64)])
def test_read_idx_round_trip_all_types(tmp_path, gz, code, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    p = _write(tmp_path / "x.bin", _idx_bytes(arr, code), gz)   # no telling extension: gzip found by magic
    out = read_idx(p)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_wrong_magic(tmp_path, gz):
    p = _write(tmp_path / "bad-idx3-ubyte", b"\x00\x01\x08\x01" + struct.pack(">I", 2) + b"ab", gz)
    with pytest.raises(DatasetError, match="bad-idx3-ubyte: not an IDX file"):
        read_idx(p)
    p2 = _write(tmp_path / "bad2", b"\x00\x00\x07\x01" + struct.pack(">I", 2) + b"ab", gz)
    with pytest.raises(DatasetError, match="type code"):
        read_idx(p2)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_truncated_and_trailing(tmp_path, gz):
    data = _idx_bytes(np.zeros((10, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(_write(tmp_path / "short", data[:-100], gz))
    with pytest.raises(DatasetError, match="unexpected bytes"):
        read_idx(_write(tmp_path / "long", data + b"junk", gz))


def test_read_idx_truncated_gzip_stream(tmp_path):
    blob = gzip.compress(_idx_bytes(np.arange(5000, dtype=np.uint8) % 7))
    p = tmp_path / "cut.gz"
    p.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DatasetError, match="cut.gz"):
        read_idx(p)


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_absurd_header_refused_without_allocating(tmp_path, gz):
    head = b"\x00\x00\x08\x02" + struct.pack(">II", 2 ** 31, 2 ** 31)
    p = _write(tmp_path / "huge", head + b"\x00" * 16, gz)
    t0 = time.perf_counter()
    with pytest.raises(DatasetError, match="GiB limit"):
        read_idx(p)
    assert time.perf_counter() - t0 < 0.5


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "none")


# ---------------------------------------------------------------------------- folders
@pytest.mark.parametrize("gz,dot_names", [(True, False), (False, True)])
def test_idx_folder_full_pairs(tmp_path, gz, dot_names):
    arrays = _make_mnist_folder(tmp_path / "mnist", gz=gz, dot_names=dot_names)
    ds = load(tmp_path / "mnist")
    assert ds.n_train == 30 and ds.n_test == 20 and not ds.notes
    np.testing.assert_array_equal(ds.X_train[..., 0], arrays["train"][0])
    np.testing.assert_array_equal(ds.y_test, arrays["t10k"][1])
    assert ds.X_train.shape == (30, 28, 28, 1) and ds.y_train.dtype == np.int64


def test_idx_folder_can_be_opened_via_one_of_its_files(tmp_path):
    _make_mnist_folder(tmp_path / "m")
    ds = load(tmp_path / "m" / "train-labels-idx1-ubyte.gz")
    assert ds.n_train == 30


def test_fashion_names_from_path_or_kind(tmp_path):
    _make_mnist_folder(tmp_path / "Fashion-MNIST")
    assert load(tmp_path / "Fashion-MNIST").class_names == FASHION_CLASSES
    _make_mnist_folder(tmp_path / "plain")
    assert load(tmp_path / "plain").name == "MNIST"
    ds = load_idx_folder(tmp_path / "plain", kind="fashion-mnist")
    assert ds.name == "Fashion-MNIST" and ds.class_names[9] == "Ankle boot"


def test_idx_folder_count_mismatch(tmp_path):
    _make_mnist_folder(tmp_path / "m", gz=False)
    (tmp_path / "m" / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(19, np.uint8)))
    with pytest.raises(DatasetError, match="19 labels but t10k-images-idx3-ubyte has 20 images"):
        load(tmp_path / "m")


def test_idx_folder_without_a_pair(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(np.zeros(3, np.uint8)))
    with pytest.raises(DatasetError, match="missing train-images-idx3-ubyte"):
        load_idx_folder(d)


def test_real_fashion_labels_are_recognised_by_checksum(tmp_path):
    labels = shared_path("fashion-mnist", "t10k-labels-idx1-ubyte.gz")
    d = tmp_path / "data"
    d.mkdir()
    (d / labels.name).write_bytes(labels.read_bytes())
    _write(d / "t10k-images-idx3-ubyte.gz", _idx_bytes(np.zeros((10000, 28, 28), np.uint8)), True)
    ds = load(d)
    assert ds.name == "Fashion-MNIST" and ds.class_names == FASHION_CLASSES
    assert (ds.class_counts() + ds.class_counts("test")).tolist() == [1000] * 10
    assert ds.n_train == 8000


def test_idx_labels_that_are_not_class_indices(tmp_path):
    _make_mnist_folder(tmp_path / "m", gz=False)
    (tmp_path / "m" / "t10k-labels-idx1-ubyte").write_bytes(
        _idx_bytes(np.full(20, 2 ** 30, np.int32), 0x0C))
    t0 = time.perf_counter()
    with pytest.raises(DatasetError, match="label 1073741824 is not a class index 0..999"):
        load(tmp_path / "m")
    assert time.perf_counter() - t0 < 1
