"""Model files: exact round trip, atomic writes, no pickle, clear errors, compatibility checks."""
import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from core.linear import LinearClassifier
from core.persistence import FORMAT_NAME, LoadedModel, ModelFileError, check_compatible, load_model, save_model
from core.preprocess import Preprocessor
from core.validation import NotFittedError

NAMES = ["cat", "car", "frog"]


def _trained(tmp_path=None):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(90, 4, 4, 3), dtype=np.uint8)
    y = np.repeat(np.arange(3), 30)
    imgs[y == 1, :2] = 255
    pre = Preprocessor().fit(imgs)
    X = pre.transform(imgs)
    m = LinearClassifier(loss="hinge", learning_rate=0.01, reg=0.1, batch_size=30, random_state=4).fit(X, y, epochs=3,
                                                                                       X_val=X, y_val=y)
    return m, pre, imgs, X, y


def test_round_trip_gives_identical_predictions(tmp_path):
    m, pre, imgs, X, y = _trained()
    path = tmp_path / "model.npz"
    save_model(path, m, preprocessor=pre, class_names=NAMES, dataset_name="toy")
    got = load_model(path)
    assert isinstance(got, LoadedModel)
    np.testing.assert_array_equal(got.model.W_, m.W_)
    np.testing.assert_array_equal(got.model.b_, m.b_)
    np.testing.assert_array_equal(got.model.classes_, m.classes_)
    Xl = got.preprocessor.transform(imgs)
    np.testing.assert_array_equal(Xl, X)
    np.testing.assert_array_equal(got.model.predict(Xl), m.predict(X))
    np.testing.assert_array_equal(got.model.decision_function(Xl), m.decision_function(X))
    assert got.model.get_params() == m.get_params()
    assert got.class_names == NAMES and got.image_shape == (4, 4, 3) and got.dataset_name == "toy"
    assert got.history == m.history_ and got.history[-1].val_accuracy is not None
    assert got.history[0].train_accuracy is None
    assert got.model.n_iter_ == m.n_iter_ and got.path == str(path)


def test_file_holds_no_pickles(tmp_path):
    m, pre, *_ = _trained()
    path = tmp_path / "m.npz"
    save_model(path, m, preprocessor=pre)
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == {"W", "b", "classes", "history", "mean", "metadata"}
        assert all(z[k].dtype != object for k in z.files)
        meta = json.loads(str(z["metadata"]))
    assert meta["format"] == FORMAT_NAME and meta["params"]["loss"] == "hinge"


def test_minimal_model_without_extras(tmp_path):
    m = LinearClassifier(random_state=np.random.default_rng(1)).fit(np.eye(4), [0, 1, 0, 1], epochs=1)
    m.history_ = []
    save_model(tmp_path / "plain.npz", m)
    got = load_model(tmp_path / "plain.npz")
    assert got.preprocessor is None and got.class_names is None and got.image_shape is None
    assert got.history == [] and got.model.random_state is None      # a Generator cannot be stored
    np.testing.assert_array_equal(got.model.predict(np.eye(4)), m.predict(np.eye(4)))


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, monkeypatch):
    m, pre, *_ = _trained()
    path = tmp_path / "model.npz"
    save_model(path, m)
    save_model(path, m, preprocessor=pre)          # overwrite in place
    assert os.listdir(tmp_path) == ["model.npz"]
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        save_model(path, m)
    assert os.listdir(tmp_path) == ["model.npz"]   # no temp file left behind
    assert path.read_bytes() == before             # the old file is intact


def test_save_validates(tmp_path):
    m, pre, *_ = _trained()
    with pytest.raises(NotFittedError):
        save_model(tmp_path / "x.npz", LinearClassifier())
    with pytest.raises(ValueError, match="class_names has 2 names but the model has 3"):
        save_model(tmp_path / "x.npz", m, class_names=["a", "b"])
    with pytest.raises(ValueError, match="image_shape"):
        save_model(tmp_path / "x.npz", m, image_shape=(5, 5, 3))
    assert not list(tmp_path.iterdir())


def test_bad_files_raise_model_file_error_naming_the_file(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file at all")
    with pytest.raises(ModelFileError, match="junk.npz"):
        load_model(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    with pytest.raises(ModelFileError, match="foreign.npz.*not a Linear Classifier Lab model"):
        load_model(foreign)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, metadata=np.array([{"format": FORMAT_NAME}], dtype=object), W=np.zeros((2, 2)))
    with pytest.raises(ModelFileError, match="pickled.npz"):
        load_model(pickled)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")
    assert issubclass(ModelFileError, ValueError)


def _rewrite(path, out, **changes):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["metadata"]))
    for k, v in changes.pop("meta", {}).items():
        meta[k] = v
    arrays["metadata"] = np.array(json.dumps(meta))
    for k, v in changes.items():
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize("changes, match", [
    ({"meta": {"version": 99}}, "version 99 is newer"),
    ({"meta": {"format": "someone-else"}}, "unknown format"),
    ({"W": None}, "'W' is missing"),
    ({"b": np.zeros(5, dtype=np.float32)}, "inconsistent shapes"),
    ({"W": np.full((3, 48), np.nan, dtype=np.float32)}, "NaN"),
    ({"mean": np.zeros(7, dtype=np.float32)}, "mean image has 7 values"),
    ({"meta": {"params": {"learning_rate": -1}}}, "invalid hyperparameters"),
    ({"meta": {"class_names": ["a"]}}, "class_names must list 3"),
    ({"history": np.zeros((2, 3))}, "history must have 9 columns"),
])
def test_corrupted_model_files(tmp_path, changes, match):
    m, pre, *_ = _trained()
    good = tmp_path / "good.npz"
    save_model(good, m, preprocessor=pre, class_names=NAMES)
    bad = _rewrite(good, tmp_path / "bad.npz", **changes)
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(bad)
    assert "bad.npz" in str(info.value)


def test_check_compatible(tmp_path):
    m, pre, *_ = _trained()
    path = tmp_path / "m.npz"
    save_model(path, m, preprocessor=pre, class_names=NAMES)
    got = load_model(path)
    same = SimpleNamespace(name="toy", image_shape=(4, 4, 3), n_features=48, class_names=list(NAMES))
    check_compatible(got, same)
    check_compatible(got, np.zeros((2, 48)))
    mnist = SimpleNamespace(name="MNIST", image_shape=(28, 28, 1), n_features=784, class_names=list("0123456789"))
    with pytest.raises(ModelFileError, match=r"m.npz expects 4x4x3 images \(48 features\) but MNIST has 28x28x1"):
        check_compatible(got, mnist)
    other = SimpleNamespace(name="pets", image_shape=(4, 4, 3), n_features=48, class_names=["cat", "dog", "frog"])
    with pytest.raises(ModelFileError, match="classes cat, car, frog but pets has classes cat, dog, frog"):
        check_compatible(got, other)
    transposed = SimpleNamespace(name="odd", image_shape=(4, 12, 1), n_features=48, class_names=None)
    with pytest.raises(ModelFileError, match="expects 4x4x3 images but odd has 4x12x1"):
        check_compatible(got, transposed)
    with pytest.raises(ModelFileError, match="48 features but the data has shape"):
        check_compatible(got, np.zeros((2, 10)))


# ------------------------------------------------------------------ damaged and hostile files (fuzzing finds)
def _members(path):
    import zipfile
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _zip(out, members):
    import zipfile
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out


def _npy(arr):
    import io
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=True)
    return buf.getvalue()


def _npy_claiming(shape, descr="<f4", payload=b"\0" * 16):
    header = repr({"descr": descr, "fortran_order": False, "shape": tuple(shape)}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload


@pytest.fixture
def good(tmp_path):
    m, pre, *_ = _trained()
    path = tmp_path / "good.npz"
    save_model(path, m, preprocessor=pre, class_names=NAMES, dataset_name="toy")
    return path


def _history_with(good, index, value):
    with np.load(good) as z:
        h = z["history"].astype(np.complex128 if isinstance(value, complex) else np.float64)
    h[index] = value
    return h


@pytest.mark.parametrize("member, data, match", [
    ("W.npy", lambda m: m["W.npy"].replace(b"}", b" ", 1), "not a readable model file"),     # tokenize.TokenError
    ("W.npy", lambda m: b"not an array", "not a readable model file"),                     # np.load gave bytes
    ("W.npy", lambda m: _npy_claiming((2 ** 17, 2 ** 16)), r"claims shape \(131072, 65536\)"),  # 32 GiB header
    ("W.npy", lambda m: _npy_claiming((3, 48), payload=b"\0" * 100), "holds 100 bytes"),
    ("W.npy", lambda m: _npy(np.array([object(), 1], dtype=object)), "Python objects"),
    ("W.npy", lambda m: _npy(np.zeros((3, 48), np.complex64)), "dtype complex64"),
    ("W.npy", lambda m: _npy(np.zeros(48, np.float32)), "expected 2 dimensions"),
    ("classes.npy", lambda m: _npy(np.array([0, 2, 2])), "distinct and increasing"),
    ("classes.npy", lambda m: _npy(np.array([0, 1, 2 ** 64 - 1], np.uint64)), "do not fit in int64"),
    ("metadata.npy", lambda m: _npy(np.array(b"{}")), "dtype |S2"),
    ("metadata.npy", lambda m: _npy(np.array("[" * 100_000)), "not valid JSON"),
])
def test_damaged_members_raise_model_file_error(tmp_path, good, member, data, match):
    bad = _zip(tmp_path / "bad.npz", {**_members(good), member: data(_members(good))})
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(bad)
    assert str(info.value).startswith(str(bad))


@pytest.mark.parametrize("meta, match", [
    ({"params": True}, "metadata 'params' must be an object"),
    ({"params": {"learning_rate": "fast"}}, "invalid hyperparameters .learning_rate has the wrong type"),
    ({"params": {"reg": 10 ** 400}}, "invalid hyperparameters"),                      # float() overflows
    ({"params": {"random_state": -1}}, "invalid hyperparameters"),
    ({"n_iter": {"a": 1}}, "metadata 'n_iter' must be an integer >= 0"),
    ({"n_iter": -3}, "metadata 'n_iter'"),
    ({"image_shape": ["", 4, 3]}, "metadata 'image_shape' must be three positive integers"),
    ({"image_shape": [4, 4, True]}, "metadata 'image_shape'"),
    ({"image_shape": [4, 4, 4]}, r"image_shape \(4, 4, 4\) does not match the 48 features"),
    ({"class_names": [1, 2, 3]}, "metadata 'class_names' must be a list of strings"),
    ({"preprocessor": {"scale": "yes"}}, "metadata 'preprocessor'"),
    ({"preprocessor": True}, "metadata 'preprocessor'"),
    ({"dataset_name": 7}, "metadata 'dataset_name'"),
    ({"history_columns": ["epoch"]}, "metadata 'history_columns'"),
    ({"n_features": 47}, "the metadata says 3 classes x 47 features but W is 3 x 48"),
    ({"version": "1"}, "not a version number"),
    ({"version": 10 ** 4000}, r"version 1000000\d+\.\.\. is newer"),                 # quoted, cut short
    ({"version": 0}, "not a version number"),
])
def test_metadata_of_the_wrong_type_or_range_is_refused(tmp_path, good, meta, match):
    bad = _rewrite(good, tmp_path / "bad.npz", meta=meta)
    with pytest.raises(ModelFileError, match=match) as info:
        load_model(bad)
    assert str(info.value).startswith(str(bad)) and len(str(info.value)) < len(str(bad)) + 200


@pytest.mark.parametrize("index, value", [((0, 0), np.nan), ((0, 1), np.inf), ((0, 0), 1.5), ((0, 0), -1),
                                          ((0, 0), 1 + 2j), ((0, 2), np.nan), ((0, 5), 2.0), ((-1, 7), -0.5),
                                          ((0, 8), 0.5)])
def test_damaged_history_is_refused(tmp_path, good, index, value):
    bad = _rewrite(good, tmp_path / "bad.npz", history=_history_with(good, index, value))
    with pytest.raises(ModelFileError, match="bad.npz"):
        load_model(bad)


@pytest.mark.parametrize("name, shape", [("W", (3, 48)), ("b", (3,)), ("mean", (48,))])
@pytest.mark.parametrize("value", [np.nan, np.inf, 1e300])
def test_non_finite_or_beyond_float32_arrays_are_refused(tmp_path, good, name, shape, value):
    """1e300 is finite as float64 but inf once cast to the float32 the model uses: checked after the cast."""
    arr = np.zeros(shape)
    arr.flat[0] = value
    bad = _rewrite(good, tmp_path / "bad.npz", **{name: arr})
    with pytest.raises(ModelFileError, match="NaN or infinite") as info:
        load_model(bad)
    assert "bad.npz" in str(info.value)


def test_huge_header_is_refused_before_allocating(tmp_path, good):
    import tracemalloc
    bad = _zip(tmp_path / "bad.npz", {**_members(good), "W.npy": _npy_claiming((2 ** 17, 2 ** 16))})
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="bad.npz"):
            load_model(bad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20


def test_other_npy_layouts_still_load(tmp_path, good):
    """Big-endian, Fortran-ordered and float64 arrays (a hand-made file) load with the same values."""
    with np.load(good) as z:
        W, b = z["W"], z["b"]
    odd = _rewrite(good, tmp_path / "odd.npz", W=np.asfortranarray(W.astype(">f8")), b=b.astype(">f4"),
                   classes=np.arange(3, dtype=np.uint8))
    got = load_model(odd)
    np.testing.assert_array_equal(got.model.W_, W)
    np.testing.assert_array_equal(got.model.b_, b)
    assert got.model.W_.dtype == np.float32 and got.model.W_.flags.c_contiguous and got.model.W_.flags.writeable
    assert got.model.classes_.dtype == np.int64


def test_programming_errors_are_not_disguised_as_file_errors(good, monkeypatch):
    """Only the listed parse errors become ModelFileError; a bug in the loader itself stays visible."""
    def broken(d):
        raise KeyError("bug")

    monkeypatch.setattr(Preprocessor, "from_dict", staticmethod(broken))
    with pytest.raises(KeyError, match="bug"):
        load_model(good)
