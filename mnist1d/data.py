"""MNIST-1D's public API, under the names and signatures of the paper's
``mnist1d.data`` (``get_dataset_args``, ``get_templates``, ``make_dataset``,
``get_dataset``), so code written for the paper's package runs unchanged.

The generator lives in :mod:`mnist1d.generator`, the on-disk cache behind
:func:`get_dataset` in :mod:`mnist1d.cache`. ``MNIST1D`` (in
:mod:`mnist1d.torch_data`) wraps a split as a ``torch.utils.data.Dataset``;
it is reached from here, and torch imported, only when it is first used.
"""

from .cache import default_cache_dir, get_dataset
from .generator import (
    MODES,
    PAPER_URL,
    DatasetArgs,
    Draws,
    get_dataset_args,
    get_templates,
    make_dataset,
    trace_sample,
    transform_batch,
    validate_args,
)

__all__ = [
    "MODES",
    "PAPER_URL",
    "DatasetArgs",
    "Draws",
    "default_cache_dir",
    "get_dataset",
    "get_dataset_args",
    "get_templates",
    "make_dataset",
    "trace_sample",
    "transform_batch",
    "validate_args",
]


def __getattr__(name):
    # PEP 562: MNIST1D lives in mnist1d.torch_data, which imports torch; it
    # is imported on first access only, so that importing this module (and
    # the paper's API) stays cheap.
    if name == "MNIST1D":
        from .torch_data import MNIST1D

        return MNIST1D
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
