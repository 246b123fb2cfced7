"""The chapters' helpers: show_source shows code without its docstrings."""
import ast
import inspect

from mnist1d import data, transform
from mnist1d.notebook import docstring_spans, without_docstrings

SOURCE = '''def f(x):
    """Doc with ``reST`` and :func:`roles`.

    More.
    """
    y = "not a docstring"
    return x


class A:
    """Class doc."""

    def g(self):
        """Only a docstring."""
'''


def test_docstrings_go_code_stays():
    out = without_docstrings(SOURCE)
    assert "reST" not in out and "Class doc" not in out and "Only a docstring" not in out
    assert 'y = "not a docstring"' in out and "return x" in out
    ast.parse(out)  # a body that was only a docstring keeps `...`
    assert "        ..." in out.splitlines()


def test_spans_name_every_docstring():
    assert [(a, b) for a, b, _ in docstring_spans(SOURCE)] == [(2, 5), (11, 11), (14, 14)]


def test_package_source_still_parses_without_docstrings():
    for obj in (data, transform, transform.translate_rows, data.make_dataset):
        out = without_docstrings(inspect.getsource(obj))
        ast.parse(out)
        assert "``" not in out and ":func:" not in out
