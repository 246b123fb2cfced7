"""Student and instructor notebooks from the book's chapters.

    python -m mnist1d.course.notebooks book/ OUTDIR [--instructor] [--grading]

In a chapter, an exercise is a markdown cell holding an ``{exercise}``
directive with a ``:label:``, and its solution runs from the cell that opens
``{solution-start} label`` to the cell that closes it with ``{solution-end}``
(sphinx-exercise's gated syntax); the code cells in between are tagged
``solution``. A *student* notebook replaces each solution with one code cell
that repeats the exercise as comments and does nothing when run, so the rest of
the chapter still runs; every output is cleared. An *instructor* notebook keeps
the solutions and clears the outputs. Both are plain notebooks
(:mod:`mnist1d.course.plain`), since Jupyter and Colab do not render MyST.
"""

import argparse
import copy
import re
import textwrap
from pathlib import Path

import nbformat

from .book import (
    CHAPTER_GLOB,
    GRADER_TAGS,
    INSTALL,
    SOLUTION_END,
    SOLUTION_START,
    chapter_number,
    chapters,
    exercises,
    glued,
)
from .exercises import chapter_questions, test_source
from .grading.grader import Bundle, write_bundle
from .plain import citations, numbers, plain_notebook

__all__ = [
    "student_notebook",
    "instructor_notebook",
    "write_assignments",
]


def _clear(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    return nb


def _stub(label, statement, answer=None, number=None):
    title = f"Exercise {number} ({label})" if number else f"Exercise {label}"
    lines = [
        f"# {title}: your solution here. The exercise asks:",
        "#",
    ]
    text = "\n".join(
        line
        for line in statement.strip().splitlines()
        if not line.startswith(":")
    )
    for i, paragraph in enumerate(re.split(r"\n\s*\n", text)):
        if i:
            lines.append("#")
        # a paragraph's lines joined, then wrapped to the book's column
        words = " ".join(paragraph.split())
        lines += [f"#   {part}" for part in textwrap.wrap(words, 75)]
    last = f"{answer} = ..." if answer else "..."
    return nbformat.v4.new_code_cell("\n".join(lines + ["", last]))


def _checks_cell(questions):
    """The student notebook's cell that writes the public checks and makes
    ``grader``."""
    entries = []
    for q in questions:
        source = test_source(q, public_only=True)
        if '"""' in source or "\\" in source:
            raise ValueError(
                f"tests of {q.label}: no triple quotes or backslashes, so "
                "they can be written into the student notebook"
            )
        entries.append(f'        "{q.label}": r"""\n{source}""",')
    lines = [
        "# The exercises' checks (otter-grader). After an exercise, run",
        '# grader.check("<its label>") for feedback; your instructor also',
        "# has hidden tests that grade it.",
        "from mnist1d.checks import write_checks",
        "",
        "grader = write_checks(",
        "    {",
        *entries,
        "    }",
        ")",
    ]
    return nbformat.v4.new_code_cell("\n".join(lines))


def student_notebook(nb, name="notebook", grading=False):
    """A copy of ``nb`` with each solution replaced by a runnable stub and
    outputs cleared.

    A stub repeats the exercise as comments and sets its answer variable to
    ``...``. With ``grading``, a cell before the first exercise writes the
    public checks and makes otter's ``grader``, and each stub is followed by
    ``grader.check("<label>")``. The exercises' tests and wrong answers
    (:mod:`mnist1d.course.exercises`) are left out.

    Raises
    ------
    ValueError
        If a solution is not closed, has no exercise before it, or a
        ``solution``-tagged cell lies outside a solution (it would leak into
        the student notebook).
    """
    out = copy.deepcopy(nb)
    graded = {q.label: q for q in chapter_questions(nb, name)}
    statements, cells, label = {}, [], None
    for cell in out.cells:
        if GRADER_TAGS & set(cell.metadata.get("tags", [])):
            continue
        text = cell.source if cell.cell_type == "markdown" else ""
        found = {m[0]: m[1] for m in exercises(text)}
        if grading and graded and found and not statements:
            cells.append(_checks_cell(graded.values()))
        statements.update(found)
        start = SOLUTION_START.search(text)
        if label is None and start:
            label = start[1]
            if label not in statements:
                raise ValueError(
                    f"{name}: solution {label!r} has no exercise before it"
                )
            before = text[: start.start()].strip()
            if before:
                cells.append(nbformat.v4.new_markdown_cell(before))
            text = text[start.end() :]
        if label is not None:
            end = SOLUTION_END.search(text)
            if end:
                q = graded.get(label)
                cells.append(
                    _stub(
                        label,
                        statements[label],
                        q and q.answer,
                        _exercise_number(name, list(statements).index(label)),
                    )
                )
                if grading and q:
                    cells.append(
                        nbformat.v4.new_code_cell(f'grader.check("{label}")')
                    )
                after = text[end.end() :].strip()
                if after:
                    cells.append(nbformat.v4.new_markdown_cell(after))
                label = None
            continue
        if "solution" in cell.metadata.get("tags", []):
            raise ValueError(
                f"{name}: a cell tagged 'solution' lies outside "
                f"{{solution-start}} / {{solution-end}}"
            )
        cells.append(cell)
    if label is not None:
        raise ValueError(
            f"{name}: solution {label!r} is never closed with {{solution-end}}"
        )
    out.cells = cells
    return _clear(out)


def _exercise_number(name, index):
    """ "5.2" for the second exercise of ``05_*.ipynb``; None when ``name`` is
    not a chapter's file name."""
    return f"{int(name[:2])}.{index + 1}" if name[:2].isdigit() else None


def instructor_notebook(nb):
    """A copy of ``nb`` with the solutions kept and the outputs cleared."""
    return _clear(copy.deepcopy(nb))


def write_assignments(book_dir, out_dir, instructor=False, grading=False):
    """Write ``out_dir/student/*.ipynb`` (and ``instructor/``, ``grading/``)
    for every chapter.

    Student and instructor notebooks are plain
    (:func:`mnist1d.course.plain.plain_notebook`): the chapter's glued values
    written in, citations as text, exercises as plain Markdown. With
    ``grading``, the student notebooks carry their public checks and install
    the grader on Colab, and ``grading/<chapter>/questions.json`` holds every
    test, hidden ones too, for ``python -m mnist1d.course.grading``.

    Returns
    -------
    list of Path
        The notebooks and bundles written.
    """
    paths = chapters(book_dir)
    if not paths:
        raise ValueError(
            f"book_dir must contain chapter notebooks ({CHAPTER_GLOB}), found "
            f"none in {book_dir}"
        )
    refs = citations((Path(book_dir) / "references.bib").read_text())
    written = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        kinds = _plain_copies(nb, path, refs, instructor, grading)
        for kind, out in kinds.items():
            target = Path(out_dir) / kind / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(out, target)
            written.append(target)
        if grading:
            target = Path(out_dir) / "grading" / path.stem
            write_bundle(
                Bundle(path.name, chapter_questions(nb, path.name)), target
            )
            written.append(target / "questions.json")
    return written


def _plain_copies(nb, path, refs, instructor, grading):
    """{"student": notebook[, "instructor": notebook]} for chapter ``nb``."""
    # Students and instructors open these in Jupyter or Colab, which do not
    # render MyST; numbered as in the book, which has the solutions' figures
    # too.
    chapter = chapter_number(path)
    values, names = glued(nb), numbers(nb, chapter)
    student = student_notebook(nb, path.name, grading)
    if grading:
        _install_grader(student, path.name)
    kinds = {"student": student}
    if instructor:
        kinds["instructor"] = instructor_notebook(nb)
    return {
        kind: plain_notebook(out, values, refs, chapter=chapter, names=names)
        for kind, out in kinds.items()
    }


def _install_grader(nb, name):
    """Make the student notebook's Colab install cell also install the
    grader (the ``grader`` extra)."""
    install = INSTALL.search(nb.cells[1].source) if len(nb.cells) > 1 else None
    if install is None:
        raise ValueError(
            f"{name}: its second cell must install mnist1d-course==VERSION"
        )
    cell = nb.cells[1]
    cell.source = INSTALL.sub(r"mnist1d-course[grader]==\1", cell.source)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mnist1d.course.notebooks",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "book_dir", help="folder holding the chapter notebooks (book/)"
    )
    parser.add_argument(
        "out_dir", help="where to write student/ (and instructor/)"
    )
    parser.add_argument(
        "--instructor",
        action="store_true",
        help="also write notebooks with solutions kept",
    )
    parser.add_argument(
        "--grading",
        action="store_true",
        help="student notebooks with their checks (otter-grader), and "
        "grading/<chapter>/ bundles with the hidden tests",
    )
    args = parser.parse_args(argv)
    for path in write_assignments(
        args.book_dir,
        args.out_dir,
        args.instructor,
        args.grading,
    ):
        print(path)


if __name__ == "__main__":
    main()
