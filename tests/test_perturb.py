"""core.perturb: shifted / brightened / tinted / occluded versions and their pixel distances."""
from __future__ import annotations

import numpy as np
import pytest

from core import perturb


@pytest.fixture
def rgb():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(8, 10, 3), dtype=np.uint8)


def test_shift_right_by_one_repeats_the_edge(rgb):
    out = perturb.shift(rgb, 1)
    assert out.dtype == np.uint8 and out.shape == rgb.shape
    np.testing.assert_array_equal(out[:, 1:], rgb[:, :-1])
    np.testing.assert_array_equal(out[:, 0], rgb[:, 0])


def test_shift_left_and_down_with_zero_fill(rgb):
    out = perturb.shift(rgb, -2, 3, fill="zero")
    np.testing.assert_array_equal(out[3:, :-2], rgb[:-3, 2:])
    assert not out[:3].any() and not out[:, -2:].any()


def test_shift_wrap_is_a_roll(rgb):
    np.testing.assert_array_equal(perturb.shift(rgb, 3, -1, fill="wrap"), np.roll(rgb, (-1, 3), axis=(0, 1)))


def test_shift_rejects_bad_input(rgb):
    with pytest.raises(ValueError, match="fill must be one of"):
        perturb.shift(rgb, 1, fill="mirror")
    with pytest.raises(ValueError, match="smaller than the image"):
        perturb.shift(rgb, 10)
    with pytest.raises(TypeError, match="dx must be an integer"):
        perturb.shift(rgb, 1.5)
    with pytest.raises(TypeError, match="uint8"):
        perturb.shift(rgb.astype(np.float32), 1)


def test_grey_2d_image_comes_back_hwc():
    g = np.arange(16, dtype=np.uint8).reshape(4, 4)
    out = perturb.brighten(g, 10)
    assert out.shape == (4, 4, 1)
    np.testing.assert_array_equal(out[:, :, 0], g + 10)


def test_brighten_clips_and_rounds():
    img = np.array([[[0, 100, 250]]], dtype=np.uint8)
    np.testing.assert_array_equal(perturb.brighten(img, 10.4), [[[10, 110, 255]]])
    np.testing.assert_array_equal(perturb.brighten(img, -50), [[[0, 50, 200]]])
    with pytest.raises(ValueError, match="amount must be"):
        perturb.brighten(img, 300)


def test_tint_blends_towards_the_colour():
    img = np.zeros((2, 2, 3), dtype=np.uint8)
    out = perturb.tint(img, (200, 100, 0), 0.5)
    np.testing.assert_array_equal(out[0, 0], [100, 50, 0])
    np.testing.assert_array_equal(perturb.tint(img, (200, 100, 0), 0.0), img)
    with pytest.raises(ValueError, match="strength must be"):
        perturb.tint(img, (1, 2, 3), 1.5)
    with pytest.raises(ValueError, match="color must be"):
        perturb.tint(img, (1, 2, 300), 0.5)


def test_tint_on_grey_uses_luminance():
    g = np.zeros((2, 2, 1), dtype=np.uint8)
    out = perturb.tint(g, (255, 255, 255), 1.0)
    assert out.shape == (2, 2, 1) and np.all(out == 255)


def test_occlude_covers_a_centred_square(rgb):
    out = perturb.occlude(rgb, 4, color=(1, 2, 3))
    assert np.all(out[2:6, 3:7] == [1, 2, 3])
    outside = np.ones(rgb.shape[:2], bool)
    outside[2:6, 3:7] = False
    np.testing.assert_array_equal(out[outside], rgb[outside])
    np.testing.assert_array_equal(out[:2], rgb[:2])
    np.testing.assert_array_equal(perturb.occlude(rgb, 0), rgb)
    with pytest.raises(ValueError, match="size must be between 0 and 8"):
        perturb.occlude(rgb, 9)


def test_occlude_corner_is_clipped_inside(rgb):
    out = perturb.occlude(rgb, 3, center=(0, 0), color=0)
    assert not out[:3, :3].any()
    np.testing.assert_array_equal(out[3:], rgb[3:])


def test_image_distance_matches_the_formulas(rgb):
    other = perturb.brighten(rgb, 7)
    d = rgb.astype(np.float64) - other.astype(np.float64)
    assert perturb.image_distance(rgb, other, "l1") == pytest.approx(np.abs(d).sum())
    assert perturb.image_distance(rgb, other, "l2") == pytest.approx(np.sqrt((d ** 2).sum()))
    with pytest.raises(ValueError, match="metric must be one of"):
        perturb.image_distance(rgb, other, "cosine")
    with pytest.raises(ValueError, match="same shape"):
        perturb.image_distance(rgb, rgb[:4], "l2")


def test_lecture_l1_example():
    # the slide's 4x4 test and training images: L1 distance 456
    test = np.array([[56, 32, 10, 18], [90, 23, 128, 133], [24, 26, 178, 200], [2, 0, 255, 220]], np.uint8)
    train = np.array([[10, 20, 24, 17], [8, 10, 89, 100], [12, 16, 178, 170], [4, 32, 233, 112]], np.uint8)
    assert perturb.image_distance(test, train, "l1") == 456


def test_version_distances(rgb):
    versions = perturb.make_versions(rgb, shift_px=1, brightness=20, tint_strength=0.2, occlusion_size=4)
    assert [v.name for v in versions] == ["shifted", "brightness", "tinted", "occluded"]
    l1, l2 = perturb.version_distances(rgb, [v.image for v in versions])
    assert l1.shape == l2.shape == (4,)
    assert np.all(l1 > 0) and np.all(l2 > 0) and np.all(l1 >= l2)


def test_make_versions_skips_tint_for_grey():
    g = np.full((6, 6, 1), 60, np.uint8)
    names = [v.name for v in perturb.make_versions(g)]
    assert names == ["shifted", "brightness", "occluded"]


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_equal_distance_versions_all_match_the_shift(metric):
    rng = np.random.default_rng(3)
    # a smooth-ish colour picture (like a photo) so that a 1-px shift is a modest change
    base = rng.integers(0, 256, size=(4, 4, 3)).astype(np.float64)
    img = np.clip(np.kron(base, np.ones((8, 8, 1))) + rng.normal(0, 6, (32, 32, 3)), 0, 255).astype(np.uint8)
    versions = perturb.equal_distance_versions(img, shift_px=1, metric=metric)
    assert [v.name for v in versions] == ["shifted", "brightness", "tinted", "occluded"]
    target = versions[0].distance
    assert target == pytest.approx(perturb.image_distance(img, versions[0].image, metric))
    for v in versions[1:]:
        actual = perturb.image_distance(img, v.image, metric)
        assert actual == pytest.approx(v.distance)
        assert actual == pytest.approx(target, rel=0.02), v.name
        assert not np.array_equal(v.image, versions[0].image)


def test_equal_distance_on_a_digit():
    img = np.zeros((28, 28, 1), np.uint8)
    img[6:22, 12:16] = 255          # a "1"
    versions = perturb.equal_distance_versions(img, shift_px=2)
    target = versions[0].distance
    assert target == pytest.approx(np.sqrt(2 * 16 * 2 * 255.0 ** 2))
    for v in versions[1:]:
        assert v.distance == pytest.approx(target, rel=0.02), v.name


def test_equal_distance_unreachable_stops_at_strongest():
    blank = np.zeros((8, 8, 3), np.uint8)          # shifting a blank image changes nothing: target 0
    versions = perturb.equal_distance_versions(blank, shift_px=1)
    assert versions[0].distance == 0
    assert all(v.distance == pytest.approx(0, abs=1) for v in versions)
