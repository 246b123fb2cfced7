"""Train several stacks of model copies, side by side, and keep what the
chapters plot.

A *stack* is one model class holding many independent copies (one per dataset
and seed, say). Chapters describe the stacks they want as ``{label: (model
name, model kwargs)}``; :func:`train_stacks` trains them all on the same
per-copy data and returns one :class:`FamilyRuns` per label.
"""

import functools
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import torch

from ..models import build, count_parameters
from ..train import (
    TrainConfig,
    default_device,
    keep_freed_memory,
    predict,
    to_tensors,
    train,
)

__all__ = ["FamilyRuns", "run_parallel", "train_stacks"]


@dataclass
class FamilyRuns:
    """One stack's copies: column j of every (T, M) history array is
    ``columns[j]``.
    """

    name: str
    columns: list  # (dataset name, seed) per copy
    history: dict  # from mnist1d.train.train
    predictions: np.ndarray  # (M, n_test) final test-set predictions
    parameters: int  # per copy
    seconds: float  # wall time of the whole stack
    model: object = field(default=None, repr=False)  # the trained stack

    def copies(self, dataset):
        """Indices of the copies trained on ``dataset``, in seed order."""
        return [j for j, (d, _) in enumerate(self.columns) if d == dataset]

    def select(self, key, dataset):
        """The (T, seeds) columns of history ``key`` that were trained on
        ``dataset``.
        """
        return self.history[key][:, self.copies(dataset)]

    @property
    def diverged(self):
        """Indices of the copies whose training diverged
        (``TrainConfig(on_divergence="mark")``): their history is NaN from then
        on."""
        return [
            int(j)
            for j in np.flatnonzero(np.isnan(self.history["test_acc"][-1]))
        ]

    def final(self, key="test_acc"):
        """Last logged value per copy, as {dataset: array over seeds}; NaN for
        a diverged copy."""
        return {
            d: self.select(key, d)[-1]
            for d in dict.fromkeys(d for d, _ in self.columns)
        }


def train_stacks(
    specs, data, columns, cfg=None, device=None, log=print, workers=1
):
    """Train one stack per entry of ``specs``, every copy on its own column of
    ``data``.

    Parameters
    ----------
    specs : dict of str -> (str, dict)
        Label -> (model name for :func:`mnist1d.models.build`, its keyword
        arguments). With several workers, put the slowest first: stacks are
        started in this order.
    data : dict
        Per-copy arrays ``x`` (M, N, L), ``y`` (M, N), ``x_test``, ``y_test``.
    columns : list of (str, int)
        (dataset name, seed) of each of the M copies; the seed fixes
        the copy's initial weights.
    cfg : TrainConfig, optional
        Default: the paper's protocol.
    log : callable or None
        Called with one line per stack when it finishes.
    workers : int
        Stacks trained at the same time (see :func:`run_parallel`).

    Returns
    -------
    dict of str -> FamilyRuns
        In the order of ``specs``.
    """
    cfg = TrainConfig() if cfg is None else cfg
    _check_stacks(specs, data, columns)
    keep_freed_memory()  # the stacks train on; see its docstring
    # Once for all stacks: chapter 3's repeated training sets are 100,000 rows
    # per copy.
    data = to_tensors(data, device)
    lines = {}  # label -> its summary, logged at the end

    def one(label):
        run = _train_stack(label, specs[label], data, columns, cfg, device)
        # kept for the end: lines from worker threads would interleave
        if log is not None:
            lines[label] = _summary(run, cfg)
        return run

    runs = run_parallel(
        [functools.partial(one, label) for label in specs], workers, device
    )
    if log is not None:
        log("\n".join(lines[label] for label in specs))
    return dict(zip(specs, runs))


def _check_stacks(specs, data, columns):
    if not isinstance(specs, dict) or not specs:
        raise ValueError(
            "specs must be a non-empty dict of label -> (model name, kwargs), "
            f"got {specs!r}"
        )
    if np.ndim(data["x"]) != 3 or len(columns) != np.shape(data["x"])[0]:
        raise ValueError(
            "columns must give one (dataset, seed) per copy in data['x'] (M, "
            "N, L): "
            f"{len(columns)} columns for data['x'] of shape "
            f"{np.shape(data['x'])}"
        )


def _train_stack(label, spec, data, columns, cfg, device):
    """Build the stack ``spec`` (model name, kwargs), one copy per column,
    and train it on ``data`` (tensors)."""
    name, kwargs = spec
    model = build(
        name,
        n_models=len(columns),
        seeds=[s for _, s in columns],
        **kwargs,
    )
    t0 = time.perf_counter()
    history = train(model, data, cfg, device=device)
    return FamilyRuns(
        label,
        columns,
        history,
        predict(model, data["x_test"]),
        count_parameters(model),
        time.perf_counter() - t0,
        model,
    )


def _summary(run, cfg):
    """Two lines on a trained stack: its size and time, and each dataset's
    mean final test accuracy (%)."""
    accs = ", ".join(
        f"{k} {100 * np.nanmean(v):.1f}%"
        if not np.isnan(v).all()
        else f"{k} -"
        for k, v in run.final().items()
    )
    lost = f", {len(run.diverged)} diverged (left out)" if run.diverged else ""
    return (
        f"{run.name}: {len(run.columns)} copies x {cfg.steps} steps in "
        f"{run.seconds:.1f} s{lost}\n"
        + textwrap.fill(
            accs,
            79,
            initial_indent="  test accuracy: ",
            subsequent_indent="    ",
        )
    )


def run_parallel(jobs, workers=1, device="cpu"):
    """Call every job (a function of no arguments); return their results in
    order.

    With ``workers > 1`` that many jobs run at a time, each in its own thread,
    and torch runs every operation on a single thread meanwhile: the course's
    models are too small for one operation to keep two cores busy, so on a
    2-core CPU two jobs side by side finish sooner than one after the other.
    Each operation still computes alone, so results do not depend on how the
    threads interleave. Jobs start in the order given: put the slowest first.

    Threads only help on the CPU: on any other ``device`` (None means the
    default device, CUDA when present) the jobs run one after another, since
    threads would share one CUDA stream and the thread count is CPU tuning.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    if (
        torch.device(default_device() if device is None else device).type
        != "cpu"
    ):
        workers = 1
    if workers == 1:
        return [job() for job in jobs]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(workers) as pool:
            return [f.result() for f in [pool.submit(job) for job in jobs]]
    finally:
        torch.set_num_threads(threads)
