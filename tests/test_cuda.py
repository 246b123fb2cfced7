"""Every chapter's experiment at tiny size on a GPU: the CPU's numbers, and the same bits twice.

Skipped without CUDA. ``MNIST1D_TEST_DEVICE=cpu`` runs them with the CPU standing in for
the device (CI does this, so the tests cannot rot while no GPU is at hand; the
run-to-run half is then a real check, the CPU-vs-device half a trivial one).

Tolerances: a GPU sums in other orders than a CPU, and a few hundred optimizer steps
amplify the last bits, so losses are compared to ``RTOL`` (1%), never accuracies (one
example flipping moves those by a step). Chapter 7 draws its views on the device's own
random generator, so its CPU and GPU runs see different views: only its run-to-run
identity and its loss's first epoch (to 5%) are compared.
"""
import os
from dataclasses import replace

import numpy as np
import pytest
import torch

from mnist1d import train
from mnist1d.data import get_dataset_args, make_dataset
from mnist1d.experiments import activation, architectures, data_efficiency, double_descent, lottery, metalearn, ssl

DEVICE = os.environ.get("MNIST1D_TEST_DEVICE") or ("cuda" if torch.cuda.is_available() else None)
pytestmark = pytest.mark.skipif(DEVICE is None, reason="needs a GPU (or MNIST1D_TEST_DEVICE=cpu)")
RTOL = 1e-2
CFG = train.TrainConfig(steps=40, eval_every=20)


@pytest.fixture(scope="module")
def small():
    return make_dataset(replace(get_dataset_args(), num_samples=700, train_split=500 / 700))


def _same_twice_and_close_to_cpu(run, rtol=RTOL):
    """run(device) -> dict of arrays; identical twice on DEVICE, within rtol of the CPU."""
    a, b, cpu = run(DEVICE), run(DEVICE), run("cpu")
    for key in cpu:
        np.testing.assert_array_equal(a[key], b[key], err_msg=f"{key} differs between two runs on {DEVICE}")
        np.testing.assert_allclose(a[key], cpu[key], rtol=rtol, atol=1e-6, err_msg=f"{key}: {DEVICE} vs cpu")


def test_chapter2_families(small):
    shuffled = dict(small, x=small["x"][:, ::-1].copy(), x_test=small["x_test"][:, ::-1].copy())

    def run(device):
        runs = architectures.train_families({"default": small, "shuffled": shuffled}, seeds=(0, 1), cfg=CFG,
                                            device=device, log=None)
        return {name: r.history["test_loss"] for name, r in runs.items()}
    _same_twice_and_close_to_cpu(run)


def test_chapter3_pooling_over_sizes():
    datasets = data_efficiency.make_sized_datasets((200, 400))

    def run(device):
        runs = data_efficiency.train_over_sizes(data_efficiency.POOL_SPECS, datasets, cfg=replace(CFG, eval_train=False),
                                                device=device, log=None)
        return {name: r.history["test_loss"] for name, r in runs.items()}
    _same_twice_and_close_to_cpu(run)


def test_chapter4_tickets_and_ablation(small):
    cfg = train.TrainConfig(steps=30, eval_every=30, lr=2e-2)

    def run(device):
        search = lottery.find_tickets(small, lottery.geometric_schedule(0.5, 2), seeds=(0, 1), cfg=cfg,
                                      device=device, log=None)
        ablation = lottery.ablate(small, *search.masks(2), seed=0, reinit_seed=100, cfg=cfg, device=device, log=None)
        masks = [t.numpy() for pair in search.ticket_masks[-1] for t in pair]
        return {"density": search.density, "test_loss": ablation.history["test_loss"], "mask": np.concatenate(
            [m.reshape(-1) for m in masks]).astype(float)}
    _same_twice_and_close_to_cpu(run)


def test_chapter5_sweep(small):
    labels = {"clean": small["y"], "noisy": double_descent.noisy_labels(small["y"], 0.15)}
    cfg = replace(double_descent.SGD_CONFIG, steps=40, eval_every=20)

    def run(device):
        out = {}
        for name, sizes in (("mlp", [4, 8, 16]), ("cnn", [2, 4])):
            s = double_descent.sweep(name, sizes, small, labels, cfg=cfg, n_seeds=2, device=device, log=None)
            out.update({f"{name} {k}": v for k, v in s.train_error.items()})
        return out
    # Errors are counts of examples: compare them with a tolerance of one example in the
    # 500 training examples rather than relatively.
    a, b, cpu = run(DEVICE), run(DEVICE), run("cpu")
    for key in cpu:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_allclose(a[key], cpu[key], atol=100 / 500 + 1e-9, rtol=0)


def test_chapter6_learning_rate_and_activation(small):
    lr_cfg = metalearn.LRConfig(inner_steps=20, meta_steps=3)
    act_cfg = activation.ActConfig(hidden=32, inner_steps=20, last=10, meta_steps=3)

    def run(device):
        data = metalearn.make_tensors({"num_samples": 700}, device=device)
        lr = metalearn.learn_lr([1.0, 0.1], data, lr_cfg)
        search = activation.learn_activation(data, act_cfg)
        losses, _ = activation.compare({"learned": activation.learned(search.g_params, act_cfg),
                                        "relu": activation.BASELINES["relu"]}, data, act_cfg, seeds=(0, 1))
        return {"lr": lr.lr, "lr meta-loss": lr.meta_loss, "act meta-loss": search.meta_loss, "f": search.f,
                **{f"compare {k}": v for k, v in losses.items()}}
    _same_twice_and_close_to_cpu(run)


def test_chapter7_contrastive_training(small):
    cfg = replace(ssl.SSLConfig(), epochs=2)
    a, b = (ssl.train_ssl(small["x"], cfg, device=DEVICE) for _ in range(2))
    np.testing.assert_array_equal(a.loss, b.loss)
    cpu = ssl.train_ssl(small["x"], cfg, device="cpu")
    np.testing.assert_allclose(a.loss[0], cpu.loss[0], rtol=0.05)
    probes, knn = ssl.probe_layers(a.model, small)  # features come back from the device to sklearn
    assert all(np.isfinite(v).all() for v in probes.values()) and all(0 <= v <= 1 for v in knn.values())
