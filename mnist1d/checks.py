"""The exercises' checks in a student's notebook.

A student notebook (made by :mod:`mnist1d.course.notebooks`) carries the
public test cases of its exercises as text; its checks cell calls
:func:`write_checks`, which writes them beside the notebook and returns
otter-grader's ``grader``: ``grader.check("ex1-transforms")`` runs that
exercise's public cases. The hidden cases stay with the instructor
(:mod:`mnist1d.course.grading`).
"""

import sys
from pathlib import Path

from .files import atomic_write

__all__ = ["write_checks", "import_otter"]


def write_checks(sources, folder="checks"):
    """Write a student notebook's public checks and return otter's grader.

    Parameters
    ----------
    sources : dict
        Question label -> otter test file source (public cases).
    folder : str
        Where to write them, next to the notebook.

    Returns
    -------
    otter.Notebook
        ``grader.check("ex1-transforms")`` runs that exercise's checks.
    """
    otter = import_otter()
    folder = Path(folder)
    folder.mkdir(exist_ok=True)
    for label, source in sources.items():
        with atomic_write(folder / f"{label}.py") as f:
            f.write(source)
    return otter.Notebook(tests_dir=str(folder))


def import_otter():
    """``import otter``, on any setuptools.

    otter-grader 5.7.1 calls ``pkg_resources.resource_filename`` at import
    time, and setuptools 81 and later have no ``pkg_resources`` (a fresh
    Python 3.12+ environment gets the newest). Where it is missing, a stand-in
    that answers that one call from ``importlib.resources`` takes its place;
    where it exists (Colab, this project's CI), it is used as it is.
    """
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import importlib.resources
        import types

        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda package, name: str(
            importlib.resources.files(package) / name
        )
        sys.modules["pkg_resources"] = shim
    try:
        import otter
    except ImportError:
        raise ImportError(
            "the exercise checks need otter-grader: pip install "
            "'mnist1d-course[grader]'"
        ) from None
    return otter
