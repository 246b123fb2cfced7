"""Chapter 3's experiment: datasets per training-set size, repeated training sets, one stack for all sizes."""
import numpy as np
import pytest

from mnist1d.data import get_dataset_args, make_dataset
from mnist1d.experiments import data_efficiency as de
from mnist1d.models import build
from mnist1d.train import TrainConfig, train


@pytest.fixture(scope="module")
def sized():
    return de.make_sized_datasets((200, 300), mode="fast")


def test_sizes_and_test_sets(sized):
    for n, d in sized.items():
        assert d["x"].shape == (n, 40) and d["x_test"].shape == (de.N_TEST, 40)
    # Each size is the generator's own dataset of n + 1000 samples, split the paper's way.
    args = get_dataset_args()
    args.num_samples, args.train_split = 1300, 300 / 1300
    np.testing.assert_array_equal(sized[300]["x_test"], make_dataset(args, mode="fast")["x_test"])


def test_repeated_training_sets_give_the_same_batches(sized):
    data, columns = de.stack_sizes(sized, seeds=(0, 1))
    assert columns == [(200, 0), (200, 1), (300, 0), (300, 1)]
    assert data["x"].shape == (4, 600, 40) and data["x_test"].shape == (4, de.N_TEST, 40)
    for j, (n, _) in enumerate(columns):
        for step in range(12):  # batch `step` of the loop, read from both arrays
            rows = np.arange(step * 100, step * 100 + 100)
            np.testing.assert_array_equal(data["x"][j, rows % 600], sized[n]["x"][rows % n])
            np.testing.assert_array_equal(data["y"][j, rows % 600], sized[n]["y"][rows % n])


def test_each_copy_trains_as_if_alone_on_its_own_size(sized):
    cfg = TrainConfig(steps=9, eval_every=9, eval_train=False)
    runs = de.train_over_sizes({"mlp": ("mlp", {})}, sized, seeds=(5,), cfg=cfg, log=None)
    alone = train(build("mlp", seeds=[5]), sized[300], cfg, device="cpu")
    np.testing.assert_allclose(runs["mlp"].final()[300], alone["test_acc"][-1], rtol=1e-6)
    np.testing.assert_allclose(runs["mlp"].select("test_loss", 300)[:, 0], alone["test_loss"][:, 0], rtol=1e-4)


def test_bad_input(sized):
    with pytest.raises(ValueError, match="sizes must be"):
        de.make_sized_datasets((0, 100))
    with pytest.raises(ValueError, match="multiple of batch_size=100"):
        de.stack_sizes({150: sized[200]})
    with pytest.raises(ValueError, match="eval_train=False"):
        de.train_over_sizes({"mlp": ("mlp", {})}, sized, cfg=TrainConfig(steps=1))
