"""Student notebooks from the book's chapters: ``python -m mnist1d.assignments book/ OUTDIR``.

In a chapter, an exercise is a markdown cell holding an ``{exercise}`` directive with a
``:label:``, and its solution runs from the cell that opens ``{solution-start} label`` to the
cell that closes it with ``{solution-end}`` (sphinx-exercise's gated syntax); the code cells
in between are tagged ``solution``. A *student* notebook replaces each solution with one code
cell that repeats the exercise as comments and does nothing when run, so the rest of the
chapter still runs; every output is cleared. An *instructor* notebook keeps the solutions
and clears the outputs.
"""
import argparse
import copy
import re
from pathlib import Path

import nbformat

START = re.compile(r"```\{solution-start\}\s+([\w-]+)")
END = re.compile(r"```\{solution-end\}\s*```")
EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)\n(.*?)```", re.S)

__all__ = ["student_notebook", "instructor_notebook", "write_assignments"]


def _clear(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    return nb


def _stub(label, statement):
    lines = [f"# Exercise {label}: your solution here. The exercise asks:", "#"]
    lines += [f"#   {line}".rstrip() for line in statement.strip().splitlines() if not line.startswith(":")]
    return nbformat.v4.new_code_cell("\n".join(lines + ["", "..."]))


def student_notebook(nb, name="notebook"):
    """A copy of ``nb`` with each solution replaced by a runnable stub and outputs cleared.

    Raises
    ------
    ValueError
        If a solution is not closed, has no exercise before it, or a ``solution``-tagged
        cell lies outside a solution (it would leak into the student notebook).
    """
    out = copy.deepcopy(nb)
    statements, cells, label = {}, [], None
    for cell in out.cells:
        text = cell.source if cell.cell_type == "markdown" else ""
        statements.update({m[0]: m[1] for m in EXERCISE.findall(text)})
        start = START.search(text)
        if label is None and start:
            label = start[1]
            if label not in statements:
                raise ValueError(f"{name}: solution {label!r} has no exercise before it")
            before = text[:start.start()].strip()
            if before:
                cells.append(nbformat.v4.new_markdown_cell(before))
            text = text[start.end():]
        if label is not None:
            end = END.search(text)
            if end:
                cells.append(_stub(label, statements[label]))
                after = text[end.end():].strip()
                if after:
                    cells.append(nbformat.v4.new_markdown_cell(after))
                label = None
            continue
        if "solution" in cell.metadata.get("tags", []):
            raise ValueError(f"{name}: a cell tagged 'solution' lies outside {{solution-start}} / {{solution-end}}")
        cells.append(cell)
    if label is not None:
        raise ValueError(f"{name}: solution {label!r} is never closed with {{solution-end}}")
    out.cells = cells
    return _clear(out)


def instructor_notebook(nb):
    """A copy of ``nb`` with the solutions kept and the outputs cleared."""
    return _clear(copy.deepcopy(nb))


def write_assignments(book_dir, out_dir, instructor=False):
    """Write ``out_dir/student/*.ipynb`` (and ``out_dir/instructor/*.ipynb``) for every chapter.

    Returns
    -------
    list of Path
        The notebooks written.
    """
    chapters = sorted(Path(book_dir).glob("*.ipynb"))
    if not chapters:
        raise ValueError(f"book_dir must contain chapter notebooks (*.ipynb), found none in {book_dir}")
    written = []
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        kinds = {"student": student_notebook(nb, path.name)}
        if instructor:
            kinds["instructor"] = instructor_notebook(nb)
        for kind, out in kinds.items():
            target = Path(out_dir) / kind / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(out, target)
            written.append(target)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mnist1d.assignments", description=__doc__.splitlines()[0])
    parser.add_argument("book_dir", help="folder holding the chapter notebooks (book/)")
    parser.add_argument("out_dir", help="where to write student/ (and instructor/)")
    parser.add_argument("--instructor", action="store_true", help="also write notebooks with solutions kept")
    args = parser.parse_args(argv)
    for path in write_assignments(args.book_dir, args.out_dir, args.instructor):
        print(path)


if __name__ == "__main__":
    main()
