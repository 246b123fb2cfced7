import importlib.util
import pickle
import shutil
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"  # travels with the tests (tests/data/README.md)
sys.path.insert(0, str(Path(__file__).parent))  # for paper_loop


@pytest.fixture(scope="session")
def frozen():
    """The dataset published with the paper (tests/data/mnist1d_data.pkl)."""
    path = DATA / "mnist1d_data.pkl"
    if not path.exists():
        pytest.fail(f"frozen reference dataset missing: {path}")
    with open(path, "rb") as f:
        return pickle.load(f)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    """Keep every test's dataset cache out of the user's home."""
    monkeypatch.setenv("MNIST1D_CACHE", str(tmp_path / "cache"))


ROOT = Path(__file__).resolve().parents[1]
REHEARSAL = ROOT / "_build" / "rehearsal"


def pytest_configure(config):
    import os
    os.environ.setdefault("MPLBACKEND", "Agg")  # tests draw figures with no display
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS:
        run_everything(config)


def run_everything(config):
    """`pytest` with no paths runs every test: the package's and the book's (testpaths), and
    nbval over the instructors and report pages and every chapter's rehearsal notebook, written
    here from the chapters as they are now, so a stale copy can never be what passes."""
    from mnist1d.course.rehearsal import write_rehearsals

    shutil.rmtree(REHEARSAL, ignore_errors=True)
    config.stash[NOTEBOOKS] = write_rehearsals(ROOT / "book", REHEARSAL) + [
        ROOT / "book" / "instructors.ipynb", ROOT / "book" / "reproduction.ipynb"]
    config.args.append(str(REHEARSAL))
    config.option.nbval_lax = True


NOTEBOOKS = pytest.StashKey[list]()


@pytest.hookimpl(tryfirst=True)  # before -k or --deselect narrow the items
def pytest_collection_modifyitems(config, items):
    """A run of everything that would leave a notebook out fails, instead of passing without
    having run that chapter."""
    expected = config.stash.get(NOTEBOOKS, [])
    collected = {Path(item.path) for item in items}
    missing = [p.name for p in expected if Path(p) not in collected]
    if missing:
        raise pytest.UsageError(f"these notebooks were not collected, so nbval would not run them: {missing}")


# Without torch (the torch-free lane, .ci/pythons, or a numpy-only install), a test module or
# a test that imports it skips, saying so, instead of failing on the import.
NO_TORCH = importlib.util.find_spec("torch") is None
NEEDS_TORCH = "needs torch, which is not installed"


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    if NO_TORCH and report.failed and isinstance(collector, pytest.Module) \
            and "No module named 'torch'" in str(report.longrepr):
        report.outcome, report.longrepr = "skipped", (str(collector.path), None, f"Skipped: {NEEDS_TORCH}")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    try:
        return (yield)
    except ModuleNotFoundError as e:
        if NO_TORCH and e.name == "torch":
            pytest.skip(NEEDS_TORCH)
        raise
