"""Small helpers for the chapters: show library source, glue numbers into the
prose.
"""

import ast
import inspect
import textwrap


def docstring_spans(source):
    """Where the docstrings of ``source`` are: the module's, each class's and
    each function's, nested ones included.

    Returns
    -------
    list of (first, last, only)
        1-based inclusive line numbers of each docstring, and whether it is
        the whole body of its definition.
    """
    spans = []
    for node in ast.walk(ast.parse(source)):
        kinds = (
            ast.Module,
            ast.ClassDef,
            ast.FunctionDef,
            ast.AsyncFunctionDef,
        )
        if not isinstance(node, kinds) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(
            getattr(first, "value", None), ast.Constant
        ):
            if isinstance(first.value.value, str):
                only = len(node.body) == 1
                spans.append((first.lineno, first.end_lineno, only))
    return spans


def without_docstrings(source):
    """``source`` with its docstrings removed; a body that was only a
    docstring keeps ``...`` in its place, so the code still parses."""
    lines = textwrap.dedent(source).splitlines()
    for first, last, only in sorted(
        docstring_spans("\n".join(lines)), reverse=True
    ):
        indent = lines[first - 1][
            : len(lines[first - 1]) - len(lines[first - 1].lstrip())
        ]
        lines[first - 1 : last] = [indent + "..."] if only else []
    return "\n".join(lines)


def show_source(*objects):
    """Display the source of functions or classes as a highlighted code block,
    without their docstrings.

    The chapters call this instead of copying library code, so the code a
    reader studies is the code that runs. Docstrings are left out: the chapter's
    prose says what the code is for, and their reST markup (double
    backquotes, roles) would show as raw text on the page.
    """
    from IPython.display import Markdown, display

    code = "\n\n".join(
        without_docstrings(inspect.getsource(o)).rstrip() for o in objects
    )
    display(Markdown(f"```python\n{code}\n```"))


def glue(name, value):
    """Record ``value`` for the book's prose (myst-nb ``{glue:text}``); a no-op
    without myst-nb.

    Numbers quoted in a chapter's text are glued from the run rather than
    typed, so the prose cannot drift from the outputs. On Colab, where myst-nb
    is not installed, nothing needs recording.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, value, display=False)


class Checks:
    """A chapter's claims, each checked and reported by name; any failure
    raises at the end.

    Every claim is evaluated before anything is raised, so a reader (and the
    robustness run, ``benchmarks/robustness.py``) sees which claims hold and
    which do not, not just the first failure. :meth:`done` prints one line per
    claim, glues the outcomes as ``{prefix}_checks`` (a dict of name -> bool,
    for the reproduction report) and raises ``AssertionError`` naming every
    claim that failed.

    Examples
    --------
    >>> checks = Checks("ch2")
    >>> checks("the CNN beats the MLP by 15 points", cnn >= mlp + 15,
    ...        f"{cnn:.1f} vs {mlp:.1f}")
    >>> checks.done()
    """

    def __init__(self, prefix):
        self.prefix = prefix
        self.results = {}  # name -> (passed, detail)

    def __call__(self, name, passed, detail=""):
        if name in self.results:
            raise ValueError(
                f"name must be unique within a chapter's checks; {name!r} is "
                "used twice"
            )
        self.results[name] = (bool(passed), str(detail))
        return bool(passed)

    def done(self):
        for name, (passed, detail) in self.results.items():
            line = f"{'pass' if passed else 'FAIL'}  {name}"
            line += f"  [{detail}]" if detail else ""
            # wrapped to the book's column, continuation lines indented
            print(textwrap.fill(line, 79, subsequent_indent=" " * 6))
        glue(
            f"{self.prefix}_checks",
            {name: passed for name, (passed, _) in self.results.items()},
        )
        failed = [
            name for name, (passed, _) in self.results.items() if not passed
        ]
        if failed:
            raise AssertionError(
                f"{len(failed)} of {len(self.results)} checks failed: {failed}"
            )
        print(f"all {len(self.results)} checks passed")
