"""Chapter 6, part 2: metalearning an activation function.

The inner network is an MLP 40-128-10 whose hidden units use ``f(x) = ELU(x) +
0.2 g(x)``, with ``g`` a small tanh MLP 1-100-1. The inner network trains by
RMSprop; the meta-loss is the mean of its last 200 training losses, and its
gradient with respect to g's weights comes from backpropagating through all of
training, as in the paper's notebook.

Two things make this cheap enough for a CPU:

* **A table for g.** Running g (100 tanh units) on every one of the 100 x 128
hidden
  activations at each of 301 steps, and keeping all of it for the backward
  pass, costs gigabytes. Instead each outer step evaluates g and its slope g'
  once, in closed form, on a fine grid, and the inner network reads f from the
  grid by cubic Hermite interpolation. The interpolant is smooth (its second
  derivative is not zero), so the meta-gradient keeps the curvature terms that
  a piecewise-linear table would drop. Pre-activations outside the grid are
  evaluated exactly, so nothing is clipped.
* **Hand-written inner gradients.** The inner network has two layers, so its
gradient is
  a few matrix products. Writing them out, with the activation returning its
  value and slope together, gives ordinary autograd one graph to differentiate,
  instead of a gradient of a gradient.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..validate import integer, number
from .metalearn import init_mlp

__all__ = [
    "ActConfig",
    "BASELINES",
    "g_and_slope",
    "TableActivation",
    "exact_outside",
    "learned",
    "piecewise_linear",
    "inner_forward",
    "loss_and_grads",
    "inner_train",
    "accuracy",
    "ActRun",
    "learn_activation",
    "compare",
]


@dataclass
class ActConfig:
    """The paper's activation-function search (notebook 8), inner and outer
    settings.
    """

    hidden: int = 128  # inner MLP 40-hidden-10
    inner_steps: int = 301
    # batches in order from the first row, wrapping around
    batch_size: int = 100
    inner_lr: float = 1e-2  # RMSprop
    # RMSprop's running average of squared gradients (started at 1)
    rms_decay: float = 0.4
    # U(-noise, noise) added after the activation, one draw per hidden unit and
    # step
    noise: float = 0.1
    # the meta-loss is the mean of the last `last` inner losses
    last: int = 200
    g_hidden: int = 100  # g is a tanh MLP 1-g_hidden-1
    g_scale: float = 0.2  # f = ELU + g_scale * g
    meta_lr: float = 0.3  # plain SGD on g's weights
    meta_steps: int = 301
    clip: float = 0.1  # each meta-gradient entry is clipped to [-clip, clip]
    grid_range: float = 16.0  # the table covers [-grid_range, grid_range] ...
    # ... every 0.01, with a node at 0, where ELU's curvature jumps
    grid_points: int = 3201
    # the inner network's initial weights and noise, the same at every outer
    # step
    seed: int = 0
    g_seed: int = 0  # g's initial weights

    def __post_init__(self):
        for name in (
            "hidden",
            "inner_steps",
            "batch_size",
            "g_hidden",
            "meta_steps",
        ):
            integer(name, getattr(self, name))
        integer("last", self.last, 1, self.inner_steps)
        integer("grid_points", self.grid_points, 2)
        for name in ("seed", "g_seed"):
            integer(name, getattr(self, name), 0)
        for name in ("inner_lr", "meta_lr", "clip", "grid_range"):
            number(name, getattr(self, name), low=0, low_open=True)
        number("rms_decay", self.rms_decay, 0, 1, high_open=True)
        for name in ("noise", "g_scale"):
            number(name, getattr(self, name), low=0)


# Each activation maps pre-activations h to (f(h), f'(h)): the inner gradient
# needs the slope.
def _relu(h):
    return h.clamp(min=0), (h > 0).to(h.dtype)


def _elu(h):
    return torch.where(h > 0, h, torch.expm1(h)), torch.where(
        h > 0, torch.ones_like(h), torch.exp(h)
    )


def _swish(h):
    s = torch.sigmoid(h)
    return h * s, s + h * s * (1 - s)


def _tanh(h):
    t = torch.tanh(h)
    return t, 1 - t * t


def _sigmoid(h):
    s = torch.sigmoid(h)
    return s, s * (1 - s)


def _softplus(h):
    return F.softplus(h), torch.sigmoid(h)


BASELINES = {
    "relu": _relu,
    "elu": _elu,
    "swish": _swish,
    "tanh": _tanh,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
}


def g_and_slope(gp, x):
    """The tanh MLP ``gp`` (1-H-1, from :func:`init_mlp`) and its derivative at
    x (any shape)."""
    t = torch.tanh(x[..., None] * gp["w0"][0] + gp["b0"])  # (..., H)
    g = t @ gp["w1"][:, 0] + gp["b1"][0]
    slope = (1 - t * t) @ (gp["w0"][0] * gp["w1"][:, 0])
    return g, slope


def _cubic_cells(values, slopes, step):
    """Per-cell polynomial coefficients of the cubic Hermite interpolant of a
    table.

    values, slopes : (K,) f and f' at the nodes lo + k*step. Returns (K-1,
    7): for u in [0, 1] across cell k, f = c0 + c1 u + c2 u^2 + c3 u^3, and the
    last three columns give f' = d1 + d2 u + d3 u^2 (per unit of x, not of u).
    """
    f0, f1, m0, m1 = (
        values[:-1],
        values[1:],
        slopes[:-1] * step,
        slopes[1:] * step,
    )
    c2, c3 = 3 * (f1 - f0) - 2 * m0 - m1, 2 * (f0 - f1) + m0 + m1
    return torch.stack(
        [f0, m0, c2, c3, m0 / step, 2 * c2 / step, 3 * c3 / step], 1
    )


class _TakeRows(torch.autograd.Function):
    """``cells[k]`` for a flat index k, with a backward that sums in a fixed
    order on any device.

    The backward adds each row of the incoming gradient into the cell it came
    from. ``index_select``'s own backward (``index_add``) does that in a fixed
    order on a CPU, but with atomic adds on CUDA, so the meta-gradient would
    change from run to run there. Here the sum is a one-hot matrix product
    instead, in blocks of 4096 rows: a fixed order, for a (4096, cells) matrix
    per block, which costs little on a GPU.
    """

    @staticmethod
    def forward(ctx, cells, k):
        ctx.save_for_backward(k)
        ctx.n_cells = len(cells)
        return cells.index_select(0, k)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (k,) = ctx.saved_tensors
        out = grad.new_zeros(ctx.n_cells, grad.shape[1])
        ids = torch.arange(ctx.n_cells, device=k.device)
        for i in range(0, len(k), 4096):
            out += (k[i : i + 4096, None] == ids).to(grad.dtype).T @ grad[
                i : i + 4096
            ]
        return out, None


def _interpolate(h, lo, step, cells, dense=None):
    """f(h) and f'(h) from :func:`_cubic_cells`, for h inside the table.

    ``dense`` picks :class:`_TakeRows`' fixed-order backward; by default,
    off the CPU only. h (any shape) outside the table extrapolates the end
    cells.
    """
    dense = h.device.type != "cpu" if dense is None else dense
    u = (h - lo) / step
    # The right end point belongs to the last cell. An h outside the table
    # extrapolates its end cell: only a deferred run does that, and it is
    # redone (TableActivation).
    k = u.floor().clamp(0, len(cells) - 1)
    u = u - k
    k_flat = k.long().reshape(-1)
    # On a CPU index_select's own backward is index_add, in a fixed order, and
    # faster than going through Python.
    rows = (
        _TakeRows.apply(cells, k_flat)
        if dense
        else cells.index_select(0, k_flat)
    )
    c0, c1, c2, c3, d1, d2, d3 = rows.view(*k.shape, 7).unbind(-1)
    return ((c3 * u + c2) * u + c1) * u + c0, (d3 * u + d2) * u + d1


def _exact(gp, cfg, h):
    e, de = _elu(h)
    g, dg = g_and_slope(gp, h)
    return e + cfg.g_scale * g, de + cfg.g_scale * dg


class TableActivation:
    """The learned activation read from a table: h -> (f(h), f'(h)); see
    :func:`learned`.

    A call interpolates the table, and computes f exactly for any h outside it,
    which takes a host sync per call to find them. In a training loop that sync
    would come every step, so :func:`exact_outside` runs the loop with
    :meth:`deferred` instead.
    """

    def __init__(self, gp, cfg, dense=None):
        r = cfg.grid_range
        grid = torch.linspace(
            -r,
            r,
            cfg.grid_points,
            dtype=gp["w0"].dtype,
            device=gp["w0"].device,
        )
        self.gp, self.cfg, self.dense = gp, cfg, dense
        self.step = 2 * r / (cfg.grid_points - 1)
        self.cells = _cubic_cells(*_exact(gp, cfg, grid), self.step)
        # in a deferred copy: whether any h has left the table, on the device
        self.outside = None

    def deferred(self):
        """A copy, sharing the table, that interpolates every h
        (wrongly outside the table) and only records, on the device,
        whether any h fell outside: no host sync per call.
        """
        twin = object.__new__(TableActivation)
        twin.__dict__.update(
            self.__dict__,
            outside=torch.zeros(
                (), dtype=torch.bool, device=self.cells.device
            ),
        )
        return twin

    def __call__(self, h):
        r = self.cfg.grid_range
        inside = h.abs() <= r
        if self.outside is not None:
            self.outside = self.outside | ~inside.all()
            return _interpolate(h, -r, self.step, self.cells, self.dense)
        if bool(inside.all()):
            return _interpolate(h, -r, self.step, self.cells, self.dense)
        f, df = _interpolate(
            torch.where(inside, h, 0), -r, self.step, self.cells, self.dense
        )
        # rare, so exact and unbatched
        f_out, df_out = _exact(self.gp, self.cfg, h[~inside])
        return f.index_put((~inside,), f_out), df.index_put((~inside,), df_out)


def exact_outside(act, fn):
    """``fn(act)`` with at most one host sync for a :class:`TableActivation`.

    ``fn`` runs first with ``act.deferred()``; only if some input left the
    table does it run again with ``act`` itself, which computes those exactly.
    Any other activation: just ``fn(act)``.
    """
    if not isinstance(act, TableActivation) or act.outside is not None:
        return fn(act)
    fast = act.deferred()
    out = fn(fast)
    return fn(act) if bool(fast.outside) else out


def learned(gp, cfg=ActConfig(), table=True):
    """The activation ``f = ELU + g_scale * g`` as a function h -> (f(h),
    f'(h)).

    With ``table``, f and f' are computed exactly once, here, on a grid, and
    calls interpolate the grid (a :class:`TableActivation`), and compute f
    exactly for any h outside ``[-grid_range, grid_range]``, so nothing is
    clipped. Without ``table``, every call runs g on every h: exact, but far
    slower and bigger. Gradients flow back to ``gp``.
    """
    if not table:
        return lambda h: _exact(gp, cfg, h)
    return TableActivation(gp, cfg)


def piecewise_linear(knots, values):
    """The activation through the points (knots, values), extended linearly
    past both ends.

    knots : (K,) increasing; values : (K,). Returns h -> (f(h), f'(h)).
    """
    knots, values = (
        torch.as_tensor(knots, dtype=torch.float32),
        torch.as_tensor(values, dtype=torch.float32),
    )
    if (
        knots.dim() != 1
        or len(knots) < 2
        or knots.shape != values.shape
        or not (knots.diff() > 0).all()
    ):
        raise ValueError(
            "knots must be increasing, at least 2 of them, with one value each"
        )
    slopes = values.diff() / knots.diff()

    # per device and dtype, so a training loop copies nothing from the host per
    # step
    moved = {}

    def act(h):
        key = (h.device, h.dtype)
        if key not in moved:
            moved[key] = tuple(t.to(h) for t in (knots, values, slopes))
        kn, v, sl = moved[key]
        k = (
            torch.searchsorted(kn, h.detach().contiguous())
            .sub(1)
            .clamp(0, len(sl) - 1)
        )
        return v[k] + sl[k] * (h - kn[k]), sl[k]

    return act


def inner_forward(params, x, act, noise):
    """The inner MLP on a batch x (B, 40): its hidden activations a (B,
    hidden), their slopes f'(h) (B, hidden), and the logits (B, 10).

    ``noise`` (hidden,) or 0.0 is added to the activations, as in the paper.
    """
    h = x @ params["w0"] + params["b0"]
    a, da = act(h)
    a = a + noise
    return a, da, a @ params["w1"] + params["b1"]


def loss_and_grads(params, x, onehot, act, noise):
    """Cross-entropy of the inner MLP on one batch, and its gradients written
    out by hand.

    Returns the loss and the gradients as one flat vector, in the order of
    ``params``.
    """
    a, da, logits = inner_forward(params, x, act, noise)
    logp = logits.log_softmax(-1)
    loss = -(logp * onehot).sum() / len(x)
    d_logits = (logp.exp() - onehot) / len(x)
    d_h = (d_logits @ params["w1"].T) * da
    # w0, b0, w1, b1
    grads = (
        x.T @ d_h,
        d_h.sum(0),
        a.T @ d_logits,
        d_logits.sum(0),
    )
    return loss, torch.cat([g.reshape(-1) for g in grads])


def _unflatten(theta, shapes):
    return {
        k: v.view(shape)
        for (k, shape), v in zip(
            shapes.items(), theta.split([s.numel() for s in shapes.values()])
        )
    }


def inner_train(act, data, cfg=ActConfig(), seed=None):
    """Train the inner MLP with activation ``act`` by RMSprop; keeps the graph
    if ``act`` has one.

    Parameters
    ----------
    act : callable
        h -> (f(h), f'(h)), such as ``BASELINES["elu"]`` or :func:`learned`.
    data : dict of tensors
        ``x`` (N, 40) and ``y`` (N,) from
        :func:`mnist1d.experiments.metalearn.make_tensors`.
    seed : int, optional
        The initial weights and the noise; ``cfg.seed`` by default.

    Returns
    -------
    losses : torch.Tensor, (inner_steps,)
        The training loss of each batch before its update.
    params : dict of tensors
        The trained weights, ``w0`` (40, hidden), ``b0``, ``w1``
        (hidden, 10), ``b1``.
    """
    seed = cfg.seed if seed is None else seed
    return exact_outside(
        act, lambda a: _inner_run(a, data["x"], data["y"], cfg, seed)
    )


def _inner_run(act, x, y, cfg, seed):
    init = init_mlp((x.shape[1], cfg.hidden, 10), seed)
    shapes = {k: v.shape for k, v in init.items()}
    # One flat vector, so that each RMSprop step is a handful of operations,
    # not a handful per tensor.
    theta = torch.cat([v.reshape(-1) for v in init.values()]).to(
        x.device, x.dtype
    )
    # the paper's RMSprop starts its average at 1, not 0
    avg_sq = torch.ones_like(theta)
    onehot = F.one_hot(y, 10).to(x.dtype)
    # on the CPU, so every device draws the same noise
    gen = torch.Generator().manual_seed(seed + 10_000)
    noise = (
        (torch.rand(cfg.inner_steps, cfg.hidden, generator=gen) * 2 - 1)
        * cfg.noise
    ).to(x.device, x.dtype)
    losses = []
    for t in range(cfg.inner_steps):
        i = (t * cfg.batch_size) % len(x)
        batch = slice(i, i + cfg.batch_size)
        loss, grad = loss_and_grads(
            _unflatten(theta, shapes), x[batch], onehot[batch], act, noise[t]
        )
        avg_sq = cfg.rms_decay * avg_sq + (1 - cfg.rms_decay) * grad * grad
        theta = theta - cfg.inner_lr * grad / (avg_sq.sqrt() + 1e-8)
        losses.append(loss)
    return torch.stack(losses), _unflatten(theta, shapes)


def accuracy(act, params, x, y):
    """Test accuracy (a fraction, 0-1) of the inner MLP ``params`` with
    activation ``act``, without noise.
    """
    with torch.no_grad():
        logits = exact_outside(
            act, lambda a: inner_forward(params, x, a, 0.0)[2]
        )
        return (logits.argmax(-1) == y).float().mean().item()


@dataclass
class ActRun:
    """One activation-function search."""

    # (meta_steps,) mean of the last `last` inner losses at each outer step
    meta_loss: np.ndarray
    # (meta_steps,) the inner network's final test accuracy (0-1) at each
    # outer step
    test_acc: np.ndarray
    x: np.ndarray  # (P,) where the activation is sampled
    # (meta_steps + 1, P) the activation before each outer step, and the last
    f: np.ndarray
    g_params: dict = field(repr=False)  # g's final weights
    seconds: float = 0.0


def learn_activation(data, cfg=ActConfig(), sample=np.linspace(-5, 5, 201)):
    """Gradient descent on g's weights through the whole inner training run.

    Parameters
    ----------
    data : dict of tensors
        From :func:`mnist1d.experiments.metalearn.make_tensors`.
    cfg : ActConfig
    sample : array, (P,)
        Where to record f after each outer step, for plots.

    Returns
    -------
    ActRun
    """
    t0 = time.perf_counter()
    dev = data["x"].device
    gp = {
        k: v.to(dev)
        for k, v in init_mlp((1, cfg.g_hidden, 1), cfg.g_seed).items()
    }
    xs = torch.as_tensor(sample, dtype=torch.float32, device=dev)
    curves, meta_losses, accs = [], [], []
    for _ in range(cfg.meta_steps):
        gp = {k: v.detach().requires_grad_(True) for k, v in gp.items()}
        act = learned(gp, cfg)
        curves.append(act(xs)[0].detach())
        losses, params = inner_train(act, data, cfg)
        meta = losses[-cfg.last :].mean()
        grads = torch.autograd.grad(meta, list(gp.values()))
        with torch.no_grad():
            gp = {
                k: v - cfg.meta_lr * d.clamp(-cfg.clip, cfg.clip)
                for (k, v), d in zip(gp.items(), grads)
            }
            accs.append(
                accuracy(
                    act,
                    {k: v.detach() for k, v in params.items()},
                    data["x_test"],
                    data["y_test"],
                )
            )
        meta_losses.append(meta.item())
    with torch.no_grad():
        curves.append(learned(gp, cfg)(xs)[0])
    return ActRun(
        np.array(meta_losses),
        np.array(accs),
        np.asarray(sample),
        torch.stack(curves).cpu().numpy(),
        {k: v.detach() for k, v in gp.items()},
        time.perf_counter() - t0,
    )


def compare(acts, data, cfg=ActConfig(), seeds=(0,)):
    """Train the inner MLP with each activation, once per seed, without meta-
    gradients.

    Parameters
    ----------
    acts : dict of name -> activation
    seeds : sequence of int
        Initial weights and noise; ``cfg.seed`` is the one the search
        trained for.

    Returns
    -------
    losses : dict of name -> (len(seeds), inner_steps) array, training losses
    test_acc : dict of name -> (len(seeds),) array, final test accuracy (0-1)
    """
    losses, test_acc = {}, {}
    with torch.no_grad():
        for name, act in acts.items():
            runs = [inner_train(act, data, cfg, seed) for seed in seeds]
            losses[name] = np.stack([r[0].cpu().numpy() for r in runs])
            test_acc[name] = np.array(
                [
                    accuracy(act, r[1], data["x_test"], data["y_test"])
                    for r in runs
                ]
            )
    return losses, test_acc
