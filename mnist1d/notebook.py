"""Small helpers for the chapters: show library source, glue numbers into the prose."""
import inspect


def show_source(*objects):
    """Display the source of functions or classes as a highlighted code block.

    The chapters call this instead of copying library code, so the code a reader studies
    is the code that runs.
    """
    from IPython.display import Markdown, display
    code = "\n\n".join(inspect.getsource(o).rstrip() for o in objects)
    display(Markdown(f"```python\n{code}\n```"))


def glue(name, value):
    """Record ``value`` for the book's prose (myst-nb ``{glue:text}``); a no-op without myst-nb.

    Numbers quoted in a chapter's text are glued from the run rather than typed, so the
    prose cannot drift from the outputs. On Colab, where myst-nb is not installed, nothing
    needs recording.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    _glue(name, value, display=False)
