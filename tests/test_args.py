"""Every invalid argument is refused with a ValueError naming the parameter and its range."""
import math

import pytest

from mnist1d.data import get_dataset, get_dataset_args, make_dataset, validate_args

BAD = [
    ("num_samples", 0, "integer >= 10"), ("num_samples", -5, "integer >= 10"),
    ("num_samples", 9, "integer >= 10"), ("num_samples", 100.0, "integer >= 10"),
    ("template_len", 0, "integer >= 1"), ("final_seq_length", 0, "integer >= 1"),
    ("final_seq_length", -3, "integer >= 1"), ("max_translation", 0, "integer >= 1"),
    ("padding", [10, 5], "0 <= low <= high"), ("padding", [-1, 5], "0 <= low <= high"),
    ("padding", [1, 2, 3], "two integers"), ("padding", 7, "two integers"),
    ("train_split", 0, "> 0 and < 1"), ("train_split", 1, "> 0 and < 1"),
    ("train_split", 1.5, "> 0 and < 1"), ("train_split", -0.1, "> 0 and < 1"),
    ("scale_coeff", -0.1, ">= 0"), ("corr_noise_scale", math.inf, "finite"),
    ("iid_noise_scale", math.nan, "finite"), ("shear_scale", -1, ">= 0"),
    ("seed", -1, "[0, 4294967295]"), ("seed", 2**32, "[0, 4294967295]"), ("seed", 1.5, "integer"),
    ("shuffle_seq", "yes", "True or False"),
]


@pytest.mark.parametrize("name,value,allowed", BAD, ids=lambda v: repr(v))
def test_bad_value(name, value, allowed):
    for call in (validate_args, make_dataset, get_dataset):
        with pytest.raises(ValueError) as err:
            call({name: value})
        assert name in str(err.value) and allowed in str(err.value)


def test_unknown_key():
    with pytest.raises(ValueError, match="unknown dataset argument.*'seeed'"):
        make_dataset({"seeed": 1})


def test_split_that_empties_a_set():
    with pytest.raises(ValueError, match="train_split"):
        make_dataset({"num_samples": 10, "train_split": 0.05})


def test_wrong_type_of_args():
    with pytest.raises(ValueError, match="args must be"):
        make_dataset([1, 2, 3])


def test_defaults_are_the_papers():
    d = get_dataset_args(as_dict=True)
    assert d == {"num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60],
                 "scale_coeff": 0.4, "max_translation": 48, "corr_noise_scale": 0.25,
                 "iid_noise_scale": 0.02, "shear_scale": 0.75, "shuffle_seq": False,
                 "final_seq_length": 40, "seed": 42,
                 "url": "https://github.com/greydanus/mnist1d/raw/master/mnist1d_data.pkl"}
    args = get_dataset_args()
    args.seed = 3
    assert args.seed == 3 and get_dataset_args().seed == 42
