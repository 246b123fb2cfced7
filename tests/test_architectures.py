"""Chapter 2's experiment routine: families train as stacks, side by side or not, same numbers."""
import matplotlib
import numpy as np
import pytest
import torch

from mnist1d.data import make_dataset
from mnist1d.experiments.architectures import stack_datasets, train_families
from mnist1d.models import build
from mnist1d.train import TrainConfig, predict, train

CFG = TrainConfig(steps=40, eval_every=20)


@pytest.fixture(scope="module")
def datasets():
    return {"default": make_dataset({"num_samples": 600}),
            "shuffled": make_dataset({"num_samples": 600, "shuffle_seq": True})}


def test_stack_datasets_is_dataset_major(datasets):
    data, columns = stack_datasets(datasets, seeds=(5, 6))
    assert columns == [("default", 5), ("default", 6), ("shuffled", 5), ("shuffled", 6)]
    assert data["x"].shape == (4, 480, 40)
    np.testing.assert_array_equal(data["x"][2], datasets["shuffled"]["x"])


def test_families_side_by_side_give_the_same_numbers(datasets):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers run single-threaded: compare like with like
    try:
        alone = train_families(datasets, names=("mlp", "gru"), seeds=(0, 1), cfg=CFG, device="cpu", log=None)
    finally:
        torch.set_num_threads(threads)
    together = train_families(datasets, names=("mlp", "gru"), seeds=(0, 1), cfg=CFG, device="cpu",
                              log=None, workers=2)
    assert torch.get_num_threads() == threads  # restored afterwards
    for name in ("mlp", "gru"):
        for k in alone[name].history:
            np.testing.assert_array_equal(alone[name].history[k], together[name].history[k])
        np.testing.assert_array_equal(alone[name].predictions, together[name].predictions)


def test_a_family_copy_is_the_model_trained_alone(datasets):
    runs = train_families(datasets, names=("cnn",), seeds=(3, 4), cfg=CFG, device="cpu", log=None)
    r = runs["cnn"]
    assert r.parameters == 5_210 and r.seconds > 0
    alone = train(build("cnn", seeds=[4]), datasets["shuffled"], CFG, device="cpu")
    np.testing.assert_allclose(r.select("test_loss", "shuffled")[:, 1], alone["test_loss"][:, 0], rtol=1e-3)
    final = r.final()
    assert set(final) == {"default", "shuffled"} and final["default"].shape == (2,)
    assert r.copies("shuffled") == [2, 3]
    np.testing.assert_array_equal(r.predictions, predict(r.model, np.stack(
        [datasets[d]["x_test"] for d, _ in r.columns])))
    assert (r.predictions == np.stack([datasets[d]["y_test"] for d, _ in r.columns])).mean() == pytest.approx(
        r.history["test_acc"][-1].mean())


def test_bad_workers(datasets):
    with pytest.raises(ValueError, match="workers"):
        train_families(datasets, names=("linear",), cfg=CFG, workers=0, log=None)


def test_plot_helpers():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mnist1d import plotting
    fig, (a, b) = plt.subplots(1, 2)
    line = plotting.plot_band(a, np.arange(3), np.array([[0.1, 0.3], [0.2, 0.4], [0.5, 0.5]]))
    np.testing.assert_allclose(line.get_ydata(), [20, 30, 50])
    cm = np.array([[8, 2], [0, 10]])
    plotting.plot_confusion(b, cm, title="t")
    np.testing.assert_allclose(b.images[0].get_array(), [[80, 20], [0, 100]])
    plt.close(fig)
