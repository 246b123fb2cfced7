"""Outputs of the paper's public API for fixed seeds, from whichever ``mnist1d`` is importable.

    python -I tests/paper_api_outputs.py OUT.npz

tests/test_paper_api.py runs it twice, with this course's package and with the paper's own
(``pip install mnist1d==0.0.2.post1`` in a separate environment, the oracle), and compares.
Only the paper's names and signatures are used here, as the paper's notebooks use them.
"""
import importlib
import os
import sys
import tempfile

import numpy as np
from mnist1d import get_dataset_args, get_templates, transform
from mnist1d.data import make_dataset
from mnist1d.utils import ObjectView, from_pickle, set_seed, to_pickle

T = importlib.import_module("mnist1d.transform")  # in the paper's package, mnist1d.transform is a function


def outputs():
    out = {}
    args = get_dataset_args()
    templates = get_templates()
    x, t = np.asarray(templates["x"][3], dtype=float), np.asarray(templates["t"], dtype=float)
    calls = {
        "pad": lambda: T.pad(x, args.padding),
        "pad_2d": lambda: T.pad(np.ones((3, 12)), (2, 5)),
        "shear": lambda: T.shear(x, args.shear_scale),
        "shear_default": lambda: T.shear(x),
        "translate": lambda: T.translate(np.arange(72.0), args.max_translation),
        "translate_long": lambda: T.translate(np.arange(10.0), 48),
        "corr_noise_like": lambda: T.corr_noise_like(np.zeros(72), args.corr_noise_scale),
        "iid_noise_like": lambda: T.iid_noise_like(np.zeros(72), args.iid_noise_scale),
        "interpolate": lambda: T.interpolate(np.arange(12.0) ** 2, 40),
        "interpolate_2d": lambda: T.interpolate(np.arange(36.0).reshape(12, 3) ** 1.5, 40),
    }
    for name, call in calls.items():
        for seed in range(10):
            set_seed(seed)
            out[f"{name}/{seed}"] = np.asarray(call(), dtype=float)
    for seed in range(20):
        set_seed(seed)
        new_x, new_t = (T.transform if seed % 2 else transform)(x, t, args)  # both spellings
        out[f"transform_x/{seed}"], out[f"transform_t/{seed}"] = new_x, new_t
    small = get_dataset_args(as_dict=True)
    small.update(num_samples=300, seed=7)
    d = make_dataset(ObjectView(small))
    for k in ("x", "x_test", "y", "y_test", "t"):
        out[f"make_dataset/{k}"] = np.asarray(d[k], dtype=float)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "thing.pkl")
        to_pickle({"a": [1, 2], "b": np.arange(3.0)}, path)
        back = from_pickle(path)
    out["pickle_round_trip"] = np.asarray(back["b"])
    view = ObjectView({"seed": 5})
    view.seed = 6
    out["objectview"] = np.asarray([view.seed, view.__dict__["seed"]], dtype=float)
    return out


if __name__ == "__main__":
    np.savez(sys.argv[1], **outputs())
