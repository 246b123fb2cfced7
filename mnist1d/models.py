"""The paper's models, written so that one module holds N independent copies.

Every model here is an ordinary ``torch.nn.Module`` whose parameters carry a
leading *model* dimension of size ``n_models``. Copy m sees only its own slice
of every parameter, so N copies trained together with one optimizer step are N
independent models (Adam works element by element). On a CPU this is what makes
seeds and sweeps affordable: a small model is bound by per-step overhead, and N
copies pay that overhead once.

Inputs are ``(B, length)`` (the same batch for every copy) or ``(n_models, B,
length)``; outputs are logits of shape ``(n_models, B, n_classes)``. With
``n_models=1`` the parameter counts are the paper's: linear 410, MLP 15,210,
CNN 5,210, GRU 5,134.
"""

import inspect
import math

import torch
from torch import nn

from .layers import StackedConv1d, StackedLinear, relu_pool, uniform_
from .recurrence import gru_recurrence
from .validate import choice, flag, integer

__all__ = [
    "StackedLinear",
    "StackedConv1d",
    "Linear",
    "MLP",
    "CNN",
    "GRU",
    "PoolCNN",
    "POOLS",
    "build",
    "count_parameters",
    "seeded_generators",
]


def seeded_generators(n_models, seeds):
    seeds = range(n_models) if seeds is None else list(seeds)
    if len(seeds) != n_models:
        raise ValueError(
            f"seeds must give one seed per model ({n_models}), got "
            f"{len(seeds)}"
        )
    return [
        torch.Generator().manual_seed(integer(f"seeds[{i}]", s, 0, 2**63 - 1))
        for i, s in enumerate(seeds)
    ]


def _per_model(x, n_models, length):
    """(B, L) -> (M, B, L) as a broadcast view; (M, B, L) passes through. L
    must be ``length``."""
    if x.dim() == 2:
        x = x.unsqueeze(0).expand(n_models, *x.shape)
    if x.dim() != 3 or x.shape[0] != n_models or x.shape[2] != length:
        raise ValueError(
            f"input must be (B, {length}) or ({n_models}, B, {length}) for "
            "this model, "
            f"got {tuple(x.shape)}"
        )
    return x


class _Stacked(nn.Module):
    """Shared plumbing: the copy count and per-copy seeded initialisation."""

    def __init__(self, n_models, length, n_classes):
        super().__init__()
        self.n_models = integer("n_models", n_models)
        self.length = integer("length", length)  # of each input signal
        self.n_classes = integer("n_classes", n_classes, minimum=2)

    def reset_parameters(self, seeds=None):
        generators = seeded_generators(self.n_models, seeds)
        for layer in self.modules():
            if isinstance(layer, StackedLinear):
                layer.reset_parameters(generators)
        self._reset_extra(generators)
        return self

    def _reset_extra(self, generators):
        """Initialise parameters that are not in StackedLinear layers (none by
        default).
        """


class Linear(_Stacked):
    """Logistic regression: Linear(d_in, n_classes)."""

    def __init__(self, n_models=1, d_in=40, n_classes=10, seeds=None):
        super().__init__(n_models, integer("d_in", d_in), n_classes)
        self.out = StackedLinear(n_models, d_in, n_classes)
        self.reset_parameters(seeds)

    def forward(self, x):
        return self.out(_per_model(x, self.n_models, self.length))


class MLP(_Stacked):
    """Linear(d_in, width), ReLU, then ``depth - 1`` hidden layers, then
    Linear(width, n_classes).

    With ``residual=True`` (the paper's chapter 2 MLP) each hidden layer adds
    its output to its input: h = h + ReLU(W h + b); otherwise h = ReLU(W h + b)
    (plain, as in double descent).
    """

    def __init__(
        self,
        n_models=1,
        width=100,
        depth=2,
        residual=True,
        d_in=40,
        n_classes=10,
        seeds=None,
    ):
        super().__init__(n_models, integer("d_in", d_in), n_classes)
        width, depth = integer("width", width), integer("depth", depth)
        self.residual = flag("residual", residual)
        self.inp = StackedLinear(n_models, d_in, width)
        self.hidden = nn.ModuleList(
            StackedLinear(n_models, width, width) for _ in range(depth - 1)
        )
        self.out = StackedLinear(n_models, width, n_classes)
        self.reset_parameters(seeds)

    def forward(self, x):
        h = torch.relu(self.inp(_per_model(x, self.n_models, self.length)))
        for layer in self.hidden:
            h = (
                h + torch.relu(layer(h))
                if self.residual
                else torch.relu(layer(h))
            )
        return self.out(h)


def _flat_linear(layer, h):
    """``layer`` applied to h (M, B, L, C) flattened channel-major, as
    ``nn.Flatten`` does on PyTorch's (B, C, L) layout. Rather than move every
    example's activations into that order, the weights are reordered to match
    h's own (far fewer numbers)."""
    m, b, length, c = h.shape
    w = (
        layer.weight.view(m, c, length, -1)
        .transpose(1, 2)
        .reshape(m, length * c, -1)
    )
    return torch.baddbmm(layer.bias, h.reshape(m, b, length * c), w)


class CNN(_Stacked):
    """Conv1d(1, c, 5, stride 2, pad 1), then ``depth - 1`` Conv1d(c, c, 3,
    stride 2, pad 1), ReLU after each, flatten, Linear to n_classes (the
    paper's CNN: c = 25, depth 3).
    """

    def __init__(
        self,
        n_models=1,
        channels=25,
        depth=3,
        length=40,
        n_classes=10,
        seeds=None,
    ):
        super().__init__(n_models, length, n_classes)
        channels, depth = (
            integer("channels", channels),
            integer("depth", depth),
        )
        convs = [StackedConv1d(n_models, 1, channels, 5, stride=2, padding=1)]
        convs += [
            StackedConv1d(n_models, channels, channels, 3, stride=2, padding=1)
            for _ in range(depth - 1)
        ]
        self.convs = nn.ModuleList(convs)
        for conv in convs:
            length = conv.out_length(length)
            if length < 1:
                raise ValueError(
                    f"length {self.length} is too short for depth {depth}: "
                    f"every stride-2 convolution halves it"
                )
        self.out = StackedLinear(n_models, channels * length, n_classes)
        self.reset_parameters(seeds)

    def features(self, x):
        """Every conv layer's output, (M, B, length_i, channels)."""
        h = _per_model(x, self.n_models, self.length).unsqueeze(-1)
        layers = []
        for conv in self.convs:
            h = torch.relu(conv(h))
            layers.append(h)
        return layers

    def forward(self, x):
        return _flat_linear(self.out, self.features(x)[-1])


POOLS = ("none", "stride", "max", "avg", "l2")


class PoolCNN(_Stacked):
    """Chapter 3's CNN: two Conv1d(c, c, 3, padding 1) layers, each followed by
    ReLU and the pooling under test, then Linear to n_classes (the paper's: c =
    20, 200 inputs, 800 without pooling).

    ``pool`` is one of :data:`POOLS`: "none" (stride 1, no pooling),
    "stride" (stride-2 convolutions, no pooling), or "max", "avg", "l2"
    (windows of 2, see :func:`mnist1d.layers.relu_pool`). Every copy in a stack
    pools the same way.
    """

    def __init__(
        self,
        n_models=1,
        pool="max",
        channels=20,
        length=40,
        n_classes=10,
        seeds=None,
    ):
        super().__init__(n_models, length, n_classes)
        self.pool = choice("pool", pool, POOLS)
        channels = integer("channels", channels)
        if pool != "none" and self.length % 4:
            raise ValueError(
                f"length must be a multiple of 4 with pool={pool!r} (two "
                f"halvings), got {length!r}"
            )
        stride = 2 if pool == "stride" else 1
        self.convs = nn.ModuleList(
            [
                StackedConv1d(
                    n_models, 1, channels, 3, stride=stride, padding=1
                ),
                StackedConv1d(
                    n_models, channels, channels, 3, stride=stride, padding=1
                ),
            ]
        )
        final = length if pool == "none" else length // 4
        self.out = StackedLinear(n_models, channels * final, n_classes)
        self.reset_parameters(seeds)

    def forward(self, x):
        h = _per_model(x, self.n_models, self.length).unsqueeze(-1)
        for conv in self.convs:
            h = conv(h)
            h = (
                torch.relu(h)
                if self.pool in ("none", "stride")
                else relu_pool(h, self.pool)
            )
        return _flat_linear(self.out, h)


class GRU(_Stacked):
    """Bidirectional GRU over the positions (input 1, ``hidden`` units, zero
    initial state), all outputs flattened, Linear to n_classes (the paper's
    GRU: hidden 6).

    Parameters are ``nn.GRU``'s, per copy and direction (0 forward, 1
    backward): ``weight_ih`` (M, 2, 3H, 1), ``weight_hh`` (M, 2, 3H, H),
    ``bias_ih`` and ``bias_hh`` (M, 2, 3H, 1), gates r, z, n. The backward
    direction is a forward recurrence over the reversed signal, so all 2M
    recurrences run together in one loop over the positions
    (:func:`mnist1d.recurrence.gru_recurrence`).
    """

    def __init__(
        self, n_models=1, hidden=6, length=40, n_classes=10, seeds=None
    ):
        super().__init__(n_models, length, n_classes)
        self.hidden = hidden = integer("hidden", hidden)
        shape = (n_models, 2, 3 * hidden)
        self.weight_ih = nn.Parameter(torch.empty(*shape, 1))
        self.weight_hh = nn.Parameter(torch.empty(*shape, hidden))
        self.bias_ih = nn.Parameter(torch.empty(*shape, 1))
        self.bias_hh = nn.Parameter(torch.empty(*shape, 1))
        self.out = StackedLinear(n_models, length * 2 * hidden, n_classes)
        self.reset_parameters(seeds)

    def _reset_extra(self, generators):
        for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
            # nn.GRU's default
            uniform_(p, 1 / math.sqrt(self.hidden), generators)

    def _states(self, x):
        """Hidden states straight from the recurrence, (length, M, 2,
        hidden, B); the backward direction (index 1) is stored in its
        own reading order, last position first.
        """
        x = _per_model(x, self.n_models, self.length)
        m, b, length = x.shape
        rec = 2 * m  # recurrence 2m + d is copy m, direction d
        xs = (
            torch.stack([x, x.flip(-1)], 1)
            .reshape(rec, b, length)
            .permute(2, 0, 1)
            .unsqueeze(2)
        )
        hs = gru_recurrence(
            xs,
            *(
                p.reshape(rec, 3 * self.hidden, -1)
                for p in (
                    self.weight_ih,
                    self.bias_ih,
                    self.weight_hh,
                    self.bias_hh,
                )
            ),
        )
        return hs.view(length, m, 2, self.hidden, b)

    def features(self, x):
        """Hidden states of both directions at every position, (M, B,
        length, 2, hidden), as ``nn.GRU(bidirectional=True)`` returns
        them (here with a copy axis first).
        """
        hs = self._states(x)
        # backward direction back in position order
        both = torch.stack([hs[:, :, 0], hs[:, :, 1].flip(0)], 2)
        return both.permute(1, 4, 0, 2, 3)

    def forward(self, x):
        # The same as self.out(self.features(x).flatten(2)), without moving the
        # 2 x 40 x 6 states of every example into position order: the output
        # weights are reordered instead (far fewer numbers), and one small
        # product per position is summed.
        hs = self._states(x)
        length, m, _, h, b = hs.shape
        w = self.out.weight.view(m, length, 2, h, -1)
        # (M, length, 2, H, C), reading order
        w = torch.stack([w[:, :, 0], w[:, :, 1].flip(1)], 2)
        # (length * M, C, 2H)
        w = w.permute(1, 0, 4, 2, 3).reshape(length * m, -1, 2 * h)
        logits = (
            torch.bmm(w, hs.reshape(length * m, 2 * h, b))
            .view(length, m, -1, b)
            .sum(0)
        )
        return logits.transpose(1, 2) + self.out.bias


MODELS = {
    "linear": Linear,
    "mlp": MLP,
    "cnn": CNN,
    "gru": GRU,
    "pool_cnn": PoolCNN,
}


def build(name, n_models=1, seeds=None, **kwargs):
    """A model by name ("linear", "mlp", "cnn", "gru", "pool_cnn"), holding
    ``n_models`` independent copies.

    ``seeds`` (one per copy, default 0..n_models-1) fix each copy's initial
    parameters, whatever else is in the stack. Other keyword arguments go to
    the model's class (``width``, ``depth``, ``channels``, ``hidden``, ...).
    """
    if name not in MODELS:
        raise ValueError(
            f"model name must be one of {sorted(MODELS)}, got {name!r}"
        )
    allowed = [
        p
        for p in inspect.signature(MODELS[name]).parameters
        if p not in ("n_models", "seeds")
    ]
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown argument(s) {unknown} for {name!r}; allowed: {allowed}"
        )
    return MODELS[name](n_models=n_models, seeds=seeds, **kwargs)


def count_parameters(model):
    """Trainable parameters of one copy."""
    return (
        sum(p.numel() for p in model.parameters() if p.requires_grad)
        // model.n_models
    )
