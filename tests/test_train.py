"""The training loop: many copies train as if alone, runs repeat exactly, configs are checked."""
import numpy as np
import pytest
import torch

from mnist1d.data import make_dataset
from mnist1d.models import build
from mnist1d.train import TrainConfig, default_device, minibatch_rows, to_tensors, train

CFG = TrainConfig(steps=60, eval_every=20)


@pytest.fixture(scope="module")
def small():
    return make_dataset({"num_samples": 1000})


def test_history_shapes(small):
    h = train(build("mlp", n_models=3), small, CFG, device="cpu")
    assert list(h["step"]) == [20, 40, 60]
    for k in ("train_loss", "test_loss", "test_acc", "train_acc"):
        assert h[k].shape == (3, 3)
    assert np.all((h["test_acc"] >= 0) & (h["test_acc"] <= 1))


@pytest.mark.parametrize("name", ["linear", "mlp", "cnn", "gru"])
def test_stack_trains_like_copies_alone(small, name):
    cfg = TrainConfig(steps=30, eval_every=30)
    together = train(build(name, n_models=2, seeds=[3, 4]), small, cfg, device="cpu")
    alone = train(build(name, n_models=1, seeds=[4]), small, cfg, device="cpu")
    np.testing.assert_allclose(together["test_loss"][:, 1], alone["test_loss"][:, 0], rtol=1e-3)


def test_pool_cnn_stack_trains_like_copies_alone(small):
    cfg = TrainConfig(steps=20, eval_every=20)
    together = train(build("pool_cnn", pool="l2", n_models=2, seeds=[3, 4]), small, cfg, device="cpu")
    alone = train(build("pool_cnn", pool="l2", seeds=[4]), small, cfg, device="cpu")
    np.testing.assert_allclose(together["test_loss"][:, 1], alone["test_loss"][:, 0], rtol=1e-3)


def test_without_training_set_evaluation(small):
    h = train(build("linear"), small, TrainConfig(steps=20, eval_every=10, eval_train=False), device="cpu")
    assert "train_acc" not in h and h["test_acc"].shape == (2, 1)


def test_same_seed_same_numbers(small):
    a = train(build("cnn", n_models=2), small, CFG, device="cpu")
    b = train(build("cnn", n_models=2), small, CFG, device="cpu")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_it_learns(small):
    h = train(build("linear", n_models=2), small, TrainConfig(steps=300, eval_every=300), device="cpu")
    assert h["train_acc"][-1].min() > 0.25  # chance is 0.10


def test_one_dataset_per_copy(small):
    shuffled = make_dataset({"num_samples": 1000, "shuffle_seq": True})
    both = {k: np.stack([small[k], shuffled[k]]) for k in ("x", "y", "x_test", "y_test")}
    h = train(build("mlp", n_models=2, seeds=[0, 0]), both, CFG, device="cpu")
    alone = train(build("mlp", n_models=1, seeds=[0]), shuffled, CFG, device="cpu")
    np.testing.assert_allclose(h["test_loss"][:, 1], alone["test_loss"][:, 0], rtol=1e-3)


def test_tensors_on_explicit_device(small):
    d = to_tensors(small, device=torch.device("cpu"))
    assert d["x"].dtype == torch.float32 and d["y"].dtype == torch.int64
    h = train(build("linear"), d, CFG, device=torch.device("cpu"))
    assert h["test_acc"].shape == (3, 1)
    assert default_device().type in ("cpu", "cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda(small):
    h = train(build("cnn", n_models=2), small, CFG, device=torch.device("cuda"))
    assert h["test_acc"].shape == (3, 2)


@pytest.mark.parametrize("bad,match", [({"steps": 0}, "steps"), ({"lr": 0}, "lr"),
                                       ({"batch_size": -1}, "batch_size"), ({"optimizer": "lion"}, "optimizer"),
                                       ({"eval_train": "no"}, "eval_train"), ({"shuffle": 1}, "shuffle"),
                                       ({"seed": -1}, "seed")])
def test_bad_config(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**bad)


def test_shuffled_epochs_are_permutations():
    cfg = TrainConfig(steps=7, batch_size=3, shuffle=True, seed=5)
    batches = [b.tolist() for b in minibatch_rows(8, cfg, "cpu")]
    assert [len(b) for b in batches] == [3, 3, 2, 3, 3, 2, 3]  # epochs of 8 rows, last batch short
    first, second = sum(batches[:3], []), sum(batches[3:6], [])
    assert sorted(first) == sorted(second) == list(range(8)) and first != second
    assert [b.tolist() for b in minibatch_rows(8, cfg, "cpu")] == batches  # the seed fixes the order
    other = TrainConfig(steps=7, batch_size=3, shuffle=True, seed=6)
    assert [b.tolist() for b in minibatch_rows(8, other, "cpu")] != batches


def test_shuffled_sgd_matches_a_plain_torch_loop(small):
    """Momentum SGD on reshuffled batches, written out with torch.nn and torch.optim, as the
    paper's double-descent notebook does (with a DataLoader there)."""
    cfg = TrainConfig(steps=50, batch_size=100, lr=0.01, optimizer="sgd", momentum=0.9, shuffle=True, seed=3,
                      eval_every=50, eval_train=False)
    stack = build("mlp", n_models=1, seeds=[2], width=20, depth=2, residual=False)
    net = torch.nn.Sequential(torch.nn.Linear(40, 20), torch.nn.ReLU(), torch.nn.Linear(20, 20),
                              torch.nn.ReLU(), torch.nn.Linear(20, 10))
    with torch.no_grad():
        for lin, layer in zip(net[::2], [stack.inp, *stack.hidden, stack.out]):
            lin.weight.copy_(layer.weight[0].T)
            lin.bias.copy_(layer.bias[0, 0])
    d = to_tensors(small, "cpu")
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    for rows in minibatch_rows(len(d["x"]), cfg, "cpu"):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(d["x"][rows]), d["y"][rows]).backward()
        opt.step()
    h = train(stack, d, cfg, device="cpu")
    loss = torch.nn.functional.cross_entropy(net(d["x_test"]), d["y_test"]).item()
    np.testing.assert_allclose(h["test_loss"][-1, 0], loss, rtol=1e-4)
