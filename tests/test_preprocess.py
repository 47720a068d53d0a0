"""Preprocessing: flattening order, scaling, mean subtraction, the bias trick, weight templates."""
import numpy as np
import pytest

from core.preprocess import (Preprocessor, add_bias_column, mean_image, template_images, template_images_shared,
                             to_features)
from core.validation import NotFittedError


def _images(n=6, h=4, w=5, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, c), dtype=np.uint8)


def test_to_features_is_row_major_float32():
    imgs = _images()
    X = to_features(imgs)
    assert X.shape == (6, 60) and X.dtype == np.float32
    h, w, c = 2, 3, 1
    assert X[1, (h * 5 + w) * 3 + c] == imgs[1, h, w, c]
    assert to_features(imgs[..., 0]).shape == (6, 20)
    assert not np.shares_memory(to_features(X), X)
    with pytest.raises(ValueError, match="images must be"):
        to_features(np.zeros((2, 2, 2, 2, 2)))


def test_mean_image():
    imgs = _images()
    m = mean_image(imgs)
    assert m.shape == (4, 5, 3) and m.dtype == np.float32
    np.testing.assert_allclose(m, imgs.astype(np.float64).mean(axis=0), rtol=1e-6)
    assert mean_image(imgs[..., 0]).shape == (4, 5, 1)


@pytest.mark.parametrize("scale", [True, False])
@pytest.mark.parametrize("subtract", [True, False])
def test_preprocessor_options(scale, subtract):
    train, test = _images(seed=1), _images(n=3, seed=2)
    p = Preprocessor(scale=scale, subtract_mean=subtract).fit(train)
    A, B = p.transform(train), p.transform(test)
    assert A.dtype == np.float32 and A.shape == (6, 60) and B.shape == (3, 60)
    ref_train = train.reshape(6, -1).astype(np.float64) / (255.0 if scale else 1.0)
    ref_test = test.reshape(3, -1).astype(np.float64) / (255.0 if scale else 1.0)
    mean = ref_train.mean(axis=0)
    if subtract:
        ref_train, ref_test = ref_train - mean, ref_test - mean   # the *training* mean for the test set too
    np.testing.assert_allclose(A, ref_train, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(B, ref_test, rtol=1e-5, atol=1e-4)
    if subtract:
        np.testing.assert_allclose(A.mean(axis=0), 0, atol=1e-4)
    if scale and not subtract:
        assert A.min() >= 0 and A.max() <= 1


def test_preprocessor_state_round_trips_and_validates():
    train = _images(seed=3)
    p = Preprocessor().fit(train)
    d = p.to_dict()
    assert d["scale"] and d["subtract_mean"] and d["image_shape"] == (4, 5, 3) and d["mean"].shape == (60,)
    q = Preprocessor.from_dict(d)
    np.testing.assert_array_equal(q.transform(train), p.transform(train))
    assert q.image_shape_ == (4, 5, 3)
    with pytest.raises(NotFittedError, match="fit"):
        Preprocessor().transform(train)
    assert Preprocessor(subtract_mean=False).transform(train).max() <= 1.0
    with pytest.raises(ValueError, match="60"):
        p.transform(_images(h=3))
    assert repr(p) == "Preprocessor(scale=True, subtract_mean=True)"


def test_bias_trick_gives_the_same_scores():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 5)).astype(np.float32)
    W = rng.normal(size=(3, 5)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    X1 = add_bias_column(X)
    assert X1.shape == (7, 6) and X1.dtype == np.float32 and np.all(X1[:, -1] == 1)
    W1 = np.hstack([W, b[:, None]])
    np.testing.assert_allclose(X1 @ W1.T, X @ W.T + b, rtol=1e-5, atol=1e-5)
    assert add_bias_column(X.astype(np.float64)).dtype == np.float64
    assert add_bias_column(np.zeros((2, 3), dtype=np.uint8)).dtype == np.float32


def test_templates_per_row_and_shared():
    W = np.array([np.linspace(-1, 1, 12), np.linspace(0, 0.5, 12), np.zeros(12)])
    t = template_images(W, (2, 2, 3))
    assert t.shape == (3, 2, 2, 3) and t.dtype == np.uint8
    assert t[0].min() == 0 and t[0].max() == 255
    assert t[1].min() == 0 and t[1].max() == 255          # each row stretched on its own
    assert np.all(t[2] == 128)                             # constant row -> mid-grey
    flat = t[0].reshape(-1).astype(float)
    np.testing.assert_allclose(flat, np.rint((W[0] + 1) / 2 * 255))
    s = template_images_shared(W, (2, 2, 3))
    assert s[0].min() == 0 and s[0].max() == 255
    assert s[1].max() == np.rint(1.5 / 2 * 255)           # the smaller row stays darker
    assert np.all(s[2] == np.rint(0.5 * 255))
    assert template_images(W, (2, 6)).shape == (3, 2, 6, 1)
    assert np.all(template_images_shared(np.ones((2, 4)), (2, 2)) == 128)
    with pytest.raises(ValueError, match="12 columns"):
        template_images(W, (3, 3, 3))
