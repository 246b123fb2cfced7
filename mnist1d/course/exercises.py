"""Each exercise's otter-grader checks, made from its chapter.

In a chapter, each exercise's tests sit beside its solution in a raw cell
tagged ``tests`` (hidden from the book by ``remove-cell``), whose metadata
names the exercise: ``{"mnist1d": {"question": "ex1-transforms", "points":
2, "manual": 1}}``. The cell holds otter's exception-based test cases::

    @test_case(hidden=False)
    def is_a_table(ex1_transforms):
        assert isinstance(ex1_transforms, dict), "store a dict"

A test reads the exercise's answer through its argument, named after the
label (``ex1-transforms`` -> ``ex1_transforms``). Public cases
(``hidden=False``) reach the student's notebook, where
``grader.check("ex1-transforms")`` runs them; hidden ones only grade.
``points`` (default 2) is shared equally among the cases; ``manual`` (default
0) adds points an instructor gives by hand, for a figure or a written answer.

A raw cell tagged ``wrong-answer`` with the same metadata holds a plausible
but wrong solution: CI checks that it passes the public cases and fails a
hidden one.
"""

import ast
import textwrap
from dataclasses import dataclass

from ..checks import import_otter
from .book import exercises

__all__ = [
    "HEADER",
    "Question",
    "chapter_questions",
    "exercise_labels",
    "questions",
    "score",
    "test_source",
]

HEADER = """\
# Checks for {label}, made from its chapter (mnist1d.course.exercises):
# edit the chapter, not this file.
OK_FORMAT = False

import numpy as np
from otter.test_files import test_case

name = "{label}"
points = {points}

"""


@dataclass
class Question:
    """One exercise as a graded question."""

    label: str  # "ex1-transforms"
    points: float  # shared by its test cases
    manual: float  # given by hand (a figure, a written answer); 0 if none
    tests: str  # the test cases (the tests cell's source)
    wrong: str = ""  # a plausible wrong solution, or ""

    @property
    def answer(self):
        """The variable the answer is stored in: ``ex1_transforms``."""
        return self.label.replace("-", "_")

    @property
    def cases(self):
        """How many test cases are (public, hidden)."""
        cases = _cases(ast.parse(self.tests))
        hidden = sum(hidden for _, hidden in cases)
        return len(cases) - hidden, hidden


def _meta(cell, name):
    meta = cell.metadata.get("mnist1d", {})
    if "question" not in meta:
        raise ValueError(
            f"{name}: a cell tagged {cell.metadata['tags']} must name its "
            'exercise: metadata {"mnist1d": {"question": "<label>"}}'
        )
    return meta


def questions(nb, labels, name="notebook"):
    """The graded questions of a chapter, in exercise order.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The chapter.
    labels : list of str
        Its exercises' labels, in order.

    Raises
    ------
    ValueError
        If an exercise has no tests cell, or two, or a tests cell names no
        exercise of the chapter, or its cases do not compile.
    """
    tests, wrong = {}, {}
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        for tag, found in (("tests", tests), ("wrong-answer", wrong)):
            if tag not in tags:
                continue
            meta = _meta(cell, name)
            label = meta["question"]
            if label not in labels:
                raise ValueError(
                    f"{name}: a {tag} cell names {label!r}, which is not an "
                    f"exercise of this chapter ({', '.join(labels)})"
                )
            if label in found:
                raise ValueError(f"{name}: two {tag} cells for {label!r}")
            found[label] = (meta, cell.source)
    missing = [label for label in labels if label not in tests]
    if missing:
        raise ValueError(
            f"{name}: exercises without a tests cell: {', '.join(missing)}"
        )
    out = []
    for label in labels:
        meta, source = tests[label]
        q = Question(
            label,
            float(meta.get("points", 2)),
            float(meta.get("manual", 0)),
            source,
            wrong.get(label, ({}, ""))[1],
        )
        compile(test_source(q), f"{name}: tests of {label}", "exec")
        out.append(q)
    return out


def _cases(tree):
    """The test cases of a parsed tests cell: (function node, hidden) pairs,
    hidden when decorated ``@test_case(hidden=True)``."""
    cases = []
    for node in tree.body:
        for deco in getattr(node, "decorator_list", []):
            if (
                isinstance(deco, ast.Call)
                and getattr(deco.func, "id", None) == "test_case"
            ):
                hidden = any(
                    k.arg == "hidden"
                    and isinstance(k.value, ast.Constant)
                    and k.value.value is True
                    for k in deco.keywords
                )
                cases.append((node, hidden))
    return cases


def _public(source):
    """``source`` without its hidden test cases."""
    drop = set()
    for node, hidden in _cases(ast.parse(source)):
        if hidden:
            first = min(d.lineno for d in node.decorator_list)
            drop.update(range(first - 1, node.end_lineno))
    lines = source.splitlines()
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return "\n".join(kept).strip() + "\n"


def test_source(question, public_only=False):
    """The otter test file of ``question`` (all cases, or only the public
    ones, for students)."""
    body = _public(question.tests) if public_only else question.tests
    points = question.points
    return (
        HEADER.format(
            label=question.label,
            points=int(points) if points % 1 == 0 else points,
        )
        + textwrap.dedent(body).strip()
        + "\n"
    )


def score(question, env):
    """Run every test case of ``question`` against ``env`` (name -> value).

    Returns
    -------
    points : float
        The points of the cases that passed.
    failed : list of (str, bool, str)
        The failed cases: name, whether hidden, otter's message.
    """
    import_otter()
    from otter.test_files import ExceptionTestFile

    tests = ExceptionTestFile.from_string(
        test_source(question), path=f"{question.label}.py"
    )
    tests.run(dict(env))
    failed = [
        (r.test_case.name, r.test_case.hidden, r.message)
        for r in tests.test_case_results
        if not r.passed
    ]
    return float(tests.score), failed


def exercise_labels(nb):
    """The labels of ``nb``'s exercises, in order."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return [label for label, _ in exercises(text)]


def chapter_questions(nb, name="notebook"):
    """``nb``'s graded questions (:func:`questions`), or []
    if it has no tests cells."""
    if not any("tests" in c.metadata.get("tags", []) for c in nb.cells):
        return []
    return questions(nb, exercise_labels(nb), name)
