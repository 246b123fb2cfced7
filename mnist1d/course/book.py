"""What the course's tools read from a chapter notebook.

The bottom of :mod:`mnist1d.course`: the chapters' file names and numbers, the
values a chapter glued, and the MyST patterns (exercises, solutions, roles)
that the plain export, the student notebooks and the report all parse. It
imports nothing else from the course.
"""

import ast
import json
import re
from pathlib import Path

__all__ = [
    "CHAPTER_GLOB",
    "GRADER_TAGS",
    "RECORD",
    "chapters",
    "chapter_number",
    "exercises",
    "glued",
]

# 01_building_mnist1d.ipynb, ...; other pages are not chapters
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"
# raw cells for graders only: never in a student's or reader's copy
GRADER_TAGS = {"tests", "wrong-answer"}
# where myst-nb's glue stores a value as text
RECORD = "application/papermill.record/text/plain"

# ```{exercise} Title [label]  /  option lines  /  statement  /  ```
EXERCISE = re.compile(
    r"```\{exercise\}([^\n]*)\n((?::[\w-]+:[^\n]*\n)*)(.*?)```", re.S
)
LABEL = re.compile(r":label:\s*([\w-]+)")
# sphinx-exercise's gated solutions: from "{solution-start} label" to
# "{solution-end}"
SOLUTION_START = re.compile(
    r"```\{solution-start\}\s+([\w-]+)[^\n]*\n(?::[\w-]+:[^\n]*\n)*```"
)
SOLUTION_END = re.compile(r"```\{solution-end\}\s*```")
GLUE = re.compile(r"\{glue:text\}`([^`]+)`")
NUMREF = re.compile(r"\{numref\}`([^`]+)`")
REF = re.compile(r"\{ref\}`([^`<]+?)(?:\s*<([\w-]+)>)?`")
# a MyST target before a heading: "(ch3-how)=" then "## How it is built"
TARGET = re.compile(r"^\(([\w-]+)\)=[ \t]*\n(?:#+[ \t]+([^\n]+))?", re.M)
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
# any role or directive
MYST = re.compile(r"\{[a-z][\w:-]*\}`|```\{[a-z][\w-]*\}")
# the install cell's pin and the timing cell's line
INSTALL = re.compile(r"mnist1d-course==([\w.]+)")
RUNTIME = re.compile(r"chapter ran in (\d+) s")


def chapters(book_dir):
    """The chapter notebooks in ``book_dir``, in order (a list of Path)."""
    return sorted(Path(book_dir).glob(CHAPTER_GLOB))


def chapter_number(path):
    """The chapter's number, from its file name: 5 for
    ``05_double_descent.ipynb``."""
    return int(Path(path).name[:2])


def exercises(text):
    """The exercises in Markdown ``text``: a list of (label, statement).

    The statement is the directive's body, without its option lines; an
    exercise without a ``:label:`` is left out (nothing can refer to it).
    """
    found = []
    for m in EXERCISE.finditer(text):
        label = LABEL.search(m[2])
        if label:
            found.append((label[1], m[3]))
    return found


def glued(nb):
    """The values a notebook glued, read from its stored outputs: {name:
    value}.

    ``nb`` is a path or a loaded notebook (dict). Text values come back as
    Python objects (``'93.7%'`` as the string, a glued dict as a dict); figures
    are skipped.
    """
    if not isinstance(nb, dict):
        nb = json.loads(Path(nb).read_text())
    out = {}
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            text = o.get("data", {}).get(RECORD)
            if name is None or text is None:
                continue
            text = "".join(text) if isinstance(text, list) else text
            try:
                out[name] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                out[name] = text
    return out
