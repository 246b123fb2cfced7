"""The notebooks that open in Jupyter and Colab: no MyST left, generated from the chapters."""
import json
from pathlib import Path

import nbformat
import pytest

from mnist1d.course.notebooks import write_assignments
from mnist1d.course.book import MYST
from mnist1d.course.plain import citations, numbers, plain_markdown, plain_notebook, write_plain

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
REFS = {"a2020": "Ames 2020", "b2021": "Bo and Cy 2021"}


def myst_left(path):
    nb = json.loads(Path(path).read_text())
    return [m for c in nb["cells"] if c["cell_type"] == "markdown" for m in MYST.findall("".join(c["source"]))]


def test_plain_markdown_writes_out_glue_citations_and_exercises():
    text = ("CNN {glue:text}`acc` {cite}`a2020` and {cite}`a2020,b2021`.\n"
            "```{exercise}\n:label: ex-1\n\nDo it.\n```\n"
            "```{solution-start} ex-1\n:class: dropdown\n```\n"
            "```{solution-end}\n```")
    out = plain_markdown(text, {"acc": "93.7%"}, REFS)
    assert out.startswith("CNN 93.7% (Ames 2020) and (Ames 2020; Bo and Cy 2021).")
    assert "**Exercise (`ex-1`).** Do it." in out and "**Solution to `ex-1`.**" in out
    assert not MYST.findall(out)


def test_numbered_references_and_exercise_titles_read_as_in_the_book():
    nb = nbformat.v4.new_notebook()
    fig = nbformat.v4.new_code_cell("plot()")
    fig.metadata["mystnb"] = {"figure": {"name": "fig-a", "caption": "A."}}
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), fig,
                nbformat.v4.new_markdown_cell("```{exercise} Budget [ex5-b]\n:label: ex5-b\n\nDo.\n```")]
    names = numbers(nb, 5)
    assert names == {"fig-a": "Figure 5.1", "ex5-b": "Exercise 5.1"}
    out = plain_markdown("See {numref}`fig-a` and {numref}`ex5-b`.\n" + nb.cells[2].source, {}, REFS, names)
    assert out.startswith("See Figure 5.1 and Exercise 5.1.")
    assert "**Exercise 5.1: Budget [ex5-b].** Do." in out
    with pytest.raises(ValueError, match="fig-b"):
        plain_markdown("{numref}`fig-b`", {}, REFS, names)
    assert plain_notebook(nb, {}, REFS, chapter=5).cells[0].source == "# 5. Title"
    nb.cells.append(nbformat.v4.new_markdown_cell("(sec-how)=\n## How it runs\n\nText."))
    names = numbers(nb, 5)
    out = plain_markdown("As {ref}`sec-how` says, and {ref}`here <sec-how>`.\n" + nb.cells[3].source,
                         {}, REFS, names)
    assert out == 'As the section "How it runs" says, and here.\n## How it runs\n\nText.'


def test_a_missing_value_or_reference_is_named():
    with pytest.raises(ValueError, match="'nope'"):
        plain_markdown("{glue:text}`nope`", {}, REFS)
    with pytest.raises(ValueError, match="zz"):
        plain_markdown("{cite}`zz`", {}, REFS)


def test_citations_from_bibtex():
    bib = ("@article{k1,\n  author = {Solo, Han},\n  year = {2001}\n}\n"
           "@article{k2,\n  author = {One, A and Two, B},\n  year = {2002}\n}\n"
           "@article{k3,\n  author = {One, A and Two, B and Three, C},\n  year = {2003}\n}\n")
    assert citations(bib) == {"k1": "Solo 2001", "k2": "One and Two 2002", "k3": "One et al. 2003"}
    assert citations((BOOK / "references.bib").read_text())["greydanus2024scaling"] == "Greydanus and Kobak 2024"


def test_book_colab_is_current_and_plain(tmp_path):
    """book/colab/ is what `python -m mnist1d.course.plain book book/colab` writes now."""
    fresh = write_plain(BOOK, tmp_path)
    assert [p.name for p in fresh] == sorted(p.name for p in (BOOK / "colab").glob("*.ipynb"))
    for path in fresh:
        stored = nbformat.read(BOOK / "colab" / path.name, as_version=4)
        assert stored == nbformat.read(path, as_version=4), f"run python -m mnist1d.course.plain book book/colab ({path.name})"
        assert not myst_left(path), (path.name, myst_left(path))
        assert all(not c.get("outputs") for c in stored.cells if c.cell_type == "code")


def test_student_and_instructor_notebooks_are_plain(tmp_path):
    for path in write_assignments(BOOK, tmp_path, instructor=True):
        assert not myst_left(path), (path, myst_left(path))
