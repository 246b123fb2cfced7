"""Device audit without a GPU: building blocks run on torch's ``meta`` device.

``meta`` tensors have shapes but no data, and torch refuses to mix them with CPU tensors
exactly as it refuses to mix CUDA and CPU ones, so a tensor created on the wrong device
fails here on a CPU-only machine. (Issue 22 asks for this audit over every model and
experiment; this is its first part, the lottery-ticket masks of chapter 4.)
"""
import torch

from mnist1d.experiments import lottery
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
