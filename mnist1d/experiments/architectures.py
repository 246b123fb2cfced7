"""Chapter 2: the four model families on MNIST-1D and on its position-shuffled
twin.

Every family trains as one stack of copies (one per dataset and seed), so a
family with 2 datasets and 3 seeds costs one training run of 6 copies, not 6
runs.
"""

import numpy as np

from .. import validate
from .runs import FamilyRuns, train_stacks

__all__ = ["FAMILIES", "FamilyRuns", "stack_datasets", "train_families"]

FAMILIES = ("linear", "mlp", "cnn", "gru")


def stack_datasets(datasets, seeds):
    """Per-copy arrays (M, N, L) for every (dataset, seed) pair, dataset-major.

    Parameters
    ----------
    datasets : dict of str -> dataset dict
        Each with ``x``, ``y``, ``x_test``, ``y_test`` of equal shapes
        across datasets.
    seeds : sequence of int
    """
    if not isinstance(datasets, dict) or not datasets:
        raise ValueError(
            "datasets must be a non-empty dict of name -> dataset dict, got "
            f"{datasets!r}"
        )
    seeds = validate.seeds("seeds", seeds)
    names = list(datasets)
    for k in ("x", "y", "x_test", "y_test"):
        shapes = {
            name: np.shape(d[k]) if k in d else None
            for name, d in datasets.items()
        }
        if len(set(shapes.values())) != 1 or None in shapes.values():
            raise ValueError(
                f"every dataset must have {k!r}, of one shape for all; got "
                f"{shapes}"
            )
    columns = [(name, seed) for name in names for seed in seeds]
    data = {
        k: np.stack([datasets[name][k] for name, _ in columns])
        for k in ("x", "y", "x_test", "y_test")
    }
    return data, columns


def train_families(
    datasets,
    names=FAMILIES,
    seeds=(0, 1, 2),
    cfg=None,
    device=None,
    log=print,
    workers=1,
    **model_kwargs,
):
    """Train each family in ``names`` on every dataset with every seed.

    Parameters
    ----------
    datasets : dict of str -> dataset dict
        For example ``{"default": make_dataset(), "shuffled":
        make_dataset(shuffled_args)}``.
    names : sequence of str
        Model names for :func:`mnist1d.models.build`. With several workers, put
        the slowest first: families are started in this order.
    seeds : sequence of int
        Initialisation seeds; the same seeds are used on every dataset.
    cfg : TrainConfig, optional
        Default: the paper's protocol.
    log : callable or None
        Called with one line per family when it finishes.
    workers : int
        Families trained at the same time, each in its own thread. These models
        are too small for one operation to keep two cores busy, so on a 2-core
        CPU two families side by side, each on one core, finish sooner than one
        after the other. While ``workers > 1``, torch runs every operation on a
        single thread; since each operation then computes alone, results do not
        depend on how the threads interleave.
    model_kwargs : dict of str -> dict, optional
        Extra arguments per family name, e.g. ``mlp={"width": 200}``.

    Returns
    -------
    dict of str -> FamilyRuns
        In the order of ``names``.
    """
    data, columns = stack_datasets(datasets, seeds)
    specs = {name: (name, model_kwargs.get(name, {})) for name in names}
    return train_stacks(specs, data, columns, cfg, device, log, workers)
