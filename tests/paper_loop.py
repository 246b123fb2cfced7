"""A straightforward per-sample MNIST-1D generator, written from the paper's description.

It is the independent oracle for the batch generator in ``mnist1d.data`` (tests) and the
baseline it is timed against (``benchmarks/bench_generator.py``). It shares no code with
the package: one sample at a time, scipy's ``interp1d`` and ``gaussian_filter``, numpy's
global random state.
"""
import random

import numpy as np
from scipy.interpolate import interp1d
from scipy.ndimage import gaussian_filter


def _interpolate(x, n):
    return interp1d(np.linspace(0, 1, len(x)), x, axis=0, kind="linear")(np.linspace(0, 1, n))


def _transform_one(x, t, a, eps=1e-8):
    low, high = a["padding"]
    length = a["template_len"] + high
    p = low + int(np.random.rand() * (high - low + 1))
    x = np.concatenate([x + eps, np.zeros(p)])
    x = _interpolate(x, length)
    t = _interpolate(t, length)
    x = x * (1 + a["scale_coeff"] * (np.random.rand() - 0.5))
    k = np.random.choice(a["max_translation"])
    x = np.concatenate([x[-k:], x[:-k]])
    mask = x != 0
    corr = gaussian_filter(a["corr_noise_scale"] * np.random.randn(*x.shape), 2)
    x = mask * x + (1 - mask) * corr
    x = x + a["iid_noise_scale"] * np.random.randn(*x.shape)
    c = a["shear_scale"] * (np.random.rand() - 0.5)
    x = x - c * np.linspace(-0.5, 0.5, len(x))
    return _interpolate(x, a["final_seq_length"]), _interpolate(t, a["final_seq_length"])


def make_dataset_loop(a, templates):
    """Generate the dataset sample by sample; ``a`` is a dict of dataset arguments."""
    random.seed(a["seed"])
    np.random.seed(a["seed"])
    xs, ys = [], []
    for label in range(len(templates["y"])):
        for _ in range(a["num_samples"] // len(templates["y"])):
            x, t = _transform_one(templates["x"][label], templates["t"], a)
            xs.append(x)
            ys.append(templates["y"][label])
    order = np.random.permutation(len(ys))
    xs, ys = np.stack(xs)[order], np.stack(ys)[order]
    if a["shuffle_seq"]:
        xs = xs[..., np.random.permutation(a["final_seq_length"])]
    t = t / xs.std()
    xs = (xs - xs.mean()) / xs.std()
    split = int(len(ys) * a["train_split"])
    return {"x": xs[:split], "x_test": xs[split:], "y": ys[:split], "y_test": ys[split:], "t": t}
