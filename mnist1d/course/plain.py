"""The chapters as Jupyter and Colab show them: MyST written out as plain
Markdown.

The book's chapters use MyST, which Jupyter Book renders and Jupyter and Colab
do not: a reader who opens a chapter there would see
``{glue:text}`ch2_cnn_default``` where the page shows 93.7%.
:func:`plain_notebook` writes each glued value in (from the chapter's own
stored run), citations as (Author Year) and exercises and solutions as plain
Markdown.

    python -m mnist1d.course.plain book/ book/colab/

writes the notebooks that the book's Colab buttons open (outputs cleared: the
reader runs them); the student notebooks of :mod:`mnist1d.course.notebooks` get the
same treatment. A test fails when ``book/colab/`` is stale or any MyST role or
directive is left.
"""

import argparse
import copy
import re
from pathlib import Path

import nbformat

from .book import (
    CITE,
    EXERCISE,
    GLUE,
    GRADER_TAGS,
    LABEL,
    MYST,
    NUMREF,
    REF,
    SOLUTION_END,
    SOLUTION_START,
    TARGET,
    chapter_number,
    chapters,
    glued,
)

__all__ = [
    "MYST",
    "citations",
    "numbers",
    "plain_markdown",
    "plain_notebook",
    "write_plain",
]


def citations(bib_text):
    """{key: "Greydanus and Kobak 2024"} for every entry of a BibTeX file's
    text."""
    refs = {}
    for m in re.finditer(r"@\w+\{([^,\s]+),(.*?)\n\}", bib_text, re.S):
        key, body = m.group(1), m.group(2)
        author = re.search(r"author\s*=\s*\{(.*?)\},?\s*\n", body, re.S)
        year = re.search(r"year\s*=\s*\{?(\d{4})", body)
        names = (
            [
                a.split(",")[0].strip(" {}")
                for a in author.group(1).split(" and ")
            ]
            if author
            else ["?"]
        )
        who = (
            names[0]
            if len(names) == 1
            else " and ".join(names)
            if len(names) == 2
            else f"{names[0]} et al."
        )
        refs[key] = f"{who} {year.group(1) if year else 'n.d.'}"
    return refs


def numbers(nb, chapter):
    """What the book calls each numbered thing of a chapter: {label: "Figure
    5.2"} for every figure (a cell with ``mystnb.figure.name``), {label:
    "Exercise 5.1"} for every exercise, numbered in order within chapter
    ``chapter`` as Sphinx numbers them in the built book, and {label: 'the
    section "Title"'} for every section with a MyST target.
    """
    names, n_fig, n_ex = {}, 0, 0
    for cell in nb.cells:
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if cell.cell_type == "code" and figure.get("name"):
            n_fig += 1
            names[figure["name"]] = f"Figure {chapter}.{n_fig}"
        if cell.cell_type == "markdown":
            for m in TARGET.finditer(cell.source):
                if m.group(2):
                    names[m.group(1)] = f'the section "{m.group(2).strip()}"'
            for m in EXERCISE.finditer(cell.source):
                label = LABEL.search(m.group(2))
                n_ex += 1
                if label:
                    names[label.group(1)] = f"Exercise {chapter}.{n_ex}"
    return names


def _value(values, key):
    if key not in values:
        raise ValueError(
            f"the chapter glues no value named {key!r} (re-execute it)"
        )
    return str(values[key])


def plain_markdown(text, values, refs, names=None):
    """One markdown cell's text with glue, citations, numbered references,
    exercises and solutions written out.

    ``names`` is :func:`numbers` of the chapter (label -> "Figure 5.2").
    """
    names = {} if names is None else names
    text = GLUE.sub(lambda m: _value(values, m.group(1)), text)

    def numref(m):
        if m.group(1) not in names:
            raise ValueError(f"no figure or exercise labelled {m.group(1)!r}")
        return names[m.group(1)]

    def ref(m):
        if m.group(2):  # {ref}`words <label>`: the words are the link's text
            return m.group(1).strip()
        return numref(m)

    text = NUMREF.sub(numref, text)
    text = REF.sub(ref, text)
    text = TARGET.sub(lambda m: m.group(0)[m.group(0).index("\n") + 1 :], text)

    def cite(m):
        keys = [k.strip() for k in m.group(1).split(",")]
        missing = [k for k in keys if k not in refs]
        if missing:
            raise ValueError(f"no reference for citation keys {missing}")
        return "(" + "; ".join(refs[k] for k in keys) + ")"

    def exercise(m):
        label = LABEL.search(m.group(2))
        title = m.group(1).strip()
        number = names.get(label.group(1)) if label else None
        head = number or "Exercise"
        if title:
            head += f": {title}"
        elif label:
            head += f" (`{label.group(1)}`)"
        return f"**{head}.** " + m.group(3).strip() + "\n"

    text = CITE.sub(cite, text)
    text = EXERCISE.sub(exercise, text)
    text = SOLUTION_START.sub(
        lambda m: f"**Solution to `{m.group(1)}`.**", text
    )
    return SOLUTION_END.sub("*End of the solution.*", text)


def plain_notebook(
    nb, values, refs, clear_outputs=True, chapter=None, names=None
):
    """A copy of ``nb`` whose markdown has no MyST left; ``values`` are the
    glued values.

    ``chapter`` (an int) numbers figures and exercises as the book does and
    puts the number in front of the title, which the book's table of contents
    numbers. ``names`` overrides :func:`numbers` of ``nb`` (a student
    notebook is numbered as its chapter, solutions' figures included).
    """
    out = copy.deepcopy(nb)
    if names is None:
        names = numbers(nb, chapter) if chapter is not None else {}
    if chapter is not None and out.cells[0].source.startswith("# "):
        out.cells[0].source = f"# {chapter}. " + out.cells[0].source[2:]
    # the exercises' tests are for graders (mnist1d.course.exercises), not readers
    out.cells = [
        c
        for c in out.cells
        if not GRADER_TAGS & set(c.metadata.get("tags", []))
    ]
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = plain_markdown(cell.source, values, refs, names)
        elif clear_outputs and cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    out.metadata.pop("widgets", None)
    return out


def write_plain(book, outdir):
    """Write every chapter of ``book`` as a plain notebook into ``outdir``;
    returns the paths.
    """
    book, outdir = Path(book), Path(outdir)
    refs = citations((book / "references.bib").read_text())
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for path in chapters(book):
        nb = nbformat.read(path, as_version=4)
        plain = plain_notebook(
            nb, glued(nb), refs, chapter=chapter_number(path)
        )
        nbformat.write(plain, outdir / path.name)
        paths.append(outdir / path.name)
    return paths


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="python -m mnist1d.course.plain",
        description="Write the book's chapters as plain notebooks for Jupyter "
        "and Colab.",
    )
    ap.add_argument("book", type=Path)
    ap.add_argument("outdir", type=Path)
    args = ap.parse_args(argv)
    for path in write_plain(args.book, args.outdir):
        print(path)


if __name__ == "__main__":
    main()
