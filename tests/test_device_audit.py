"""Device audit without a GPU: building blocks run on torch's ``meta`` device.

``meta`` tensors have shapes but no data, and torch refuses to mix them with CPU tensors
exactly as it refuses to mix CUDA and CPU ones, so a tensor created on the wrong device
fails here on a CPU-only machine. Covered: every model and pooling variant forward and
backward, chapter 4's masks, chapter 7's views, loss and encoders. Not yet: the training
loop itself (it reads its history on the host at each evaluation), the double-descent
padded stacks and the metalearning inner loops.
"""
import pytest
import torch

from mnist1d.experiments import lottery, ssl
from mnist1d.experiments.runs import run_parallel
from mnist1d.models import build


def test_lottery_masks_follow_the_model_to_its_device():
    model = build("mlp", n_models=2)
    keep = lottery.keep_counts(lottery.layer_sizes(model), 0.5)
    # magnitude_masks reads one number on the host per layer (its check that enough
    # parameters survive), which meta cannot give; its masks are made on the CPU and moved.
    ticket = [tuple(t.to("meta") for t in pair) for pair in lottery.magnitude_masks(model, keep)]
    random = lottery.random_masks(model.to("meta"), keep, torch.Generator().manual_seed(0))
    for w, b in ticket + random:
        assert w.device.type == "meta" and b.device.type == "meta"
    stacked = lottery._stack(ticket, random)  # what find_tickets does each round
    assert stacked[0][0].shape[0] == 4


def test_random_masks_keep_k_per_copy_on_every_device():
    model = build("mlp", n_models=2)
    keep = lottery.keep_counts(lottery.layer_sizes(model), 0.3)
    on_cpu = lottery.random_masks(model, keep, torch.Generator().manual_seed(1))
    on_meta = lottery.random_masks(model.to("meta"), keep, torch.Generator().manual_seed(1))
    assert [tuple(t.shape) for pair in on_cpu for t in pair] == [tuple(t.shape) for pair in on_meta for t in pair]
    for (w, b), k in zip(on_cpu, keep):  # each copy keeps exactly k of the layer's parameters
        assert (w.flatten(1).sum(1) + b.flatten(1).sum(1)).tolist() == [k, k]


MODEL_CASES = [("linear", {}), ("mlp", {}), ("cnn", {}), ("gru", {})] + \
    [("pool_cnn", {"pool": p}) for p in ("none", "stride", "max", "avg", "l2")]


@pytest.mark.parametrize("name, kwargs", MODEL_CASES, ids=lambda v: str(v))
def test_every_model_runs_forward_and_backward_on_meta(name, kwargs):
    """Every family and pooling variant, with its custom autograd Functions (conv, ReLU-pool, GRU)."""
    model = build(name, n_models=3, **kwargs).to("meta")
    out = model(torch.randn(3, 8, 40, device="meta"))
    assert out.shape == (3, 8, 10) and out.device.type == "meta"
    out.sum().backward()
    assert all(p.grad is not None and p.grad.device.type == "meta" for p in model.parameters())


def test_ssl_views_loss_and_encoders_on_meta():
    cfg = ssl.SSLConfig()
    x = torch.randn(16, 40, device="meta")
    views = torch.cat([ssl.augment(x, cfg, torch.Generator()), ssl.augment(x, cfg, torch.Generator())])
    model = ssl.SimCLR(ssl.PROJECTORS, cfg.channels, 40, 0).to("meta")
    losses = torch.stack([ssl.nt_xent(*z.chunk(2), cfg.temperature) for z in model(views)])
    losses.sum().backward()
    assert views.device.type == "meta" and losses.shape == (len(model.names),)


def test_worker_threads_only_on_the_cpu():
    """On another device the jobs run one after another, with torch's thread count untouched."""
    threads = torch.get_num_threads()
    jobs = [torch.get_num_threads] * 2
    assert run_parallel(jobs, workers=2, device="cpu") == [1, 1]
    assert run_parallel(jobs, workers=2, device="meta") == [threads, threads]
