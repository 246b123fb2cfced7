"""The notebooks CI runs: each student notebook, then its chapter's solutions.

    python -m mnist1d.course.rehearsal book/ OUTDIR

writes ``OUTDIR/NN_*.ipynb``; the test run (``tests/conftest.py``) writes them
into ``_build/rehearsal/`` and nbval runs them. :func:`rehearsal_notebook`
says why one notebook tests both, and :func:`rehearse` is the cell that tests
the exercises' checks inside it.
"""

import argparse
import copy
import json
from pathlib import Path

import nbformat

from .book import chapters
from .exercises import Question, chapter_questions, score
from .grading.answers import NOT_ANSWERED, collect, decode
from .notebooks import student_notebook

__all__ = [
    "answers_of",
    "rehearsal_notebook",
    "rehearse",
    "write_rehearsals",
]


def _rehearsal_cell(kind, code):
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["mnist1d"] = {"rehearsal": kind}
    return cell


def _rehearse(stage, questions_json, label=None):
    extra = f", {label!r}" if label else ""
    return _rehearsal_cell(
        "check",
        f"# Rehearsal: the checks, with {stage} in place\n"
        "from mnist1d.course.rehearsal import rehearse\n\n"
        f"rehearse(globals(), {stage!r}, r'''{questions_json}'''{extra})",
    )


def rehearsal_notebook(nb, name="notebook"):
    """The student notebook, then the chapter's own solutions, as one notebook
    for nbval, with the exercises' checks tested on both.

    A student notebook (with its checks, ``grading=True``) and its chapter
    share every cell before the first exercise. Running that common part
    once, then the rest of the student notebook (stubs in place of the
    solutions), then the rest of the chapter (the solutions, with their
    stored outputs) runs every cell of both notebooks in order in one kernel,
    for the cost of the chapter alone. The student's cells run in exactly the
    state a student's kernel would be in: no solution has run yet. The
    chapter's own cells keep their outputs, so nbval still compares them.

    Cells of :func:`rehearse` test the tests: after the
    student's part every question scores zero, after the solutions full
    marks, and each wrong answer (run last) fails a hidden case.

    Returns
    -------
    nbformat.NotebookNode
        ``prefix + student rest + stub check + chapter rest + solution check
        + wrong answers and their checks``; added cells carry the metadata
        ``{"mnist1d": {"rehearsal": "student" | "check" | "wrong"}}`` and
        new ids.
    """
    student = student_notebook(nb, name, grading=True)
    shared = 0
    for mine, theirs in zip(nb.cells, student.cells):
        if (mine.cell_type, mine.source) != (theirs.cell_type, theirs.source):
            break
        shared += 1
    out = copy.deepcopy(nb)
    rest = student.cells[shared:]
    for cell in rest:
        cell.metadata["mnist1d"] = {"rehearsal": "student"}
    qs = chapter_questions(nb, name)
    after_student, after_chapter = [], []
    if qs:
        blob = json.dumps([vars(q) for q in qs])
        if "'''" in blob:
            raise ValueError(f"{name}: tests may not contain '''")
        after_student = [_rehearse("stubs", blob)]
        after_chapter = [_rehearse("solutions", blob)]
        for q in qs:
            if q.wrong:
                after_chapter += [
                    _rehearsal_cell("wrong", q.wrong),
                    _rehearse("wrong", blob, q.label),
                ]
    out.cells = (
        out.cells[:shared]
        + rest
        + after_student
        + out.cells[shared:]
        + after_chapter
    )
    added = rest + after_student + after_chapter
    for i, cell in enumerate(added):
        # the timing cell appears twice; ids must stay unique
        cell.id = f"rehearsal-{i}"
    return out


def answers_of(namespace, questions):
    """The questions' answers as the grader sees them: encoded to JSON and
    back (:mod:`mnist1d.course.grading.answers`); an answer never set is
    :data:`~mnist1d.course.grading.answers.NOT_ANSWERED`."""
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


def write_rehearsals(book_dir, out_dir):
    """Write ``out_dir/NN_*.ipynb``, the rehearsal of every chapter in
    ``book_dir``; returns the paths."""
    written = []
    for path in chapters(book_dir):
        nb = nbformat.read(path, as_version=4)
        target = Path(out_dir) / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(rehearsal_notebook(nb, path.name), target)
        written.append(target)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mnist1d.course.rehearsal",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("book_dir", help="the chapter notebooks' folder")
    parser.add_argument("out_dir", help="where to write the rehearsals")
    args = parser.parse_args(argv)
    for path in write_rehearsals(args.book_dir, args.out_dir):
        print(path)


if __name__ == "__main__":
    main()
