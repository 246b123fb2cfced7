"""mnist1d.data.MNIST1D: the dataset as torch users expect it."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from mnist1d.data import MNIST1D, make_dataset


def test_splits_match_the_generator_and_load_in_batches():
    d = make_dataset()
    train, test = MNIST1D(train=True), MNIST1D(train=False)
    assert isinstance(train, Dataset) and len(train) == 4000 and len(test) == 1000
    x, y = train[3]
    assert x.dtype == torch.float32 and x.shape == (40,) and y.dtype == torch.int64
    np.testing.assert_allclose(train.data.numpy(), d["x"], atol=1e-6)
    np.testing.assert_array_equal(test.targets.numpy(), d["y_test"])
    batches = list(DataLoader(train, batch_size=1000, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [b[0].shape for b in batches] == [(1000, 40)] * 4
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == sorted(d["y"].tolist())


def test_args_and_transforms():
    ds = MNIST1D(args={"num_samples": 200, "final_seq_length": 30}, transform=lambda x: x.unsqueeze(0),
                 target_transform=lambda y: y + 100)
    x, y = ds[0]
    assert len(ds) == 160 and x.shape == (1, 30) and 100 <= int(y) < 110
    assert "MNIST1D(train, 160 examples of length 30)" == repr(ds)


@pytest.mark.parametrize("kwargs, name", [({"train": "yes"}, "train"), ({"transform": 3}, "transform"),
                                          ({"target_transform": "f"}, "target_transform"),
                                          ({"args": {"num_samples": -1}}, "num_samples")])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        MNIST1D(**kwargs)


def test_importing_the_data_module_does_not_import_torch():
    code = "import sys, mnist1d.data; assert 'torch' not in sys.modules; mnist1d.data.MNIST1D; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
