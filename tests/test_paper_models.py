"""Each stacked model computes its plain torch.nn twin: same weights copied in, same logits
and gradients, for every family and pooling variant."""
import pytest
import torch
import torch.nn.functional as F

from mnist1d import paper_models
from mnist1d.models import build

CASES = [("linear", {}), ("mlp", {}), ("mlp", {"depth": 3, "residual": False, "width": 17}), ("cnn", {}),
         ("cnn", {"channels": 7, "depth": 2}), ("gru", {}), ("gru", {"hidden": 3})] + \
    [("pool_cnn", {"pool": p}) for p in ("none", "stride", "max", "avg", "l2")]


@pytest.mark.parametrize("name, kwargs", CASES, ids=lambda v: str(v))
def test_every_copy_of_a_stack_is_its_plain_model(name, kwargs):
    stack = build(name, n_models=3, seeds=[5, 6, 7], **kwargs).double()
    x = torch.randn(64, 40, dtype=torch.float64)
    y = torch.randint(0, 10, (64,))
    logits = stack(x)
    F.cross_entropy(logits.reshape(-1, 10), y.repeat(3), reduction="sum").backward()
    for copy in range(3):
        plain = paper_models.from_stack(stack, copy).double()
        with torch.no_grad():
            for p, s, layout in paper_models._pairs(stack, plain):
                p.copy_(layout(s.detach()[copy]))  # again in float64 (from_stack copied float32)
        out = plain(x)
        torch.testing.assert_close(out, logits[copy], rtol=1e-10, atol=1e-10)
        F.cross_entropy(out, y, reduction="sum").backward()
        pairs = paper_models.stack_grads(stack, plain, copy)
        assert {id(p) for p, _ in pairs} == {id(p) for p in plain.parameters()}  # every parameter compared
        for p, g in pairs:
            torch.testing.assert_close(p.grad, g, rtol=1e-9, atol=1e-10)


def test_plain_models_have_the_papers_parameter_counts():
    counts = {name: sum(p.numel() for p in cls().parameters())
              for name, cls in (("linear", paper_models.Linear), ("mlp", paper_models.MLP),
                                ("cnn", paper_models.CNN), ("gru", paper_models.GRU))}
    assert counts == {"linear": 410, "mlp": 15210, "cnn": 5210, "gru": 5134}


def test_from_stack_refuses_a_copy_it_does_not_have():
    with pytest.raises(ValueError, match="copy"):
        paper_models.from_stack(build("mlp", n_models=2), 2)


@pytest.mark.parametrize("name", ["linear", "mlp"])
def test_the_plain_loop_trains_as_the_stacked_loop_does(name):
    """Chapter 2 shows train_plain as the loop train() runs for each copy: the same
    start, the same batches and Adam give the same predictions."""
    from mnist1d.data import make_dataset
    from mnist1d.train import TrainConfig, train

    d = make_dataset({"num_samples": 1000})
    stack = build(name, n_models=2, seeds=[3, 4])
    plain = paper_models.from_stack(stack, 1)
    acc = paper_models.train_plain(plain, d, steps=300)
    hist = train(stack, d, TrainConfig(steps=300, eval_every=300))
    assert 0.15 < acc < 1
    assert acc == pytest.approx(hist["test_acc"][-1, 1], abs=0.005)
    assert acc != pytest.approx(paper_models.train_plain(
        paper_models.from_stack(build(name, n_models=1, seeds=[5]), 0), d, steps=30), abs=1e-9)
