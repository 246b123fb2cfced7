"""The exercises' checks: otter-grader test files made from the chapters.

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
import json
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Question",
    "questions",
    "test_source",
    "score",
    "answers_of",
    "rehearse",
    "write_checks",
]

HEADER = """\
# Checks for exercise {label}, made from the chapter by mnist1d.checks:
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


def answers_of(namespace, questions):
    """The questions' answers as the grader sees them: encoded to JSON and
    back (:mod:`mnist1d.answers`); an answer never set is
    :data:`~mnist1d.answers.NOT_ANSWERED`."""
    from .answers import NOT_ANSWERED, collect, decode

    found = collect(namespace, [q.answer for q in questions])
    return {
        q.answer: decode(found[q.answer])
        if q.answer in found
        else NOT_ANSWERED
        for q in questions
    }


def rehearse(namespace, stage, questions_json, label=None):
    """CI's test of the tests, run inside a chapter's rehearsal notebook.

    ``stage`` is ``"stubs"`` (after the student notebook: every question
    scores zero), ``"solutions"`` (after the chapter's solutions: full
    marks) or ``"wrong"`` (after the wrong answer to ``label``: it passes
    the public cases and fails a hidden one).

    Raises
    ------
    AssertionError
        Naming the question and the cases that went the wrong way.
    """
    if stage not in ("stubs", "solutions", "wrong"):
        raise ValueError(
            f"stage must be 'stubs', 'solutions' or 'wrong', got {stage!r}"
        )
    qs = [Question(**q) for q in json.loads(questions_json)]
    if stage == "wrong":
        qs = [q for q in qs if q.label == label]
    env = answers_of(namespace, qs)
    for q in qs:
        points, failed = score(q, env)
        failed_public = [n for n, hidden, _ in failed if not hidden]
        if stage == "stubs":
            assert points == 0, f"{q.label}: the stub scores {points}"
        elif stage == "solutions":
            assert not failed, f"{q.label}: the solution fails " + "\n".join(
                m for _, _, m in failed
            )
        else:
            assert not failed_public, (
                f"{q.label}: the wrong answer should pass the public cases, "
                f"fails {failed_public}"
            )
            assert failed, f"{q.label}: the wrong answer passes every test"
    return f"{stage}: {len(qs)} question(s) as expected"


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
        tmp = folder / f".{label}.py.tmp"
        tmp.write_text(source)
        tmp.replace(folder / f"{label}.py")
    return otter.Notebook(tests_dir=str(folder))
