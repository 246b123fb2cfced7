"""The paper's models as plain ``torch.nn`` modules, one model per module.

This is how a reader would write them, and what the chapters show. The course
trains the stacked versions in :mod:`mnist1d.models` instead (many copies in
one module, for speed); :func:`from_stack` copies one copy of a stack into its
plain twin, and the tests check that both compute the same logits and
gradients.
"""

import torch
from torch import nn

__all__ = [
    "Linear",
    "MLP",
    "CNN",
    "GRU",
    "PoolCNN",
    "from_stack",
    "plain_twin",
    "stack_grads",
    "train_plain",
]


class Linear(nn.Module):
    """Logistic regression on the 40 raw positions."""

    def __init__(self, d_in=40, n_classes=10):
        super().__init__()
        self.linear = nn.Linear(d_in, n_classes)

    def forward(self, x):  # x: (B, 40)
        return self.linear(x)


class MLP(nn.Module):
    """40 -> width, depth - 1 hidden layers (residual: h + ReLU), -> 10."""

    def __init__(
        self, width=100, depth=2, residual=True, d_in=40, n_classes=10
    ):
        super().__init__()
        self.residual = residual
        self.inp = nn.Linear(d_in, width)
        self.hidden = nn.ModuleList(
            nn.Linear(width, width) for _ in range(depth - 1)
        )
        self.out = nn.Linear(width, n_classes)

    def forward(self, x):  # x: (B, 40)
        h = torch.relu(self.inp(x))
        for layer in self.hidden:
            r = torch.relu(layer(h))
            h = h + r if self.residual else r
        return self.out(h)


class CNN(nn.Module):
    """Three stride-2 convolutions with ReLU, then a linear read-out."""

    def __init__(self, channels=25, depth=3, length=40, n_classes=10):
        super().__init__()
        convs = [nn.Conv1d(1, channels, 5, stride=2, padding=1)]
        convs += [
            nn.Conv1d(channels, channels, 3, stride=2, padding=1)
            for _ in range(depth - 1)
        ]
        self.convs = nn.ModuleList(convs)
        with torch.no_grad():  # 40 positions -> 19 -> 10 -> 5
            n_out = self.features(torch.zeros(1, length)).numel()
        self.out = nn.Linear(n_out, n_classes)

    def features(self, x):  # x: (B, 40) -> (B, channels, 5)
        h = x.unsqueeze(1)  # one input channel
        for conv in self.convs:
            h = torch.relu(conv(h))
        return h

    def forward(self, x):
        return self.out(self.features(x).flatten(1))


class GRU(nn.Module):
    """A bidirectional GRU reads the signal; a linear layer, all its states."""

    def __init__(self, hidden=6, length=40, n_classes=10):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(length * 2 * hidden, n_classes)

    def forward(self, x):  # x: (B, 40)
        states, _ = self.gru(x.unsqueeze(-1))  # (B, 40, 2 * hidden)
        return self.out(states.flatten(1))


class PoolCNN(nn.Module):
    """Chapter 3's CNN: two convolutions, each with ReLU and a pooling."""

    def __init__(self, pool="max", channels=20, length=40, n_classes=10):
        super().__init__()
        stride = 2 if pool == "stride" else 1  # "none", "stride": no pooling
        self.conv1 = nn.Conv1d(1, channels, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=stride, padding=1)
        self.pool = {
            "max": nn.MaxPool1d(2),
            "avg": nn.AvgPool1d(2),
            "l2": nn.LPPool1d(2, 2),
        }.get(pool, nn.Identity())
        n_out = channels * (length if pool == "none" else length // 4)
        self.out = nn.Linear(n_out, n_classes)

    def forward(self, x):  # x: (B, 40)
        h = self.pool(torch.relu(self.conv1(x.unsqueeze(1))))
        h = self.pool(torch.relu(self.conv2(h)))
        return self.out(h.flatten(1))


def _pairs(stack, plain):
    """(plain parameter, stacked parameter, layout) for every parameter of
    ``plain``.

    ``layout`` maps one copy's slice of the stacked tensor (the parameter
    or its gradient) to the plain one's layout: linear weights are (in, out) in
    the stack and (out, in) in torch.nn; convolution weights tap-major, (kernel
    * c_in, c_out), in the stack and (c_out, c_in, kernel) in torch.nn.
    """
    from . import models

    pairs = []

    def linear(s, p):
        pairs.extend(
            [
                (p.weight, s.weight, lambda t: t.T),
                (p.bias, s.bias, lambda t: t[0]),
            ]
        )

    def conv(s, p):
        shape = (s.kernel, p.in_channels, p.out_channels)
        pairs.extend(
            [
                (p.weight, s.weight, lambda t: t.view(shape).permute(2, 1, 0)),
                (p.bias, s.bias, lambda t: t[0]),
            ]
        )

    if isinstance(stack, models.Linear):
        linear(stack.out, plain.linear)
    elif isinstance(stack, models.MLP):
        for s, p in zip(
            [stack.inp, *stack.hidden, stack.out],
            [plain.inp, *plain.hidden, plain.out],
        ):
            linear(s, p)
    elif isinstance(stack, (models.CNN, models.PoolCNN)):
        for s, p in zip(
            stack.convs,
            plain.convs
            if isinstance(stack, models.CNN)
            else [plain.conv1, plain.conv2],
        ):
            conv(s, p)
        linear(stack.out, plain.out)
    # (M, 2, 3H, .) -> nn.GRU's per direction, gates r, z, n in both
    elif isinstance(stack, models.GRU):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            for d, suffix in ((0, "_l0"), (1, "_l0_reverse")):
                p = getattr(plain.gru, name + suffix)
                pairs.append(
                    (
                        p,
                        getattr(stack, name),
                        lambda t, d=d, shape=p.shape: t[d].reshape(shape),
                    )
                )
        linear(stack.out, plain.out)
    return pairs


def plain_twin(stack):
    """A plain model of the kind and size of ``stack``, freshly initialised."""
    from . import models

    if isinstance(stack, models.Linear):
        return Linear(stack.length, stack.n_classes)
    if isinstance(stack, models.MLP):
        return MLP(
            stack.inp.weight.shape[-1],
            len(stack.hidden) + 1,
            stack.residual,
            stack.length,
            stack.n_classes,
        )
    if isinstance(stack, models.CNN):
        return CNN(
            stack.convs[0].weight.shape[-1],
            len(stack.convs),
            stack.length,
            stack.n_classes,
        )
    if isinstance(stack, models.GRU):
        return GRU(stack.hidden, stack.length, stack.n_classes)
    if isinstance(stack, models.PoolCNN):
        return PoolCNN(
            stack.pool,
            stack.convs[0].weight.shape[-1],
            stack.length,
            stack.n_classes,
        )
    raise ValueError(
        "stack must be a model from mnist1d.models.build, got "
        f"{type(stack).__name__}"
    )


def from_stack(stack, copy=0):
    """Copy ``copy`` of a stacked model, as the plain ``torch.nn`` model above.

    Parameters
    ----------
    stack : torch.nn.Module
        From :func:`mnist1d.models.build`.
    copy : int
        Which of its ``n_models`` copies.

    Returns
    -------
    torch.nn.Module
        On the CPU, with copy ``copy``'s weights: its logits on x (B, 40) are
        ``stack(x)[copy]``, up to float rounding.
    """
    plain = plain_twin(stack)
    if not isinstance(copy, int) or not 0 <= copy < stack.n_models:
        raise ValueError(
            f"copy must be an integer in [0, {stack.n_models - 1}], got "
            f"{copy!r}"
        )
    with torch.no_grad():
        for p, s, layout in _pairs(stack, plain):
            p.copy_(layout(s.detach()[copy]))
    return plain


def stack_grads(stack, plain, copy=0):
    """The stack's gradients for copy ``copy``, each in the layout of the
    matching parameter of ``plain``: a list of (plain parameter, gradient)."""
    return [(p, layout(s.grad[copy])) for p, s, layout in _pairs(stack, plain)]


def train_plain(model, data, steps=6000, lr=0.01, batch_size=100):
    """Train one plain model with the paper's protocol, as a reader would
    write the loop: Adam, minibatches taken in order, cross-entropy.

    :func:`mnist1d.train.train` runs the same loop for a stack of copies (plus
    evaluation every ``eval_every`` steps, input checks and a divergence
    watch); chapter 2 shows this one and checks that both land on the same
    accuracy.

    Parameters
    ----------
    model : torch.nn.Module
        Maps (B, 40) float32 signals to (B, 10) logits.
    data : dict
        A dataset dict of numpy arrays: ``x`` (N, 40), ``y`` (N,), ``x_test``,
        ``y_test``.
    steps, lr, batch_size : the paper's 6000, 0.01 and 100 by default.

    Returns
    -------
    float
        Test accuracy after training, a fraction in [0, 1].
    """
    device = next(model.parameters()).device
    x = torch.as_tensor(data["x"], dtype=torch.float32, device=device)
    y = torch.as_tensor(data["y"], dtype=torch.int64, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        start = (step * batch_size) % len(x)
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        x_test = torch.as_tensor(
            data["x_test"], dtype=torch.float32, device=device
        )
        pred = model(x_test).argmax(1).cpu().numpy()
    return float((pred == data["y_test"]).mean())
