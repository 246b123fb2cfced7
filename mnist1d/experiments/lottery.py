"""Chapter 4: lottery tickets in the paper's MLP (after Frankle & Carbin,
2019).

Iterative magnitude pruning with rewinding: train the MLP, keep the largest-
magnitude surviving parameters of each layer, reset the survivors to their
initial values, train again, and repeat. A *mask* is one 0/1 tensor per
parameter tensor; masked parameters are held at zero (:func:`apply_masks`), so
a masked model is still an ordinary MLP.

Every model here is a stack of copies (:mod:`mnist1d.models`), and each copy
has its own mask: a round of the search trains the tickets of all seeds and
their random-mask controls as one stack, and the ablations train all fifteen
arms as one stack.
"""

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import validate
from ..models import build
from ..train import TrainConfig, keep_freed_memory, train
from ..validate import integer

__all__ = [
    "MLP_ARGS",
    "SEARCH_CONFIG",
    "ABLATION_CONFIG",
    "ORDERS",
    "ARMS",
    "prunable",
    "layer_sizes",
    "keep_counts",
    "apply_masks",
    "get_masks",
    "magnitude_masks",
    "random_masks",
    "TicketSearch",
    "geometric_schedule",
    "find_tickets",
    "input_orders",
    "Ablation",
    "ablate",
    "adjacent_runs",
]

# 40-500-500-10 with a residual layer: 276,010 parameters
MLP_ARGS = {
    "width": 500,
    "depth": 2,
    "residual": True,
}
SEARCH_CONFIG = TrainConfig(
    steps=1501, lr=2e-2, batch_size=100, eval_every=250, eval_train=False
)
ABLATION_CONFIG = TrainConfig(
    steps=6000, lr=2e-2, batch_size=500, eval_every=500, eval_train=False
)
ORDERS = ("baseline", "permuted", "reversed", "chunks", "reinit")
ARMS = ("dense", "ticket", "random")


def prunable(model):
    """The MLP's linear layers, input first; each has a ``weight`` and a
    ``bias`` to mask."""
    return [model.inp, *model.hidden, model.out]


def layer_sizes(model):
    """Parameters per layer of one copy (weights and biases together): [20500,
    250500, 5010] for the paper's MLP.
    """
    return [
        layer.weight.shape[1] * layer.weight.shape[2] + layer.bias.shape[2]
        for layer in prunable(model)
    ]


def keep_counts(sizes, density):
    """How many parameters of each layer survive at ``density`` (the kept
    fraction, 0 < density <= 1).
    """
    if not 0 < density <= 1:
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    return [max(1, int(round(n * density))) for n in sizes]


def get_masks(model):
    """The model's masks as bool tensors, one (weight, bias) pair per layer;
    all True if unmasked."""
    out = []
    for layer in prunable(model):
        pair = []
        for name in ("weight", "bias"):
            mask = getattr(layer, name + "_mask", None)
            pair.append(
                torch.ones_like(getattr(layer, name), dtype=torch.bool)
                if mask is None
                else mask.bool()
            )
        out.append(tuple(pair))
    return out


def apply_masks(model, masks):
    """Hold the parameters that ``masks`` zeroes at zero (per copy); returns
    the model.

    ``masks`` is a list of (weight mask, bias mask) per layer, shaped like the
    layer's ``weight`` (M, d_in, d_out) and ``bias`` (M, 1, d_out), bool or
    0/1. The masked parameters are set to zero, and after every backward pass
    their gradients are zeroed too (a hook on each parameter), so neither Adam
    nor SGD ever moves them: with a zero gradient, Adam's moments and its
    update stay zero. The network is the one
    ``torch.nn.utils.prune.custom_from_mask`` builds (a test checks that they
    train identically), without recomputing ``weight * mask`` and its gradient
    on every forward pass, which took 17% of a training step here. Masks are
    buffers (``weight_mask``, ``bias_mask``), so they move with the model
    between devices.
    """
    layers = prunable(model)
    if len(masks) != len(layers):
        raise ValueError(
            "masks must give one (weight, bias) pair per layer "
            f"({len(layers)}), got {len(masks)}"
        )
    for layer, pair in zip(layers, masks):
        for name, mask in zip(("weight", "bias"), pair):
            param = getattr(layer, name)
            if tuple(mask.shape) != tuple(param.shape):
                raise ValueError(
                    f"{name} mask must have shape {tuple(param.shape)}, got "
                    f"{tuple(mask.shape)}"
                )
            if getattr(layer, name + "_mask", None) is None:
                param.register_post_accumulate_grad_hook(
                    _masked_grad(layer, name + "_mask")
                )
            layer.register_buffer(
                name + "_mask", mask.to(param.device, param.dtype)
            )
            with torch.no_grad():
                param.mul_(getattr(layer, name + "_mask"))
    return model


def _check_masks(model):
    """Fail loudly if a masked parameter has moved (say, a hook lost in a
    device move)."""
    for layer, (wm, bm) in zip(prunable(model), get_masks(model)):
        if layer.weight[~wm].any() or layer.bias[~bm].any():
            raise RuntimeError(
                "a masked parameter is no longer zero: the masks did not hold "
                "during training"
            )


def _masked_grad(layer, buffer):
    def hook(param):
        # read at call time: the buffer may have moved device
        param.grad.mul_(getattr(layer, buffer))

    return hook


def _split(flat, layer):
    """(M, n) -> a (weight, bias) pair shaped like the layer's, for M copies;
    weights come first.
    """
    _, d_in, d_out = layer.weight.shape
    m = flat.shape[0]
    return flat[:, : d_in * d_out].reshape(m, d_in, d_out), flat[
        :, d_in * d_out :
    ].reshape(m, 1, d_out)


def magnitude_masks(model, keep):
    """Masks keeping, per copy and layer, the ``keep[l]`` surviving parameters
    of largest magnitude.

    Weights and biases of a layer compete together, as in the paper; a
    parameter already masked never survives (its magnitude counts as -1).
    """
    out = []
    with torch.no_grad():
        for layer, k, (wm, bm) in zip(prunable(model), keep, get_masks(model)):
            values = torch.cat(
                [layer.weight.flatten(1), layer.bias.flatten(1)], 1
            )
            alive = torch.cat([wm.flatten(1), bm.flatten(1)], 1)
            if k > int(alive.sum(1).min()):
                raise ValueError(
                    f"cannot keep {k} parameters of a layer with "
                    f"{int(alive.sum(1).min())} survivors"
                )
            scores = torch.where(
                alive, values.abs(), torch.full_like(values, -1.0)
            )
            flat = torch.zeros_like(alive).scatter_(
                1, scores.topk(k, dim=1).indices, True
            )
            out.append(_split(flat, layer))
    return out


def random_masks(model, keep, generator, n_models=None):
    """Masks keeping ``keep[l]`` parameters of each layer, chosen uniformly at
    random, for ``n_models`` copies (default: as many as ``model`` holds) of
    ``model``'s layers.

    The draws come from ``generator`` (a CPU generator) on the CPU, so the
    masks are the same whatever the model's device; they are then moved to it,
    as magnitude_masks' are.
    """
    out = []
    m = model.n_models if n_models is None else n_models
    for layer, k, n in zip(prunable(model), keep, layer_sizes(model)):
        flat = torch.zeros(m, n, dtype=torch.bool)
        for j in range(m):
            flat[j, torch.randperm(n, generator=generator)[:k]] = True
        out.append(_split(flat.to(layer.weight.device), layer))
    return out


def _stack(*mask_lists):
    """Concatenate several stacks' masks along the copy axis."""
    return [
        tuple(
            torch.cat([masks[l][i] for masks in mask_lists]) for i in range(2)
        )
        for l in range(len(mask_lists[0]))
    ]


def _take(masks, copies):
    """The masks of some copies of a stack."""
    return [tuple(t[list(copies)] for t in pair) for pair in masks]


@dataclass
class TicketSearch:
    """The rounds of one search; round 0 is the dense network (its random
    control is itself)."""

    seeds: tuple
    density: np.ndarray  # (R,) fraction of all parameters kept in round r
    # (R, S) final test accuracy (0-1) per round and seed
    ticket_acc: np.ndarray
    # (R, S) the same for the random masks of equal per-layer sparsity
    random_acc: np.ndarray
    # per round: the S tickets' masks (CPU, bool)
    ticket_masks: list = field(repr=False)
    random_masks: list = field(repr=False)  # per round: the S random masks
    seconds: float = 0.0

    @property
    def sparsity(self):
        return 1 - self.density

    def nearest(self, sparsity):
        """The round whose sparsity is closest to ``sparsity``."""
        return int(np.abs(self.sparsity - sparsity).argmin())

    def masks(self, round, copy=0):
        """One seed's (ticket, random) masks of a round, each with a copy axis
        of size 1 (as :func:`ablate` takes)."""
        return _take(self.ticket_masks[round], [copy]), _take(
            self.random_masks[round], [copy]
        )


def geometric_schedule(rate, rounds):
    """Densities of the standard schedule: each round prunes ``rate`` of the
    survivors.

    Returns ``[1, (1 - rate), (1 - rate) ** 2, ..., (1 - rate) **
    rounds]``; round 0 is dense.
    """
    if not 0 < rate < 1:
        raise ValueError(f"rate must be in (0, 1), got {rate!r}")
    if not isinstance(rounds, int) or rounds < 1:
        raise ValueError(f"rounds must be an integer >= 1, got {rounds!r}")
    return [(1 - rate) ** r for r in range(rounds + 1)]


def find_tickets(
    data,
    densities,
    seeds=(0,),
    cfg=SEARCH_CONFIG,
    mask_seed=0,
    device=None,
    log=print,
):
    """Iterative magnitude pruning with rewinding, and random masks of the same
    sparsity.

    Round 0 trains the dense MLP (:data:`MLP_ARGS`) from each seed. Round r >=
    1 keeps the fraction ``densities[r]`` of every layer: the largest-magnitude
    survivors of round r - 1's trained ticket, reset to the seed's initial
    values (the same seed builds the same initial weights), and trains them
    again. Beside each ticket a random mask with the same per-layer counts
    trains from the same initial values. Each round is one stack: the S tickets
    and their S controls.

    Parameters
    ----------
    data : dict
        A dataset dict (``x`` (N, 40), ``y``, ``x_test``, ``y_test``),
        shared by all copies.
    densities : sequence of float
        The fraction of parameters kept in each round: starts at 1 (dense),
        strictly decreasing, all > 0. :func:`geometric_schedule` gives the
        standard one; the paper's is ``1 - np.linspace(0, 1, 100)[:-1]``.
    seeds : sequence of int
        One search per seed (initial weights).
    cfg : TrainConfig
        Every round's training (default: the paper's 1501 steps of
        Adam, lr 2e-2, batch 100).
    mask_seed : int
        Seeds the random masks.

    Returns
    -------
    TicketSearch
    """
    densities = [float(d) for d in densities]
    if (
        len(densities) < 2
        or densities[0] != 1
        or min(densities) <= 0
        or any(np.diff(densities) >= 0)
    ):
        raise ValueError(
            "densities must start at 1 and decrease strictly, staying > 0; "
            f"got {densities!r}"
        )
    seeds = validate.seeds("seeds", seeds)
    integer("mask_seed", mask_seed, 0)
    keep_freed_memory()  # every round trains on; see its docstring
    n = len(seeds)
    generator = torch.Generator().manual_seed(mask_seed)
    model = build("mlp", n_models=n, seeds=seeds, **MLP_ARGS)
    sizes = layer_sizes(model)
    density, tickets, randoms, t_masks, r_masks = [], [], [], [], []
    t_start = time.perf_counter()
    for r, kept in enumerate(densities):
        t0 = time.perf_counter()
        if r > 0:
            keep = keep_counts(sizes, kept)
            masks = _stack(
                _take(magnitude_masks(model, keep), range(n)),
                random_masks(model, keep, generator, n),
            )
            model = apply_masks(
                build("mlp", n_models=2 * n, seeds=seeds * 2, **MLP_ARGS),
                masks,
            )
        final = train(model, data, cfg, device=device)["test_acc"][-1]
        _check_masks(model)
        masks = [tuple(t.cpu() for t in pair) for pair in get_masks(model)]
        t_masks.append(_take(masks, range(n)))
        r_masks.append(_take(masks, range(n, 2 * n)) if r > 0 else t_masks[-1])
        density.append(
            sum(int(p[0][0].sum()) + int(p[1][0].sum()) for p in t_masks[-1])
            / sum(sizes)
        )
        tickets.append(final[:n])
        randoms.append(final[n:] if r > 0 else final[:n])
        if log is not None:
            log(
                f"round {r:2d}: sparsity {100 * (1 - density[-1]):5.2f}%, "
                f"ticket {100 * tickets[-1].mean():.1f}%, "
                f"random {100 * randoms[-1].mean():.1f}% "
                f"({time.perf_counter() - t0:.1f} s)"
            )
    return TicketSearch(
        seeds,
        np.array(density),
        np.array(tickets),
        np.array(randoms),
        t_masks,
        r_masks,
        time.perf_counter() - t_start,
    )


def input_orders(length=40, seed=0, chunks=4):
    """The ablations' orders of the input positions, index arrays of shape
    (length,).

    "permuted" is a random permutation; "reversed" reads backwards; "chunks"
    cuts the signal into ``chunks`` equal pieces and reorders them so that none
    stays in place (order inside a piece is kept); "baseline" and "reinit" keep
    the order.
    """
    if length % chunks:
        raise ValueError(f"chunks must divide length={length}, got {chunks}")
    rng = np.random.RandomState(seed)
    order = rng.permutation(chunks)
    while chunks > 1 and (order == np.arange(chunks)).any():
        order = rng.permutation(chunks)
    size = length // chunks
    identity = np.arange(length)
    return {
        "baseline": identity,
        "permuted": rng.permutation(length),
        "reversed": identity[::-1].copy(),
        "chunks": np.concatenate(
            [identity[c * size : (c + 1) * size] for c in order]
        ),
        "reinit": identity,
    }


@dataclass
class Ablation:
    """Final test accuracy of every (input order, arm): ``acc[i, j]`` is
    ORDERS[i], ARMS[j].
    """

    acc: np.ndarray  # (5, 3), 0-1
    history: dict = field(repr=False)  # from train(); column 3 i + j
    orders: dict = field(repr=False)
    seconds: float = 0.0

    def get(self, order, arm):
        return float(self.acc[ORDERS.index(order), ARMS.index(arm)])

    def advantage(self, order):
        """The ticket's accuracy minus the dense network's, under one input
        order (0-1)."""
        return self.get(order, "ticket") - self.get(order, "dense")


def ablate(
    dataset,
    ticket,
    random,
    seed,
    reinit_seed,
    cfg=ABLATION_CONFIG,
    orders=None,
    device=None,
    log=print,
):
    """Train the dense network, the ticket's mask and the random mask under
    each ablation.

    Parameters
    ----------
    dataset : dict
        The dataset to train on (the paper: a new one, seed 43).
    ticket, random : list of (weight mask, bias mask)
        One copy's masks each (copy axis of size 1):
        ``TicketSearch.masks(round)``.
    seed, reinit_seed : int
        Initial weights of every arm, and of the "reinit" row's arms.
    cfg : TrainConfig
        Default: the paper's 6000 steps of Adam, lr 2e-2, batch 500.
    orders : dict, optional
        From :func:`input_orders` (the default).

    Returns
    -------
    Ablation
    """
    orders = input_orders(dataset["x"].shape[1]) if orders is None else orders
    dense = [tuple(torch.ones_like(t) for t in pair) for pair in ticket]
    masks = _stack(*[m for _ in ORDERS for m in (dense, ticket, random)])
    seeds = [
        reinit_seed if o == "reinit" else seed for o in ORDERS for _ in ARMS
    ]
    data = {
        "x": np.stack(
            [dataset["x"][:, orders[o]] for o in ORDERS for _ in ARMS]
        ),
        "x_test": np.stack(
            [dataset["x_test"][:, orders[o]] for o in ORDERS for _ in ARMS]
        ),
        "y": dataset["y"],
        "y_test": dataset["y_test"],
    }
    model = apply_masks(
        build("mlp", n_models=len(seeds), seeds=seeds, **MLP_ARGS), masks
    )
    t0 = time.perf_counter()
    history = train(model, data, cfg, device=device)
    _check_masks(model)
    result = Ablation(
        history["test_acc"][-1].reshape(len(ORDERS), len(ARMS)),
        history,
        orders,
        time.perf_counter() - t0,
    )
    if log is not None:
        log(
            f"ablations: {len(seeds)} networks, {cfg.steps} steps in "
            f"{result.seconds:.1f} s"
        )
    return result


def adjacent_runs(mask, lengths=(2, 3, 4)):
    """How often a hidden unit keeps n neighbouring inputs: the spatial prior
    of a first-layer mask.

    Parameters
    ----------
    mask : torch.Tensor or np.ndarray, (d_in, d_out)
        One copy's first-layer weight mask: input position by hidden unit.
    lengths : sequence of int

    Returns
    -------
    dict of int -> float
        For each n, the fraction of windows of n consecutive input positions
        (over all hidden units) in which all n weights survive. For a random
        mask of density d it is about d ** n.
    """
    m = torch.as_tensor(mask).bool()
    out = {}
    for n in lengths:
        span = m.shape[0] - n + 1
        if n < 1 or span < 1:
            raise ValueError(
                f"lengths must be between 1 and {m.shape[0]}, got {n}"
            )
        window = m[:span].clone()
        for i in range(1, n):
            window &= m[i : i + span]
        out[n] = float(window.float().mean())
    return out
