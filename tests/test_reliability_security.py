"""Hostile files: pickles that would run code, tar tricks, decompression bombs, image bombs.

The data helper's own tests (tests/test_datasets_*.py) cover the basic cases (one ``__reduce__``
pickle per CIFAR form, ``..``/absolute/link/device tar members, size caps, object arrays in an
``.npz``); this file adds what they do not: the same payload in *every* format including saved
models, all member kinds (fifo, block device, directory, link named like a batch), links in an
extracted folder, gzip bombs that expand far past the size their header declares, a tar bomb
hidden in a member nobody reads, and Pillow decompression bombs in an image folder. Every test
checks that nothing ran (a marker file ``os.system`` would create) and nothing was written outside.
"""
from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from core.datasets import DatasetError, load, load_cifar, load_image_folder, load_npz, read_idx
from _fuzz_harness import _proc_status, _reset_peak_rss
from _fuzz_seeds import (
    cifar10_members, cifar100_members, gz, idx_bytes, image_bytes, npy_bytes,
    tar_bytes, zip_bytes,
)


# ------------------------------------------------------------------------------ helpers
class RunsShell:
    """Unpickling this calls ``os.system("touch <marker>")``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _tree(*folders: Path) -> set:
    out = set()
    for f in folders:
        if f.exists():
            out |= {str(p) for p in f.rglob("*")}
    return out


class Measure:
    """Wall time, resident-memory peak (Linux VmHWM, reset first) and, with ``trace=True``, the
    tracemalloc peak of a block (tracing slows Python code, so timing tests leave it off)."""

    def __init__(self, trace: bool = True):
        self.trace = trace
        self.allocated = 0

    def __enter__(self):
        self.hwm = _reset_peak_rss()
        self.rss0 = _proc_status("VmRSS")
        if self.trace:
            tracemalloc.start()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.t0
        if self.trace:
            self.allocated = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        self.resident = (_proc_status("VmHWM") - self.rss0) if self.hwm and self.rss0 else 0
        return False


MB = 1024 ** 2


def gzip_of_repeats(segments) -> bytes:
    """A gzip file whose content is ``b"".join(data * times for data, times in segments)``, built
    without ever holding the content: each distinct piece is deflated once (full flush, byte
    aligned, no back-references) and its compressed form repeated."""
    crc, size, body = 0, 0, []
    for data, times in segments:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        block = c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)
        body.append(block * times)
        for _ in range(times):
            crc = zlib.crc32(data, crc)
        size += len(data) * times
    body.append(zlib.compressobj(9, zlib.DEFLATED, -15).flush())   # empty final block
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + b"".join(body) + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)


def _cifar10_dir(root: Path, rng_seed=0, n=2) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for k, v in cifar10_members(np.random.default_rng(rng_seed), n).items():
        (folder / k).write_bytes(v)
    return folder


# ------------------------------------------------------------------------------ nothing runs
def _hostile_inputs(tmp: Path, marker: Path):
    """(label, path, expected error type) for a payload in every place a file can hold one."""
    evil = RunsShell(marker)
    rng = np.random.default_rng(0)
    out = []
    for member in ("data_batch_1", "test_batch", "batches.meta"):
        for proto in (2, 5):
            d = tmp / f"c10-{member}-{proto}"
            folder = _cifar10_dir(d)
            (folder / member).write_bytes(pickle.dumps({b"data": evil, b"labels": [0], b"label_names": evil},
                                                       protocol=proto))
            out.append((f"CIFAR-10 folder {member} (protocol {proto})", d, DatasetError))
    members = {f"cifar-100-python/{k}": v for k, v in cifar100_members(rng).items()}
    members["cifar-100-python/meta"] = pickle.dumps({"fine_label_names": evil}, protocol=2)
    p = tmp / "cifar-100-python.tar.gz"
    p.write_bytes(gz(tar_bytes(members)))
    out.append(("CIFAR-100 tar.gz meta", p, DatasetError))
    # the same payload spelled the way a Python 2 pickle spells it
    m = str(marker).encode()
    raw = (b"\x80\x02}q\x01(U\x06labelsq\x02cposix\nsystem\nq\x03U" + bytes([len(m) + 6]) + b"touch " + m
           + b"q\x04\x85Rq\x05u.")
    d = tmp / "c10-py2"
    (_cifar10_dir(d) / "data_batch_3").write_bytes(raw)
    out.append(("CIFAR-10 Python-2 pickle calling posix.system", d, DatasetError))
    for key in ("X_train", "y_train", "class_names"):
        arrays = {"X_train": rng.integers(0, 255, (4, 2, 2, 3), dtype=np.uint8), "y_train": np.arange(4) % 2,
                  "X_test": rng.integers(0, 255, (2, 2, 2, 3), dtype=np.uint8), "y_test": np.arange(2),
                  "class_names": np.array(["a", "b"])}
        arrays[key] = np.array([evil, 1], dtype=object)
        p = tmp / f"data-{key}.npz"
        p.write_bytes(zip_bytes({k + ".npy": npy_bytes(v) for k, v in arrays.items()}))
        out.append((f".npz data set, object array {key}", p, DatasetError))
    return out


def test_no_payload_runs_in_any_data_format(tmp_path):
    marker = tmp_path / "PWNED"
    inputs = _hostile_inputs(tmp_path / "in", marker)
    before = _tree(tmp_path)
    tried = refused = 0
    for label, path, error in inputs:
        with pytest.raises(error) as info:
            load(path)
        tried += 1
        refused += 1
        assert Path(path).name in str(info.value) or str(path) in str(info.value), (label, str(info.value))
        assert not marker.exists(), f"{label}: the payload ran"
    assert _tree(tmp_path) == before, "a loader wrote files"
    print(f"security: {tried} hostile files tried, {refused} refused, code executed 0")


def _saved_model(tmp_path):
    persistence = pytest.importorskip("core.persistence")
    from core.linear import LinearClassifier
    X = np.random.default_rng(0).normal(size=(12, 6)).astype(np.float32)
    model = LinearClassifier(batch_size=4, random_state=0).fit(X, np.arange(12) % 3, epochs=1)
    path = tmp_path / "model.npz"
    persistence.save_model(path, model, class_names=["a", "b", "c"], image_shape=(1, 2, 3), dataset_name="tiny")
    return persistence, path


def test_saved_model_holds_no_pickle_and_object_arrays_are_refused(tmp_path):
    persistence, path = _saved_model(tmp_path)
    import zipfile
    with zipfile.ZipFile(path) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    for name, data in members.items():      # only plain arrays: no pickled object in the file
        header = np.lib.format.read_magic(io.BytesIO(data))
        arr = np.load(io.BytesIO(data), allow_pickle=False)
        assert arr.dtype != object, (name, header)
    marker = tmp_path / "PWNED"
    evil = npy_bytes(np.array([RunsShell(marker)], dtype=object))
    for name in members:                    # the payload in place of each member in turn
        bad = tmp_path / f"bad-{name.replace('/', '_')}.npz"
        bad.write_bytes(zip_bytes({**members, name: evil}))
        with pytest.raises(persistence.ModelFileError, match=bad.name):
            persistence.load_model(bad)
        assert not marker.exists(), f"unpickled the object array in {name}"


# ------------------------------------------------------------------------------ archives
@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo", "chr", "blk", "dir"])
def test_a_batch_name_that_is_not_a_regular_file_is_never_read(tmp_path, kind):
    """The only ``test_batch`` in the archive is a link/device/fifo/dir: no data comes from it."""
    files = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(0)).items()}
    del files["cifar-10-batches-py/test_batch"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("cifar-10-batches-py/test_batch")
        info.type = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE,
                     "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE, "dir": tarfile.DIRTYPE}[kind]
        info.linkname = "cifar-10-batches-py/data_batch_1" if kind == "hardlink" else "/etc/passwd"
        info.devmajor, info.devminor = 1, 5
        tar.addfile(info)
    src = tmp_path / "cifar-10-python.tar.gz"
    src.write_bytes(buf.getvalue())
    before = _tree(tmp_path.parent)
    with pytest.raises(DatasetError, match=r"cifar-10-python\.tar\.gz.*test_batch"):
        load_cifar(src)
    assert _tree(tmp_path.parent) == before


def test_tar_member_declaring_10_gb_is_refused_before_reading(tmp_path):
    info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
    info.size = 10 * 1024 ** 3
    head = info.tobuf(format=tarfile.GNU_FORMAT)
    src = tmp_path / "cifar-10-python.tar.gz"
    src.write_bytes(gz(head + bytes(4096)))
    with Measure() as m:
        with pytest.raises(DatasetError, match=r"cifar-10-python\.tar\.gz"):
            load_cifar(src)
    assert m.seconds < 2 and m.allocated < 50 * MB


def test_a_small_archive_needs_little_memory(tmp_path):
    """Memory follows the members' real sizes: a 70 KB archive must not reserve hundreds of MB
    (a ``read(limit)`` call allocates ``limit`` bytes up front, whatever the member holds)."""
    src = tmp_path / "cifar-10-python.tar.gz"
    src.write_bytes(gz(tar_bytes({f"cifar-10-batches-py/{k}": v
                                  for k, v in cifar10_members(np.random.default_rng(0)).items()})))
    with Measure() as m:
        load_cifar(src)
    assert m.allocated < 50 * MB, f"{m.allocated / MB:.0f} MB allocated to read a {src.stat().st_size // 1024} KB file"


# ------------------------------------------------------------------------------ absurd sizes
def _npy_claiming(shape, dtype="|u1", payload=b"\0" * 16) -> bytes:
    """A .npy whose header promises ``shape`` but which holds only ``payload``."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + payload


def _absurd_inputs(tmp: Path):
    """(label, loader, path, error) for headers that promise ~8 GB (or 2**62 bytes) in a tiny file."""
    from _fuzz_seeds import _model_members
    out = []
    p = tmp / "train-images-idx3-ubyte"
    p.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">III", 2 ** 31, 2 ** 31, 1) + bytes(64))
    out.append(("IDX header 2^31 x 2^31", read_idx, p, DatasetError))
    for shape in ((2 ** 33,), (2 ** 31, 2 ** 31)):
        p = tmp / f"claims-{len(shape)}.npz"
        p.write_bytes(zip_bytes({"X.npy": _npy_claiming(shape), "y.npy": npy_bytes(np.arange(4))}))
        out.append((f".npz member claiming shape {shape}", load_npz, p, DatasetError))
    try:
        import core.persistence as persistence
    except ImportError:
        persistence = None
    if persistence is not None:
        members = _model_members(tmp / "m")
        p = tmp / "model-claims.npz"
        p.write_bytes(zip_bytes({**members, "W.npy": _npy_claiming((2 ** 17, 2 ** 16), "<f4")}))
        out.append(("model W claiming 32 GB", persistence.load_model, p, persistence.ModelFileError))
    # a CIFAR batch whose array constructor asks NumPy for an 8 GB array before its data arrive
    raw = (b"\x80\x02}(U\x04datacnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n(J\x00\x00\x00\x80"
           b"K\x04\x86tU\x01b\x87RU\x06labels](K\x00eu.")
    folder = tmp / "cifar-10-batches-py"
    folder.mkdir()
    for k, v in cifar10_members(np.random.default_rng(0)).items():
        (folder / k).write_bytes(v)
    (folder / "data_batch_1").write_bytes(raw)
    out.append(("CIFAR pickle asking for an 8 GB array", load_cifar, folder, DatasetError))
    return out




@pytest.mark.parametrize("which", [0, 1, 2, 3, 4])
def test_headers_claiming_absurd_sizes_are_refused_before_allocating(tmp_path, which):
    inputs = _absurd_inputs(tmp_path)
    if which >= len(inputs):
        pytest.skip("core.persistence is not available")
    label, loader, path, error = inputs[which]
    with Measure() as m:
        with pytest.raises(error) as info:
            loader(path)
    assert path.name in str(info.value) or str(path) in str(info.value), (label, str(info.value))
    assert m.allocated < 64 * MB, f"{label}: {m.allocated / MB:,.0f} MB allocated before refusing"


# ------------------------------------------------------------------------------ gzip bombs
@pytest.mark.parametrize("name", ["train-images-idx3-ubyte.gz", "bomb.gz"])
def test_idx_gzip_bomb_expanding_past_its_header_is_stopped(tmp_path, name):
    """~200 KB of gzip that expands to 200 MB, behind an IDX header declaring 10 x 28 x 28 bytes."""
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 10, 28, 28)
    bomb = gzip_of_repeats([(header + bytes(10 * 28 * 28), 1), (bytes(MB), 200)])
    assert len(bomb) < 400_000
    p = tmp_path / name
    p.write_bytes(bomb)
    with Measure(trace=False) as m:
        with pytest.raises(DatasetError, match=name.replace(".", r"\.")):
            read_idx(p)
    with Measure() as mem:
        with pytest.raises(DatasetError):
            read_idx(p)
    assert m.seconds < 2, f"took {m.seconds:.2f} s"
    assert mem.allocated < 20 * MB and m.resident < 50 * MB, (mem.allocated / MB, m.resident / MB)


def test_idx_folder_with_a_gzip_bomb_is_stopped(tmp_path):
    header = bytes([0, 0, 8, 1]) + struct.pack(">I", 4)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(
        gzip_of_repeats([(header + bytes([0, 1, 0, 1]), 1), (bytes(MB), 200)]))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(
        gz(idx_bytes(np.zeros((4, 3, 3), np.uint8))))
    with Measure() as m:
        with pytest.raises(DatasetError, match="t10k-labels"):
            load(tmp_path)
    assert m.seconds < 2 and m.allocated < 20 * MB


def test_big_header_with_a_tiny_stream_does_not_preallocate(tmp_path):
    """A header may promise up to the cap; memory must follow the data actually there."""
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 1_000_000, 1000, 1)   # 1 GB promised
    p = tmp_path / "t10k-images-idx3-ubyte.gz"
    p.write_bytes(gz(header + bytes(1000)))
    with Measure() as m:
        with pytest.raises(DatasetError, match="truncated"):
            read_idx(p)
    assert m.allocated < 20 * MB


def test_tar_bomb_in_a_member_nobody_reads_is_skipped_quickly_with_bounded_memory(tmp_path):
    """A 50 MB member of zeros (~50 KB compressed) before the real batches: it is streamed past,
    never held in memory, in well under 2 s (plain gzip inflates 50 MB in ~0.3 s)."""
    junk = tarfile.TarInfo("cifar-10-batches-py/junk.bin")
    junk.size = 50 * MB
    members = tar_bytes({f"cifar-10-batches-py/{k}": v
                         for k, v in cifar10_members(np.random.default_rng(0)).items()})
    src = tmp_path / "cifar-10-python.tar.gz"
    src.write_bytes(gzip_of_repeats([(junk.tobuf(format=tarfile.USTAR_FORMAT), 1), (bytes(MB), 50),
                                     (members, 1)]))
    assert src.stat().st_size < 200_000
    with Measure(trace=False) as m:
        ds = load_cifar(src)
    assert ds.n_train == 10 and ds.n_test == 2
    assert m.resident < 64 * MB, f"{m.resident / MB:.0f} MB resident"
    assert m.seconds < 2, f"{m.seconds:.1f} s to skip a 50 MB member of a {src.stat().st_size // 1024} KB file"


# ------------------------------------------------------------------------------ images
def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` grey pixels, with a few bytes of image data."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(bytes(min(width + 1, 4096))))
            + chunk(b"IEND", b""))


def _image_folder(root: Path, extra: dict) -> Path:
    rng = np.random.default_rng(0)
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(3):
            (root / c / f"{i}.png").write_bytes(image_bytes(rng.integers(0, 255, (4, 4, 3), dtype=np.uint8), "PNG"))
    for rel, data in extra.items():
        (root / rel).write_bytes(data)
    return root


@pytest.mark.parametrize("width,height", [(30000, 30000), (100_000, 100_000), (5000, 5000), (2 ** 31 - 1, 1)])
def test_image_bomb_in_a_class_folder_is_skipped_with_its_name(tmp_path, width, height):
    root = _image_folder(tmp_path / "pets", {"cat/bomb.png": _png_header_only(width, height)})
    with Measure(trace=False) as m:
        try:
            ds = load_image_folder(root)
        except DatasetError as exc:
            assert "bomb.png" in str(exc)
        else:
            assert ds.n_train + ds.n_test == 6
            assert any("bomb.png" in n for n in ds.notes), ds.notes
    assert m.seconds < 2 and m.resident < 64 * MB, (m.seconds, m.resident / MB)


def test_corrupt_truncated_and_fake_images_are_named_in_the_notes(tmp_path):
    rng = np.random.default_rng(1)
    jpeg = image_bytes(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), "JPEG")
    root = _image_folder(tmp_path / "pets", {
        "cat/truncated.jpg": jpeg[: len(jpeg) // 2],
        "dog/garbage.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "dog/script.jpg": b"#!/bin/sh\ntouch pwned\n",
        "cat/notes.txt": b"hello",
    })
    ds = load_image_folder(root)
    notes = " ".join(ds.notes)
    assert ds.n_train + ds.n_test == 6
    for name in ("truncated.jpg", "garbage.png", "script.jpg", "notes.txt"):
        assert name in notes, notes
