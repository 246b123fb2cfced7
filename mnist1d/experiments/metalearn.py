"""Chapter 6: metalearning by differentiating through training (Maclaurin et
al., 2015).

Training a network is a long chain of differentiable updates, so a number that
controls training, such as the learning rate, gets a gradient like any weight:
run the inner training loop while recording it, average its losses into a
*meta-loss*, and backpropagate through every update back to the learning rate.
The networks here are plain functions of a dict of parameter tensors, so that
``torch.func.grad`` can take the inner gradients inside a graph that is itself
differentiated.

The learning-rate part follows the paper's notebook: an MLP 40-50-10 with tanh,
plain SGD for 200 steps on batches of 50 in order, the mean training loss over
those steps as the meta-loss, and gradient descent on the learning rate.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import grad_and_value, vmap

from ..data import make_dataset
from ..train import to_tensors
from ..validate import integer, number

__all__ = [
    "LR_DATA_ARGS",
    "ACTIVATION_DATA_ARGS",
    "LRConfig",
    "init_mlp",
    "mlp",
    "unroll_sgd",
    "LRRun",
    "learn_lr",
    "lr_landscape",
    "make_tensors",
    "graph_bytes",
]

# the default MNIST-1D (4000 / 1000 examples), as the paper's learning-rate
# notebook
LR_DATA_ARGS = {}
# 8000 training, 2000 test examples, as the paper's activation notebook
ACTIVATION_DATA_ARGS = {"num_samples": 10_000}


def make_tensors(args=ACTIVATION_DATA_ARGS, device=None):
    """A metalearning dataset as tensors on ``device`` (default: CUDA when
    present): x float32 (N, 40), y int64 (N,), x_test, y_test.

    The default, ``ACTIVATION_DATA_ARGS``, is the activation search's: 8000
    training and 2000 test examples; ``LR_DATA_ARGS`` gives the learning-rate
    search's default MNIST-1D (4000 / 1000).
    """
    return to_tensors(make_dataset(args), device)


def _check_lrs(name, lrs):
    values = (
        np.asarray(lrs, dtype=float) if np.ndim(lrs) == 1 else np.array([])
    )
    if not len(values) or not (np.isfinite(values) & (values > 0)).all():
        raise ValueError(
            f"{name} must be a non-empty sequence of finite numbers > 0, got "
            f"{lrs!r}"
        )


def _check_inner_data(data, cfg):
    """The inner network's data: x (N, 40) floats, y (N,) labels in [0, 9], N
    >= batch_size."""
    x, y = data["x"], data["y"]
    if x.dim() != 2 or y.shape != x.shape[:1]:
        raise ValueError(
            "data['x'] must be (N, L) and data['y'] (N,), got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if len(x) < cfg.batch_size:
        raise ValueError(
            "batch_size must be at most the number of training examples "
            f"({len(x)}), "
            f"got {cfg.batch_size}"
        )


def _inner_params(data, cfg):
    """The inner MLP's initial parameters, on the data's device."""
    return {
        k: v.to(data["x"].device)
        for k, v in init_mlp(
            (data["x"].shape[1], cfg.hidden, 10), cfg.seed
        ).items()
    }


@dataclass
class LRConfig:
    """The paper's learning-rate search: inner SGD, outer gradient descent on
    the learning rate."""

    hidden: int = 50
    inner_steps: int = 200
    batch_size: int = 50
    meta_lr: float = 0.3
    meta_steps: int = 50
    # the inner network's initial weights, the same for every outer step
    seed: int = 0

    def __post_init__(self):
        for name in ("hidden", "inner_steps", "batch_size", "meta_steps"):
            integer(name, getattr(self, name))
        number("meta_lr", self.meta_lr, low=0, low_open=True)
        integer("seed", self.seed, 0)


def init_mlp(sizes, seed=0):
    """Parameters of an MLP with layer sizes ``sizes`` (e.g. (40, 50, 10)), as
    a dict.

    ``w{i}`` has shape (d_in, d_out) and ``b{i}`` shape (d_out,), drawn as
    ``torch.nn.Linear`` draws them: uniform in +-1/sqrt(d_in).
    """
    g = torch.Generator().manual_seed(seed)
    params = {}
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = 1 / math.sqrt(d_in)
        params[f"w{i}"] = (
            torch.rand(d_in, d_out, generator=g) * 2 - 1
        ) * bound
        params[f"b{i}"] = (torch.rand(d_out, generator=g) * 2 - 1) * bound
    return params


def mlp(params, x, activation=torch.tanh):
    """Logits of the MLP ``params`` (from :func:`init_mlp`) on x (B, d_in): (B,
    d_out).
    """
    n = len(params) // 2
    for i in range(n):
        x = x @ params[f"w{i}"] + params[f"b{i}"]
        if i < n - 1:
            x = activation(x)
    return x


def _batch_loss(params, x, y, activation):
    return F.cross_entropy(mlp(params, x, activation), y)


def unroll_sgd(lr, params, x, y, steps, batch_size, activation=torch.tanh):
    """Train ``params`` by plain SGD with learning rate ``lr``, keeping the
    whole graph.

    Step t uses rows ``t * batch_size`` onwards of x (in order, wrapping
    around) and records the batch's loss before its update. Everything stays
    differentiable, so the losses have gradients with respect to ``lr`` (and to
    the initial ``params``); memory grows with ``steps``, since every step's
    activations are kept for the backward pass.

    Returns
    -------
    torch.Tensor, (steps,)
        The training loss at each step.
    """
    n = len(x)
    loss_and_grad = grad_and_value(_batch_loss)
    losses = []
    for t in range(steps):
        i = (t * batch_size) % n
        g, loss = loss_and_grad(
            params, x[i : i + batch_size], y[i : i + batch_size], activation
        )
        params = {k: p - lr * g[k] for k, p in params.items()}
        losses.append(loss)
    return torch.stack(losses)


def _meta_loss(lr, params, x, y, cfg):
    return unroll_sgd(lr, params, x, y, cfg.inner_steps, cfg.batch_size).mean()


@dataclass
class LRRun:
    """Learning-rate searches from several starting points, side by side."""

    # (meta_steps + 1, R) the learning rate before each outer step, and the
    # last
    lr: np.ndarray
    meta_loss: np.ndarray  # (meta_steps, R) the meta-loss at each outer step
    seconds: float


def learn_lr(initial_lrs, data, cfg=LRConfig()):
    """Gradient descent on the inner learning rate, from each of
    ``initial_lrs`` at once.

    Each outer step runs the inner training (:func:`unroll_sgd`) for every
    current learning rate, ``vmap``-ed into one computation, and moves each
    learning rate against the gradient of its own meta-loss (the mean inner
    training loss).

    Parameters
    ----------
    initial_lrs : sequence of float, (R,)
    data : dict of tensors
        From :func:`make_tensors`; only ``x`` and ``y`` are used.
    cfg : LRConfig

    Returns
    -------
    LRRun
    """
    t0 = time.perf_counter()
    _check_lrs("initial_lrs", initial_lrs)
    _check_inner_data(data, cfg)
    lrs = torch.tensor(
        initial_lrs, dtype=torch.float32, device=data["x"].device
    )
    params = _inner_params(data, cfg)
    meta = vmap(_meta_loss, in_dims=(0, None, None, None, None))
    history, losses = [lrs.clone()], []
    for _ in range(cfg.meta_steps):
        lrs.requires_grad_(True)
        loss = meta(lrs, params, data["x"], data["y"], cfg)
        # copies are independent: the sum splits
        (d_lr,) = torch.autograd.grad(loss.sum(), lrs)
        lrs = (lrs - cfg.meta_lr * d_lr).detach()
        history.append(lrs.clone())
        losses.append(loss.detach())
    return LRRun(
        torch.stack(history).cpu().numpy(),
        torch.stack(losses).cpu().numpy(),
        time.perf_counter() - t0,
    )


def lr_landscape(lrs, data, cfg=LRConfig()):
    """The meta-loss at each learning rate of ``lrs`` (L,), without gradients:
    (L,).
    """
    _check_lrs("lrs", lrs)
    _check_inner_data(data, cfg)
    params = _inner_params(data, cfg)
    with torch.no_grad():
        # grad_and_value still differentiates the inner loss; no_grad only
        # drops the outer graph.
        out = vmap(_meta_loss, in_dims=(0, None, None, None, None))(
            torch.as_tensor(lrs, dtype=torch.float32, device=data["x"].device),
            params,
            data["x"],
            data["y"],
            cfg,
        )
    return out.cpu().numpy()


def graph_bytes(fn):
    """Run ``fn()`` and measure the memory its autograd graph keeps for the
    backward pass.

    Counts each distinct storage that autograd saves once. Works for plain
    autograd only: ``torch.func`` transforms do not support the saved-tensor
    hooks this relies on.

    Returns
    -------
    nbytes : int
    out : whatever ``fn`` returned
    """
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return sum(storages.values()), out
