"""CIFAR-10/100 python format: faithful small archives built here, restricted unpickling, safe tar reading."""
from __future__ import annotations

import io
import os
import pickle
import struct
import tarfile
import tracemalloc

import numpy as np
import pytest

from core.datasets import DatasetError, load, load_cifar
from core.datasets import cifar as cifar_mod
from core.datasets.cifar import CIFAR10_CLASSES, safe_unpickle
from core.progress import Cancelled


# ---------------------------------------------------------------------------- a Python-2 style pickler
# The official batches were written by Python 2's cPickle (protocol 2): str values are BINSTRING
# opcodes (read back as bytes with encoding="bytes") and arrays reduce to
# numpy.core.multiarray._reconstruct. Python 3's pickle cannot write that, so we emit the opcodes.
def _s(b):
    b = b.encode("latin1") if isinstance(b, str) else b
    return (b"U" + bytes([len(b)]) + b) if len(b) < 256 else (b"T" + struct.pack("<i", len(b)) + b)


def _int(i):
    if 0 <= i < 256:
        return b"K" + bytes([i])
    return b"J" + struct.pack("<i", i)


def _obj(v):
    if isinstance(v, (bytes, str)):
        return _s(v)
    if isinstance(v, int):
        return _int(v)
    if isinstance(v, list):
        return b"]" + (b"(" + b"".join(_obj(x) for x in v) + b"e" if v else b"")
    if isinstance(v, dict):
        return b"}(" + b"".join(_obj(k) + _obj(x) for k, x in v.items()) + b"u"
    assert isinstance(v, np.ndarray) and v.dtype == np.uint8
    shape = b"(" + b"".join(_int(s) for s in v.shape) + b"t"
    dtype = (b"cnumpy\ndtype\n" + _s("u1") + b"K\x00K\x01\x87R"
             + b"(K\x03" + _s("|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    return (b"cnumpy.core.multiarray\n_reconstruct\n" + b"cnumpy\nndarray\nK\x00\x85" + _s("b") + b"\x87R"
            + b"(K\x01" + shape + dtype + b"\x89" + _s(v.tobytes()) + b"tb")


def dumps_py2(obj) -> bytes:
    return b"\x80\x02" + _obj(obj) + b"."


def _images(n, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


def _rows(images):   # official layout: 1024 R, 1024 G, 1024 B per row
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3072)


def cifar10_files(n=12):
    files, truth = {}, {}
    for i in range(1, 6):
        imgs, labels = _images(n, i), [(j + i) % 10 for j in range(n)]
        files[f"data_batch_{i}"] = dumps_py2({"batch_label": f"training batch {i} of 5", "labels": labels,
                                              "data": _rows(imgs), "filenames": [f"f{j}.png" for j in range(n)]})
        truth[f"data_batch_{i}"] = (imgs, labels)
    imgs, labels = _images(n, 99), [j % 10 for j in range(n)]
    files["test_batch"] = dumps_py2({"batch_label": "testing batch 1 of 1", "labels": labels,
                                     "data": _rows(imgs), "filenames": [f"t{j}.png" for j in range(n)]})
    truth["test_batch"] = (imgs, labels)
    files["batches.meta"] = dumps_py2({"num_cases_per_batch": n, "label_names": CIFAR10_CLASSES, "num_vis": 3072})
    return files, truth


def cifar100_files(n=30):
    files, truth = {}, {}
    for split, seed in (("train", 1), ("test", 2)):
        imgs = _images(n, seed)
        fine = [(7 * j + seed) % 100 for j in range(n)]
        coarse = [f // 5 for f in fine]
        files[split] = dumps_py2({"filenames": [f"{j}.png" for j in range(n)], "batch_label": f"{split} batch",
                                  "fine_labels": fine, "coarse_labels": coarse, "data": _rows(imgs)})
        truth[split] = (imgs, fine, coarse)
    files["meta"] = dumps_py2({"fine_label_names": [f"fine{i}" for i in range(100)],
                               "coarse_label_names": [f"coarse{i}" for i in range(20)]})
    return files, truth


def _add(tar, name, data: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_tar(path, top, files, extra=None):
    with tarfile.open(path, "w:gz") as tar:
        d = tarfile.TarInfo(top)
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        for name, data in files.items():
            _add(tar, f"{top}/{name}", data)
        for info, data in (extra or []):
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def write_folder(folder, files):
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


# ---------------------------------------------------------------------------- CIFAR-10
@pytest.mark.parametrize("as_tar", [True, False])
def test_cifar10_faithful_archive_and_folder(tmp_path, as_tar):
    files, truth = cifar10_files()
    if as_tar:
        src = write_tar(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    else:
        src = write_folder(tmp_path / "cifar-10-batches-py", files)
    ds = load(src)
    assert ds.name == "CIFAR-10" and ds.class_names == CIFAR10_CLASSES
    assert ds.n_train == 60 and ds.n_test == 12 and ds.image_shape == (32, 32, 3)
    np.testing.assert_array_equal(ds.X_train[:12], truth["data_batch_1"][0])
    np.testing.assert_array_equal(ds.X_train[48:], truth["data_batch_5"][0])
    assert ds.y_train[:12].tolist() == truth["data_batch_1"][1]
    np.testing.assert_array_equal(ds.X_test, truth["test_batch"][0])
    assert ds.X_train.flags.c_contiguous and not ds.notes


def test_cifar10_from_parent_folder_and_cache_like_folder(tmp_path):
    files, _ = cifar10_files(4)
    write_folder(tmp_path / "a" / "cifar-10-batches-py", files)
    assert load(tmp_path / "a").n_test == 4
    write_tar(tmp_path / "b.tmp", "cifar-10-batches-py", files)
    (tmp_path / "cache").mkdir()
    os.replace(tmp_path / "b.tmp", tmp_path / "cache" / "cifar-10-python.tar.gz")
    assert load(tmp_path / "cache").n_train == 20


def test_cifar10_partial_batches_note_and_missing_test(tmp_path):
    files, _ = cifar10_files(4)
    del files["data_batch_4"]
    ds = load_cifar(write_folder(tmp_path / "c", files))
    assert ds.n_train == 16 and "data_batch_4" in ds.notes[0]
    del files["test_batch"]
    with pytest.raises(DatasetError, match="test_batch"):
        load_cifar(write_folder(tmp_path / "d", files))


def test_cifar10_python3_pickles_also_load(tmp_path):
    imgs = _images(3, 5)
    batch = {b"labels": [1, 2, 3], b"data": _rows(imgs)}
    files = {name: pickle.dumps(batch, protocol=4) for name in ("data_batch_1", "test_batch")}
    ds = load_cifar(write_folder(tmp_path / "p3", files))
    np.testing.assert_array_equal(ds.X_test, imgs)
    assert ds.class_names == CIFAR10_CLASSES


def test_cifar10_bad_data_shape(tmp_path):
    files, _ = cifar10_files(4)
    files["test_batch"] = dumps_py2({"labels": [0], "data": np.zeros((1, 100), np.uint8)})
    with pytest.raises(DatasetError, match=r"test_batch: 'data' must be a uint8 array of shape \(N, 3072\)"):
        load_cifar(write_folder(tmp_path / "c", files))


# ---------------------------------------------------------------------------- CIFAR-100
@pytest.mark.parametrize("as_tar", [True, False])
def test_cifar100_fine_and_coarse(tmp_path, as_tar):
    files, truth = cifar100_files()
    if as_tar:
        src = write_tar(tmp_path / "cifar-100-python.tar.gz", "cifar-100-python", files)
    else:
        src = write_folder(tmp_path / "cifar-100-python", files)
    ds = load(src)
    assert ds.name == "CIFAR-100" and len(ds.class_names) == 100 and ds.class_names[3] == "fine3"
    assert ds.coarse_names[19] == "coarse19"
    np.testing.assert_array_equal(ds.X_train, truth["train"][0])
    assert ds.y_test.tolist() == truth["test"][1] and ds.coarse_test.tolist() == truth["test"][2]


def test_cifar100_missing_meta(tmp_path):
    files, _ = cifar100_files(3)
    del files["meta"]
    with pytest.raises(DatasetError, match="meta missing"):
        load_cifar(write_folder(tmp_path / "cifar-100-python", files))


# ---------------------------------------------------------------------------- security
class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("as_tar,protocol", [(True, 2), (False, 4)])
def test_malicious_pickle_is_refused_and_not_run(tmp_path, as_tar, protocol):
    marker = tmp_path / "PWNED"
    files, _ = cifar10_files(2)
    files["data_batch_1"] = pickle.dumps({"data": _Evil(marker), "labels": [0]}, protocol=protocol)
    if as_tar:
        src = write_tar(tmp_path / "cifar-10-python.tar.gz", "cifar-10-batches-py", files)
    else:
        src = write_folder(tmp_path / "cifar-10-batches-py", files)
    with pytest.raises(DatasetError, match="data_batch_1.*refused global (posix|os|nt).system"):
        load(src)
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(Vprint(1)\ntR.",
    b"cnumpy\nload\n(Vx\ntR.",
    b"c__builtin__\ngetattr\n(cnumpy\nndarray\nVtofile\ntR.",
])
def test_other_globals_are_refused(payload):
    with pytest.raises(DatasetError, match="refused global"):
        safe_unpickle(payload, "batch")


def test_damaged_pickle(tmp_path):
    with pytest.raises(DatasetError, match="damaged pickle"):
        safe_unpickle(dumps_py2({"a": 1})[:-5], "x")


def test_tar_traversal_links_and_devices_are_ignored(tmp_path):
    files, truth = cifar10_files(3)
    del files["data_batch_2"]
    outside = tmp_path / "outside"
    outside.mkdir()
    evil = b"not data"
    extra = []
    for name in ("../evil.txt", "cifar-10-batches-py/../../evil2.txt", str(outside / "abs_evil"),
                 "/data_batch_3"):
        info = tarfile.TarInfo(name)
        info.size = len(evil)
        extra.append((info, evil))
    link = tarfile.TarInfo("cifar-10-batches-py/data_batch_2")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = tarfile.TarInfo("cifar-10-batches-py/data_batch_2")
    hard.type, hard.linkname = tarfile.LNKTYPE, "cifar-10-batches-py/test_batch"
    dev = tarfile.TarInfo("cifar-10-batches-py/data_batch_2")
    dev.type, dev.devmajor, dev.devminor = tarfile.CHRTYPE, 1, 3
    extra += [(link, None), (hard, None), (dev, None)]
    src = write_tar(tmp_path / "c.tar.gz", "cifar-10-batches-py", files, extra)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    ds = load_cifar(src)
    assert ds.n_train == 12 and "data_batch_2" in ds.notes[0]
    np.testing.assert_array_equal(ds.X_test, truth["test_batch"][0])
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not (tmp_path.parent / "evil.txt").exists() and not (outside / "abs_evil").exists()


def test_member_size_cap(tmp_path, monkeypatch):
    files, _ = cifar10_files(2)
    src = write_tar(tmp_path / "c.tar.gz", "cifar-10-batches-py", files)
    monkeypatch.setattr(cifar_mod, "MAX_MEMBER_BYTES", 1000)
    with pytest.raises(DatasetError, match="over the .* limit"):
        load_cifar(src)


def test_total_size_cap(tmp_path, monkeypatch):
    files, _ = cifar10_files(2)
    src = write_tar(tmp_path / "c.tar.gz", "cifar-10-batches-py", files)
    monkeypatch.setattr(cifar_mod, "MAX_TOTAL_BYTES", 20000)
    with pytest.raises(DatasetError, match="add up to over"):
        load_cifar(src)


def test_not_a_tar(tmp_path):
    p = tmp_path / "cifar-10-python.tar.gz"
    p.write_bytes(b"\x1f\x8b garbage" * 10)
    with pytest.raises(DatasetError, match="damaged or unreadable archive"):
        load(p)


def test_cancel_while_reading_tar(tmp_path):
    files, _ = cifar10_files(2)
    src = write_tar(tmp_path / "c.tar.gz", "cifar-10-batches-py", files)
    with pytest.raises(Cancelled):
        load(src, cancel=lambda: True)
    seen = []
    load(src, progress=lambda d, t, m: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1]


def test_uncompressed_stream_cap(tmp_path, monkeypatch):
    files, _ = cifar10_files(2)
    src = write_tar(tmp_path / "c.tar.gz", "cifar-10-batches-py", files)
    monkeypatch.setattr(cifar_mod, "MAX_STREAM_BYTES", 50_000)
    with pytest.raises(DatasetError, match="unpacks to over"):
        load_cifar(src)


@pytest.mark.parametrize("mode", ["w:bz2", "w:xz", "w"])
def test_other_tar_compressions(tmp_path, mode):
    files, truth = cifar10_files(2)
    src = tmp_path / "c.tar"
    with tarfile.open(src, mode) as tar:
        for name, data in files.items():
            _add(tar, f"cifar-10-batches-py/{name}", data)
    np.testing.assert_array_equal(load_cifar(src).X_test, truth["test_batch"][0])


# ---------------------------------------------------------------------------- numbers in the pickle allocate nothing
def _peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("index", [100_000_000, 2 ** 32 - 1])
def test_long_binput_memo_index_reserves_no_memory(tmp_path, index):
    """The C unpickler sized its memo from the index: 13 bytes cost 1.5 GB (4.5 GB for 3e8)."""
    bomb = b"\x80\x02K\x01r" + struct.pack("<I", index) + b"."
    assert _peak_bytes(lambda: safe_unpickle(bomb, "x")) < 1024 ** 2
    files, _ = cifar10_files(2)
    files["data_batch_1"] = bomb
    src = write_folder(tmp_path / "cifar-10-batches-py", files)

    def refused():
        with pytest.raises(DatasetError, match="data_batch_1: expected a dict"):
            load(src)
    assert _peak_bytes(refused) < 16 * 1024 ** 2


@pytest.mark.parametrize("op,fmt,n", [(b"\x8e", "<Q", 2 ** 63 + 5), (b"\x8d", "<Q", 2 ** 63 + 5),
                                      (b"\x96", "<Q", 2 ** 63 + 5), (b"\x95", "<Q", 2 ** 63 + 5),
                                      (b"\x96", "<Q", 2 ** 33), (b"\x95", "<Q", 2 ** 40),
                                      (b"X", "<I", 2 ** 32 - 1), (b"B", "<I", 2 ** 31), (b"T", "<i", -1)])
def test_counted_lengths_beyond_the_file_are_refused_before_reading(tmp_path, op, fmt, n):
    """BINBYTES8/BINUNICODE8/BYTEARRAY8/FRAME over sys.maxsize raised OverflowError; a BYTEARRAY8 of 8 GiB
    would be allocated (and zero-filled) by the pure-Python unpickler before reading."""
    data = b"\x80\x05" + op + struct.pack(fmt, n) + b"ab."
    with pytest.raises(DatasetError, match=r"test_batch: damaged pickle \(UnpicklingError: .*claims"):
        safe_unpickle(data, "test_batch")
    files, _ = cifar10_files(2)
    files["test_batch"] = data
    src = write_folder(tmp_path / "cifar-10-batches-py", files)
    peak = _peak_bytes(lambda: pytest.raises(DatasetError, load, src))
    assert peak < 16 * 1024 ** 2


def test_truncated_counted_string_is_refused():
    data = b"\x80\x02T" + struct.pack("<i", 10) + b"abc"    # 10 bytes claimed: fits the file, not the rest
    with pytest.raises(DatasetError, match=r"b: damaged pickle .*BINSTRING is truncated \(3 of 10 bytes\)"):
        safe_unpickle(data, "b")
    with pytest.raises(DatasetError, match="b: damaged pickle .truncated"):
        safe_unpickle(b"\x80\x02r\x01", "b")


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_python3_pickles_of_plain_values_still_load(protocol):
    """Every counted opcode we re-implemented (frames, short/long strings and bytes, bytearray) and memo
    references round-trip."""
    shared = ["s" * 300]
    value = {"labels": list(range(600)), "short": "é", "long": "ü" * 400, "same": [shared, shared], "big": 10 ** 40}
    if protocol >= 3:   # earlier, bytes pickle through _codecs.encode, a refused global
        value.update(b=b"xy", bb=b"z" * 300)
    if protocol >= 5:   # earlier, bytearray pickles through builtins.bytearray
        value.update(ba=bytearray(b"ab"))
    out = safe_unpickle(pickle.dumps(value, protocol=protocol), "p")
    assert out == value
    assert out["same"][0] is out["same"][1]


def test_cpickle_style_batch_with_memo_puts_loads():
    """Python 2's cPickle memoizes every object (BINPUT, LONG_BINPUT past 255) and appends in chunks."""
    imgs = _images(300, 4)
    labels = [j % 10 for j in range(300)]
    out, memo = [b"\x80\x02}q\x01("], [1]

    def put():
        memo[0] += 1
        out.append(b"q" + bytes([memo[0]]) if memo[0] < 256 else b"r" + struct.pack("<I", memo[0]))
    out.append(_s("labels")); put(); out.append(b"]"); put()
    out.append(b"(" + b"".join(_int(v) for v in labels) + b"e")
    out.append(_s("filenames")); put(); out.append(b"]"); put(); out.append(b"(")
    for j in range(300):
        out.append(_s(f"img_{j}.png")); put()
    out.append(b"e" + _s("data")); put()
    out.append(_obj(_rows(imgs)))
    put()
    out.append(_s("labels_again") + b"h\x03u.")    # BINGET: the labels list, by memo index
    batch = safe_unpickle(b"".join(out), "batch")
    assert batch[b"labels_again"] is batch[b"labels"]
    assert batch[b"labels"] == labels and batch[b"filenames"][299] == b"img_299.png"
    np.testing.assert_array_equal(batch[b"data"], _rows(imgs))


# ---------------------------------------------------------------------------- states NumPy would crash on
_RECON = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"


def _dtype_with_state(state: bytes, code: bytes = b"U\x02u1") -> bytes:
    return b"cnumpy\ndtype\n(" + code + b"K\x00K\x01tR(" + state + b"tb"


@pytest.mark.parametrize("state", [
    b"K\x03U\x01|NJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00",   # 6 items: NumPy 2.4 reads uninitialised memory (segfault)
    b"K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x01",   # flags 1 on uint8: bytes decref'd as objects
    b"K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?",      # flags 63: uint8 posing as an object dtype
    b"K\x04U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00}",  # version 4 with metadata
])
def test_dtype_states_numpy_cannot_handle_are_refused(state):
    """Found by fuzzing: a 6 KB CIFAR batch whose dtype state lost two None items killed the process."""
    with pytest.raises(DatasetError, match="test_batch: damaged pickle .*unexpected state for dtype"):
        safe_unpickle(b"\x80\x02" + _dtype_with_state(state) + b".", "test_batch")


def test_object_arrays_and_odd_dtype_codes_are_refused():
    obj = _dtype_with_state(b"K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?", code=b"U\x02O8")
    short_list = b"\x80\x02" + _RECON + b"(K\x01(K\x03t" + obj + b"\x89](K\x01K\x02etb."   # 3 objects, 2 given
    with pytest.raises(DatasetError, match="only plain, non-object arrays"):
        safe_unpickle(short_list, "b")
    with pytest.raises(DatasetError, match="not a plain type code"):
        safe_unpickle(b"\x80\x02" + _dtype_with_state(b"", code=b"U\x0ff8,i8,[f8,i8]") + b".", "b")


def _long(v: int) -> bytes:
    raw = v.to_bytes(8, "little", signed=True).rstrip(b"\x00") + b"\x00"
    return b"\x8a" + bytes([len(raw)]) + raw


@pytest.mark.parametrize("shape", [_long(2 ** 31) + b"K\x04\x86", _long(2 ** 40) + b"\x85"])
def test_array_shapes_beyond_the_file_are_refused_before_allocating(shape):
    """_reconstruct(ndarray, (2**31, 4), 'b') reserves 8 GiB (np.ndarray likewise) before any data."""
    for call in (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n" + shape + b"U\x01b\x87R",
                 b"cnumpy\nndarray\n" + shape + b"\x85R"):
        data = b"\x80\x02" + call + b"."
        peak = _peak_bytes(lambda: pytest.raises(DatasetError, safe_unpickle, data, "b"))
        assert peak < 1024 ** 2
        with pytest.raises(DatasetError, match=r"b: damaged pickle .*an array of shape \(.*larger than the whole"):
            safe_unpickle(data, "b")
