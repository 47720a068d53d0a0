"""Seed files for fuzzing the loaders: valid IDX/CIFAR/npz/image/model files built in memory, hostile
pickle gadgets, the per-format targets (seed variants + loader + check), and the builders of the minimal
regression inputs. Used by the fuzz, security and GUI reliability tests and benchmarks/fuzz_long.py."""
from __future__ import annotations

import gzip
import io
import json
import os
import struct
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np


# =============================================================================== seeds
def py2_pickle(obj) -> bytes:
    """A pickle shaped like the official CIFAR batches (Python 2 cPickle, protocol 2, str = bytes)."""
    out = bytearray(b"\x80\x02")

    def w(o):
        if o is None:
            out.extend(b"N")
        elif isinstance(o, bool):
            out.extend(b"\x88" if o else b"\x89")
        elif isinstance(o, int):
            if 0 <= o < 256:
                out.extend(b"K" + bytes([o]))
            elif 0 <= o < 65536:
                out.extend(b"M" + struct.pack("<H", o))
            elif -2 ** 31 <= o < 2 ** 31:
                out.extend(b"J" + struct.pack("<i", o))
            else:
                out.extend(b"L%dL\n" % o)
        elif isinstance(o, float):
            out.extend(b"G" + struct.pack(">d", o))
        elif isinstance(o, (str, bytes)):
            s = o.encode("utf-8") if isinstance(o, str) else o
            out.extend((b"U" + bytes([len(s)]) if len(s) < 256 else b"T" + struct.pack("<I", len(s))) + s)
        elif isinstance(o, tuple):
            out.extend(b"(")
            for x in o:
                w(x)
            out.extend(b"t")
        elif isinstance(o, list):
            out.extend(b"]")
            if o:
                out.extend(b"(")
                for x in o:
                    w(x)
                out.extend(b"e")
        elif isinstance(o, dict):
            out.extend(b"}")
            if o:
                out.extend(b"(")
                for k, v in o.items():
                    w(k)
                    w(v)
                out.extend(b"u")
        elif isinstance(o, np.ndarray):
            out.extend(b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n")
            w((0,))
            w(b"b")
            out.extend(b"\x87R")
            out.extend(b"(")
            w(1)
            w(tuple(int(s) for s in o.shape))
            out.extend(b"cnumpy\ndtype\n")
            w((o.dtype.str[1:].encode(), 0, 1))
            out.extend(b"R")
            w((3, o.dtype.str[:1].encode(), None, None, None, -1, -1, 0))
            out.extend(b"b\x89")
            w(np.ascontiguousarray(o).tobytes())
            out.extend(b"tb")
        elif isinstance(o, Gadget):
            out.extend(o.opcodes)
        else:
            raise TypeError(type(o))

    w(obj)
    out.extend(b".")
    return bytes(out)


@dataclass
class Gadget:
    """Pickle opcodes that *call* something when unpickled (must never run)."""
    opcodes: bytes


_CANARY = {"calls": 0}


def canary(*args):
    """Called only if a loader lets a pickle call a global: counted as "code executed"."""
    _CANARY["calls"] += 1
    return 0


def gadgets(marker: Path) -> list[Gadget]:
    """``__reduce__``-style payloads: the canary, ``os.mkdir(marker)`` and ``os.system('touch ...')``."""
    m = str(marker).encode()
    return [
        Gadget(b"c" + __name__.encode() + b"\ncanary\n(U\x02hitR"),
        Gadget(b"cos\nmkdir\n(U" + bytes([len(m + b"-mkdir")]) + m + b"-mkdir" + b"tR"),
        Gadget(b"cposix\nsystem\n(U" + bytes([len(b"touch " + m + b"-system")]) + b"touch " + m + b"-system" + b"tR"),
        Gadget(b"cbuiltins\neval\n(U\x1b__import__('os').getpid()tR"),
    ]


class EvilReduce:
    """An object whose pickle calls :func:`canary` (or ``os.system``) when it is unpickled."""

    def __init__(self, command: str | None = None):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,)) if self.command else (canary, ("reduce",))


def _rng_images(rng, n, shape):
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


def idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
            np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}[arr.dtype]
    return (bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
            + arr.tobytes())


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], compress=False) -> bytes:
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = method            # a ZipInfo does not inherit the archive's method
            zf.writestr(info, data)
    return buf.getvalue()


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=True)
    return buf.getvalue()


def cifar10_members(rng, n=2) -> dict[str, bytes]:
    out = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        out[name] = py2_pickle({b"batch_label": name.encode(),
                                b"labels": [int(v) for v in rng.integers(0, 10, n)],
                                b"data": _rng_images(rng, n, (3072,)),
                                b"filenames": [b"img_%d.png" % j for j in range(n)]})
    out["batches.meta"] = py2_pickle({b"num_cases_per_batch": n, b"num_vis": 3072,
                                      b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                                                       b"dog", b"frog", b"horse", b"ship", b"truck"]})
    return out


def cifar100_members(rng, n=3) -> dict[str, bytes]:
    out = {}
    for name in ("train", "test"):
        out[name] = py2_pickle({b"filenames": [b"f%d.png" % j for j in range(n)], b"batch_label": name.encode(),
                                b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
                                b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)],
                                b"data": _rng_images(rng, n, (3072,))})
    out["meta"] = py2_pickle({b"fine_label_names": [b"fine%d" % i for i in range(100)],
                              b"coarse_label_names": [b"coarse%d" % i for i in range(20)]})
    return out


def image_bytes(arr: np.ndarray, fmt: str, mode: str | None = None, **kw) -> bytes:
    from PIL import Image
    im = Image.fromarray(arr)
    if mode:
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


# =============================================================================== targets
@dataclass
class Variant:
    """One file of a seed input that the mutator changes.

    ``build(mutated)`` returns the whole input as ``{relative path: bytes}``; ``entry`` is the
    path handed to the loader ("" = the input folder itself)."""

    label: str
    base: bytes
    build: Callable[[bytes], dict]
    entry: str = ""
    must_load: bool = True   # the unmutated seed must load


@dataclass
class Target:
    name: str
    variants: list
    loaders: list            # callables(path) -> result; alternated per input
    errors: tuple
    check: Callable = None   # check(result, files) -> None (raise AssertionError if invalid)


def _replace(files: dict, key: str, wrap=lambda b: b):
    return lambda mutated: {**files, key: wrap(mutated)}


def _check_dataset(result, files):
    from core.datasets import Dataset
    assert isinstance(result, Dataset), f"loader returned {type(result).__name__}, not a Dataset"
    assert result.X_train.dtype == np.uint8 and result.X_train.ndim == 4
    assert result.y_train.dtype == np.int64 and result.y_train.shape == (result.n_train,)
    assert result.n_train > 0 and result.n_test > 0
    assert len(result.class_names) >= 1


def _check_image_folder(result, files):
    _check_dataset(result, files)
    from core.datasets.folders import IMAGE_EXTENSIONS
    n_files = sum(1 for k in files if k.lower().endswith(IMAGE_EXTENSIONS))
    if result.n_train + result.n_test != n_files:
        assert any("skipped" in n for n in result.notes), \
            f"{n_files - result.n_train - result.n_test} images dropped without a note: {result.notes}"


def idx_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    tr_x, te_x = _rng_images(rng, 6, (4, 4)), _rng_images(rng, 3, (4, 4))
    tr_y, te_y = np.array([0, 1, 2, 0, 1, 2], np.uint8), np.array([2, 0, 1], np.uint8)
    raw = {"train-images-idx3-ubyte": idx_bytes(tr_x), "train-labels-idx1-ubyte": idx_bytes(tr_y),
           "t10k-images-idx3-ubyte": idx_bytes(te_x), "t10k-labels-idx1-ubyte": idx_bytes(te_y)}
    gzd = {k + ".gz": gz(v) for k, v in raw.items()}
    lbl32 = idx_bytes(te_y.astype(">i4"))
    variants = [
        Variant("raw images", raw["train-images-idx3-ubyte"], _replace(raw, "train-images-idx3-ubyte")),
        Variant("raw labels", raw["t10k-labels-idx1-ubyte"], _replace(raw, "t10k-labels-idx1-ubyte")),
        Variant("gz images (compressed bytes)", gzd["train-images-idx3-ubyte.gz"],
                _replace(gzd, "train-images-idx3-ubyte.gz")),
        Variant("gz images (inner bytes)", raw["t10k-images-idx3-ubyte"],
                _replace(gzd, "t10k-images-idx3-ubyte.gz", gz)),
        Variant("gz labels (inner bytes)", raw["train-labels-idx1-ubyte"],
                _replace(gzd, "train-labels-idx1-ubyte.gz", gz)),
        Variant("int32 labels", lbl32, _replace(raw, "t10k-labels-idx1-ubyte")),
        Variant("single file", raw["train-images-idx3-ubyte"],
                lambda b: {"data.idx": b}, entry="data.idx"),
        Variant("single gz file (compressed bytes)", gzd["train-images-idx3-ubyte.gz"],
                lambda b: {"images.gz": b}, entry="images.gz"),
    ]

    def load_single_or_folder(path):
        return cd.read_idx(path) if path.is_file() else cd.load(path)

    def specific(path):
        return cd.read_idx(path) if path.is_file() else cd.load_idx_folder(path)

    def check(result, files):
        if isinstance(result, np.ndarray):
            assert result.ndim >= 1 and result.dtype.isnative
        else:
            _check_dataset(result, files)

    return Target("idx", variants, [load_single_or_folder, specific], (cd.DatasetError,), check)


def cifar_folder_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    c10 = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(rng).items()}
    c100 = {f"cifar-100-python/{k}": v for k, v in cifar100_members(rng).items()}
    hostile = [py2_pickle({b"batch_label": b"x", b"labels": g, b"data": _rng_images(rng, 2, (3072,))})
               for g in gadgets(marker)]
    p = "cifar-10-batches-py/"
    variants = [Variant(f"cifar10 {k}", c10[p + k], _replace(c10, p + k))
                for k in ("data_batch_1", "data_batch_4", "test_batch", "batches.meta")]
    variants += [Variant(f"cifar100 {k}", c100["cifar-100-python/" + k], _replace(c100, "cifar-100-python/" + k))
                 for k in ("train", "test", "meta")]
    variants += [Variant(f"hostile pickle {i}", h, _replace(c10, p + "data_batch_2"), must_load=False)
                 for i, h in enumerate(hostile)]
    return Target("cifar-folder", variants, [cd.load, cd.load_cifar], (cd.DatasetError,), _check_dataset)


def cifar_tar_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    c10 = {f"cifar-10-batches-py/{k}": v for k, v in cifar10_members(rng).items()}
    c100 = {f"cifar-100-python/{k}": v for k, v in cifar100_members(rng).items()}
    t10, t100 = tar_bytes(c10), tar_bytes(c100)
    n10, n100 = "cifar-10-python.tar.gz", "cifar-100-python.tar.gz"
    hostile = py2_pickle({b"labels": gadgets(marker)[0], b"data": _rng_images(rng, 2, (3072,))})
    variants = [
        Variant("cifar10 tar.gz (compressed bytes)", gz(t10), lambda b: {n10: b}, n10),
        Variant("cifar10 tar (inner bytes)", t10, lambda b: {n10: gz(b)}, n10),
        Variant("cifar10 member test_batch", c10["cifar-10-batches-py/test_batch"],
                lambda b: {n10: gz(tar_bytes({**c10, "cifar-10-batches-py/test_batch": b}))}, n10),
        Variant("cifar100 tar.gz (compressed bytes)", gz(t100), lambda b: {n100: b}, n100),
        Variant("cifar100 member meta", c100["cifar-100-python/meta"],
                lambda b: {n100: gz(tar_bytes({**c100, "cifar-100-python/meta": b}))}, n100),
        Variant("hostile member", hostile,
                lambda b: {n10: gz(tar_bytes({**c10, "cifar-10-batches-py/data_batch_5": b}))}, n10,
                must_load=False),
    ]
    return Target("cifar-tar", variants, [cd.load, cd.load_cifar], (cd.DatasetError,), _check_dataset)


def npz_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    arrays = {"X_train": _rng_images(rng, 6, (4, 4, 3)), "y_train": np.array([0, 1, 2, 0, 1, 2]),
              "X_test": _rng_images(rng, 3, (4, 4, 3)), "y_test": np.array([0, 1, 2]),
              "class_names": np.array(["cat", "dog", "ship"]), "name": np.array("tiny")}
    members = {k + ".npy": npy_bytes(v) for k, v in arrays.items()}
    flat = {"X.npy": npy_bytes(_rng_images(rng, 10, (48,)).astype(np.float32) / 255),
            "y.npy": npy_bytes(np.array([0, 1] * 5, dtype=np.int32))}
    obj = npy_bytes(np.array([EvilReduce(), 1], dtype=object))
    name = "data.npz"
    variants = [
        Variant("zip bytes", zip_bytes(members), lambda b: {name: b}, name),
        Variant("deflated zip bytes", zip_bytes(members, True), lambda b: {name: b}, name),
        Variant("X_train.npy", members["X_train.npy"],
                lambda b: {name: zip_bytes({**members, "X_train.npy": b})}, name),
        Variant("y_test.npy", members["y_test.npy"],
                lambda b: {name: zip_bytes({**members, "y_test.npy": b})}, name),
        Variant("class_names.npy", members["class_names.npy"],
                lambda b: {name: zip_bytes({**members, "class_names.npy": b})}, name),
        Variant("flat float X.npy", flat["X.npy"], lambda b: {name: zip_bytes({**flat, "X.npy": b})}, name),
        Variant("object array", obj, lambda b: {name: zip_bytes({**members, "X_train.npy": b})}, name,
                must_load=False),
    ]
    return Target("npz", variants, [cd.load, cd.load_npz], (cd.DatasetError,), _check_dataset)


def image_folder_target(marker: Path, seed=0) -> Target:
    import core.datasets as cd
    rng = np.random.default_rng(seed)
    files = {}
    for c in ("cat", "dog"):
        files[f"pets/{c}/0.png"] = image_bytes(_rng_images(rng, 1, (4, 4, 3))[0], "PNG")
        files[f"pets/{c}/1.png"] = image_bytes(_rng_images(rng, 1, (4, 4, 3))[0], "PNG")
        files[f"pets/{c}/2.jpg"] = image_bytes(_rng_images(rng, 1, (8, 8, 3))[0], "JPEG", quality=50)
    files["pets/cat/3.gif"] = image_bytes(_rng_images(rng, 1, (4, 4))[0], "GIF")
    files["pets/dog/3.bmp"] = image_bytes(_rng_images(rng, 1, (4, 4))[0], "BMP")
    files["pets/dog/readme.txt"] = b"not an image"
    variants = [Variant(f"image {k}", files[k], _replace(files, k), entry="pets")
                for k in ("pets/cat/0.png", "pets/dog/2.jpg", "pets/cat/3.gif", "pets/dog/3.bmp")]
    variants.append(Variant("text named .png", b"hello", _replace(files, "pets/dog/1.png"), entry="pets"))
    return Target("image-folder", variants, [cd.load, cd.load_image_folder], (cd.DatasetError,),
                  _check_image_folder)


def model_target(marker: Path, seed=0) -> Target:
    import core.persistence as cp
    from core.linear import LinearClassifier
    from core.preprocess import Preprocessor
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(12, 12)).astype(np.float32)
    y = np.arange(12) % 3
    model = LinearClassifier(loss="softmax", batch_size=4, random_state=0).fit(X, y, epochs=1)
    pre = Preprocessor().fit(_rng_images(rng, 12, (2, 2, 3)))
    buf = io.BytesIO()
    tmp = marker.parent / "seed-model.npz"
    cp.save_model(tmp, model, preprocessor=pre, class_names=["a", "b", "c"], image_shape=(2, 2, 3),
                  dataset_name="tiny", history=model.history_)
    whole = tmp.read_bytes()
    tmp.unlink()
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    del buf
    name = "model.npz"
    variants = [Variant("zip bytes", whole, lambda b: {name: b}, name)]
    for k in sorted(members):
        variants.append(Variant(f"member {k}", members[k],
                                (lambda key: lambda b: {name: zip_bytes({**members, key: b})})(k), name))
    obj = npy_bytes(np.array([EvilReduce(), 1], dtype=object))
    wkey = next((k for k in members if k.startswith("W")), sorted(members)[0])
    variants.append(Variant("object array", obj, lambda b: {name: zip_bytes({**members, wkey: b})}, name,
                            must_load=False))

    def check(result, files):
        assert hasattr(result, "model") and hasattr(result.model, "W_"), f"not a LoadedModel: {result!r}"
        W, b = result.model.W_, result.model.b_
        assert W.ndim == 2 and W.shape[0] == len(result.model.classes_) == b.shape[0]
        assert np.isfinite(W).all() and np.isfinite(b).all(), "loaded a model with inf/NaN weights"
        pre = result.preprocessor
        if pre is not None and getattr(pre, "mean_", None) is not None:
            assert np.isfinite(pre.mean_).all(), "loaded a preprocessor with an inf/NaN mean"

    return Target("model", variants, [cp.load_model], (cp.ModelFileError,), check)


TARGET_BUILDERS = {"idx": idx_target, "cifar-folder": cifar_folder_target, "cifar-tar": cifar_tar_target,
                   "npz": npz_target, "image-folder": image_folder_target, "model": model_target}




# ------------------------------------------------------------------ builders for the regression inputs
def _npz(arrays: dict) -> bytes:
    return zip_bytes({k + ".npy": npy_bytes(v) for k, v in arrays.items()})


def _broken_header(npy: bytes) -> bytes:
    """The same .npy with the closing brace of its header dict blanked (NumPy's parser: TokenError)."""
    return npy.replace(b"}", b" ", 1)


def _model_members(marker: Path) -> dict:
    whole = model_target(marker).variants[0].base
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _edit_meta(members: dict, **changes) -> dict:
    meta = json.loads(str(np.load(io.BytesIO(members["metadata.npy"]), allow_pickle=False)))
    meta.update(changes)
    return {**members, "metadata.npy": npy_bytes(np.array(json.dumps(meta), dtype=np.str_))}


def _edit_array(members: dict, name: str, fn) -> dict:
    arr = np.load(io.BytesIO(members[name]), allow_pickle=False)
    return {**members, name: npy_bytes(fn(arr))}


def _bad_deflate(members: dict, name: str) -> bytes:
    """A deflated zip whose member ``name`` starts with an invalid deflate block (zlib.error on read)."""
    data = bytearray(zip_bytes(members, compress=True))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        offset = zf.getinfo(name).header_offset
    name_len, extra_len = struct.unpack("<HH", data[offset + 26:offset + 30])
    start = offset + 30 + name_len + extra_len
    data[start] = 0xFF                                       # BFINAL=1, BTYPE=11: "invalid block type"
    return bytes(data)


def _needs_zip_version(data: bytes, version: int = 182) -> bytes:
    """The same zip with every central-directory entry asking for "version needed to extract" 18.2
    (zipfile raises NotImplementedError for anything above 6.3)."""
    out = bytearray(data)
    i = out.find(b"PK\x01\x02")
    while i >= 0:
        out[i + 6:i + 8] = struct.pack("<H", version)
        i = out.find(b"PK\x01\x02", i + 4)
    return bytes(out)


def _bad_utf8_name(data: bytes) -> bytes:
    """The same zip whose first central-directory name is flagged UTF-8 but starts with byte 0xF7."""
    out = bytearray(data)
    i = out.find(b"PK\x01\x02")
    flags = struct.unpack("<H", out[i + 8:i + 10])[0] | 0x800
    out[i + 8:i + 10] = struct.pack("<H", flags)
    out[i + 46] = 0xF7
    return bytes(out)


def _set(arr, index, value):
    arr = arr.astype(np.float64)
    arr[index] = value
    return arr



