"""Unit tests of the batch transformations and the step-by-step trace."""
import numpy as np
import pytest

from mnist1d import transform as T
from mnist1d.data import get_dataset_args, trace_sample


def test_interp_rows_is_np_interp_row_by_row():
    rng = np.random.default_rng(0)
    for m, k in [(12, 72), (72, 40), (50, 50), (7, 3), (2, 9)]:
        xp, x_new = np.linspace(0, 1, m), np.linspace(0, 1, k)
        fp = rng.standard_normal((5, m))
        fp[:, -m // 3:] = 0.0  # a zero tail, as padding leaves
        want = np.stack([np.interp(x_new, xp, row) for row in fp])
        np.testing.assert_array_equal(T.interp_rows(xp, fp, x_new), want)


def test_interp_keeps_exact_zeros_where_grids_coincide():
    # 13 points onto 25: every other new point is an old point, so the zero tail stays exactly 0.
    fp = np.concatenate([np.full((1, 6), 1e-8), np.zeros((1, 7))], axis=1)
    out = T.resample(fp, 25)
    assert np.all(out[0, 12:] == 0.0)


@pytest.mark.parametrize("k", [0, 1, 5, 9])
def test_translate_rolls_right(k):
    x = np.arange(20.0).reshape(2, 10)
    np.testing.assert_array_equal(T.translate_rows(x, np.array([k, k])), np.roll(x, k, axis=1))


def test_translate_by_length_or_more_is_identity_as_in_the_paper():
    x = np.arange(20.0).reshape(2, 10)
    np.testing.assert_array_equal(T.translate_rows(x, np.array([10, 23])), x)


def test_translate_with_shared_rows():
    table = np.arange(20.0).reshape(2, 10)
    out = T.translate_rows(table, np.array([1, 2, 3]), rows=np.array([1, 1, 0]))
    np.testing.assert_array_equal(out, [np.roll(table[1], 1), np.roll(table[1], 2), np.roll(table[0], 3)])


def test_pad_and_stretch_squeezes_the_digit():
    x = np.ones((2, 12))
    out = T.pad_and_stretch(x, np.array([0, 60]), 72)
    assert np.all(out[0] != 0)  # no padding: the digit fills the signal
    assert np.sum(out[1] != 0) == 12  # 60 zeros appended: the digit fills 12 of 72 points


def test_fill_zeros_and_shear():
    x = np.array([[0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(T.fill_zeros(x, np.array([[5.0, 6.0, 7.0]])), [[5.0, 1.0, 7.0]])
    np.testing.assert_allclose(T.shear_rows(np.zeros((1, 3)), np.array([1.0]), 2.0), [[0.5, 0.0, -0.5]])


def test_trace_sample_steps():
    steps = trace_sample(4, seed=1)
    assert list(steps) == ["padded and stretched", "translated", "scaled", "correlated noise",
                           "iid noise", "sheared", "resampled"]
    assert steps["translated"].shape == (72,) and steps["resampled"].shape == (40,)
    np.testing.assert_array_equal(np.sort(steps["translated"]), np.sort(steps["padded and stretched"]))
    args = get_dataset_args(as_dict=True) | {"final_seq_length": 25}
    assert trace_sample(4, args)["resampled"].shape == (25,)
    with pytest.raises(ValueError, match="label"):
        trace_sample(10)
