"""The small helpers of the paper's ``mnist1d.utils``, for code written against
that package.

The paper's notebooks do ``from mnist1d.utils import set_seed, to_pickle,
from_pickle, ObjectView``; with this package installed in its place they keep
working. The signatures and behaviour are the paper's; the implementations are
this course's own.
"""

import pickle
import random

import numpy as np

__all__ = [
    "set_seed",
    "to_pickle",
    "from_pickle",
    "ObjectView",
    "plot_signals",
]


def set_seed(seed):
    """Seed Python's and numpy's global random generators (the paper's
    notebooks rely on both)."""
    random.seed(seed)
    np.random.seed(seed)


def to_pickle(thing, path):
    """Write ``thing`` to ``path`` with pickle protocol 3, as the paper's
    package does."""
    with open(path, "wb") as f:
        pickle.dump(thing, f, protocol=3)


def from_pickle(path):
    """Read back what :func:`to_pickle` wrote."""
    with open(path, "rb") as f:
        return pickle.load(f)


class ObjectView:
    """Attribute access to a dict: ``ObjectView({"seed": 42}).seed == 42``.

    Like the paper's, the view *is* the dict's namespace: setting an
    attribute changes the dict.
    """

    def __init__(self, d):
        self.__dict__ = d


def plot_signals(
    xs,
    t,
    labels=None,
    args=None,
    ratio=2.6,
    do_transform=False,
    dark_mode=False,
    zoom=1,
):
    """The paper's ten-panel plot of signals ``xs`` (at least 10, each of
    length ``len(t)``).

    ``do_transform`` (apply the paper's per-signal transform to each first)
    needs ``args``. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    from .transform import transform

    if do_transform and args is None:
        raise ValueError(
            "args is required when do_transform=True (the dataset arguments)"
        )
    fig, axes = plt.subplots(1, 10, figsize=[15, 1.5 * ratio], dpi=60)
    for ix, ax in enumerate(axes):
        x, tt = xs[ix], t
        if do_transform:
            x, tt = transform(x, tt, args)
        ax.plot(
            x, tt, "wo" if dark_mode else "k-", linewidth=6 if dark_mode else 2
        )
        if dark_mode:
            ax.set_facecolor("k")
        if labels is not None:
            ax.set_title(f"label={labels[ix]}", fontsize=22)
        ax.set_xlim(-zoom, zoom)
        ax.set_ylim(-zoom, zoom)
        ax.invert_yaxis()
        ax.set_xticks([])
        ax.set_yticks([])
    fig.subplots_adjust(wspace=0, hspace=0)
    fig.tight_layout()
    return fig
