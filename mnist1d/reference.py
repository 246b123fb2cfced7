"""A fingerprint of the paper's frozen dataset, so a chapter can check the
generator anywhere.

The frozen file itself (``mnist1d_data.pkl``, published with the paper) is what
the test suite compares against value by value. A chapter on Colab does not
have it, so it compares a few numbers that summarise it: sums and fixed random
projections of the signals, and a hash of the labels.
"""

import hashlib

import numpy as np

_PROJECTION_SEED = 1234

# fingerprint() of the frozen dataset; tests/test_reference.py recomputes it
# from the file.
FROZEN = {
    "x.sum": -51.78746787509559,
    "x.sumsq": 159248.2538653486,
    "x.proj0": -93.11524437479889,
    "x.proj1": 158.5923852052816,
    "x.proj2": 496.50465028682856,
    "x.proj3": -117.2352878200336,
    "x_test.sum": 51.78746787509186,
    "x_test.sumsq": 40751.74613465136,
    "x_test.proj0": -288.6829786795631,
    "x_test.proj1": 100.00329430803438,
    "x_test.proj2": 174.85407788567306,
    "x_test.proj3": -126.26662927727821,
    "y.sha256": "d97dc7aecec8ad6b5d8f143ba3e9c4bd7e25c420d7dfc2eb990591cfc0ed3e15",
    "y_test.sha256": "8de99be3ff9dab15ae0dc072c3d6ced7cf6b33d365888ce4a386fc944489452c",
    "t.sum": -2.1316282072803006e-14,
}


def fingerprint(dataset):
    """Numbers that summarise a dataset dict: a float per (array, statistic), a
    hash per label array.
    """
    w = np.random.default_rng(_PROJECTION_SEED).standard_normal(
        (dataset["x"].shape[1], 4)
    )
    out = {}
    for k in ("x", "x_test"):
        x = np.asarray(dataset[k], dtype=np.float64)
        out[f"{k}.sum"] = float(x.sum())
        out[f"{k}.sumsq"] = float((x**2).sum())
        for j, v in enumerate((x @ w).sum(0)):
            out[f"{k}.proj{j}"] = float(v)
    for k in ("y", "y_test"):
        out[f"{k}.sha256"] = hashlib.sha256(
            np.asarray(dataset[k], dtype=np.int64).tobytes()
        ).hexdigest()
    out["t.sum"] = float(np.sum(dataset["t"]))
    return out


def matches_frozen(dataset, atol=1e-8):
    """True if ``dataset`` has the frozen dataset's fingerprint (floats within
    ``atol``).
    """
    got = fingerprint(dataset)
    for k, want in FROZEN.items():
        if isinstance(want, str) and got[k] != want:
            return False
        if not isinstance(want, str) and abs(got[k] - want) > atol:
            return False
    return True
