"""Chapter 5: deep double descent (Belkin et al., 2019; Nakkiran et al., 2019)
on MNIST-1D.

Sweep a model's size, train every size to the end with momentum SGD, and plot
test error against size. When 15% of the training labels have been resampled,
test error first falls, then rises to a peak near the *interpolation threshold*
(the smallest size that fits the noisy training set exactly), and then falls
again.

Every size of a sweep trains at once. The sizes are split into a few groups
(:func:`plan_groups`); each group is one stack padded to its largest size
(:func:`padded_stack`), and the padding stays exactly zero, so every copy is
the model of its own size. The same stacks hold the clean-label and noisy-label
copies.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..data import make_dataset
from ..layers import StackedConv1d, StackedLinear
from ..models import CNN, build, count_parameters
from .. import validate
from ..train import TrainConfig, keep_freed_memory, to_tensors, train
from ..validate import integer, number
from .runs import run_parallel

__all__ = [
    "DATA_ARGS",
    "NOISE",
    "MLP_WIDTHS",
    "CNN_CHANNELS",
    "STEPS_PER_EPOCH",
    "SGD_CONFIG",
    "SIZE_KEYS",
    "MODEL_ARGS",
    "OVERHEAD",
    "PER_COPY",
    "make_data",
    "noisy_labels",
    "size_macs",
    "copy_cost",
    "plan_groups",
    "padded_stack",
    "Sweep",
    "sweep",
    "descent",
]

# 4000 training, 12000 test examples, seed 42
DATA_ARGS = {
    "num_samples": 16_000,
    "train_split": 0.25,
}
NOISE = 0.15
MLP_WIDTHS = (
    2,
    3,
    4,
    5,
    7,
    9,
    12,
    16,
    21,
    27,
    36,
    47,
    61,
    80,
    104,
    135,
    177,
    230,
    300,
)
CNN_CHANNELS = tuple(range(2, 30, 2)) + tuple(range(30, 101, 5))
STEPS_PER_EPOCH = 40  # 4000 examples in batches of 100
SGD_CONFIG = TrainConfig(
    steps=500 * STEPS_PER_EPOCH,
    lr=0.01,
    optimizer="sgd",
    momentum=0.9,
    batch_size=100,
    shuffle=True,
    eval_every=25 * STEPS_PER_EPOCH,
)
# the build() argument that a sweep varies
SIZE_KEYS = {
    "mlp": "width",
    "cnn": "channels",
}
# 40-h-h-10 with ReLU; chapter 2's CNN
MODEL_ARGS = {
    "mlp": {"depth": 2, "residual": False},
    "cnn": {},
}
# Costs per training step in multiply-add-equivalents per example, fitted on
# this book's CPU (one thread, batches of 100), where one such unit costs about
# 15 ns: a stack pays OVERHEAD once (about 0.6 ms MLP, 1.5 ms CNN), and every
# copy in it pays PER_COPY (0.04 ms MLP, 0.5 ms CNN: a CNN copy's many small
# element-wise passes) plus its padded size's multiply-adds.
OVERHEAD = {"mlp": 40_000, "cnn": 100_000}
PER_COPY = {"mlp": 3_000, "cnn": 35_000}


def make_data(args=DATA_ARGS):
    """The paper's double-descent dataset: 4000 training and 12000 test
    examples."""
    return make_dataset(args)


def noisy_labels(y, fraction=NOISE, n_classes=10, seed=0):
    """A copy of ``y`` in which each label, with probability ``fraction``, is
    redrawn uniformly from all classes (so about ``fraction * (1 -
    1/n_classes)`` actually change).

    Returns a new array; ``y`` itself is left alone.
    """
    number("fraction", fraction, 0, 1)
    integer("n_classes", n_classes, 2)
    rng = np.random.default_rng(seed)
    y = np.array(y, copy=True)
    redraw = rng.random(len(y)) < fraction
    y[redraw] = rng.integers(0, n_classes, redraw.sum())
    return y


def size_macs(name, size):
    """Multiply-adds per example of one model of ``size`` (the cost of padding
    to it)."""
    if name == "mlp":
        return 40 * size + size * size + 10 * size
    # lengths 19, 10, 5 after the three stride-2 convolutions
    if name == "cnn":
        return 19 * 5 * size + (10 + 5) * 3 * size * size + 5 * size * 10
    raise ValueError(f"name must be one of {sorted(SIZE_KEYS)}, got {name!r}")


def copy_cost(name, size):
    """Per-step cost of one copy padded to ``size``, in
    multiply-add-equivalents per example."""
    return PER_COPY[name] + size_macs(name, size)


def plan_groups(sizes, cost, overhead, copies=None):
    """Split sorted ``sizes`` into consecutive groups, each padded to its
    largest size, with the least total cost.

    A group padded to s costs ``overhead + (copies in it) * cost(s)``: one
    stack pays the per-step overhead once (tens of operations, about half a
    millisecond on a CPU) but computes every copy at the padded size. Dynamic
    programming over where groups end.

    Parameters
    ----------
    sizes : sequence of int
    cost : callable, size -> float
        The cost of one copy padded to that size.
    overhead : float
        The fixed cost of one stack, in the units of ``cost``.
    copies : dict of int -> int, optional
        How many copies each size has in the stacks (default: one each).

    Returns
    -------
    list of list
        The groups, smallest sizes first.
    """
    sizes = sorted(sizes)
    # copies in sizes[:j]
    n = np.cumsum([0] + [1 if copies is None else copies[s] for s in sizes])
    # best[j]: cheapest split of sizes[:j]
    best = [0.0] + [np.inf] * len(sizes)
    start = [0] * (len(sizes) + 1)
    for j in range(1, len(sizes) + 1):
        for i in range(j):
            c = best[i] + overhead + (n[j] - n[i]) * cost(sizes[j - 1])
            if c < best[j]:
                best[j], start[j] = c, i
    groups, j = [], len(sizes)
    while j:
        groups.insert(0, sizes[start[j] : j])
        j = start[j]
    return groups


def _blocks(model):
    """Every parameter of a stack, viewed with one axis per unit or channel
    dimension: the parameters of a smaller model of the same kind are then the
    leading block of each view. Convolution weights are tap-major (kernel,
    c_in, c_out) and the CNN's output weights channel-major (channels, length,
    classes), so those two need reshaping.
    """
    m = model.n_models
    views = []
    for name, layer in model.named_modules():
        if not isinstance(layer, StackedLinear):  # StackedConv1d included
            continue
        w = layer.weight
        if isinstance(layer, StackedConv1d):
            w = w.view(m, layer.kernel, -1, w.shape[-1])
        elif isinstance(model, CNN) and name == "out":
            w = w.view(m, model.convs[-1].weight.shape[-1], -1, w.shape[-1])
        views += [w, layer.bias]
    return views


def padded_stack(name, sizes, seeds, **kwargs):
    """One stack of ``len(sizes)`` copies, copy j a ``name`` model of size
    ``sizes[j]``.

    The stack is built at the largest size. Copy j's parameters are those of
    ``build(name, seeds=[seeds[j]], <size key>=sizes[j])`` in the leading
    block, and zero elsewhere. The padding stays zero under SGD without weight
    decay: a padded unit has zero input weights and bias, so its ReLU output is
    0, and zero output weights, so no gradient reaches it; a zero gradient
    leaves momentum at zero too. Each copy therefore trains exactly as its
    small model would alone (up to float rounding).
    """
    if name not in SIZE_KEYS:
        raise ValueError(
            f"name must be one of {sorted(SIZE_KEYS)}, got {name!r}"
        )
    key = SIZE_KEYS[name]
    kwargs = {**MODEL_ARGS[name], **kwargs}
    big = build(name, n_models=len(sizes), **{key: max(sizes)}, **kwargs)
    with torch.no_grad():
        for p in big.parameters():
            p.zero_()
        for j, (size, seed) in enumerate(zip(sizes, seeds)):
            small = build(name, seeds=[seed], **{key: size}, **kwargs)
            for b, s in zip(_blocks(big), _blocks(small)):
                b[j][tuple(slice(0, n) for n in s.shape[1:])] = s[0]
    return big


@dataclass
class Sweep:
    """One model family trained at every size, with several seeds, on several
    label sets.
    """

    name: str
    sizes: np.ndarray  # (S,)
    parameters: np.ndarray  # (S,) per model
    n_seeds: np.ndarray  # (S,) runs per size and label set
    labels: tuple  # label-set names, e.g. ("clean", "noisy")
    step: np.ndarray  # (T,) steps at which the errors were logged
    # label set -> (T, R, S) error (%) on its own training labels; NaN past
    # n_seeds
    train_error: dict
    # label set -> (T, R, S) error (%) on the clean test set; NaN past n_seeds
    test_error: dict
    groups: list  # the sizes trained together in each stack
    seconds: float  # wall time of the sweep
    # label set -> (S,) runs per size whose training diverged (NaN in the
    # errors)
    diverged: dict = None

    def error(self, which, label, step=-1):
        """Errors (%) averaged over each size's seeds at log index ``step``
        (default: the end), (S,).
        """
        return np.nanmean(self.runs(which, label, step), 0)

    def runs(self, which, label, step=-1):
        """Every seed's errors (%) at log index ``step``, (R, S); NaN where a
        size has fewer than R seeds."""
        if which not in ("train", "test"):
            raise ValueError(f"which must be 'train' or 'test', got {which!r}")
        return (self.train_error if which == "train" else self.test_error)[
            label
        ][step]


def _check_label_sets(label_sets, data):
    if not isinstance(label_sets, dict) or not label_sets:
        raise ValueError(
            "label_sets must be a non-empty dict of name -> labels (N,), got "
            f"{label_sets!r}"
        )
    n = len(data["x"])
    for k, y in label_sets.items():
        y = np.asarray(y)
        if (
            y.shape != (n,)
            or y.dtype.kind not in "iu"
            or y.min() < 0
            or y.max() > 9
        ):
            raise ValueError(
                f"label_sets[{k!r}] must be {n} integer labels in [0, 9] (one "
                "per row of data['x']), "
                f"got shape {y.shape}, dtype {y.dtype}"
            )


def _seed(first_seed, n_sizes, replicate, i):
    """The initialisation seed of seed replicate ``replicate`` of the i-th
    size."""
    return first_seed + replicate * n_sizes + i


def _seed_counts(n_seeds, sizes):
    """``n_seeds`` (an int, or a dict size -> int) as a dict over ``sizes``,
    checked.
    """
    counts = (
        {s: n_seeds for s in sizes}
        if isinstance(n_seeds, int)
        else {s: n_seeds.get(s) for s in sizes}
    )
    for s, n in counts.items():
        if not isinstance(n, int) or n < 1:
            raise ValueError(
                "n_seeds must be an integer >= 1 or a dict giving one for "
                "every size; "
                f"size {s} has {n!r}"
            )
    return counts


def sweep(
    name,
    sizes,
    data,
    label_sets,
    cfg=SGD_CONFIG,
    n_seeds=1,
    first_seed=0,
    device=None,
    workers=2,
    overhead=None,
    log=print,
):
    """Train a ``name`` model ("mlp" or "cnn") at every size, ``n_seeds``
    times, once per label set.

    Parameters
    ----------
    name : {"mlp", "cnn"}
    sizes : sequence of int
        Hidden width (MLP) or channels (CNN).
    data : dict
        A dataset dict (``x``, ``x_test``, ``y_test``); its ``y`` is not used.
    label_sets : dict of str -> array (N,)
        Training labels per set, e.g. ``{"clean": y, "noisy":
        noisy_labels(y)}``.
    cfg : TrainConfig
        Default: the paper's protocol (momentum SGD, lr 0.01, shuffled
        batches of 100, 500 epochs).
    n_seeds : int or dict of int -> int
        Runs per size, the same for every size or given per size (small models
        are cheap and vary more from seed to seed).
    first_seed : int
        Seed replicate r of the i-th smallest size starts from seed
        ``first_seed + r * len(sizes) + i``; every label set uses the
        same initial weights.
    workers : int
        Stacks trained side by side
        (:func:`mnist1d.experiments.runs.run_parallel`).
    overhead : float, optional
        Per-step cost of one stack in multiply-add-equivalents per example, for
        :func:`plan_groups` (default: ``OVERHEAD[name]``; each copy
        costs :func:`copy_cost`).

    Returns
    -------
    Sweep
    """
    if name not in SIZE_KEYS:
        raise ValueError(
            f"name must be one of {sorted(SIZE_KEYS)}, got {name!r}"
        )
    sizes = sorted(validate.integers("sizes", sizes, 1))
    integer("first_seed", first_seed, 0)
    _check_label_sets(label_sets, data)
    keep_freed_memory()  # the stacks train on; see its docstring
    counts = _seed_counts(n_seeds, sizes)
    labels = tuple(label_sets)
    overhead = OVERHEAD[name] if overhead is None else overhead
    groups = plan_groups(
        sizes, lambda s: len(labels) * copy_cost(name, s), overhead, counts
    )
    # one label set's copies: (seed replicate, size)
    runs = [
        [(r, s) for s in group for r in range(counts[s])] for group in groups
    ]
    t0 = time.perf_counter()
    hists = _train_groups(
        name,
        sizes,
        runs,
        _shared_tensors(data, label_sets, device),
        cfg,
        first_seed,
        device,
        workers,
        log,
    )
    steps = hists[0]["step"]
    shape = (len(steps), max(counts.values()), len(sizes))
    err = {
        which: _errors(hists, which, runs, labels, sizes, shape)
        for which in ("train", "test")
    }
    diverged = _count_diverged(name, err["test"], counts, sizes, log)
    parameters = [
        count_parameters(
            build(name, **{SIZE_KEYS[name]: s}, **MODEL_ARGS[name])
        )
        for s in sizes
    ]
    return Sweep(
        name,
        np.array(sizes),
        np.array(parameters),
        np.array([counts[s] for s in sizes]),
        labels,
        steps,
        err["train"],
        err["test"],
        groups,
        time.perf_counter() - t0,
        diverged,
    )


def _shared_tensors(data, label_sets, device):
    """The sweep's data as tensors, once for every stack: ``y`` is (K, N),
    one row per label set; each stack only repeats the rows for its copies.
    """
    return to_tensors(
        {
            "x": data["x"],
            "y": np.stack([label_sets[k] for k in label_sets]),
            "x_test": data["x_test"],
            "y_test": data["y_test"],
        },
        device,
    )


def _train_groups(
    name, sizes, runs, shared, cfg, first_seed, device, workers, log
):
    """Train one padded stack per group of sizes; {group index: history}.

    ``runs[g]`` lists group g's (seed replicate, size) pairs for one label
    set; its stack holds them once per label set (rows of ``shared["y"]``).
    """
    index = {s: i for i, s in enumerate(sizes)}
    n_labels = len(shared["y"])
    lines = {}

    def one(g):
        # Copy order: label set, then size, then seed replicate.
        seeds = [
            _seed(first_seed, len(sizes), r, index[s]) for r, s in runs[g]
        ]
        model = padded_stack(
            name, [s for _, s in runs[g]] * n_labels, seeds * n_labels
        )
        d = {**shared, "y": shared["y"].repeat_interleave(len(runs[g]), 0)}
        t = time.perf_counter()
        hist = train(model, d, cfg, device=device)
        group = [s for _, s in runs[g]]
        lines[g] = (
            f"{name} sizes {min(group)}-{max(group)}: {model.n_models} "
            "copies in "
            f"{time.perf_counter() - t:.1f} s"
        )
        return hist

    # Costliest stacks first, so that the workers finish together.
    order = sorted(
        range(len(runs)),
        key=lambda g: -len(runs[g]) * copy_cost(name, runs[g][-1][1]),
    )
    hists = dict(
        zip(
            order,
            run_parallel([lambda g=g: one(g) for g in order], workers, device),
        )
    )
    # once, in size order: from worker threads the lines would interleave
    if log is not None:
        log("\n".join(lines[g] for g in range(len(runs))))
    return hists


def _errors(hists, which, runs, labels, sizes, shape):
    """label set -> (T, R, S) error (%) on ``which`` ("train" or "test"),
    gathered from every stack's history; NaN where a size has fewer seeds.
    """
    index = {s: i for i, s in enumerate(sizes)}
    err = {k: np.full(shape, np.nan) for k in labels}
    for g, hist in hists.items():
        e = 100 * (
            1
            - hist[f"{which}_acc"].reshape(shape[0], len(labels), len(runs[g]))
        )
        for i, k in enumerate(labels):
            for c, (r, s) in enumerate(runs[g]):
                err[k][:, r, index[s]] = e[:, i, c]
    return err


def _count_diverged(name, test_error, counts, sizes, log):
    """label set -> (S,) runs per size whose training diverged.

    With TrainConfig(on_divergence="mark") a diverged run is NaN, missing as
    a seed not run is; count the NaN among the runs each size had.
    """
    ran = np.arange(max(counts.values()))[:, None] < [counts[s] for s in sizes]
    diverged = {
        k: (np.isnan(e[-1]) & ran).sum(0) for k, e in test_error.items()
    }
    if log is not None and any(d.any() for d in diverged.values()):
        log(
            f"{name}: "
            + ", ".join(f"{k} {d.sum()}" for k, d in diverged.items())
            + " runs diverged, left out"
        )
    return diverged


def descent(sizes, train_error, test_error, fit=1.0):
    """Where a test-error curve peaks, relative to where training error reaches
    ``fit`` %.

    Returns
    -------
    dict
        ``threshold``: the first size with training error below ``fit`` (None
        if none); ``peak``: the size whose test error rises most above the
        lowest error at any smaller size; ``peak_error``; ``min_before`` (that
        lowest error); ``max_rise`` (peak_error - min_before, points: the
        largest increase of test error from any size to any larger one);
        ``last`` (test error of the largest size).
    """
    sizes, train_error, test_error = map(
        np.asarray, (sizes, train_error, test_error)
    )
    if np.isnan(test_error).all():
        raise ValueError("test_error has no values (every run diverged?)")
    below = np.flatnonzero(train_error < fit)
    # a size with no runs (NaN) is skipped
    running_min = np.fmin.accumulate(test_error)
    rise = test_error - running_min
    p = int(np.nanargmax(rise))
    return {
        "threshold": int(sizes[below[0]]) if len(below) else None,
        "peak": int(sizes[p]),
        "peak_error": float(test_error[p]),
        "min_before": float(running_min[p]),
        "last": float(test_error[-1]),
        "max_rise": float(rise[p]),
    }
