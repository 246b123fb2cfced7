"""Chapter 3: accuracy against training-set size, for pooling variants and
model families.

Every training-set size is its own MNIST-1D dataset, generated as the paper
does: with ``num_samples = n + 1000`` and the matching ``train_split``, so each
has n training and 1000 test examples. One stack of copies then trains on all
sizes at once, copy j on size j.
"""

import math
from dataclasses import replace

import numpy as np

from ..data import get_dataset_args, make_dataset
from .. import validate
from ..models import POOLS
from .runs import train_stacks

__all__ = [
    "SIZES",
    "N_TEST",
    "POOL_SPECS",
    "make_sized_datasets",
    "stack_sizes",
    "train_over_sizes",
]

SIZES = (1000, 2000, 5000, 10000, 20000, 50000)
N_TEST = 1000
# The pooling study's stacks, slowest first (stacks start in this order).
POOL_SPECS = {
    pool: ("pool_cnn", {"pool": pool})
    for pool in ("none", "l2", "max", "avg", "stride")
}
assert set(POOL_SPECS) == set(POOLS)


def make_sized_datasets(sizes=SIZES, args=None, mode="paper"):
    """One dataset per training-set size, each with ``N_TEST`` test examples.

    Parameters
    ----------
    sizes : sequence of int
        Training-set sizes, each >= 1.
    args : DatasetArgs, optional
        Everything else about the generator (default: the paper's); its
        ``num_samples`` and ``train_split`` are replaced.
    mode : {"paper", "fast"}
        Passed to :func:`mnist1d.data.make_dataset`.

    Returns
    -------
    dict of int -> dataset dict
    """
    sizes = list(sizes)
    if not sizes or any(
        not isinstance(n, (int, np.integer)) or n < 1 for n in sizes
    ):
        raise ValueError(
            "sizes must be a non-empty sequence of integers >= 1, got "
            f"{sizes!r}"
        )
    args = get_dataset_args() if args is None else args
    out = {}
    for n in sizes:
        total = int(n) + N_TEST
        out[int(n)] = make_dataset(
            replace(args, num_samples=total, train_split=n / total), mode=mode
        )
        # guard the float split against rounding
        if len(out[int(n)]["y"]) != n:
            raise RuntimeError(
                f"size {n}: generator returned {len(out[int(n)]['y'])} "
                "training examples"
            )
    return out


def stack_sizes(datasets, seeds=(0,), batch_size=100):
    """Per-copy arrays for every (size, seed) pair, size-major, with each
    training set repeated to a common length.

    The training loop reads batches in order, ``batch_size`` rows at a time,
    from one array per copy, so all copies need the same number of rows.
    Repeating a training set of n rows k times changes nothing a copy sees:
    batch s is rows ``s * batch_size`` onwards, modulo n, exactly as on the
    original set, provided ``batch_size`` divides every n. The common length is
    the least common multiple of the sizes.

    Returns
    -------
    data : dict
        ``x`` (M, N, L), ``y`` (M, N), ``x_test`` (M, n_test, L),
        ``y_test`` (M, n_test).
    columns : list of (int, int)
        (size, seed) per copy.
    """
    seeds = validate.seeds("seeds", seeds)
    sizes = list(datasets)
    bad = [n for n in sizes if n % batch_size]
    if bad:
        raise ValueError(
            "every training-set size must be a multiple of "
            f"batch_size={batch_size}, got {bad}"
        )
    rows = math.lcm(*sizes)
    columns = [(n, seed) for n in sizes for seed in seeds]
    data = {
        "x": np.stack(
            [np.tile(datasets[n]["x"], (rows // n, 1)) for n, _ in columns]
        ),
        "y": np.stack(
            [np.tile(datasets[n]["y"], rows // n) for n, _ in columns]
        ),
    }
    for k in ("x_test", "y_test"):
        data[k] = np.stack([datasets[n][k] for n, _ in columns])
    return data, columns


def train_over_sizes(
    specs, datasets, seeds=(0,), cfg=None, device=None, log=print, workers=1
):
    """Train every stack in ``specs`` on every training-set size, with every
    seed.

    ``specs`` is ``{label: (model name, kwargs)}`` as in
    :func:`mnist1d.experiments.runs.train_stacks` (e.g. :data:`POOL_SPECS`),
    ``datasets`` from :func:`make_sized_datasets`. ``cfg`` must not evaluate on
    the training set (``eval_train=False``): with repeated training sets that
    would cost more than training.

    Returns
    -------
    dict of str -> FamilyRuns
        Their ``columns`` are (size, seed); ``runs[label].final()``
        maps size -> accuracies.
    """
    if cfg is None or cfg.eval_train:
        raise ValueError("cfg must be a TrainConfig with eval_train=False")
    data, columns = stack_sizes(datasets, seeds, cfg.batch_size)
    return train_stacks(specs, data, columns, cfg, device, log, workers)
