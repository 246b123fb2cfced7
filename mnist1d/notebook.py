"""Small helpers for the chapters: show library source, glue numbers into the
prose.
"""

import inspect
import textwrap


def show_source(*objects):
    """Display the source of functions or classes as a highlighted code block.

    The chapters call this instead of copying library code, so the code a
    reader studies is the code that runs.
    """
    from IPython.display import Markdown, display

    code = "\n\n".join(inspect.getsource(o).rstrip() for o in objects)
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
