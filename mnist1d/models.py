"""The paper's models, written so that one module holds N independent copies.

Every model here is an ordinary ``torch.nn.Module`` whose parameters carry a leading
*model* dimension of size ``n_models``. Copy m sees only its own slice of every parameter,
so N copies trained together with one optimizer step are N independent models (Adam
works element by element). On a CPU this is what makes seeds and sweeps affordable: a
small model is bound by per-step overhead, and N copies pay that overhead once.

Inputs are ``(B, length)`` (the same batch for every copy) or ``(n_models, B, length)``;
outputs are logits of shape ``(n_models, B, n_classes)``. With ``n_models=1`` the
parameter counts are the paper's: linear 410, MLP 15,210, CNN 5,210, GRU 5,134.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["StackedLinear", "StackedConv1d", "Linear", "MLP", "CNN", "GRU", "build", "count_parameters"]


def _uniform_(t, bound, generators):
    """Fill t[m] from generators[m]: copy m's initial values depend only on its own seed."""
    with torch.no_grad():
        for m, g in enumerate(generators):
            t[m].copy_(torch.rand(t[m].shape, generator=g) * 2 * bound - bound)


def _generators(n_models, seeds):
    seeds = range(n_models) if seeds is None else list(seeds)
    if len(seeds) != n_models:
        raise ValueError(f"seeds must give one seed per model ({n_models}), got {len(seeds)}")
    return [torch.Generator().manual_seed(int(s)) for s in seeds]


class StackedLinear(nn.Module):
    """``n_models`` independent ``Linear(d_in, d_out)`` layers: (M, B, d_in) -> (M, B, d_out)."""

    def __init__(self, n_models, d_in, d_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_models, d_in, d_out))
        self.bias = nn.Parameter(torch.empty(n_models, 1, d_out))
        self.fan_in = d_in

    def reset_parameters(self, generators):
        # PyTorch's default for Linear and Conv1d: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        for p in (self.weight, self.bias):
            _uniform_(p, 1 / math.sqrt(self.fan_in), generators)

    def forward(self, x):
        return torch.baddbmm(self.bias, x, self.weight)


class StackedConv1d(StackedLinear):
    """``n_models`` independent ``Conv1d(c_in, c_out, kernel, stride, padding)`` layers.

    Signals are channels-last, (M, B, length, c_in) -> (M, B, length_out, c_out). The
    convolution is a matrix product with the signal's patches (tap-major: weight row
    ``j * c_in + c`` multiplies tap j of channel c), one batched product for all copies.
    """

    def __init__(self, n_models, c_in, c_out, kernel, stride=1, padding=0):
        super().__init__(n_models, c_in * kernel, c_out)
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x):
        m, b, length, c = x.shape
        x = F.pad(x, (0, 0, self.padding, self.padding))
        n_out = (length + 2 * self.padding - self.kernel) // self.stride + 1
        span = self.stride * (n_out - 1) + 1
        # Strided slices, one per tap, side by side: cheaper to differentiate than unfold.
        patches = torch.cat([x[:, :, j:j + span:self.stride] for j in range(self.kernel)], dim=-1)
        out = torch.baddbmm(self.bias, patches.reshape(m, b * n_out, c * self.kernel), self.weight)
        return out.view(m, b, n_out, -1)


def _per_model(x, n_models):
    """(B, L) -> (M, B, L) as a broadcast view; (M, B, L) passes through."""
    if x.dim() == 2:
        return x.unsqueeze(0).expand(n_models, *x.shape)
    if x.dim() != 3 or x.shape[0] != n_models:
        raise ValueError(f"input must be (B, L) or ({n_models}, B, L), got {tuple(x.shape)}")
    return x


class _Stacked(nn.Module):
    """Shared plumbing: the copy count and per-copy seeded initialisation."""

    def __init__(self, n_models):
        super().__init__()
        self.n_models = n_models

    def reset_parameters(self, seeds=None):
        generators = _generators(self.n_models, seeds)
        for layer in self.modules():
            if isinstance(layer, StackedLinear):
                layer.reset_parameters(generators)
        self._reset_extra(generators)
        return self

    def _reset_extra(self, generators):
        """Initialise parameters that are not in StackedLinear layers (none by default)."""


class Linear(_Stacked):
    """Logistic regression: Linear(d_in, n_classes)."""

    def __init__(self, n_models=1, d_in=40, n_classes=10, seeds=None):
        super().__init__(n_models)
        self.out = StackedLinear(n_models, d_in, n_classes)
        self.reset_parameters(seeds)

    def forward(self, x):
        return self.out(_per_model(x, self.n_models))


class MLP(_Stacked):
    """Linear(d_in, width), ReLU, then ``depth - 1`` hidden layers, then Linear(width, n_classes).

    With ``residual=True`` (the paper's chapter 2 MLP) each hidden layer adds its output to
    its input: h = h + ReLU(W h + b); otherwise h = ReLU(W h + b) (plain, as in double descent).
    """

    def __init__(self, n_models=1, width=100, depth=2, residual=True, d_in=40, n_classes=10, seeds=None):
        super().__init__(n_models)
        self.residual = residual
        self.inp = StackedLinear(n_models, d_in, width)
        self.hidden = nn.ModuleList(StackedLinear(n_models, width, width) for _ in range(depth - 1))
        self.out = StackedLinear(n_models, width, n_classes)
        self.reset_parameters(seeds)

    def forward(self, x):
        h = torch.relu(self.inp(_per_model(x, self.n_models)))
        for layer in self.hidden:
            h = h + torch.relu(layer(h)) if self.residual else torch.relu(layer(h))
        return self.out(h)


class CNN(_Stacked):
    """Conv1d(1, c, 5, stride 2, pad 1), then ``depth - 1`` Conv1d(c, c, 3, stride 2, pad 1),
    ReLU after each, flatten, Linear to n_classes (the paper's CNN: c = 25, depth 3)."""

    def __init__(self, n_models=1, channels=25, depth=3, length=40, n_classes=10, seeds=None):
        super().__init__(n_models)
        convs = [StackedConv1d(n_models, 1, channels, 5, stride=2, padding=1)]
        convs += [StackedConv1d(n_models, channels, channels, 3, stride=2, padding=1) for _ in range(depth - 1)]
        self.convs = nn.ModuleList(convs)
        for conv in convs:
            length = (length + 2 * conv.padding - conv.kernel) // conv.stride + 1
        self.out = StackedLinear(n_models, channels * length, n_classes)
        self.reset_parameters(seeds)

    def features(self, x):
        """Every conv layer's output, (M, B, length_i, channels)."""
        h = _per_model(x, self.n_models).unsqueeze(-1)
        layers = []
        for conv in self.convs:
            h = torch.relu(conv(h))
            layers.append(h)
        return layers

    def forward(self, x):
        h = self.features(x)[-1]
        # Flatten channel-major, as nn.Flatten does on PyTorch's (B, C, L) layout.
        return self.out(h.transpose(2, 3).reshape(h.shape[0], h.shape[1], -1))


class GRU(_Stacked):
    """Bidirectional GRU over the positions (input 1, ``hidden`` units, zero initial state),
    all outputs flattened, Linear to n_classes (the paper's GRU: hidden 6).

    The copies live in one ``nn.GRU`` of ``hidden * n_models`` units whose weight matrices
    are block-diagonal: unit u of copy m reads only copy m's input and copy m's units.
    The off-block weights start at zero and their gradients are masked to zero, so they
    stay zero, and PyTorch's fused GRU kernel runs all copies in one call.
    """

    def __init__(self, n_models=1, hidden=6, length=40, n_classes=10, seeds=None):
        super().__init__(n_models)
        self.hidden = hidden
        self.rnn = nn.GRU(n_models, hidden * n_models, batch_first=True, bidirectional=True)
        unit_model = torch.arange(hidden * n_models).repeat(3) // hidden  # gates r, z, n
        masks = {"weight_ih": unit_model[:, None] == torch.arange(n_models)[None, :],
                 "weight_hh": unit_model[:, None] == (torch.arange(hidden * n_models) // hidden)[None, :]}
        for name, p in self.rnn.named_parameters():
            if name.startswith("weight"):
                self.register_buffer(f"mask_{name}", masks[name.split("_l0")[0]].float())
                # Read the buffer at backward time: it follows the module to its device.
                p.register_hook(lambda g, name=name: g * getattr(self, f"mask_{name}"))
        self.out = StackedLinear(n_models, length * 2 * hidden, n_classes)
        self.reset_parameters(seeds)

    def _reset_extra(self, generators):
        h, m_all = self.hidden, self.n_models
        bound = 1 / math.sqrt(h)  # nn.GRU's own default for one copy of `hidden` units
        with torch.no_grad():
            for name, p in self.rnn.named_parameters():
                p.zero_()
                for m, g in enumerate(generators):
                    rows = torch.cat([torch.arange(k * h * m_all + m * h, k * h * m_all + (m + 1) * h)
                                      for k in range(3)])
                    cols = [m] if "weight_ih" in name else range(m * h, (m + 1) * h)
                    shape = (len(rows), len(cols)) if name.startswith("weight") else (len(rows),)
                    values = torch.rand(shape, generator=g) * 2 * bound - bound
                    if name.startswith("weight"):
                        p[rows[:, None], torch.as_tensor(list(cols))[None, :]] = values
                    else:
                        p[rows] = values

    def forward(self, x):
        x = _per_model(x, self.n_models)
        m, b, length = x.shape
        out, _ = self.rnn(x.permute(1, 2, 0))  # (B, L, 2 * hidden * M)
        out = out.view(b, length, 2, m, self.hidden).permute(3, 0, 1, 2, 4)
        return self.out(out.reshape(m, b, -1))


MODELS = {"linear": Linear, "mlp": MLP, "cnn": CNN, "gru": GRU}


def build(name, n_models=1, seeds=None, **kwargs):
    """A model by name ("linear", "mlp", "cnn", "gru"), holding ``n_models`` independent copies.

    ``seeds`` (one per copy, default 0..n_models-1) fix each copy's initial parameters,
    whatever else is in the stack. Other keyword arguments go to the model's class
    (``width``, ``depth``, ``channels``, ``hidden``, ...).
    """
    if name not in MODELS:
        raise ValueError(f"model name must be one of {sorted(MODELS)}, got {name!r}")
    return MODELS[name](n_models=n_models, seeds=seeds, **kwargs)


def count_parameters(model):
    """Trainable parameters of one copy (off-block zeros of a stacked GRU not counted)."""
    total = 0
    for name, p in model.named_parameters():
        mask = getattr(model, "mask_" + name.split(".", 1)[-1], None) if name.startswith("rnn.") else None
        total += int(mask.sum()) if mask is not None else p.numel()
    return total // model.n_models
