"""Models: the paper's parameter counts, and N copies in one module that really are independent."""
import numpy as np
import pytest
import torch

from mnist1d.models import build, count_parameters

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
        if pname.startswith("rnn."):  # the GRU's copies are blocks of units, not a leading dim
            continue
        assert p.grad[0].abs().max() == 0 and p.grad[2].abs().max() == 0, pname
        assert p.grad[1].abs().max() > 0, pname


def test_gru_copies_are_blocks_that_stay_separate():
    stack = build("gru", n_models=3, seeds=[1, 2, 3])
    x = torch.randn(8, 40)
    before = stack(x)[0].detach()
    opt = torch.optim.Adam(stack.parameters(), lr=0.1)
    for _ in range(3):  # train copies 1 and 2 only; copy 0 must not move
        opt.zero_grad()
        stack(x)[1:].pow(2).sum().backward()
        opt.step()
    torch.testing.assert_close(stack(x)[0], before)
    for name, p in stack.rnn.named_parameters():
        if name.startswith("weight"):
            mask = getattr(stack, f"mask_{name}")
            assert torch.all(p[mask == 0] == 0), name


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
