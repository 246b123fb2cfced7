"""MNIST-1D course helpers: the dataset generator, models, training loop and experiments.

Importing the package is cheap: submodules that need matplotlib, ipywidgets or torch are
imported only when used (``from mnist1d import plotting``).
"""
from .data import get_dataset, get_dataset_args, get_templates, make_dataset

__version__ = "0.1.0"
__all__ = ["get_dataset", "get_dataset_args", "get_templates", "make_dataset"]
