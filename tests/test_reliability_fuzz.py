"""Fuzzing every loader: mutated and truncated IDX, CIFAR, npz, image-folder and saved-model files.

Each input is a small valid seed file (built here, in a temporary folder) changed by a seeded
byte mutator (bit flips, "interesting" integers written over header fields, truncation, deleted or
duplicated chunks, splices) or built by a structure-aware Hypothesis strategy. Every input is loaded
in-process and must end in one of the allowed outcomes:

* a valid :class:`core.datasets.Dataset` (or a loaded model), or
* the one documented error (``DatasetError`` / ``ModelFileError``) whose message names the file.

Anything else counts as a crash: another exception type; more than 2 s of CPU time for one input
(CPU, not wall-clock, time: CI machines are shared; a blocked input is stopped after 10 s of wall
time); a memory peak over :data:`RSS_LIMIT` resident or :data:`ALLOC_LIMIT` allocated (tracemalloc,
sampled; plus an address-space limit so a runaway allocation becomes a ``MemoryError`` instead of
swapping the machine); a file written outside the cache folder; or code executed from a pickle (seeds
include pickles whose ``__reduce__`` calls a canary function, ``os.mkdir`` or ``os.system``).

CI budget: about 13,500 inputs in total, ~1 minute on 2 cores (scale with ``LCL_FUZZ_SCALE``, e.g. 0.1
for a smoke run): 12,500 from the seeded byte mutator (:data:`CI_BUDGET`), ~1,000 structure-aware
Hypothesis examples (derandomized, so CI is repeatable), the seeds themselves and one minimal input per
bug found so far (``tests/_fuzz_regressions.py``). The long run is ``benchmarks/fuzz_long.py`` (200,000 inputs).
The counts are printed whether or not ``-s`` is given::

    fuzz: inputs tried N, loaded M, errors raised E, crashes 0, files written outside 0, code executed 0
"""
from __future__ import annotations

import io
import json
import shutil
import struct
import tarfile
import zipfile

import numpy as np
import pytest

from _fuzz_harness import (
    SCALE, CI_BUDGET, HYPOTHESIS_EXAMPLES, Stats, Harness, scratch_folder,
    run_campaign, _TOTALS, _record, total_stats,
)
from _fuzz_regressions import OPEN_BUGS, REGRESSIONS
from _fuzz_seeds import (
    py2_pickle, _rng_images, idx_bytes, gz, zip_bytes, npy_bytes,
    cifar10_members, image_bytes, TARGET_BUILDERS,
)


@pytest.fixture(scope="module")
def _harness(tmp_path_factory, pytestconfig):
    root = scratch_folder(tmp_path_factory.mktemp("fuzz"))
    with Harness(root) as h:
        yield h
        stray = h.stray_marker_files()
    shutil.rmtree(root, ignore_errors=True)
    lines = [s.line() for s in _TOTALS.values()] + [total_stats().line()]
    if stray:
        lines.append(f"fuzz: FILES WRITTEN OUTSIDE: {stray}")
    capman = pytestconfig.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + "\n".join(lines))
    else:
        print("\n".join(lines))


@pytest.fixture
def fz(_harness, monkeypatch):
    monkeypatch.setenv("LCL_CACHE_DIR", str(_harness.cache))
    return _harness


@pytest.mark.parametrize("fmt", list(TARGET_BUILDERS))
def test_seed_files_load_and_hostile_seeds_are_refused(fmt, fz):
    """The unmutated seeds load with every loader (so fuzzing starts from deep, valid inputs)."""
    target = TARGET_BUILDERS[fmt](fz.marker)
    stats = Stats(fmt)
    for v in target.variants:
        for loader in target.loaders:
            outcome = fz.run(target, v.build(v.base), v.entry, f"{fmt} / {v.label} / seed", stats, loader)
            assert outcome == ("loaded" if v.must_load else "error"), \
                f"{fmt} seed {v.label!r} via {loader.__name__}: {outcome}\n{stats.report()}"
    _record(stats)
    assert stats.executed == 0 and stats.outside == 0


#: formats whose CI campaign still finds a bug (precise inputs: REGRESSIONS / OPEN_BUGS below)
CAMPAIGN_BUGS: dict = {}


def _campaign_params():
    for f in CI_BUDGET:
        bug = CAMPAIGN_BUGS.get(f)
        yield pytest.param(f, marks=[pytest.mark.xfail(strict=True, reason=f"BUG: {bug}")] if bug else [])


@pytest.mark.parametrize("fmt", list(_campaign_params()))
def test_fuzz_mutated_and_truncated_files(fmt, fz):
    target = TARGET_BUILDERS[fmt](fz.marker)
    n = max(len(target.variants), int(CI_BUDGET[fmt] * SCALE))
    stats = run_campaign(fz, target, n, seed=0)
    _record(stats)
    assert not stats.crashes, f"{fmt}: {len(stats.crashes)} crashes in {stats.tried} inputs\n{stats.report()}"
    assert stats.outside == 0 and stats.executed == 0
    assert stats.loaded > 0, "no mutated input loaded: the mutations are too destructive to reach deep code"
    if fmt != "image-folder":   # a broken image is skipped with a note, not an error
        assert stats.errors > 0, "no mutated input was refused: the mutator does nothing"


# ------------------------------------------------------------------ structure-aware inputs (Hypothesis)
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_HSET = settings(max_examples=max(5, int(HYPOTHESIS_EXAMPLES * SCALE)), derandomize=True, deadline=None,
                 database=None, suppress_health_check=list(HealthCheck), print_blob=True)


def _hyp_run(fz, target, files, entry, what):
    stats = Stats(target.name)
    outcome = fz.run(target, files, entry, what, stats)
    _record(stats)
    assert outcome != "crash" and not stats.crashes, stats.report()
    return outcome


_IDX_CODES = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]
_IDX_SIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}


@st.composite
def idx_headers(draw):
    """An IDX file with any type code, any number of dimensions, sizes from 0 to 2**32-1, and a
    payload that is exactly as long as promised, shorter, longer, or arbitrary."""
    code = draw(st.sampled_from(_IDX_CODES) | st.integers(0, 255))
    ndim = draw(st.integers(0, 9) | st.just(1) | st.just(3))
    dim = st.integers(0, 6) | st.sampled_from([2 ** 31, 2 ** 32 - 1, 2 ** 16, 60000, 10000, 0x7FFFFFFF])
    dims = draw(st.lists(dim, min_size=min(ndim, 9), max_size=min(ndim, 9)))
    size = _IDX_SIZE.get(code, 1) * int(np.prod(dims, dtype=object) if dims else 0)
    how = draw(st.sampled_from(["exact", "exact", "short", "long", "random"]))
    if how == "exact" and size <= 4096:
        payload = draw(st.binary(min_size=size, max_size=size))
    elif how == "short" and 0 < size <= 4096:
        payload = draw(st.binary(max_size=size - 1))
    elif how == "long" and size <= 4096:
        payload = draw(st.binary(min_size=size + 1, max_size=size + 16))
    else:
        payload = draw(st.binary(max_size=64))
    magic = draw(st.sampled_from([b"\x00\x00", b"\x00\x00", b"\x00\x01", b"\xff\xff"]))
    return magic + bytes([code, ndim]) + b"".join(struct.pack(">I", d) for d in dims) + payload


@pytest.mark.parametrize("role", ["images", "labels"])
@_HSET
@given(data=idx_headers(), compress=st.booleans())
def test_fuzz_idx_headers(fz, role, data, compress):
    rng = np.random.default_rng(1)
    files = {"train-images-idx3-ubyte": idx_bytes(_rng_images(rng, 4, (3, 3))),
             "train-labels-idx1-ubyte": idx_bytes(np.array([0, 1, 0, 1], np.uint8))}
    files[f"train-{role}-idx{3 if role == 'images' else 1}-ubyte"] = data
    if compress:
        files = {k + ".gz": gz(v) for k, v in files.items()}
    target = TARGET_BUILDERS["idx"](fz.marker)
    _hyp_run(fz, target, files, "", f"idx header ({role}, gz={compress}): {data[:24].hex()}")


_small_dims = st.lists(st.integers(0, 4), min_size=0, max_size=3)
_np_dtypes = st.sampled_from(["u1", "i1", "<i8", ">i4", "<f4", "<f8", "?", "<u2"])


@st.composite
def small_arrays(draw, shape=None, dtype=None):
    dt = np.dtype(dtype or draw(_np_dtypes))
    shp = tuple(shape) if shape is not None else tuple(draw(_small_dims))
    n = int(np.prod(shp)) if shp else 1
    raw = draw(st.binary(min_size=n * dt.itemsize, max_size=n * dt.itemsize))
    return np.frombuffer(raw, dtype=dt).reshape(shp).copy()


def _plain_values():
    return st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(),
                     st.binary(max_size=6), st.text(st.characters(max_codepoint=255), max_size=4),
                     st.lists(st.integers(-2 ** 40, 2 ** 40), max_size=5), small_arrays())


@st.composite
def cifar_batches(draw):
    n = draw(st.integers(0, 3))
    data = draw(st.one_of(small_arrays(shape=(n, 3072), dtype="u1"), small_arrays(shape=(n, 3072)),
                          small_arrays(shape=(n, 3, 32, 32), dtype="u1"), _plain_values()))
    labels = draw(st.one_of(st.lists(st.integers(-1, 11), min_size=n, max_size=n),
                            st.lists(st.integers(-2 ** 63, 2 ** 64), min_size=n, max_size=n),
                            small_arrays(shape=(n,)), _plain_values()))
    batch = {}
    for key, value in ((b"data", data), (b"labels", labels), (b"batch_label", b"x")):
        if draw(st.integers(0, 9)) > 0:
            batch[key.decode() if draw(st.integers(0, 9)) == 0 else key] = value
    return batch if draw(st.integers(0, 19)) else draw(_plain_values())


@_HSET
@given(batch=cifar_batches(), member=st.sampled_from(["data_batch_1", "test_batch"]))
def test_fuzz_cifar_batch_structure(fz, batch, member):
    files = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(2)).items()}
    files[f"cifar-10-batches-py/{member}"] = py2_pickle(batch)
    target = TARGET_BUILDERS["cifar-folder"](fz.marker)
    _hyp_run(fz, target, files, "", f"cifar {member} = {batch!r:.200}")


@_HSET
@given(names=st.one_of(st.lists(st.binary(max_size=4) | st.text(max_size=3) | st.integers(), min_size=8,
                                max_size=11), _plain_values()))
def test_fuzz_cifar_meta_structure(fz, names):
    files = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(3)).items()}
    files["cifar-10-batches-py/batches.meta"] = py2_pickle({b"label_names": names})
    target = TARGET_BUILDERS["cifar-folder"](fz.marker)
    _hyp_run(fz, target, files, "", f"cifar batches.meta label_names = {names!r:.200}")


_MEMBER_KINDS = ["file", "file", "symlink", "hardlink", "dir", "fifo", "chr", "blk"]
_MEMBER_NAMES = ["cifar-10-batches-py/data_batch_1", "cifar-10-batches-py/test_batch", "/etc/evil",
                 "../evil", "cifar-10-batches-py/../../evil", "cifar-10-batches-py/data_batch_2",
                 "data_batch_3", "./cifar-10-batches-py/batches.meta", "a/" * 40 + "deep"]


@st.composite
def tar_members(draw):
    return draw(st.lists(st.tuples(st.sampled_from(_MEMBER_NAMES), st.sampled_from(_MEMBER_KINDS),
                                   st.sampled_from(["/etc/passwd", "../../x", "data_batch_1", "/dev/zero"])),
                         max_size=5))


@_HSET
@given(extra=tar_members(), at_end=st.booleans())
def test_fuzz_tar_member_kinds(fz, extra, at_end):
    """Links, devices, fifos, absolute and ``..`` names mixed into a valid CIFAR-10 archive."""
    members = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(4)).items()}
    buf = io.BytesIO()
    kinds = {"symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE, "dir": tarfile.DIRTYPE,
             "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE, "blk": tarfile.BLKTYPE}
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        def add_extra():
            for name, kind, link in extra:
                info = tarfile.TarInfo(name)
                if kind == "file":
                    data = members["cifar-10-batches-py/test_batch"][::-1]
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                else:
                    info.type, info.linkname = kinds[kind], link
                    tar.addfile(info)
        if not at_end:
            add_extra()
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if at_end:
            add_extra()
    target = TARGET_BUILDERS["cifar-tar"](fz.marker)
    outcome = _hyp_run(fz, target, {"cifar-10-python.tar.gz": buf.getvalue()}, "cifar-10-python.tar.gz",
                       f"tar with extra members {extra}")
    assert outcome in ("loaded", "error")


@st.composite
def npz_contents(draw):
    n = draw(st.integers(0, 4))
    X = draw(st.one_of(small_arrays(shape=(n, 2, 2, 3), dtype="u1"), small_arrays(shape=(n, 4)),
                       small_arrays(shape=(n, 2, 2)), small_arrays(), st.just(np.array(["a", "b"]))))
    y = draw(st.one_of(st.lists(st.integers(0, 3), min_size=n, max_size=n).map(np.array),
                       st.lists(st.integers(-2 ** 63, 2 ** 63 - 1), min_size=n, max_size=n).map(
                           lambda v: np.array(v, dtype=np.int64)),
                       st.lists(st.sampled_from(["cat", "dog"]), min_size=n, max_size=n).map(np.array),
                       small_arrays()))
    out = {draw(st.sampled_from(["X", "X_train"])): X, draw(st.sampled_from(["y", "y_train"])): y}
    if draw(st.booleans()):
        m = draw(st.integers(0, 3))
        out["X_test"] = draw(small_arrays(shape=(m, 2, 2, 3), dtype="u1") | small_arrays())
        out["y_test"] = draw(st.lists(st.integers(0, 5), min_size=m, max_size=m).map(np.array) | small_arrays())
    if draw(st.booleans()):
        out["class_names"] = draw(st.lists(st.text(max_size=3), max_size=5).map(np.array) | small_arrays())
    if draw(st.booleans()):
        out["name"] = draw(st.text(max_size=5).map(np.array) | small_arrays())
    return out


@_HSET
@given(arrays=npz_contents(), compress=st.booleans())
def test_fuzz_npz_structure(fz, arrays, compress):
    data = zip_bytes({k + ".npy": npy_bytes(v) for k, v in arrays.items()}, compress)
    target = TARGET_BUILDERS["npz"](fz.marker)
    _hyp_run(fz, target, {"data.npz": data}, "data.npz",
             "npz " + ", ".join(f"{k}={v.dtype}{v.shape}" for k, v in arrays.items()))


_MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I", "F", "I;16", "CMYK"]
_FMTS = {"PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "GIF": ".gif", "WEBP": ".webp"}


@st.composite
def image_files(draw):
    """A valid image in any mode/size/format, the same truncated, random bytes, or an empty file."""
    fmt = draw(st.sampled_from(list(_FMTS)))
    kind = draw(st.sampled_from(["valid", "valid", "valid", "truncated", "random", "empty", "text"]))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    mode = draw(st.sampled_from(_MODES))
    arr = np.random.default_rng(draw(st.integers(0, 9))).integers(0, 256, (h, w, 3), dtype=np.uint8)
    try:
        data = image_bytes(arr, fmt, mode)
    except (OSError, ValueError, KeyError):          # mode not writable in this format
        data = image_bytes(arr, fmt)
    if kind == "truncated":
        data = data[:draw(st.integers(0, max(0, len(data) - 1)))]
    elif kind == "random":
        data = draw(st.binary(max_size=64))
    elif kind == "empty":
        data = b""
    elif kind == "text":
        data = b"<html>not an image</html>"
    return _FMTS[fmt], data


@_HSET
@given(classes=st.lists(st.lists(image_files(), min_size=1, max_size=3), min_size=1, max_size=3),
       split=st.booleans())
def test_fuzz_image_folder_contents(fz, classes, split):
    files = {}
    for c, imgs in enumerate(classes):
        for i, (ext, data) in enumerate(imgs):
            sub = f"{'train/' if split and i % 2 == 0 else 'test/' if split else ''}class{c}"
            files[f"photos/{sub}/{i}{ext}"] = data
    target = TARGET_BUILDERS["image-folder"](fz.marker)
    _hyp_run(fz, target, files, "photos", "image folder " + ", ".join(f"{k}({len(v)} B)" for k, v in files.items()))


_LEN4 = st.sampled_from([0, 1, 3, 255, 2 ** 16, 2 ** 31 - 1, 2 ** 32 - 1, 3 * 10 ** 7])
_LEN8 = st.sampled_from([0, 1, 3, 2 ** 31, 2 ** 40, 2 ** 63 - 1, 2 ** 63 + 5, 2 ** 64 - 1])
def _u32(n):
    return struct.pack("<I", n)


def _u64(n):
    return struct.pack("<Q", n)


_BYTE = st.integers(0, 255).map(lambda n: bytes([n]))
_OPS = {   # opcode -> strategy for its argument bytes
    b"r": _LEN4.map(_u32), b"j": _LEN4.map(_u32), b"q": _BYTE, b"h": _BYTE, b"K": _BYTE, b"\x82": _BYTE,
    b"J": _LEN4.map(_u32), b"\x84": _LEN4.map(_u32),
    b"B": _LEN4.map(lambda n: _u32(n) + b"ab"), b"T": _LEN4.map(lambda n: _u32(n) + b"ab"),
    b"X": _LEN4.map(lambda n: _u32(n) + b"ab"),
    b"\x8e": _LEN8.map(lambda n: _u64(n) + b"ab"), b"\x8d": _LEN8.map(lambda n: _u64(n) + b"ab"),
    b"\x96": _LEN8.map(lambda n: _u64(n) + b"ab"), b"\x95": _LEN8.map(_u64),
    b"L": st.sampled_from([b"1L\n", b"9" * 5000 + b"L\n", b"-L\n"]),
    b"I": st.sampled_from([b"01\n", b"1e9\n", b"x\n"]),
    b"\x8a": st.sampled_from([b"\x01\x01", b"\xff" + b"\x01" * 255]),
    b"\x8b": _LEN4.map(lambda n: struct.pack("<i", n % 2 ** 31)),
    b"c": st.sampled_from([b"numpy\nndarray\n", b"numpy\ndtype\n", b"numpy.core.multiarray\n_reconstruct\n",
                           b"os\nsystem\n", b"builtins\ngetattr\n", b"numpy\n__dict__\n"]),
    b"U": st.sampled_from([b"\x01b", b"\x04data", b"\x06labels", b"\xffab"]),
}
for _op in (b"(", b")", b"t", b"]", b"e", b"}", b"u", b"s", b"a", b"0", b"2", b"1", b"R", b"b", b"N",
            b"\x85", b"\x86", b"\x87", b"\x88", b"\x89", b"\x93", b"\x81", b"o", b"\x94"):
    _OPS[_op] = st.just(b"")


@st.composite
def pickle_streams(draw):
    """Short pickles made of raw opcodes with extreme arguments (memo indexes, counted lengths, globals)."""
    out = [draw(st.sampled_from([b"\x80\x02", b"\x80\x04", b"\x80\x05", b""]))]
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(sorted(_OPS)))
        out.append(op + draw(_OPS[op]))
    return b"".join(out) + b"."


@_HSET
@given(data=pickle_streams(), member=st.sampled_from(["data_batch_1", "batches.meta"]))
def test_fuzz_pickle_opcodes(fz, data, member):
    files = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(np.random.default_rng(5)).items()}
    files[f"cifar-10-batches-py/{member}"] = data
    target = TARGET_BUILDERS["cifar-folder"](fz.marker)
    _hyp_run(fz, target, files, "", f"cifar {member} = {data[:80]!r}")


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=False),
                       st.text(max_size=4))
_json = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=3), max_leaves=8)


@st.composite
def model_edits(draw, members):
    """A saved model with its JSON metadata edited (values replaced by any JSON, keys dropped) and/or
    arrays swapped for arrays of other shapes, dtypes or values (NaN/inf, huge, empty)."""
    meta = json.loads(str(np.load(io.BytesIO(members["metadata.npy"]), allow_pickle=False)))
    out = dict(members)
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(sorted(meta) + ["params", "params"]))
        if key == "params" and isinstance(meta.get("params"), dict) and draw(st.booleans()):
            sub = draw(st.sampled_from(sorted(meta["params"]) or ["loss"]))
            meta["params"][sub] = draw(_json)
        elif draw(st.integers(0, 4)) == 0:
            meta.pop(key, None)
        else:
            meta[key] = draw(_json)
    out["metadata.npy"] = npy_bytes(np.array(json.dumps(meta), dtype=np.str_))
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(sorted(k for k in members if k != "metadata.npy")))
        arr = np.load(io.BytesIO(members[name]), allow_pickle=False)
        choice = draw(st.sampled_from(["values", "shape", "dtype", "empty"]))
        if choice == "values" and arr.size:
            arr = arr.astype(np.float64)
            arr.flat[draw(st.integers(0, arr.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -1e300, 2.0 ** 63]))
        elif choice == "shape":
            arr = draw(small_arrays(dtype=arr.dtype.str))
        elif choice == "dtype":
            with np.errstate(invalid="ignore", over="ignore"):
                arr = arr.astype(draw(st.sampled_from(["u1", "<i8", "<f2", "?", "<c8", "U2"])))
        else:
            arr = arr[:0]
        out[name] = npy_bytes(arr)
    return out


@_HSET
@given(data=st.data())
def test_fuzz_model_metadata_and_arrays(fz, data):
    target = TARGET_BUILDERS["model"](fz.marker)
    whole = target.variants[0].base
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    edited = data.draw(model_edits(members))
    _hyp_run(fz, target, {"model.npz": zip_bytes(edited)}, "model.npz", "model with edited metadata/arrays")


# ------------------------------------------------------------------ regressions: each bug the fuzzer found
def _regression_params():
    for rid, target, build, entry in REGRESSIONS:
        marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {OPEN_BUGS[rid]}")] if rid in OPEN_BUGS else []
        yield pytest.param(target, build, entry, id=rid, marks=marks)


@pytest.mark.parametrize("fmt,build,entry", list(_regression_params()))
def test_regression_inputs_found_by_fuzzing(fz, fmt, build, entry):
    target = TARGET_BUILDERS[fmt](fz.marker)
    stats = Stats(fmt)
    for loader in target.loaders:
        fz.run(target, build(fz.marker), entry, f"regression via {loader.__name__}", stats, loader)
    _record(stats)
    assert not stats.crashes, stats.report()
