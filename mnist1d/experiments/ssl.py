"""Chapter 7: contrastive self-supervised learning (SimCLR) and guillotine
regularization.

An encoder learns from unlabelled signals by making two random *views* of each
signal agree, and disagree with the other signals in the batch (Chen et al.,
2020). The encoder is chapter 2's CNN without its last layer (25 channels; H
has 125 dimensions), followed by a *projector* MLP that gives the output Z the
loss is applied to. Bordes et al. (2023) observed that the best representation
for a downstream task usually lies below Z, a few layers back: cutting the
network there is *guillotine regularization*.

The three projector variants train side by side: their CNNs are copies of one
stacked model (same initial weights, same batches and same views), and each
copy has its own projector.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..layers import StackedConv1d, StackedLinear
from ..models import seeded_generators
from ..train import (
    TrainConfig,
    default_device,
    fused,
    keep_freed_memory,
    minibatch_rows,
)
from ..validate import integer, number

__all__ = [
    "SSLConfig",
    "PROJECTORS",
    "detrend",
    "augment",
    "nt_xent",
    "SimCLR",
    "SSLRun",
    "train_ssl",
    "layer_names",
    "layer_features",
    "linear_probe",
    "cosine_knn_accuracy",
    "probe_layers",
]

# Hidden sizes of each projector after H (125); () means no projector, Z = H.
PROJECTORS = {"projector": (125, 16), "none": (), "deep": (125, 125, 125, 16)}


@dataclass
class SSLConfig:
    """The paper's contrastive training (augmentation spreads are standard
    deviations).
    """

    epochs: int = 200
    batch_size: int = 100
    lr: float = 1e-2  # Adam
    temperature: float = 0.5
    # views are rolled circularly by randint(0, max_roll) positions
    max_roll: int = 10
    # random slope, per position of the centred time axis
    slope_sd: float = 0.04
    offset_sd: float = 0.3  # random offset
    channels: int = 25
    seed: int = 0  # initial weights, batches and views

    def __post_init__(self):
        for name in ("epochs", "batch_size", "max_roll", "channels"):
            integer(name, getattr(self, name))
        integer("seed", self.seed, 0)
        for name in ("lr", "temperature"):
            number(name, getattr(self, name), low=0, low_open=True)
        for name in ("slope_sd", "offset_sd"):
            number(name, getattr(self, name), low=0)


def _centred_time(length, like):
    return (
        torch.arange(length, dtype=like.dtype, device=like.device)
        - (length - 1) / 2
    )


def detrend(x):
    """Subtract each signal's mean and least-squares linear trend: (B, L) ->
    (B, L)."""
    t = _centred_time(x.shape[-1], x)
    x = x - x.mean(-1, keepdim=True)
    # t is centred, so the slope is a plain projection
    return x - (x @ t / (t @ t))[:, None] * t


def augment(x, cfg, gen):
    """One random view of each signal in x (B, L), drawing from the
    torch.Generator ``gen``.

    Detrend, roll circularly by randint(0, max_roll), then add a random slope
    N(0, slope_sd) times the centred time axis and a random offset N(0,
    offset_sd). The numbers are drawn on ``gen``'s device: give a generator on
    x's device (as :func:`train_ssl` does) and nothing is copied between host
    and device.
    """
    b, length = x.shape
    t = _centred_time(length, x)
    shift = torch.randint(
        0, cfg.max_roll, (b, 1), generator=gen, device=gen.device
    ).to(x.device)
    # torch.roll, per signal
    idx = (torch.arange(length, device=x.device) - shift) % length
    x = detrend(x).gather(1, idx)
    slope = (
        torch.randn(b, 1, generator=gen, device=gen.device) * cfg.slope_sd
    ).to(x)
    offset = (
        torch.randn(b, 1, generator=gen, device=gen.device) * cfg.offset_sd
    ).to(x)
    return x + slope * t + offset


def nt_xent(z1, z2, temperature):
    """SimCLR's loss for two views (B, d) of the same B signals: a scalar.

    Each output is L2-normalised, and the logits are the B x B *cross-view*
    cosine similarities over the temperature: view 1 of signal i against view 2
    of every signal. Signal i's view 2 is the right answer among the B
    candidates, and the same holds the other way round; the loss is the mean of
    both cross-entropies.
    """
    z1, z2 = F.normalize(z1, dim=-1), F.normalize(z2, dim=-1)
    logits = z1 @ z2.T / temperature
    target = torch.arange(len(z1), device=z1.device)
    return (
        F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)
    ) / 2


class SimCLR(nn.Module):
    """Stacked CNN encoders (one per projector variant) with their own
    projectors.

    ``layers(x)`` returns, for every variant, the list of its
    representations of x (B, 40), each (B, d): the input, each conv layer
    (flattened, H is the last), each projector layer (after its ReLU), and Z
    (the projector's output; H itself without a projector).
    """

    def __init__(self, projectors=PROJECTORS, channels=25, length=40, seed=0):
        super().__init__()
        self.names = list(projectors)
        m = len(self.names)
        self.convs = nn.ModuleList(
            [
                StackedConv1d(m, 1, channels, 5, stride=2, padding=1),
                StackedConv1d(m, channels, channels, 3, stride=2, padding=1),
                StackedConv1d(m, channels, channels, 3, stride=2, padding=1),
            ]
        )
        for conv in self.convs:
            length = conv.out_length(length)
        d_h = channels * length
        self.heads = nn.ModuleList()
        for sizes in projectors.values():
            dims = (d_h, *sizes)
            self.heads.append(
                nn.ModuleList(
                    StackedLinear(1, a, b) for a, b in zip(dims[:-1], dims[1:])
                )
            )
        # Every variant starts from the same encoder, so differences come from
        # the projectors.
        generators = seeded_generators(m, [seed] * m)
        for conv in self.convs:
            conv.reset_parameters(generators)
        for j, head in enumerate(self.heads):
            g = seeded_generators(1, [seed + 1000 + j])
            for layer in head:
                layer.reset_parameters(g)

    def layers(self, x):
        h = x.unsqueeze(0).expand(len(self.names), *x.shape).unsqueeze(-1)
        shared = [x]
        per_copy = []
        for conv in self.convs:
            h = torch.relu(conv(h))
            per_copy.append(h.flatten(2))  # (M, B, length * channels)
        out = []
        for j, head in enumerate(self.heads):
            reps = shared + [p[j] for p in per_copy]
            z = reps[-1]
            for i, layer in enumerate(head):
                z = layer(z[None])[0]
                if i < len(head) - 1:
                    z = torch.relu(z)
                reps.append(z)
            out.append(reps)
        return out

    def forward(self, x):
        """Z of every variant: list of (B, d_z)."""
        return [reps[-1] for reps in self.layers(x)]


@dataclass
class SSLRun:
    """Contrastive training of the projector variants side by side."""

    model: SimCLR
    loss: np.ndarray  # (epochs, variants) mean training loss per epoch
    seconds: float


def train_ssl(
    x, cfg=SSLConfig(), projectors=PROJECTORS, device=None, log_every=None
):
    """Train every variant of :data:`PROJECTORS` on the unlabelled signals x
    (N, 40).

    Each step draws two views of a batch (:func:`augment`) and sums the
    variants' :func:`nt_xent` losses; a variant's loss depends only on its own
    weights, so with Adam (element-wise) each variant trains exactly as it
    would alone. Batches are a fresh shuffle every epoch (``mnist1d.train``'s
    batching).

    Parameters
    ----------
    device : str or torch.device, optional
        Default: CUDA when present.

    Returns
    -------
    SSLRun
    """
    t0 = time.perf_counter()
    device = default_device() if device is None else torch.device(device)
    x = torch.as_tensor(x, dtype=torch.float32, device=device)
    if x.dim() != 2 or len(x) < cfg.batch_size:
        raise ValueError(
            "x must be (N, L) signals with N >= batch_size "
            f"({cfg.batch_size}), got {tuple(x.shape)}"
        )
    if not bool(torch.isfinite(x).all()):
        raise ValueError("x contains NaN or infinite values")
    keep_freed_memory()  # see its docstring
    model = SimCLR(projectors, cfg.channels, x.shape[1], cfg.seed).to(device)
    # one pass over all parameters
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, fused=fused(model))
    per_epoch = -(-len(x) // cfg.batch_size)
    batches = minibatch_rows(
        len(x),
        TrainConfig(
            steps=cfg.epochs * per_epoch,
            batch_size=cfg.batch_size,
            shuffle=True,
            seed=cfg.seed,
        ),
        device,
    )
    # the views, drawn where the data is
    gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    history, total = [], torch.zeros(len(model.names), device=device)
    for step, rows in enumerate(batches, 1):
        batch = x[rows]
        views = torch.cat([augment(batch, cfg, gen), augment(batch, cfg, gen)])
        losses = torch.stack(
            [nt_xent(*z.chunk(2), cfg.temperature) for z in model(views)]
        )
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        total += losses.detach()
        if step % per_epoch == 0:
            history.append((total / per_epoch).cpu().numpy())
            total.zero_()
            if log_every and len(history) % log_every == 0:
                print(
                    f"epoch {len(history)}: loss "
                    + ", ".join(
                        f"{name} {v:.3f}"
                        for name, v in zip(model.names, history[-1])
                    ),
                    flush=True,
                )
    return SSLRun(model, np.array(history), time.perf_counter() - t0)


def layer_names(sizes):
    """Names of the representations ``SimCLR.layers`` returns for a projector
    of ``sizes``."""
    head = [f"proj {i}" for i in range(1, len(sizes))] + (
        ["Z"] if sizes else []
    )
    return ["input", "conv1", "conv2", "H" if sizes else "H = Z"] + head


def layer_features(model, x, chunk=1000):
    """Every variant's representations of x (N, 40), as numpy arrays: {name:
    [(N, d), ...]}."""
    x = torch.as_tensor(
        x, dtype=torch.float32, device=next(model.parameters()).device
    )
    with torch.no_grad():
        parts = [
            model.layers(x[i : i + chunk]) for i in range(0, len(x), chunk)
        ]
    return {
        name: [
            torch.cat([p[j][k] for p in parts]).cpu().numpy()
            for k in range(len(parts[0][j]))
        ]
        for j, name in enumerate(model.names)
    }


def linear_probe(f_train, y_train, f_test, y_test):
    """Test accuracy (a fraction, 0-1) of logistic regression on
    standardised features (scikit-learn).

    ``f_train`` (N, d) and ``f_test`` (N_test, d) are features, ``y_train``
    and ``y_test`` their labels.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(
        StandardScaler(), LogisticRegression(tol=1e-2, max_iter=1000)
    )
    return clf.fit(f_train, y_train).score(f_test, y_test)


def cosine_knn_accuracy(f_train, y_train, f_test, y_test, k=10):
    """Test accuracy (a fraction, 0-1) of k-nearest neighbours with cosine
    distance (scikit-learn), on features as for :func:`linear_probe`.

    Not :func:`mnist1d.baselines.knn_accuracy`, which takes a dataset and
    measures Euclidean distance on the raw signals.
    """
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(k, metric="cosine").fit(f_train, y_train)
    return knn.score(f_test, y_test)


def probe_layers(model, data):
    """Linear-probe accuracy of every layer of every variant, and kNN
    accuracy on Z; fractions, 0-1.

    Parameters
    ----------
    model : SimCLR
    data : dict
        ``x`` (N, 40), ``y`` (N,), ``x_test``, ``y_test``: the probes
        train on the training set's labels and are scored on the test set.

    Returns
    -------
    probes : dict of str -> ndarray, shape (layers,)
        Per variant, in the order of :func:`layer_names`.
    knn : dict of str -> float
    """
    train, test = (
        layer_features(model, data["x"]),
        layer_features(model, data["x_test"]),
    )
    probes = {
        name: np.array(
            [
                linear_probe(a, data["y"], b, data["y_test"])
                for a, b in zip(train[name], test[name])
            ]
        )
        for name in model.names
    }
    knn = {
        name: cosine_knn_accuracy(
            train[name][-1], data["y"], test[name][-1], data["y_test"]
        )
        for name in model.names
    }
    return probes, knn
