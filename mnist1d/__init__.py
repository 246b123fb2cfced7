"""MNIST-1D course helpers: the dataset generator, models, training loop and
experiments.

Importing the package is cheap: submodules that need matplotlib, ipywidgets or
torch are imported only when used (``from mnist1d import plotting``).
"""

from . import transform
from .data import get_dataset, get_dataset_args, get_templates, make_dataset
from .utils import ObjectView, from_pickle, plot_signals, set_seed, to_pickle

# the one place the version is set (pyproject.toml reads it)
__version__ = "0.1.0"
# The paper's package exports the same names; its ``transform`` is a function,
# and this package's module is callable as that function
# (mnist1d/transform.py).
__all__ = [
    "get_dataset",
    "get_dataset_args",
    "get_templates",
    "make_dataset",
    "transform",
    "ObjectView",
    "from_pickle",
    "plot_signals",
    "set_seed",
    "to_pickle",
]
