"""Models: the paper's parameter counts, and N copies in one module that really are independent."""
import numpy as np
import pytest
import torch

from mnist1d.models import build, count_parameters
from mnist1d.recurrence import gru_recurrence

PAPER_COUNTS = {"linear": 410, "mlp": 15_210, "cnn": 5_210, "gru": 5_134}


@pytest.mark.parametrize("name,count", PAPER_COUNTS.items())
def test_paper_parameter_counts(name, count):
    assert count_parameters(build(name)) == count
    assert count_parameters(build(name, n_models=4)) == count


def test_variants_have_the_expected_sizes():
    assert count_parameters(build("mlp", width=500)) == 40 * 500 + 500 + 500 * 500 + 500 + 500 * 10 + 10
    assert count_parameters(build("mlp", width=16, depth=2, residual=False)) == 40 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10
    assert count_parameters(build("cnn", channels=10)) == (10 * 5 + 10) + 2 * (10 * 10 * 3 + 10) + 10 * 5 * 10 + 10
    assert count_parameters(build("gru", hidden=3)) == 2 * 3 * (3 * 1 + 3 * 3 + 3 + 3) + 40 * 2 * 3 * 10 + 10


@pytest.mark.parametrize("name", PAPER_COUNTS)
def test_copy_m_is_the_single_model_with_seed_m(name):
    x = torch.randn(16, 40)
    stack = build(name, n_models=3, seeds=[7, 8, 9])
    for m, seed in enumerate([7, 8, 9]):
        alone = build(name, n_models=1, seeds=[seed])
        torch.testing.assert_close(stack(x)[m], alone(x)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", PAPER_COUNTS)
def test_copies_do_not_share_gradients(name):
    stack = build(name, n_models=3)
    out = stack(torch.randn(8, 40))
    out[1].pow(2).sum().backward()
    for pname, p in stack.named_parameters():
        if p.grad is None:
            continue
        assert p.grad[0].abs().max() == 0 and p.grad[2].abs().max() == 0, pname
        assert p.grad[1].abs().max() > 0, pname


def _paper_gru(stack, m):
    """torch.nn.GRU plus Linear holding copy m's parameters: the paper's GRU, written plainly."""
    rnn = torch.nn.GRU(1, stack.hidden, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for d, suffix in enumerate(("l0", "l0_reverse")):
            getattr(rnn, f"weight_ih_{suffix}").copy_(stack.weight_ih[m, d])
            getattr(rnn, f"weight_hh_{suffix}").copy_(stack.weight_hh[m, d])
            getattr(rnn, f"bias_ih_{suffix}").copy_(stack.bias_ih[m, d, :, 0])
            getattr(rnn, f"bias_hh_{suffix}").copy_(stack.bias_hh[m, d, :, 0])
    out = torch.nn.Linear(stack.out.weight.shape[1], 10)
    with torch.no_grad():
        out.weight.copy_(stack.out.weight[m].T)
        out.bias.copy_(stack.out.bias[m, 0])
    return lambda x: out(rnn(x.unsqueeze(-1))[0].flatten(1)), rnn


def test_gru_matches_torch_nn_gru_values_and_gradients():
    stack = build("gru", n_models=3, seeds=[1, 2, 3])
    x = torch.randn(8, 40)
    logits = stack(x)
    logits[2].pow(2).sum().backward()
    ref, rnn = _paper_gru(stack, 2)
    expected = ref(x)
    torch.testing.assert_close(logits[2], expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(stack.features(x)[2].flatten(2), rnn(x.unsqueeze(-1))[0],
                               rtol=1e-5, atol=1e-5)
    expected.pow(2).sum().backward()
    for d, suffix in enumerate(("l0", "l0_reverse")):
        torch.testing.assert_close(stack.weight_hh.grad[2, d], getattr(rnn, f"weight_hh_{suffix}").grad,
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(stack.bias_hh.grad[2, d, :, 0], getattr(rnn, f"bias_hh_{suffix}").grad,
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(stack.weight_ih.grad[2, d], getattr(rnn, f"weight_ih_{suffix}").grad,
                                   rtol=1e-4, atol=1e-5)


def test_gru_recurrence_gradcheck():
    g = torch.Generator().manual_seed(0)
    shapes = [(5, 3, 1, 4), (3, 6, 1), (3, 6, 1), (3, 6, 2), (3, 6, 1)]  # x, w_ih, b_ih, w_hh, b_hh
    args = [torch.randn(s, dtype=torch.float64, generator=g, requires_grad=True) for s in shapes]
    assert torch.autograd.gradcheck(gru_recurrence, args)
    with pytest.raises(ValueError, match="do not fit"):
        gru_recurrence(args[0], args[1], args[2], args[3][:, :, :1], args[4])


def test_bad_arguments():
    with pytest.raises(ValueError, match="model name"):
        build("transformer")
    with pytest.raises(ValueError, match="one seed per model"):
        build("mlp", n_models=2, seeds=[1])
    with pytest.raises(ValueError, match="input must be"):
        build("mlp", n_models=2)(torch.randn(3, 4, 40))


def test_per_copy_inputs():
    stack = build("cnn", n_models=2, seeds=[0, 1])
    x = torch.randn(2, 5, 40)
    out = stack(x)
    torch.testing.assert_close(out[1], build("cnn", seeds=[1])(x[1])[0], rtol=1e-5, atol=1e-5)
    assert np.allclose(out.shape, (2, 5, 10))


def test_conv_gradcheck_and_match_conv1d():
    from mnist1d.layers import _Conv1d
    x = torch.randn(2, 3, 11, 2, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 3 * 2, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(2, 1, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *t: _Conv1d.apply(*t, 3, 2, 1), (x, w, b))
    conv = build("cnn", seeds=[0]).convs[1]  # 25 -> 25 channels, kernel 3, stride 2, padding 1
    h = torch.randn(1, 4, 19, 25)
    w = conv.weight[0].T.reshape(25, 3, 25).permute(0, 2, 1)  # (out, in, tap) as nn.Conv1d stores it
    expected = torch.nn.functional.conv1d(h[0].transpose(1, 2), w, conv.bias[0, 0], stride=2, padding=1)
    torch.testing.assert_close(conv(h)[0], expected.transpose(1, 2), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["max", "avg", "l2"])
def test_relu_pool_gradcheck(kind):
    from mnist1d.layers import relu_pool
    # Away from ties and zeros, where max and ReLU have no derivative.
    h = (torch.rand(2, 3, 6, 4, dtype=torch.float64) + 0.1) * torch.where(torch.rand(2, 3, 6, 4) < 0.3, -1, 1)
    h.requires_grad_()
    assert torch.autograd.gradcheck(lambda v: relu_pool(v, kind), (h,))


def test_relu_pool_rejects_bad_input():
    from mnist1d.layers import relu_pool
    with pytest.raises(ValueError, match="kind must be one of"):
        relu_pool(torch.randn(1, 2, 4, 3), "median")
    with pytest.raises(ValueError, match="L even"):
        relu_pool(torch.randn(1, 2, 5, 3), "max")


def _paper_pool_cnn(pool):
    """Chapter 3's CNN written with torch.nn, as the paper defines it."""
    nn = torch.nn
    layers, stride = [], 2 if pool == "stride" else 1
    for c_in in (1, 20):
        layers += [nn.Conv1d(c_in, 20, 3, stride=stride, padding=1), nn.ReLU()]
        layers += {"max": [nn.MaxPool1d(2)], "avg": [nn.AvgPool1d(2)], "l2": [nn.LPPool1d(2, 2)]}.get(pool, [])
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(800 if pool == "none" else 200, 10))


@pytest.mark.parametrize("pool", ["none", "stride", "max", "avg", "l2"])
def test_pool_cnn_matches_torch_nn(pool):
    stack = build("pool_cnn", n_models=2, pool=pool, seeds=[3, 4])
    m = 1
    ref = _paper_pool_cnn(pool)
    assert count_parameters(build("pool_cnn", pool=pool)) == sum(p.numel() for p in ref.parameters())
    with torch.no_grad():
        convs = [layer for layer in ref if isinstance(layer, torch.nn.Conv1d)]
        for conv, mine in zip(convs, stack.convs):
            c_in = conv.in_channels
            conv.weight.copy_(mine.weight[m].T.reshape(20, 3, c_in).permute(0, 2, 1))
            conv.bias.copy_(mine.bias[m, 0])
        ref[-1].weight.copy_(stack.out.weight[m].T)
        ref[-1].bias.copy_(stack.out.bias[m, 0])
    x = torch.randn(5, 40)
    y = torch.randint(0, 10, (5,))
    torch.testing.assert_close(stack(x)[m], ref(x.unsqueeze(1)), rtol=1e-5, atol=1e-5)
    torch.nn.functional.cross_entropy(stack(x)[m], y).backward()
    torch.nn.functional.cross_entropy(ref(x.unsqueeze(1)), y).backward()
    convs = [layer for layer in ref if isinstance(layer, torch.nn.Conv1d)]
    for conv, mine in zip(convs, stack.convs):
        c_in = conv.in_channels
        torch.testing.assert_close(mine.weight.grad[m].T.reshape(20, 3, c_in).permute(0, 2, 1), conv.weight.grad,
                                   rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(mine.bias.grad[m, 0], conv.bias.grad, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(stack.out.weight.grad[m].T, ref[-1].weight.grad, rtol=1e-4, atol=1e-6)
    assert (stack.out.weight.grad[1 - m] == 0).all()  # the other copy's loss was not differentiated


def test_pool_cnn_rejects_bad_pools():
    with pytest.raises(ValueError, match="pool must be one of"):
        build("pool_cnn", pool="median")
