"""A drop-in for the paper's package: its public API, checked against the package itself.

The oracle is the paper's ``mnist1d`` 0.0.2.post1 from PyPI, installed in a separate
environment by ``.ci/oracle`` (``MNIST1D_ORACLE_PYTHON`` names its Python). Both packages
run ``tests/paper_api_outputs.py`` (the paper's functions, with its names and signatures, at
fixed seeds) and every output must agree to 1e-12. Without the oracle the comparison skips,
unless ``MNIST1D_REQUIRE_ORACLE=1`` (CI) makes it fail.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mnist1d
from mnist1d import transform as T
from mnist1d.utils import ObjectView, from_pickle, set_seed, to_pickle

SCRIPT = Path(__file__).with_name("paper_api_outputs.py")


def run_script(python, out, cwd):
    # -I: isolated, so that neither this checkout nor the user's site-packages can leak in.
    subprocess.run([python, "-I", str(SCRIPT), str(out)], check=True, cwd=cwd)
    return np.load(out)


def test_same_outputs_as_the_papers_package(tmp_path):
    oracle = os.environ.get("MNIST1D_ORACLE_PYTHON")
    if not oracle:
        if os.environ.get("MNIST1D_REQUIRE_ORACLE") == "1":
            pytest.fail("MNIST1D_ORACLE_PYTHON is not set: run .ci/oracle")
        pytest.skip("the paper's package is not installed (.ci/oracle installs it)")
    theirs = run_script(oracle, tmp_path / "paper.npz", tmp_path)
    ours = run_script(sys.executable, tmp_path / "ours.npz", tmp_path)
    assert sorted(ours.files) == sorted(theirs.files) and len(ours.files) > 100
    for key in ours.files:
        assert ours[key].shape == theirs[key].shape, key
        np.testing.assert_allclose(ours[key], theirs[key], rtol=0, atol=1e-12, err_msg=key)


def test_the_papers_names_are_exported():
    for name in ("get_dataset", "get_dataset_args", "get_templates", "to_pickle", "from_pickle", "ObjectView",
                 "set_seed", "plot_signals", "transform"):
        assert hasattr(mnist1d, name), name
    for name in ("pad", "shear", "translate", "corr_noise_like", "iid_noise_like", "interpolate", "transform"):
        assert callable(getattr(T, name)), name


def test_the_transform_module_is_callable_as_the_papers_function():
    args, templates = mnist1d.get_dataset_args(), mnist1d.get_templates()
    set_seed(3)
    a = mnist1d.transform(templates["x"][0], templates["t"], args)
    set_seed(3)
    b = T.transform(templates["x"][0], templates["t"], args)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert a[0].shape == (40,)


def test_utils_round_trip_and_view(tmp_path):
    to_pickle({"x": [1, 2]}, tmp_path / "a.pkl")
    assert from_pickle(tmp_path / "a.pkl") == {"x": [1, 2]}
    d = {"seed": 1}
    view = ObjectView(d)
    view.seed = 2
    assert d["seed"] == 2
    set_seed(0)
    first = np.random.rand()
    set_seed(0)
    assert np.random.rand() == first


def test_translate_keeps_a_signal_when_the_shift_is_too_long(monkeypatch):
    monkeypatch.setattr(np.random, "choice", lambda n: 15)
    x = np.arange(10.0)
    np.testing.assert_array_equal(T.translate(x, 48), x)
    monkeypatch.setattr(np.random, "choice", lambda n: 3)
    np.testing.assert_array_equal(T.translate(x, 48), np.roll(x, 3))


def test_plot_signals_needs_args_to_transform():
    with pytest.raises(ValueError, match="args"):
        mnist1d.plot_signals(np.zeros((10, 40)), np.arange(40), do_transform=True)
