"""Gradient checking: centred differences, relative error, no mutation of the input."""
import numpy as np
import pytest

from core.gradcheck import GradientCheck, check_gradient, numerical_gradient, relative_error


def test_numerical_gradient_of_a_cubic():
    x = np.array([[0.5, -1.0, 2.0], [3.0, 0.1, -0.7]])
    g = numerical_gradient(lambda z: float(np.sum(z ** 3)), x)
    assert relative_error(g, 3 * x ** 2) < 1e-9
    assert g.shape == x.shape and g.dtype == np.float64


def test_input_is_never_mutated_and_f_gets_a_copy():
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    before = x.copy()
    seen = []

    def f(z):
        seen.append(z is x)
        assert z.dtype == np.float64
        return float(np.sum(z ** 2))

    numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    assert x.dtype == np.float32
    assert not any(seen)


def test_float64_input_is_untouched_even_while_f_runs():
    x = np.array([0.5, -1.5, 2.0])
    before = x.copy()

    def f(z):
        np.testing.assert_array_equal(x, before)   # the caller's array never holds a perturbed value
        return float(np.sum(np.exp(z)))

    g = numerical_gradient(f, x)
    assert relative_error(g, np.exp(x)) < 1e-8
    np.testing.assert_array_equal(x, before)


def test_relative_error():
    a = np.array([1.0, 2.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(a, a * 1.001) == pytest.approx(relative_error(a * 1.001, a))
    with pytest.raises(ValueError, match="same shape"):
        relative_error(a, np.zeros(3))


def test_check_gradient_passes_and_fails():
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    f = lambda z: float(np.sum(np.sin(z)))  # noqa: E731
    good = check_gradient(f, x, np.cos(x))
    assert isinstance(good, GradientCheck) and good.passed and bool(good)
    assert good.relative_error < 1e-9
    bad = check_gradient(f, x, np.cos(x) + 0.01)
    assert not bad.passed and bad.relative_error > 1e-3
    with pytest.raises(ValueError, match="analytic must have the shape"):
        check_gradient(f, x, np.cos(x).ravel())


def test_check_gradient_on_a_sample_of_entries():
    x = np.random.default_rng(0).normal(size=(20, 30))
    f = lambda z: float(np.sum(z ** 2))  # noqa: E731
    res = check_gradient(f, x, 2 * x, n_samples=15, random_state=3)
    assert res.indices.size == 15 and res.passed
    again = check_gradient(f, x, 2 * x, n_samples=15, random_state=3)
    np.testing.assert_array_equal(res.indices, again.indices)
    wrong = 2 * x
    wrong.reshape(-1)[res.indices[0]] += 1.0
    assert not check_gradient(f, x, wrong, n_samples=15, random_state=3).passed


def test_step_size_matters_only_a_little_for_smooth_f():
    x = np.array([0.3, -0.2])
    g1 = numerical_gradient(lambda z: float(np.exp(z).sum()), x, h=1e-4)
    g2 = numerical_gradient(lambda z: float(np.exp(z).sum()), x, h=1e-6)
    assert relative_error(g1, np.exp(x)) < 1e-7
    assert relative_error(g2, np.exp(x)) < 1e-7
