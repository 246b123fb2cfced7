"""The batch generator against the paper's frozen dataset and a per-sample oracle."""
import numpy as np
import pytest

from mnist1d.data import get_dataset_args, get_templates, make_dataset
from paper_loop import make_dataset_loop

CONFIGS = [
    dict(seed=7, num_samples=1000),
    dict(seed=3, num_samples=995, padding=[0, 0], shuffle_seq=True),
    dict(num_samples=500, padding=[5, 7], template_len=13, max_translation=200, final_seq_length=33),
    dict(num_samples=300, corr_noise_scale=0.0, iid_noise_scale=0.0, scale_coeff=3.0,
         shear_scale=5.0, train_split=0.5, max_translation=1),
    dict(num_samples=200, padding=[0, 100], final_seq_length=64, seed=2**32 - 1),
    dict(num_samples=120, template_len=1, padding=[0, 1], final_seq_length=1),
    dict(num_samples=40_000, seed=11),  # more than one block of the batch pipeline
]


def test_reproduces_frozen_dataset(frozen):
    d = make_dataset()
    for k in ("x", "x_test"):
        assert d[k].shape == frozen[k].shape
        np.testing.assert_allclose(d[k], frozen[k], rtol=0, atol=1e-12)
    for k in ("y", "y_test", "t"):
        np.testing.assert_array_equal(d[k], frozen[k])
    for k in ("x", "t", "y"):
        np.testing.assert_array_equal(d["templates"][k], frozen["templates"][k])


def test_templates_match_frozen(frozen):
    np.testing.assert_array_equal(get_templates()["x"], frozen["templates"]["x"])


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_matches_per_sample_loop(config):
    args = get_dataset_args(as_dict=True) | config
    got, want = make_dataset(args), make_dataset_loop(args, get_templates())
    for k in ("x", "x_test", "t"):
        assert got[k].shape == want[k].shape
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-12)
    for k in ("y", "y_test"):
        np.testing.assert_array_equal(got[k], want[k])


def test_leaves_global_random_state_as_the_paper_does():
    args = get_dataset_args(as_dict=True) | dict(num_samples=100)
    make_dataset(args)
    after_ours = np.random.rand(3)
    make_dataset_loop(args, get_templates())
    np.testing.assert_array_equal(after_ours, np.random.rand(3))


@pytest.mark.parametrize("mode", ["paper", "fast"])
def test_shapes_and_dtypes(mode):
    d = make_dataset({"num_samples": 1234, "final_seq_length": 50}, mode=mode)
    assert d["x"].shape == (984, 50) and d["x_test"].shape == (246, 50)
    assert d["x"].dtype == d["x_test"].dtype == np.float64
    assert d["y"].dtype == d["y_test"].dtype == np.int64
    assert d["t"].shape == (50,)
    all_y = np.concatenate([d["y"], d["y_test"]])
    np.testing.assert_array_equal(np.bincount(all_y), np.full(10, 123))
    all_x = np.concatenate([d["x"], d["x_test"]])
    assert abs(all_x.mean()) < 1e-12 and abs(all_x.std() - 1) < 1e-12


@pytest.mark.parametrize("mode", ["paper", "fast"])
def test_same_seed_same_numbers(mode):
    a, b = make_dataset({"seed": 5}, mode=mode), make_dataset({"seed": 5}, mode=mode)
    c = make_dataset({"seed": 6}, mode=mode)
    np.testing.assert_array_equal(a["x"], b["x"])
    assert not np.allclose(a["x"], c["x"])


def test_args_object_dict_and_paper_style_are_equivalent():
    args = get_dataset_args()
    args.seed, args.num_samples = 9, 200
    as_dict = get_dataset_args(as_dict=True) | {"seed": 9, "num_samples": 200,
                                                 "url": "ignored: nothing is downloaded"}
    np.testing.assert_array_equal(make_dataset(args)["x"], make_dataset(as_dict)["x"])
    np.testing.assert_array_equal(make_dataset(args)["x"], make_dataset({"seed": 9, "num_samples": 200})["x"])


def _class_stats(d):
    """Per class: mean, variance and variance of the squared deviation, per position; count."""
    x = np.concatenate([d["x"], d["x_test"]])
    y = np.concatenate([d["y"], d["y_test"]])
    out = []
    for c in range(10):
        xc = x[y == c]
        dev2 = (xc - xc.mean(0)) ** 2
        out.append((xc.mean(0), dev2.mean(0), dev2.var(0), len(xc)))
    return out


def _max_z(a, b):
    """Largest z-score between two sets of class statistics, over means and variances."""
    z = []
    for (m1, v1, w1, n1), (m2, v2, w2, n2) in zip(a, b):
        z.append(np.abs(m1 - m2) / np.sqrt(v1 / n1 + v2 / n2))
        z.append(np.abs(v1 - v2) / np.sqrt(w1 / n1 + w2 / n2))
    return np.max(z)


def test_fast_mode_has_the_paper_modes_distribution():
    """Per class and position, mean and variance agree within 5 standard errors."""
    paper = _class_stats(make_dataset({"num_samples": 30_000, "seed": 1}))
    fast = _class_stats(make_dataset({"num_samples": 30_000, "seed": 2}, mode="fast"))
    assert _max_z(paper, fast) < 5


def test_distribution_check_can_fail():
    """The same statistics tell apart data made with a different noise level."""
    paper = _class_stats(make_dataset({"num_samples": 30_000, "seed": 1}))
    noisier = _class_stats(make_dataset({"num_samples": 30_000, "seed": 2, "iid_noise_scale": 0.1},
                                        mode="fast"))
    assert _max_z(paper, noisier) > 5


def test_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        make_dataset(mode="turbo")
