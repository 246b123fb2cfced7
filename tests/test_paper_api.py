"""A drop-in for the paper's package: its public API, checked against the package itself.

The oracle is the paper's ``mnist1d`` 0.0.2.post1 from PyPI, installed in a separate
environment by ``.ci/oracle`` (``MNIST1D_ORACLE_PYTHON`` names its Python). Both packages
run ``tests/paper_api_outputs.py`` (the paper's functions, with its names and signatures, at
fixed seeds) and every output must agree to 1e-12. Without the oracle the comparison skips,
unless ``MNIST1D_REQUIRE_ORACLE=1`` (CI) makes it fail.
"""
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mnist1d
from mnist1d import transform as T
from mnist1d.data import get_dataset, get_dataset_args, get_templates, make_dataset
from mnist1d.utils import ObjectView, from_pickle, plot_signals, set_seed, to_pickle

SCRIPT = Path(__file__).with_name("paper_api_outputs.py")
PAPER_URL = "https://github.com/greydanus/mnist1d/raw/master/mnist1d_data.pkl"  # its data.py
KEYS = ("x", "x_test", "y", "y_test", "t")


def run_script(python, out, cwd):
    # -I: isolated, so that neither this checkout nor the user's site-packages can leak in.
    subprocess.run([python, "-I", str(SCRIPT), str(out)], check=True, cwd=cwd)
    return np.load(out)


@pytest.fixture
def oracle():
    """The Python of the environment that holds the paper's package."""
    python = os.environ.get("MNIST1D_ORACLE_PYTHON")
    if not python:
        if os.environ.get("MNIST1D_REQUIRE_ORACLE") == "1":
            pytest.fail("MNIST1D_ORACLE_PYTHON is not set: run .ci/oracle")
        pytest.skip("the paper's package is not installed (.ci/oracle installs it)")
    return python


def run_in_oracle(python, code, *argv, cwd):
    # -I as above; the check that mnist1d is the paper's keeps a leaked checkout from passing silently
    prelude = "import mnist1d.data, sys\nassert not hasattr(mnist1d.data, 'validate_args'), mnist1d.__file__\n"
    subprocess.run([python, "-I", "-c", prelude + code, *map(str, argv)], check=True, cwd=cwd)


def test_same_outputs_as_the_papers_package(tmp_path, oracle):
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


def sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


READ_IN_PAPER = """
import numpy as np
from mnist1d.data import get_dataset, get_dataset_args
from mnist1d.utils import from_pickle
path, out = sys.argv[1:]
d = from_pickle(path)
# with download=False the paper's get_dataset is from_pickle, or a rebuild over the file if that fails
g = get_dataset(get_dataset_args(), path=path, download=False, verbose=False)
keys = ("x", "x_test", "y", "y_test", "t")
np.savez(out, **{k: d[k] for k in keys}, **{"get_" + k: g[k] for k in keys},
         **{"templates_" + k: v for k, v in d["templates"].items()})
"""


def test_a_pickle_it_writes_loads_in_the_papers_package(tmp_path, oracle):
    args = {"num_samples": 300, "seed": 7}
    path = tmp_path / "mnist1d_data.pkl"
    want = get_dataset(args, path=path)
    before = sha(path)
    run_in_oracle(oracle, READ_IN_PAPER, path, tmp_path / "theirs.npz", cwd=tmp_path)
    assert sha(path) == before  # the paper's get_dataset read it: no rebuild
    with np.load(tmp_path / "theirs.npz") as theirs:
        for k in KEYS:
            np.testing.assert_array_equal(theirs[k], want[k])
            np.testing.assert_array_equal(theirs["get_" + k], want[k])
        for k in ("x", "t", "y"):
            np.testing.assert_array_equal(theirs["templates_" + k], want["templates"][k])


WRITE_IN_PAPER = """
from mnist1d.data import get_dataset, get_dataset_args
args = get_dataset_args()
args.num_samples, args.seed = 300, 7
get_dataset(args, path=sys.argv[1], download=False, regenerate=True, verbose=False)
"""


def test_a_pickle_the_papers_package_writes_is_read_here(tmp_path, oracle):
    path = tmp_path / "theirs.pkl"
    run_in_oracle(oracle, WRITE_IN_PAPER, path, cwd=tmp_path)
    before = sha(path)
    args = {"num_samples": 300, "seed": 7}
    d = get_dataset(args, path=path)
    for k in KEYS:
        np.testing.assert_allclose(d[k], make_dataset(args)[k], rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="not the one these arguments make"):
        get_dataset(args | {"seed": 8}, path=path)
    assert sha(path) == before


def test_args_carry_the_papers_url_unused(tmp_path, monkeypatch):
    assert get_dataset_args().url == PAPER_URL == get_dataset_args(as_dict=True)["url"]
    path = tmp_path / "d.npz"
    get_dataset({"num_samples": 100}, path=path)
    before = path.stat().st_mtime_ns
    # another url makes the same data, so the file is reused (and nothing is fetched)
    d = get_dataset({"num_samples": 100, "url": "http://127.0.0.1:9/nothing"}, path=path)
    assert path.stat().st_mtime_ns == before and len(d["y"]) == 80
    with pytest.raises(ValueError, match="url must be a string"):
        get_dataset({"url": None})


def test_the_papers_quickstart_runs(tmp_path, monkeypatch, frozen):
    """The calls of the paper's notebooks/quickstart.ipynb, in its order, with its arguments."""
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    (tmp_path / "mnist1d").mkdir()  # the quickstart's clone of the paper's repository
    templates = get_templates()
    x, t, y = templates["x"], templates["t"], templates["y"]
    figs = [plot_signals(x, t, labels=y, ratio=1.33, dark_mode=True),
            plot_signals(x, t, labels=y, ratio=1.33, dark_mode=False)]
    arg_dict = get_dataset_args(as_dict=True)
    arg_dict["padding"] = [36, 60]
    arg_dict["max_translation"] = 48
    arg_dict["scale_coeff"] = 0
    arg_dict["corr_noise_scale"] = 0
    arg_dict["iid_noise_scale"] = 0
    arg_dict["shear_scale"] = 0
    args = ObjectView(arg_dict)
    set_seed(args.seed)
    figs.append(plot_signals(x, t, labels=y, args=args, ratio=2.2, do_transform=True))
    args = get_dataset_args()
    set_seed(args.seed)
    figs.append(plot_signals(x, t, labels=y, args=args, ratio=2.2, do_transform=True))
    for fig, length in zip(figs, (12, 12, 40, 40)):
        assert [len(ax.lines[0].get_xdata()) for ax in fig.axes] == [length] * 10
        assert fig.axes[3].get_title() == "label=3"
        plt.close(fig)

    args = get_dataset_args()
    custom = "./mnist1d/mnist1d_data_custom.pkl"
    data = get_dataset(args, path=custom, download=False, regenerate=True)
    written = Path(custom).stat().st_mtime_ns
    data = get_dataset(args, path=custom, download=False, regenerate=False)
    assert Path(custom).stat().st_mtime_ns == written  # read, not rebuilt
    assert (len(data["y"]), len(data["y_test"]), data["x"].shape[-1], len(data["templates"]["y"])) == (4000, 1000, 40, 10)

    args = get_dataset_args()
    data = get_dataset(args, path="./mnist1d_data.pkl", download=True)  # "This is the default setting"
    np.testing.assert_allclose(data["x"], frozen["x"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(data["y_test"], frozen["y_test"])
    np.testing.assert_array_equal(from_pickle("./mnist1d_data.pkl")["y"], frozen["y"])
