"""Chapter 6's machinery: a functional MLP, an unrolled SGD that matches torch's own, and
meta-gradients that match finite differences."""
import numpy as np
import pytest
import torch

from mnist1d.experiments import metalearn as ml


@pytest.fixture(scope="module")
def small():
    data = ml.make_tensors({"num_samples": 500})
    return {k: v[:200] for k, v in data.items()}


def test_init_mlp_is_seeded_and_bounded():
    p = ml.init_mlp((40, 50, 10), seed=3)
    assert {k: tuple(v.shape) for k, v in p.items()} == {"w0": (40, 50), "b0": (50,), "w1": (50, 10), "b1": (10,)}
    assert p["w0"].abs().max() <= 1 / np.sqrt(40) and p["w1"].abs().max() <= 1 / np.sqrt(50)
    assert p["w0"].abs().max() > 0.9 / np.sqrt(40)  # uniform over the whole range, not a narrower one
    torch.testing.assert_close(p["w1"], ml.init_mlp((40, 50, 10), seed=3)["w1"])
    assert not torch.equal(p["w1"], ml.init_mlp((40, 50, 10), seed=4)["w1"])


def test_unroll_matches_torch_sgd(small):
    params = ml.init_mlp((40, 8, 10), seed=1)
    losses = ml.unroll_sgd(torch.tensor(0.5), params, small["x"], small["y"], steps=7, batch_size=50)
    # The same network and updates with torch.nn and torch.optim.SGD; 7 steps of 50 wrap around 200 rows.
    net = torch.nn.Sequential(torch.nn.Linear(40, 8), torch.nn.Tanh(), torch.nn.Linear(8, 10))
    with torch.no_grad():
        net[0].weight.copy_(params["w0"].T), net[0].bias.copy_(params["b0"])
        net[2].weight.copy_(params["w1"].T), net[2].bias.copy_(params["b1"])
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    expected = []
    for t in range(7):
        i = (t * 50) % 200
        loss = torch.nn.functional.cross_entropy(net(small["x"][i:i + 50]), small["y"][i:i + 50])
        opt.zero_grad()
        loss.backward()
        opt.step()
        expected.append(loss.item())
    np.testing.assert_allclose(losses.detach().numpy(), expected, rtol=1e-5)


def test_meta_gradient_matches_finite_differences(small):
    cfg = ml.LRConfig(hidden=8, inner_steps=10, batch_size=50)
    params = {k: v.double() for k, v in ml.init_mlp((40, 8, 10), seed=2).items()}
    x = small["x"].double()
    lr = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    (d_lr,) = torch.autograd.grad(ml._meta_loss(lr, params, x, small["y"], cfg), lr)
    eps = 1e-5
    with torch.no_grad():
        up, down = (ml._meta_loss(torch.tensor(0.4 + s, dtype=torch.float64), params, x, small["y"], cfg)
                    for s in (eps, -eps))
    np.testing.assert_allclose(d_lr.item(), ((up - down) / (2 * eps)).item(), rtol=1e-6)
    assert d_lr.item() != 0


def test_learn_lr_runs_side_by_side_as_alone(small):
    cfg = ml.LRConfig(hidden=8, inner_steps=8, meta_steps=3)
    both = ml.learn_lr([1.5, 0.15], small, cfg)
    assert both.lr.shape == (4, 2) and both.meta_loss.shape == (3, 2)
    for j, lr0 in enumerate([1.5, 0.15]):
        alone = ml.learn_lr([lr0], small, cfg)
        np.testing.assert_allclose(both.lr[:, j], alone.lr[:, 0], rtol=1e-5)
    # The first outer step's meta-losses are the landscape at the starting points.
    np.testing.assert_allclose(ml.lr_landscape([1.5, 0.15], small, cfg), both.meta_loss[0], rtol=1e-5)
    # A small learning rate is pushed up, and each step moves it by meta_lr times the meta-gradient.
    assert both.lr[1, 1] > both.lr[0, 1]
    for bad in ([], [0.1, -0.1], [[0.1]]):
        with pytest.raises(ValueError, match="initial_lrs"):
            ml.learn_lr(bad, small, cfg)


def test_graph_bytes_grows_with_the_unroll():
    w = torch.randn(64, 64, requires_grad=True)

    def unroll(steps):
        x = torch.ones(8, 64)
        for _ in range(steps):
            x = torch.tanh(x @ w)  # saves its input, w (when the input needs a gradient) and its output
        return x.sum()

    one, out = ml.graph_bytes(lambda: unroll(1))
    ten, _ = ml.graph_bytes(lambda: unroll(10))
    act = 8 * 64 * 4  # bytes of one (8, 64) float32 activation
    assert one == 2 * act  # the input and tanh's output; w is not needed, the input needs no gradient
    # each output is the next step's input, and w is saved 9 times: all counted once
    assert ten == 64 * 64 * 4 + 11 * act
    assert out.requires_grad
