"""Student notebooks: solutions removed and replaced by runnable stubs, nothing of them left."""
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mnist1d.course.notebooks import student_notebook, write_assignments
from mnist1d.course.overview import Chapter, chapter_overview, load_device_runs, overview_markdown
from mnist1d.course.rehearsal import rehearsal_notebook

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))


def solution_text(nb):
    """Every non-trivial line of the solutions: their code cells and the prose between the fences."""
    lines, inside = [], False
    for cell in nb.cells:
        if "{solution-start}" in cell.source:
            inside = True
            continue
        if inside:
            body = cell.source.split("```{solution-end}")[0]
            lines += [ln.strip() for ln in body.splitlines() if len(ln.strip()) > 20]
            inside = "{solution-end}" not in cell.source
    return lines


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_student_notebook_keeps_no_solution(path):
    nb = nbformat.read(path, as_version=4)
    student = student_notebook(nb, path.name)
    text = "\n".join(c.source for c in student.cells)
    assert "solution-start" not in text and "solution-end" not in text
    assert not any("solution" in c.metadata.get("tags", []) for c in student.cells)
    # everything that is not a solution stays, in order
    # the exercises' tests and wrong answers are for graders only (tests/test_grading.py)
    kept = [c.source for c in nb.cells if not {"solution", "tests", "wrong-answer"} & set(c.metadata.get("tags", []))
            and "solution-" not in c.source]
    assert [s for s in kept if s in text] == kept
    shared = "\n".join(kept)  # a line such as ax.legend() may also occur outside the solutions
    leaked = [ln for ln in solution_text(nb) if ln in text and ln not in shared]
    assert solution_text(nb) and not leaked, f"{path.name}: solution lines survive: {leaked[:3]}"
    labels = re.findall(r":label: ([\w-]+)", text)
    stubs = [c for c in student.cells if c.source.startswith("# Exercise ")]
    # one stub per exercise, in order, numbered as the book numbers them
    n = int(path.name[:2])
    assert [s.source.splitlines()[0].split(":")[0] for s in stubs] == [
        f"# Exercise {n}.{k} ({label})" for k, label in enumerate(labels, 1)]
    for stub in stubs:
        ast.parse(stub.source)  # runs: comments and `...`
    code = [c for c in student.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)


def key(cell):
    return cell.cell_type, cell.source


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_rehearsal_runs_the_whole_student_notebook_before_any_solution(path):
    """CI's nbval run of a chapter is its rehearsal notebook, so this is what makes it also
    run every student notebook top to bottom."""
    nb = nbformat.read(path, as_version=4)
    student, rehearsal = student_notebook(nb, path.name, grading=True), rehearsal_notebook(nb, path.name)
    nbformat.validate(rehearsal)
    cells = rehearsal.cells
    # the student notebook, in order, is what runs first; no solution runs before it ends
    ran_as_student = cells[:len(student.cells)]
    assert [key(c) for c in ran_as_student] == [key(c) for c in student.cells]
    assert not any("solution" in c.metadata.get("tags", []) or "{solution-" in c.source for c in ran_as_student)
    # then the whole chapter's own rest, with its stored outputs for nbval to compare
    added = [c for c in cells if "rehearsal" in c.metadata.get("mnist1d", {})]
    chapter = [c for c in cells if c not in added]
    assert chapter == nb.cells
    assert any(c.metadata.get("mnist1d") for c in ran_as_student)  # the student's rest is marked
    # the checks of the checks: stubs score zero before any solution runs, full marks after,
    # then each wrong answer and its check, last
    kinds = [c.metadata["mnist1d"]["rehearsal"] for c in added]
    assert kinds[-4:] == ["check", "check", "wrong", "check"] and kinds.count("check") == 3
    stub_check = cells.index(next(c for c in added if c.metadata["mnist1d"]["rehearsal"] == "check"))
    assert stub_check == len(student.cells) and "'stubs'" in cells[stub_check].source
    assert len({c.id for c in cells}) == len(cells)


def test_broken_solutions_are_refused():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("```{exercise}\n:label: ex-a\n\nDo it.\n```"),
                nbformat.v4.new_markdown_cell("```{solution-start} ex-a\n:class: dropdown\n```"),
                nbformat.v4.new_code_cell("answer = 42")]
    with pytest.raises(ValueError, match="never closed"):
        student_notebook(nb)
    nb.cells[1].source = "```{solution-start} ex-b\n```"
    with pytest.raises(ValueError, match="no exercise"):
        student_notebook(nb)
    nb.cells = [nbformat.v4.new_code_cell("answer = 42", metadata={"tags": ["solution"]})]
    with pytest.raises(ValueError, match="outside"):
        student_notebook(nb)


def test_command_line_writes_student_and_instructor_notebooks(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mnist1d.course.notebooks", str(BOOK), str(tmp_path), "--instructor"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(out) == 2 * len(CHAPTERS)
    for path in CHAPTERS:
        teacher = nbformat.read(tmp_path / "instructor" / path.name, as_version=4)
        assert any("solution" in c.metadata.get("tags", []) for c in teacher.cells)
        assert all(c.outputs == [] for c in teacher.cells if c.cell_type == "code")
        assert (tmp_path / "student" / path.name).exists()
    with pytest.raises(ValueError, match="book_dir"):
        write_assignments(tmp_path / "empty", tmp_path / "x")


def test_command_line_writes_rehearsal_notebooks(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mnist1d.course.rehearsal", str(BOOK), str(tmp_path)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert [Path(p).name for p in out] == [p.name for p in CHAPTERS]
    for path in CHAPTERS:
        rehearsal = nbformat.read(tmp_path / path.name, as_version=4)
        assert any(c.metadata.get("mnist1d", {}).get("rehearsal") == "check" for c in rehearsal.cells)


def test_chapter_overview_reads_title_exercises_and_stored_time(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter\n\nText."),
                nbformat.v4.new_markdown_cell("```{exercise}\n:label: ex9-a\n\nWhy so? Explain.\n```"),
                nbformat.v4.new_code_cell("print(1)")]
    nbformat.write(nb, tmp_path / "09_chapter.ipynb")
    nbformat.write(nb, tmp_path / "instructors.ipynb")  # not a chapter: ignored
    (ch,) = chapter_overview(tmp_path)
    assert (ch.file, ch.title, ch.exercises, ch.seconds) == ("09_chapter.ipynb", "9. A chapter", [("ex9-a", "Why so?")], None)
    assert "not recorded" in overview_markdown([ch])
    assert "Exercise 9.1 (`ex9-a`): Why so?" in overview_markdown([ch])  # named as the book numbers it
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", text="sweeps 60 s; chapter ran in 125 s\n")]
    nbformat.write(nb, tmp_path / "09_chapter.ipynb")
    (ch,) = chapter_overview(tmp_path)
    assert ch.seconds == 125 and "2 min 05 s" in overview_markdown([ch])


def test_overview_shows_gpu_times_where_measured(tmp_path):
    ch = Chapter("09_chapter.ipynb", "9. A chapter", [], 125)
    assert overview_markdown([ch]).splitlines()[-1].endswith("| 2 min 05 s | not measured | not measured |")
    runs = {"gpu": {"paper": {"ch9": {"seconds": 61.4, "error": None, "device": "H200", "checks": {"a": True, "b": False}}},
                    "course": {"ch9": {"seconds": 9, "error": "RuntimeError: x", "device": "H200", "checks": {}}}}}
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(runs))
    assert load_device_runs(tmp_path / "missing.json") == {}
    row = overview_markdown([ch], load_device_runs(path)).splitlines()[-1]
    assert row.endswith("| 2 min 05 s | failed (H200) | 1 min 01 s (H200, 1/2 checks) |")
