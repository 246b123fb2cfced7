"""Student notebooks from the book's chapters: ``python -m mnist1d.assignments
book/ OUTDIR``.

In a chapter, an exercise is a markdown cell holding an ``{exercise}``
directive with a ``:label:``, and its solution runs from the cell that opens
``{solution-start} label`` to the cell that closes it with ``{solution-end}``
(sphinx-exercise's gated syntax); the code cells in between are tagged
``solution``. A *student* notebook replaces each solution with one code cell
that repeats the exercise as comments and does nothing when run, so the rest of
the chapter still runs; every output is cleared. An *instructor* notebook keeps
the solutions and clears the outputs.

CI runs each chapter as a *rehearsal* notebook: the student notebook top to
bottom, then the chapter's solutions, in one kernel (see
:func:`rehearsal_notebook`).
"""

import argparse
import copy
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import nbformat

from .checks import questions, test_source

GRADER_TAGS = {"tests", "wrong-answer"}  # raw cells for graders only

START = re.compile(r"```\{solution-start\}\s+([\w-]+)")
END = re.compile(r"```\{solution-end\}\s*```")
EXERCISE = re.compile(
    r"```\{exercise\}[^\n]*\n:label: ([\w-]+)\n(.*?)```", re.S
)
INSTALL = re.compile(r"mnist1d-course==([\w.]+)")
RUNTIME = re.compile(r"chapter ran in (\d+) s")
# 01_building_mnist1d.ipynb, ...; other pages are not chapters
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"

__all__ = [
    "student_notebook",
    "instructor_notebook",
    "rehearsal_notebook",
    "write_assignments",
    "Chapter",
    "chapter_overview",
    "chapter_number",
    "overview_markdown",
]


def chapter_number(path):
    """The chapter's number, from its file name: 5 for
    ``05_double_descent.ipynb``."""
    return int(Path(path).name[:2])


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


def exercise_labels(nb):
    """The labels of ``nb``'s exercises, in order."""
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return [m[0] for m in EXERCISE.findall(text)]


def chapter_questions(nb, name="notebook"):
    """``nb``'s graded questions (:func:`mnist1d.checks.questions`), or []
    if it has no tests cells."""
    if not any("tests" in c.metadata.get("tags", []) for c in nb.cells):
        return []
    return questions(nb, exercise_labels(nb), name)


def student_notebook(nb, name="notebook", grading=False):
    """A copy of ``nb`` with each solution replaced by a runnable stub and
    outputs cleared.

    A stub repeats the exercise as comments and sets its answer variable to
    ``...``. With ``grading``, a cell before the first exercise writes the
    public checks and makes otter's ``grader``, and each stub is followed by
    ``grader.check("<label>")``. The exercises' tests and wrong answers
    (:mod:`mnist1d.checks`) are left out.

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
        found = {m[0]: m[1] for m in EXERCISE.findall(text)}
        if grading and graded and found and not statements:
            cells.append(_checks_cell(graded.values()))
        statements.update(found)
        start = START.search(text)
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
            end = END.search(text)
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


def _rehearsal_cell(kind, code):
    cell = nbformat.v4.new_code_cell(code)
    cell.metadata["mnist1d"] = {"rehearsal": kind}
    return cell


def _rehearse(stage, questions_json, label=None):
    extra = f", {label!r}" if label else ""
    return _rehearsal_cell(
        "check",
        f"# Rehearsal: the checks, with {stage} in place\n"
        "from mnist1d.checks import rehearse\n\n"
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

    Cells of :func:`mnist1d.checks.rehearse` test the tests: after the
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


def write_assignments(
    book_dir, out_dir, instructor=False, rehearsal=False, grading=False
):
    """Write ``out_dir/student/*.ipynb`` (and ``instructor/``, ``rehearsal/``,
    ``grading/``) for every chapter.

    Student and instructor notebooks are plain
    (:func:`mnist1d.plain.plain_notebook`): the chapter's glued values written
    in, citations as text, exercises as plain Markdown. With ``grading``, the
    student notebooks carry their public checks and install the grader on
    Colab, and ``grading/<chapter>/questions.json`` holds every test, hidden
    ones too, for ``python -m mnist1d.grading``.

    Returns
    -------
    list of Path
        The notebooks and bundles written.
    """
    from .grading import Bundle, write_bundle
    from .plain import citations, numbers, plain_notebook
    from .reproduction import glued

    chapters = sorted(Path(book_dir).glob(CHAPTER_GLOB))
    if not chapters:
        raise ValueError(
            f"book_dir must contain chapter notebooks ({CHAPTER_GLOB}), found "
            f"none in {book_dir}"
        )
    refs = citations((Path(book_dir) / "references.bib").read_text())
    written = []
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        # Students and instructors open these in Jupyter or Colab, which do not
        # render MyST.
        values = glued(nb)
        student = student_notebook(nb, path.name, grading)
        if grading:
            _install_grader(student, path.name)
        # numbered as in the book, which has the solutions' figures too
        names = numbers(nb, chapter_number(path))
        kinds = {
            "student": plain_notebook(
                student,
                values,
                refs,
                chapter=chapter_number(path),
                names=names,
            )
        }
        if instructor:
            kinds["instructor"] = plain_notebook(
                instructor_notebook(nb),
                values,
                refs,
                chapter=chapter_number(path),
                names=names,
            )
        if rehearsal:
            kinds["rehearsal"] = rehearsal_notebook(nb, path.name)
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


@dataclass
class Chapter:
    """What an instructor needs to know about one chapter before handing it
    out."""

    file: str  # e.g. "02_inductive_biases.ipynb"
    title: str  # the notebook's first heading
    exercises: list  # [(label, first sentence of the statement)], in order
    # the stored run, top to bottom ("chapter ran in N s"); None if absent
    seconds: Optional[int]


def _first_sentence(statement):
    text = " ".join(
        line for line in statement.split("\n") if not line.startswith(":")
    ).strip()
    return re.split(r"(?<=[?.])\s", text, maxsplit=1)[0]


def chapter_overview(book_dir):
    """Every chapter's title, exercises and stored run time, read from the
    notebooks.

    Returns
    -------
    list of Chapter
        In file order. ``seconds`` comes from the output of the chapter's last
        code cell, so it is the time of the run whose outputs the book shows.
    """
    out = []
    for path in sorted(Path(book_dir).glob(CHAPTER_GLOB)):
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(
            c.source for c in nb.cells if c.cell_type == "markdown"
        )
        code = [c for c in nb.cells if c.cell_type == "code"]
        printed = (
            "".join(o.get("text", "") for o in code[-1].outputs)
            if code
            else ""
        )
        runtime = RUNTIME.search(printed)
        out.append(
            Chapter(
                path.name,
                f"{chapter_number(path)}. "
                + nb.cells[0].source.splitlines()[0].lstrip("# ").strip(),
                [
                    (m[0], _first_sentence(m[1]))
                    for m in EXERCISE.findall(text)
                ],
                int(runtime[1]) if runtime else None,
            )
        )
    return out


def _minutes(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s"


def _device_time(runs, scale, chapter):
    """A GPU run's time from ``benchmarks/paper_scale.py``'s records, or why
    there is none."""
    record = (
        runs.get("gpu", {}).get(scale, {}).get(f"ch{int(chapter.file[:2])}")
    )
    if record is None:
        return "not measured"
    if record.get("error"):
        return f"failed ({record['device']})"
    checks = record.get("checks", {})
    held = f", {sum(checks.values())}/{len(checks)} checks" if checks else ""
    return f"{_minutes(record['seconds'])} ({record['device']}{held})"


def load_device_runs(path):
    """``benchmarks/paper_scale.py``'s records (a dict), or {} if it has not
    been run."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}


def overview_markdown(chapters, device_runs=None):
    """A Markdown table of :func:`chapter_overview`: chapter, exercises, run
    times.

    ``device_runs`` is ``benchmarks/results/device_runs.json`` (from
    ``benchmarks/paper_scale.py``), loaded: its GPU times fill two columns,
    course and paper scale; without a record a cell says "not measured".
    """
    runs = device_runs or {}
    rows = [
        "| chapter | exercises | 2-core CPU, course (stored run) "
        "| GPU, course | GPU, paper |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for ch in chapters:
        n = chapter_number(ch.file)
        exercises = "<br>".join(
            f"Exercise {n}.{k} (`{label}`): {first}"
            for k, (label, first) in enumerate(ch.exercises, 1)
        )
        time = "not recorded" if ch.seconds is None else _minutes(ch.seconds)
        rows.append(
            f"| {ch.title} | {exercises} | {time} | "
            f"{_device_time(runs, 'course', ch)} | "
            f"{_device_time(runs, 'paper', ch)} |"
        )
    return "\n".join(rows)


def questions_markdown(book_dir):
    """A Markdown table of every chapter's graded questions: the answer
    variable, the public and hidden test cases, the automatic and manual
    points."""
    rows = [
        "| chapter | question | answer in | public / hidden cases "
        "| points | manual points |",
        "| --- | --- | --- | :-: | ---: | ---: |",
    ]
    for path in sorted(Path(book_dir).glob(CHAPTER_GLOB)):
        nb = nbformat.read(path, as_version=4)
        for q in chapter_questions(nb, path.name):
            public, hidden = q.cases
            rows.append(
                f"| {path.name[:2]} | `{q.label}` | `{q.answer}` | "
                f"{public} / {hidden} | {q.points:g} | "
                f"{q.manual:g} |".replace("| 0 |", "| - |")
            )
    return "\n".join(rows)


def gradebooks_markdown(folder):
    """The gradebooks in ``folder`` (``<chapter>.csv`` from ``python -m
    mnist1d.grading``), as one Markdown table: a row per submission, its
    points per question, total and notes."""
    import csv

    rows = [
        "| chapter | submission | points per question | total | notes |",
        "| --- | --- | --- | ---: | --- |",
    ]
    for path in sorted(Path(folder).glob("*.csv")):
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                questions = [
                    k for k in row if k.startswith("ex") and "(manual" not in k
                ]
                points = ", ".join(f"`{k}` {row[k]}" for k in questions)
                rows.append(
                    f"| {path.stem[:2]} | {row['student']} | {points} | "
                    f"{row['auto total']} / {row['auto possible']} | "
                    f"{row['notes']} |"
                )
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mnist1d.assignments",
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
    parser.add_argument(
        "--rehearsal",
        action="store_true",
        help="also write what CI runs: each student notebook, then its "
        "chapter's solutions",
    )
    args = parser.parse_args(argv)
    for path in write_assignments(
        args.book_dir,
        args.out_dir,
        args.instructor,
        args.rehearsal,
        args.grading,
    ):
        print(path)


if __name__ == "__main__":
    main()
