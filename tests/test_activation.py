"""Chapter 6, part 2: the tabulated activation is the activation, the hand-written inner
gradients and RMSprop are torch's, and the meta-gradient matches finite differences."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mnist1d.experiments import activation as act_mod
from mnist1d.experiments import metalearn as ml


@pytest.fixture(scope="module")
def small():
    data = ml.make_tensors({"num_samples": 500})
    return {k: v[:200] if k in ("x", "y") else v for k, v in data.items()}


def _g_params(seed=0, dtype=torch.float32):
    return {k: v.to(dtype) for k, v in ml.init_mlp((1, 100, 1), seed).items()}


def test_table_matches_exact_activation_inside_and_outside_the_grid():
    gp = _g_params()
    cfg = act_mod.ActConfig(grid_range=4.0, grid_points=801)
    h = torch.linspace(-7, 7, 5001)  # beyond the table on both sides
    f, df = act_mod.learned(gp, cfg)(h)
    g, dg = act_mod.g_and_slope(gp, h)
    exact = torch.where(h > 0, h, torch.expm1(h)) + 0.2 * g
    torch.testing.assert_close(f, exact, atol=1e-5, rtol=0)
    torch.testing.assert_close(df, torch.where(h > 0, 1.0, torch.exp(h)) + 0.2 * dg, atol=1e-3, rtol=0)
    # g' in closed form is g's derivative
    x = torch.linspace(-3, 3, 7, requires_grad=True)
    (auto,) = torch.autograd.grad(act_mod.g_and_slope(gp, x)[0].sum(), x)
    torch.testing.assert_close(act_mod.g_and_slope(gp, x)[1], auto)


@pytest.mark.parametrize("name", [*act_mod.BASELINES, "learned", "piecewise"])
def test_hand_written_gradients_match_autograd(small, name):
    acts = dict(act_mod.BASELINES, learned=act_mod.learned(_g_params(1)),
                piecewise=act_mod.piecewise_linear([-2.0, 0.0, 1.0], [0.5, 0.0, 2.0]))
    params = {k: v.requires_grad_(True) for k, v in ml.init_mlp((40, 16, 10), seed=2).items()}
    x, y, noise = small["x"][:50], small["y"][:50], torch.rand(16) * 0.2 - 0.1
    loss, grad = act_mod.loss_and_grads(params, x, F.one_hot(y, 10).float(), acts[name], noise)
    ref = F.cross_entropy(act_mod.inner_forward(params, x, acts[name], noise)[2], y)
    auto = torch.autograd.grad(ref, list(params.values()))
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, torch.cat([a.reshape(-1) for a in auto]))


def test_inner_training_is_torch_rmsprop_started_at_one(small):
    cfg = act_mod.ActConfig(hidden=16, inner_steps=6, batch_size=50, last=6, noise=0.0)
    losses, params = act_mod.inner_train(act_mod.BASELINES["elu"], small, cfg, seed=3)
    init = ml.init_mlp((40, 16, 10), seed=3)
    net = torch.nn.Sequential(torch.nn.Linear(40, 16), torch.nn.ELU(), torch.nn.Linear(16, 10))
    with torch.no_grad():
        net[0].weight.copy_(init["w0"].T), net[0].bias.copy_(init["b0"])
        net[2].weight.copy_(init["w1"].T), net[2].bias.copy_(init["b1"])
    opt = torch.optim.RMSprop(net.parameters(), lr=cfg.inner_lr, alpha=cfg.rms_decay, eps=1e-8)
    for p in net.parameters():  # torch starts the average of squared gradients at 0; the paper at 1
        opt.state[p] = {"step": torch.tensor(0.0), "square_avg": torch.ones_like(p)}
    expected = []
    for t in range(6):
        i = (t * 50) % 200
        loss = F.cross_entropy(net(small["x"][i:i + 50]), small["y"][i:i + 50])
        opt.zero_grad()
        loss.backward()
        opt.step()
        expected.append(loss.item())
    np.testing.assert_allclose(losses.numpy(), expected, rtol=1e-5)
    torch.testing.assert_close(params["w1"], net[2].weight.detach().T)


def test_meta_gradient_matches_finite_differences(small):
    cfg = act_mod.ActConfig(hidden=16, inner_steps=8, batch_size=50, last=5, grid_range=8.0, grid_points=1601)
    data = {"x": small["x"].double(), "y": small["y"]}
    gp = {k: v.requires_grad_(True) for k, v in _g_params(4, torch.float64).items()}

    def meta(gp):
        return act_mod.inner_train(act_mod.learned(gp, cfg), data, cfg)[0][-cfg.last:].mean()

    grads = dict(zip(gp, torch.autograd.grad(meta(gp), list(gp.values()))))
    eps = 1e-6
    for k, idx in (("w0", (0, 3)), ("b0", (7,)), ("w1", (5, 0)), ("b1", (0,))):
        with torch.no_grad():
            up, down = ({n: v.clone() for n, v in gp.items()} for _ in range(2))
            up[k][idx] += eps
            down[k][idx] -= eps
            fd = (meta(up) - meta(down)).item() / (2 * eps)
        np.testing.assert_allclose(grads[k][idx].item(), fd, rtol=1e-4, atol=1e-9)
    assert grads["b1"].abs().item() > 0


def test_piecewise_linear_interpolates_and_extends(small):
    f = act_mod.piecewise_linear([-1.0, 0.0, 2.0], [1.0, 0.0, 4.0])
    h = torch.tensor([-3.0, -1.0, -0.5, 1.0, 2.0, 5.0])
    v, s = f(h)
    torch.testing.assert_close(v, torch.tensor([3.0, 1.0, 0.5, 2.0, 4.0, 10.0]))
    torch.testing.assert_close(s, torch.tensor([-1.0, -1.0, -1.0, 2.0, 2.0, 2.0]))
    with pytest.raises(ValueError, match="knots"):
        act_mod.piecewise_linear([0.0, 0.0], [1.0, 2.0])


def test_search_is_reproducible_and_lowers_the_meta_loss(small):
    cfg = act_mod.ActConfig(hidden=16, inner_steps=20, batch_size=50, last=10, meta_steps=4, meta_lr=1.0)
    runs = [act_mod.learn_activation(small, cfg, sample=np.linspace(-2, 2, 5)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].meta_loss, runs[1].meta_loss)
    assert runs[0].f.shape == (5, 5) and runs[0].test_acc.shape == (4,)
    assert runs[0].meta_loss[-1] < runs[0].meta_loss[0]
    assert not np.allclose(runs[0].f[0], runs[0].f[-1])


def test_search_is_bitwise_reproducible_with_two_threads():
    # Scattered accumulation (the backward of cells[k]) sums in a varying order across threads;
    # at the real batch and width that changed the meta-gradients from run to run.
    data = ml.make_tensors({"num_samples": 1000})
    cfg = act_mod.ActConfig(inner_steps=20, last=10, meta_steps=3)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs = [act_mod.learn_activation(data, cfg) for _ in range(3)]
    finally:
        torch.set_num_threads(threads)
    for run in runs[1:]:
        np.testing.assert_array_equal(run.meta_loss, runs[0].meta_loss)
        for k in run.g_params:
            assert torch.equal(run.g_params[k], runs[0].g_params[k]), k


def test_compare_and_config_validation(small):
    cfg = act_mod.ActConfig(hidden=16, inner_steps=5, batch_size=50, last=5)
    losses, acc = act_mod.compare({"elu": act_mod.BASELINES["elu"]}, small, cfg, seeds=(0, 1))
    assert losses["elu"].shape == (2, 5) and acc["elu"].shape == (2,)
    assert not np.array_equal(losses["elu"][0], losses["elu"][1])
    with pytest.raises(ValueError, match="last"):
        act_mod.ActConfig(inner_steps=10, last=20)
    with pytest.raises(ValueError, match="grid_points"):
        act_mod.ActConfig(grid_points=1)


def test_fixed_order_backward_sums_as_index_add_does():
    """The one-hot backward (used off the CPU, where index_add's atomics vary from run to
    run) gives index_select's gradient, in a fixed order: twice the same bits."""
    cells = torch.randn(301, 7, dtype=torch.float64, requires_grad=True)
    k = torch.randint(0, 301, (9000,))  # more rows than one 4096 block, cells hit many times
    weight = torch.randn(9000, 7, dtype=torch.float64)
    (native,) = torch.autograd.grad((cells.index_select(0, k) * weight).sum(), cells)
    dense = [torch.autograd.grad((act_mod._TakeRows.apply(cells, k) * weight).sum(), cells)[0] for _ in range(2)]
    torch.testing.assert_close(dense[0], native, rtol=1e-12, atol=1e-12)
    assert torch.equal(dense[0], dense[1])
    h = torch.linspace(-3, 3, 50, dtype=torch.float64)
    table = act_mod.learned(_g_params(1, torch.float64), act_mod.ActConfig(grid_range=4.0, grid_points=801))
    for a, b in zip(act_mod._interpolate(h, -4.0, table.step, table.cells, dense=True),
                    act_mod._interpolate(h, -4.0, table.step, table.cells, dense=False)):
        assert torch.equal(a, b)


def test_training_with_a_small_table_redoes_the_run_exactly(small):
    """Pre-activations leave a table of +-1: the deferred run notices once, at its end, and the
    run is redone with exact values outside; the losses equal an all-exact inner loop's."""
    cfg = act_mod.ActConfig(hidden=16, inner_steps=10, batch_size=50, last=5, grid_range=1.0, grid_points=201)
    gp = _g_params(2, torch.float64)
    data = {"x": small["x"].double(), "y": small["y"]}
    table = act_mod.learned(gp, cfg)
    fast = table.deferred()
    act_mod._inner_run(fast, data["x"], data["y"], cfg, 0)
    assert bool(fast.outside)
    losses, _ = act_mod.inner_train(table, data, cfg)
    exact, _ = act_mod.inner_train(act_mod.learned(gp, cfg, table=False), data, cfg)
    torch.testing.assert_close(losses, exact, rtol=1e-6, atol=0)
    acc = act_mod.accuracy(table, {k: v.double() for k, v in ml.init_mlp((40, 16, 10), 0).items()},
                           small["x_test"].double() * 5, small["y_test"])
    assert acc == act_mod.accuracy(act_mod.learned(gp, cfg, table=False),
                                   {k: v.double() for k, v in ml.init_mlp((40, 16, 10), 0).items()},
                                   small["x_test"].double() * 5, small["y_test"])
