"""MNIST-1D as a ``torch.utils.data.Dataset``.

This module imports torch; :mod:`mnist1d.data` reaches :class:`MNIST1D` only
when it is first asked for, so that ``import mnist1d.data`` stays cheap.
"""

import numpy as np
import torch
from torch.utils.data import Dataset

from .cache import get_dataset

__all__ = ["MNIST1D"]


class MNIST1D(Dataset):
    """MNIST-1D as a ``torch.utils.data.Dataset``, for ``DataLoader`` and
    course code alike.

    Parameters
    ----------
    train : bool
        The training split (4000 examples with the default arguments) or the
        test split (1000).
    args : DatasetArgs or dict, optional
        Generator arguments, as for :func:`mnist1d.data.make_dataset`
        (default: the paper's).
    transform, target_transform : callable, optional
        Applied to each signal (a float32 tensor of shape (final_seq_length,))
        and label (an int64 tensor) when an item is read, as in torchvision's
        datasets.
    path : str or Path, optional
        Cache file for :func:`mnist1d.data.get_dataset` (default: one per
        argument set under :func:`mnist1d.cache.default_cache_dir`); the
        dataset is made once and read back after that.

    Attributes
    ----------
    data : torch.Tensor, float32, (n, final_seq_length)
    targets : torch.Tensor, int64, (n,)
    t : numpy.ndarray, (final_seq_length,)
        The sample positions, for plotting.
    """

    def __init__(
        self,
        train=True,
        args=None,
        transform=None,
        target_transform=None,
        path=None,
    ):
        if not isinstance(train, bool):
            raise ValueError(f"train must be True or False, got {train!r}")
        for name, f in (
            ("transform", transform),
            ("target_transform", target_transform),
        ):
            if f is not None and not callable(f):
                raise ValueError(f"{name} must be callable or None, got {f!r}")
        d = get_dataset(args, path=path)
        x, y = (d["x"], d["y"]) if train else (d["x_test"], d["y_test"])
        self.train = train
        self.data = torch.as_tensor(np.asarray(x, dtype=np.float32))
        self.targets = torch.as_tensor(np.asarray(y, dtype=np.int64))
        self.t = d["t"]
        self.transform, self.target_transform = transform, target_transform

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        x, y = self.data[i], self.targets[i]
        if self.transform is not None:
            x = self.transform(x)
        if self.target_transform is not None:
            y = self.target_transform(y)
        return x, y

    def __repr__(self):
        split = "train" if self.train else "test"
        n, length = self.data.shape
        return f"MNIST1D({split}, {n} examples of length {length})"
