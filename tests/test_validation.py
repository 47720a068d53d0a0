"""core.validation.check_array's finiteness check: a NaN or an infinity anywhere is refused with its count,
huge finite values are not (their sum overflows, which proves nothing), and views are checked as seen."""
import numpy as np
import pytest

from core.validation import check_array


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("where", [0, 1234, -1])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_one_non_finite_value_anywhere_is_refused_with_its_count(dtype, where, bad):
    X = np.random.default_rng(0).standard_normal((50, 40)).astype(dtype)
    X.flat[where] = bad
    with pytest.raises(ValueError, match=r"X contains 1 NaN or infinite value\(s\)"):
        check_array(X)


def test_plus_and_minus_infinity_together_are_counted():
    X = np.ones((10, 10), np.float32)
    X[2, 3], X[7, 1], X[9, 9] = np.inf, -np.inf, np.nan
    with pytest.raises(ValueError, match=r"features contains 3 NaN"):
        check_array(X, "features")


@pytest.mark.parametrize("dtype, big", [(np.float32, 3e38), (np.float64, 1.7e308), (np.float16, 6e4)])
def test_huge_finite_values_whose_sum_overflows_are_accepted(dtype, big):
    X = np.full((4, 5), big, dtype=dtype)
    X[1] = -big                                            # + and - overflow: the sum is NaN, the data is fine
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(X.sum())                    # (the fast proof fails here ...)
    assert check_array(X) is X                             # (... and every value is looked at instead)


def test_huge_values_do_not_hide_a_nan():
    X = np.full((4, 5), 3e38, dtype=np.float32)
    X[3, 4] = np.nan
    with pytest.raises(ValueError, match="contains 1 NaN"):
        check_array(X)


def test_a_view_is_checked_as_seen():
    X = np.ones((6, 8), np.float32)
    X[:, 1] = np.nan                                       # a column the view skips
    assert check_array(X[:, ::2]).shape == (6, 4)
    with pytest.raises(ValueError, match="contains 6 NaN"):
        check_array(X[:, 1::2])


def test_integers_are_not_scanned_and_kept():
    X = np.full((3, 3), 255, np.uint8)
    assert check_array(X) is X
