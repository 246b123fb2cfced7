"""The frozen dataset's fingerprint, which chapters use where the file is not at hand."""
import numpy as np

from mnist1d.data import make_dataset
from mnist1d.reference import FROZEN, fingerprint, matches_frozen


def test_stored_fingerprint_is_the_frozen_files(frozen):
    got = fingerprint(frozen)
    assert got.keys() == FROZEN.keys()
    for k, want in FROZEN.items():
        if isinstance(want, str):
            assert got[k] == want, k
        else:
            assert abs(got[k] - want) < 1e-9, k
    assert matches_frozen(frozen)


def test_generated_data_matches_and_changes_are_caught():
    d = make_dataset()
    assert matches_frozen(d)
    nudged = dict(d, x=d["x"].copy())
    nudged["x"][123, 7] += 1e-6
    assert not matches_frozen(nudged)
    relabelled = dict(d, y_test=np.roll(d["y_test"], 1))
    assert not matches_frozen(relabelled)
    assert not matches_frozen(make_dataset({"seed": 43}))
