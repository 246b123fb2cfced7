"""Chapter 2: the four model families on MNIST-1D and on its position-shuffled twin.

Every family trains as one stack of copies (one per dataset and seed), so a family with
2 datasets and 3 seeds costs one training run of 6 copies, not 6 runs.
"""
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models import build, count_parameters
from ..train import TrainConfig, predict, train

__all__ = ["FAMILIES", "FamilyRuns", "stack_datasets", "train_families"]

FAMILIES = ("linear", "mlp", "cnn", "gru")


@dataclass
class FamilyRuns:
    """One family's copies: column j of every (T, M) history array is ``columns[j]``."""
    name: str
    columns: list        # (dataset name, seed) per copy
    history: dict        # from mnist1d.train.train
    predictions: np.ndarray  # (M, n_test) final test-set predictions
    parameters: int      # per copy
    seconds: float       # wall time of the whole stack
    model: object = field(default=None, repr=False)  # the trained stack

    def copies(self, dataset):
        """Indices of the copies trained on ``dataset``, in seed order."""
        return [j for j, (d, _) in enumerate(self.columns) if d == dataset]

    def select(self, key, dataset):
        """The (T, seeds) columns of history ``key`` that were trained on ``dataset``."""
        return self.history[key][:, self.copies(dataset)]

    def final(self, key="test_acc"):
        """Last logged value per copy, as {dataset: array over seeds}."""
        return {d: self.select(key, d)[-1] for d in dict.fromkeys(d for d, _ in self.columns)}


def stack_datasets(datasets, seeds):
    """Per-copy arrays (M, N, L) for every (dataset, seed) pair, dataset-major.

    Parameters
    ----------
    datasets : dict of str -> dataset dict
        Each with ``x``, ``y``, ``x_test``, ``y_test`` of equal shapes across datasets.
    seeds : sequence of int
    """
    names = list(datasets)
    columns = [(name, seed) for name in names for seed in seeds]
    data = {k: np.stack([datasets[name][k] for name, _ in columns]) for k in ("x", "y", "x_test", "y_test")}
    return data, columns


def train_families(datasets, names=FAMILIES, seeds=(0, 1, 2), cfg=None, device=None, log=print, workers=1,
                   **model_kwargs):
    """Train each family in ``names`` on every dataset with every seed.

    Parameters
    ----------
    datasets : dict of str -> dataset dict
        For example ``{"default": make_dataset(), "shuffled": make_dataset(shuffled_args)}``.
    names : sequence of str
        Model names for :func:`mnist1d.models.build`. With several workers, put the
        slowest first: families are started in this order.
    seeds : sequence of int
        Initialisation seeds; the same seeds are used on every dataset.
    cfg : TrainConfig, optional
        Default: the paper's protocol.
    log : callable or None
        Called with one line per family when it finishes.
    workers : int
        Families trained at the same time, each in its own thread. These models are too
        small for one operation to keep two cores busy, so on a 2-core CPU two families
        side by side, each on one core, finish sooner than one after the other. While
        ``workers > 1``, torch runs every operation on a single thread; since each
        operation then computes alone, results do not depend on how the threads interleave.
    model_kwargs : dict of str -> dict, optional
        Extra arguments per family name, e.g. ``mlp={"width": 200}``.

    Returns
    -------
    dict of str -> FamilyRuns
        In the order of ``names``.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    cfg = TrainConfig() if cfg is None else cfg
    data, columns = stack_datasets(datasets, seeds)

    def one(name):
        model = build(name, n_models=len(columns), seeds=[s for _, s in columns], **model_kwargs.get(name, {}))
        t0 = time.perf_counter()
        history = train(model, data, cfg, device=device)
        run = FamilyRuns(name, columns, history, predict(model, data["x_test"]),
                         count_parameters(model), time.perf_counter() - t0, model)
        if log is not None:
            accs = ", ".join(f"{k} {100 * v.mean():.1f}%" for k, v in run.final().items())
            log(f"{name:>6}: {len(columns)} copies, {cfg.steps} steps in {run.seconds:5.1f} s; test accuracy {accs}")
        return run

    if workers == 1:
        return {name: one(name) for name in names}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = {name: pool.submit(one, name) for name in names}
            return {name: f.result() for name, f in futures.items()}
    finally:
        torch.set_num_threads(threads)
