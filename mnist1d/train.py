"""One training loop for the whole course; it trains N independent copies at
once.

Data lives on the device as tensors for the whole run; minibatches are slices
taken in order through the training set (the paper's protocol), or a fresh
shuffle every epoch; the test set is evaluated every ``eval_every`` steps into
a history dict with one column per copy.
"""

import ctypes
import functools
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .validate import choice, flag, integer, number

__all__ = [
    "TrainConfig",
    "DivergedError",
    "default_device",
    "predict",
    "to_tensors",
    "train",
    "check_data",
    "minibatch_rows",
    "keep_freed_memory",
]


def default_device():
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class TrainConfig:
    """The paper's protocol by default: Adam, lr 1e-2, batch 100 in order, 6000
    steps.

    ``on_divergence`` says what happens when a copy's loss becomes NaN or
    infinite: "raise" (the default) stops with a :class:`DivergedError`; "mark"
    lets the other copies train on and writes NaN into the diverged copies'
    history from then on (losses and accuracies alike), so a sweep can treat
    them as missing.
    """

    steps: int = 6000
    lr: float = 1e-2
    batch_size: int = 100
    eval_every: int = 250
    optimizer: str = "adam"  # or "sgd"
    momentum: float = 0.0  # for sgd
    # also log accuracy on the whole training set (costly when it is large)
    eval_train: bool = True
    # reshuffle the training set every epoch (as DataLoader(shuffle=True))
    shuffle: bool = False
    seed: int = 0  # of the shuffles
    on_divergence: str = "raise"  # or "mark"

    def __post_init__(self):
        for name in ("steps", "batch_size", "eval_every"):
            integer(name, getattr(self, name))
        integer("seed", self.seed, 0)
        number("lr", self.lr, low=0, low_open=True)
        number("momentum", self.momentum, low=0, high=1, high_open=True)
        for name in ("eval_train", "shuffle"):
            flag(name, getattr(self, name))
        choice("optimizer", self.optimizer, ("adam", "sgd"))
        choice("on_divergence", self.on_divergence, ("raise", "mark"))


class DivergedError(RuntimeError):
    """A copy's training loss became NaN or infinite (see
    ``TrainConfig.on_divergence``).
    """


def to_tensors(dataset, device=None):
    """A dataset dict's x, y, x_test, y_test as float32 / int64 tensors on
    ``device``.

    Arrays may be (N, L) for data shared by all copies or (M, N, L) for one
    dataset per copy. Tensors already of that type and on that device are
    passed through without a copy.
    """
    device = default_device() if device is None else device
    out = {}
    for k in ("x", "y", "x_test", "y_test"):
        if k not in dataset:
            raise ValueError(
                f"data has no {k!r}: it needs x, y, x_test and y_test"
            )
        v = torch.as_tensor(dataset[k])
        if k.startswith("y"):
            _check_label_dtype(k, v)  # float labels are refused, not rounded
        out[k] = v.to(
            device, torch.float32 if k.startswith("x") else torch.int64
        )
    return out


def _check_label_dtype(key, y):
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(
            f"data[{key!r}] must hold integer class labels, got {y.dtype}"
        )


def check_data(model, data, cfg=None):
    """Check a training run's data against the model before any step;
    ValueError if wrong.

    ``data`` holds ``x`` (N, L) or (M, N, L) floating point, finite; ``y`` (N,)
    or (M, N) integer labels in [0, n_classes) (for all copies or per copy,
    whatever the shape of ``x``); the same for ``x_test`` and ``y_test``. L is
    the model's input length, M its number of copies, and with ``cfg`` the
    batch size may not exceed N. Reads the labels' range and the inputs'
    finiteness on the host, once.
    """
    if not isinstance(data, dict):
        raise ValueError(
            "data must be a dict with x, y, x_test, y_test, got "
            f"{type(data).__name__}"
        )
    m, length, classes = model.n_models, model.length, model.n_classes
    for xk, yk in (("x", "y"), ("x_test", "y_test")):
        for k in (xk, yk):
            if k not in data:
                raise ValueError(
                    f"data has no {k!r}: it needs x, y, x_test and y_test"
                )
        x, y = torch.as_tensor(data[xk]), torch.as_tensor(data[yk])
        if (
            x.dim() not in (2, 3)
            or x.shape[-1] != length
            or (x.dim() == 3 and x.shape[0] != m)
        ):
            raise ValueError(
                f"data[{xk!r}] must be (N, {length}) or ({m}, N, {length}) "
                f"for this model (length {length}, {m} copies), "
                f"got {tuple(x.shape)}"
            )
        n = x.shape[-2]
        # labels shared by all copies, or one set per copy
        if tuple(y.shape) not in ((n,), (m, n)):
            raise ValueError(
                f"data[{yk!r}] must have shape ({n},) or ({m}, {n}) (a label "
                f"per row of data[{xk!r}], for all copies or per copy), "
                f"got {tuple(y.shape)}"
            )
        if not x.is_floating_point():
            raise ValueError(
                f"data[{xk!r}] must hold floating-point numbers, got {x.dtype}"
            )
        _check_label_dtype(yk, y)
        if x.shape[-2] == 0:
            raise ValueError(f"data[{xk!r}] has no examples")
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= classes:
            raise ValueError(
                f"data[{yk!r}] must be labels in [0, {classes - 1}] for a "
                f"model with n_classes={classes}, got values from {low} to "
                f"{high}"
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"data[{xk!r}] contains NaN or infinite values")
    if cfg is not None and cfg.batch_size > data["x"].shape[-2]:
        raise ValueError(
            f"batch_size must be at most the number of training examples "
            f"({data['x'].shape[-2]}), got {cfg.batch_size}"
        )


def _per_copy_loss(logits, y):
    """Cross-entropy per copy and example, (M, n), for logits (M, n, C) and
    labels (n,) or (M, n)."""
    m, n, c = logits.shape
    y = y.expand(m, n) if y.dim() == 1 else y
    return F.cross_entropy(
        logits.reshape(m * n, c), y.reshape(-1), reduction="none"
    ).view(m, n), y


def _losses(model, x, y):
    """Each copy's mean cross-entropy on its batch, shape (M,). Their sum
    is what is differentiated: copy m's parameters get exactly the gradient
    of copy m's loss.
    """
    return _per_copy_loss(model(x), y)[0].mean(1)


def _chunks(model, x, chunk=250):
    """The model's logits on x, chunk by chunk: (rows, logits) pairs.

    Small blocks stay in cache, which makes evaluating thousands of examples 2x
    faster on a CPU than one big batch (and bounds memory).
    """
    for i in range(0, x.shape[-2], chunk):
        yield slice(i, i + chunk), model(x[..., i : i + chunk, :])


@torch.no_grad()
def _evaluate(model, x, y):
    """Per-copy mean loss and accuracy (0-1), numpy arrays of shape (M,)."""
    loss_sum = correct = 0
    for rows, logits in _chunks(model, x):
        loss, yc = _per_copy_loss(logits, y[..., rows])
        loss_sum = loss_sum + loss.sum(1)
        correct = correct + (logits.argmax(-1) == yc).sum(1)
    n = x.shape[-2]
    return (loss_sum / n).cpu().numpy(), (correct.double() / n).cpu().numpy()


@torch.no_grad()
def predict(model, x):
    """Each copy's predicted class for every example: (M, N) int64 numpy array.

    ``x`` is (N, L) or (M, N, L), numpy or a tensor.
    """
    x = torch.as_tensor(
        x, dtype=torch.float32, device=next(model.parameters()).device
    )
    return (
        torch.cat([logits.argmax(-1) for _, logits in _chunks(model, x)], 1)
        .cpu()
        .numpy()
    )


def fused(model):
    """Whether torch has fused optimizer kernels for the model's device (CPU
    and CUDA do).

    Fused kernels update all parameters in one pass: 0.2-0.7 ms less per
    step here.
    """
    return next(model.parameters()).device.type in ("cpu", "cuda")


def _optimizer(model, cfg):
    if cfg.optimizer == "adam":
        return torch.optim.Adam(
            model.parameters(), lr=cfg.lr, fused=fused(model)
        )
    return torch.optim.SGD(
        model.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        fused=fused(model),
    )


def minibatch_rows(n, cfg, device):
    """Each step's minibatch rows: a slice, or with ``cfg.shuffle`` an index
    tensor.

    In order, batches run through the training set and wrap around. Shuffled,
    every epoch is a fresh permutation drawn from ``cfg.seed``, cut into
    batches; the last batch of an epoch is smaller when ``batch_size`` does not
    divide n, as with a DataLoader.
    """
    if not cfg.shuffle:
        for step in range(cfg.steps):
            start = (step * cfg.batch_size) % n
            yield slice(start, start + cfg.batch_size)
        return
    g = torch.Generator().manual_seed(cfg.seed)
    step = 0
    while True:
        order = torch.randperm(n, generator=g).to(device)
        for start in range(0, n, cfg.batch_size):
            if step == cfg.steps:
                return
            yield order[start : start + cfg.batch_size]
            step += 1


def train(model, data, cfg=None, device=None):
    """Train every copy in ``model`` on ``data``; return the history.

    Parameters
    ----------
    model : torch.nn.Module
        From :func:`mnist1d.models.build`; outputs (M, B, n_classes).
    data : dict
        ``x`` (N, L) or (M, N, L), ``y`` (N,) or (M, N) and the same
        for the test set: numpy arrays (a dataset dict) or tensors from
        :func:`to_tensors`.
    cfg : TrainConfig, optional
    device : torch.device, optional
        Default: CUDA if present, else CPU.

    Returns
    -------
    dict
        ``step`` (T,), and (T, M) arrays ``train_loss`` (mean minibatch loss
        since the last evaluation), ``test_loss``, ``test_acc`` and, if
        ``cfg.eval_train``, ``train_acc`` (on the whole training set).
    """
    cfg = TrainConfig() if cfg is None else cfg
    if not isinstance(cfg, TrainConfig):
        raise ValueError(
            f"cfg must be a TrainConfig, got {type(cfg).__name__}"
        )
    if not isinstance(model, torch.nn.Module) or not hasattr(
        model, "n_models"
    ):
        raise ValueError(
            "model must be a stack of copies from mnist1d.models.build, got "
            f"{type(model).__name__}"
        )
    check_data(model, data, cfg)
    device = default_device() if device is None else device
    d = (
        data
        if all(torch.is_tensor(data[k]) for k in ("x", "y"))
        else to_tensors(data, device)
    )
    model = model.to(device)
    opt = _optimizer(model, cfg)
    n = d["x"].shape[-2]
    hist = {
        k: []
        for k in ("step", "train_loss", "test_loss", "test_acc")
        + ("train_acc",) * cfg.eval_train
    }
    running, since = torch.zeros(model.n_models, device=device), 0
    # This interval's losses stay on the device; they are read only to find the
    # step at which a copy diverged, so watching for divergence costs no host
    # read per step.
    recent = torch.empty(cfg.eval_every, model.n_models, device=device)
    diverged = np.zeros(model.n_models, bool)
    for step, rows in enumerate(minibatch_rows(n, cfg, device), 1):
        losses = _losses(model, d["x"][..., rows, :], d["y"][..., rows])
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        running += losses.detach()
        recent[since] = losses.detach()
        since += 1
        if step % cfg.eval_every == 0 or step == cfg.steps:
            _log(hist, step, running / since, model, d)
            _watch_divergence(hist, recent[:since], step, diverged, cfg)
            running.zero_()
            since = 0
    return {k: np.asarray(v) for k, v in hist.items()}


def _watch_divergence(hist, recent, step, diverged, cfg):
    """After an evaluation: stop, or mark the copies whose loss has stopped
    being finite.

    recent : (since, M) tensor, the training losses of the interval ending
    at ``step``.
    diverged : (M,) bool, copies already marked; updated in place.
    """
    bad = ~(
        np.isfinite(hist["train_loss"][-1])
        & np.isfinite(hist["test_loss"][-1])
    )
    new = np.flatnonzero(bad & ~diverged)
    if len(new) and cfg.on_divergence == "raise":
        raise DivergedError(
            _divergence_message(hist, recent.cpu().numpy(), step, new, cfg)
        )
    diverged |= bad
    for key in ("train_loss", "test_loss", "test_acc", "train_acc"):
        if key in hist and diverged.any():
            hist[key][-1] = np.where(diverged, np.nan, hist[key][-1])


def _divergence_message(hist, recent, step, copies, cfg):
    first = step - len(recent) + 1  # the interval's first step
    lines = []
    for c in copies:
        rows = np.flatnonzero(~np.isfinite(recent[:, c]))
        if not len(rows):
            lines.append(
                f"copy {c}: training loss finite, test loss "
                f"{hist['test_loss'][-1][c]} at step {step}"
            )
            continue
        r = rows[0]
        last = (
            f"{recent[r - 1, c]:.4g} at step {first + r - 1}"
            if r
            else f"{hist['train_loss'][-2][c]:.4g} (mean up to step "
            f"{first - 1})"
            if len(hist["train_loss"]) > 1
            else "none"
        )
        lines.append(
            f"copy {c}: loss {recent[r, c]} at step {first + r}; last finite "
            f"loss {last}"
        )
    return (
        f"training diverged ({len(copies)} of {len(hist['train_loss'][-1])} "
        "copies):\n  "
        + "\n  ".join(lines)
        + f"\nLower the learning rate (lr={cfg.lr}), or pass "
        "TrainConfig(on_divergence='mark') to train "
        "the other copies on, with the diverged ones NaN in the history."
    )


@functools.cache
def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory instead of returning it to the
    system: a process-wide setting, so it is a call of its own that the
    experiment runners make, never a side effect of :func:`train`.

    Each training step on the CPU allocates and frees the same few megabytes
    of buffers. By default glibc unmaps large blocks when they are freed, so
    the next step page-faults all of them in again; on this course's 2-core
    virtual machine that cost about 15% of a GRU step. (PyTorch's CPU tuning
    guide suggests jemalloc or tcmalloc for the same reason.) The price: the
    process's memory stays at its peak instead of shrinking. Numbers do not
    change, only speed. Elsewhere (macOS, Windows, musl) nothing happens. Done
    once per process; later calls do nothing.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's <malloc.h>
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, 1 << 30)


def _log(hist, step, train_loss, model, d):
    test_loss, test_acc = _evaluate(model, d["x_test"], d["y_test"])
    hist["step"].append(step)
    hist["train_loss"].append(train_loss.cpu().numpy())
    hist["test_loss"].append(test_loss)
    hist["test_acc"].append(test_acc)
    if "train_acc" in hist:
        hist["train_acc"].append(_evaluate(model, d["x"], d["y"])[1])
