"""The small helpers of the paper's ``mnist1d.utils``, for code written against
that package.

The paper's notebooks do ``from mnist1d.utils import set_seed, to_pickle,
from_pickle, ObjectView``; with this package installed in its place they keep
working. The signatures and behaviour are the paper's; the implementations are
this course's own.
"""

import codecs
import pickle
import random

import numpy as np

__all__ = [
    "set_seed",
    "to_pickle",
    "from_pickle",
    "safe_from_pickle",
    "safe_load",
    "UnsafePickleError",
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
    """Read back what :func:`to_pickle` wrote, with plain ``pickle.load``.

    This stays the paper's unrestricted reader because the paper's notebooks
    store their own results with :func:`to_pickle` and read them back here,
    torch models included (the lottery-ticket notebook pickles whole
    networks); a restricted reader would refuse those files. Unpickling runs
    whatever the file names, so use it only on files you wrote or trust. For a
    file from anywhere else use :func:`safe_from_pickle`, which
    :func:`mnist1d.data.get_dataset` uses for every dataset pickle.
    """
    with open(path, "rb") as f:
        return pickle.load(f)


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle named an object a dataset never holds; none of it ran."""


def _latin1_encode(text, encoding):
    # protocol-2 pickles rebuild bytes as _codecs.encode(text, "latin1");
    # admitting only that codec keeps the call a plain data conversion
    if encoding not in ("latin1", "latin-1"):
        raise UnsafePickleError(f"refused codec {encoding!r} in a pickle")
    return codecs.encode(text, encoding)


def _allowed_globals():
    """(module, name) -> object, for everything a dataset pickle may name.

    numpy's pickling helpers are taken from what numpy itself writes, under
    both the numpy 1.x (``numpy.core``) and 2.x (``numpy._core``) module
    names, so files from either version load.
    """
    arr = np.arange(1.0)
    helpers = [
        arr.__reduce__()[0],  # _reconstruct, pickle protocols 0-4
        arr.__reduce_ex__(5)[0],  # _frombuffer, protocol 5
        np.float64(0).__reduce__()[0],  # scalar: numpy scalars
    ]
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
    for f in helpers:
        submodule = f.__module__.rsplit(".", 1)[1]
        for pkg in ("numpy.core", "numpy._core"):
            allowed[(f"{pkg}.{submodule}", f.__name__)] = f
    for builtin in (set, frozenset, complex, bytearray):
        for module in ("builtins", "__builtin__"):  # 3.x and 2.x names
            allowed[(module, builtin.__name__)] = builtin
    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


class _DatasetUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :func:`_allowed_globals`.

    A pickle can run code only through the globals it names (``os.system``,
    ``builtins.eval``, a class whose ``__setstate__`` does something), and
    every such name passes through :meth:`find_class`; refusing the name there
    means the payload is never called.
    """

    allowed = None  # filled on first use: numpy is inspected only then

    def find_class(self, module, name):
        if _DatasetUnpickler.allowed is None:
            _DatasetUnpickler.allowed = _allowed_globals()
        found = _DatasetUnpickler.allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(
                f"refused to load {module}.{name}: a dataset pickle holds "
                "only builtin containers and scalars and numpy arrays, "
                "dtypes and scalars, so nothing of this file was run"
            )
        return found


def safe_load(file):
    """Unpickle from an open binary file, admitting only what a dataset holds.

    Parameters
    ----------
    file : binary file object
        Positioned at the start of a pickle (any protocol).

    Returns
    -------
    object
        Built only from builtin containers and scalars (dict, list, tuple,
        set, str, bytes, numbers, None) and numpy arrays, dtypes and scalars.

    Raises
    ------
    UnsafePickleError
        If the pickle names anything else (a function such as ``os.system``,
        any other class); it is refused before it is called.
    pickle.UnpicklingError, EOFError
        If the file is not a complete pickle.
    """
    return _DatasetUnpickler(file).load()


def safe_from_pickle(path):
    """:func:`from_pickle` for files you did not write: see :func:`safe_load`.

    Reads the paper's ``mnist1d_data.pkl`` and every dataset pickle that
    :func:`mnist1d.data.get_dataset` or the paper's package writes.
    """
    with open(path, "rb") as f:
        return safe_load(f)


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
