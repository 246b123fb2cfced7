"""Autograding: answers carried as JSON, the chapters' questions, and a
gradebook that bad submissions cannot stop or corrupt.

Whether each chapter's reference solutions score full marks, its stubs zero
and its wrong answer fails a hidden case is checked where the chapter runs
anyway: in its rehearsal notebook (mnist1d.checks.rehearse), under nbval."""
import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from mnist1d.course import exercises
from mnist1d.course.grading import answers, sandbox
from mnist1d.course.exercises import chapter_questions, exercise_labels
from mnist1d.course.notebooks import student_notebook
from mnist1d.course.grading.grader import Bundle, load_bundle, write_bundle

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnist1d"
GRADEBOOKS = ROOT / "benchmarks" / "results" / "gradebooks"
SANDBOXED = sandbox.abi_version() > 0  # else the gradebook is graded with --no-sandbox


def roundtrip(value):
    return answers.decode(json.loads(json.dumps(answers.encode(value))))


def test_answers_survive_json():
    value = {"a": [1, 2.5, float("nan")], (1, "k"): (True, None), 3: {"x": -math.inf},
             "arr": np.arange(6, dtype=np.int32).reshape(2, 3), "t": torch.tensor([0.5, 1.5]),
             "s": np.float32(1.25)}
    back = roundtrip(value)
    assert back["a"][:2] == [1, 2.5] and math.isnan(back["a"][2])
    assert back[(1, "k")] == (True, None) and back[3] == {"x": -math.inf}
    assert back["arr"].dtype == np.int32 and back["arr"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert back["t"].tolist() == [0.5, 1.5] and back["s"] == 1.25


def test_what_cannot_leave_a_submission_is_marked_not_run():
    assert roundtrip(...) == answers.NOT_ANSWERED
    odd = roundtrip({"f": print, "big": np.zeros(answers.MAX_ELEMENTS + 1), "o": np.array(["a"])})
    assert all(isinstance(v, answers.Unsupported) for v in odd.values())
    for bad in ({"$eval": "1"}, {"$array": [1], "shape": [1]}, {"$dict": 5, "x": 1, "y": 2}):
        with pytest.raises((ValueError, TypeError)):
            answers.decode(bad)


TESTS = '''
@test_case(hidden=False)
def is_int(q_a):
    assert isinstance(q_a, int), "an int"


@test_case(hidden=True)
def is_42(q_a):
    assert q_a == 42
'''


def test_public_checks_leave_out_hidden_cases():
    q = exercises.Question("q-a", 2, 0, TESTS)
    public = exercises.test_source(q, public_only=True)
    assert "is_int" in public and "is_42" not in public and "hidden=True" not in public
    assert exercises.score(q, {"q_a": 42}) == (2.0, [])
    points, failed = exercises.score(q, {"q_a": 7})
    assert points == 1.0 and [(n, h) for n, h, _ in failed] == [("q-a - 2", True)]
    assert exercises.score(q, {"q_a": answers.NOT_ANSWERED})[0] == 0


def test_every_exercise_is_a_graded_question():
    per_chapter = {}
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        qs = chapter_questions(nb, path.name)
        assert [q.label for q in qs] == exercise_labels(nb) and qs
        for q in qs:
            public = exercises.test_source(q, public_only=True)
            assert "@test_case(hidden=False)" in public, f"{q.label}: no public case"
            assert "hidden=True" in q.tests, f"{q.label}: no hidden case"
            assert q.answer in q.tests and q.points > 0
        assert sum(bool(q.wrong) for q in qs) == 1, f"{path.name}: one wrong answer per chapter"
        per_chapter[path.name] = (len(qs), sum(q.manual > 0 for q in qs))
    assert sum(n for n, _ in per_chapter.values()) == 14


def test_tests_cells_are_checked():
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    labels = exercise_labels(nb)
    tests = [c for c in nb.cells if "tests" in c.metadata.get("tags", [])]
    tests[0].metadata["mnist1d"]["question"] = "ex9-nothing"
    with pytest.raises(ValueError, match="not an exercise"):
        exercises.questions(nb, labels)
    tests[0].metadata["mnist1d"]["question"] = labels[1]
    with pytest.raises(ValueError, match="two tests cells"):
        exercises.questions(nb, labels)
    nb.cells.remove(tests[0])
    with pytest.raises(ValueError, match="without a tests cell"):
        exercises.questions(nb, labels)


def test_student_notebook_carries_public_checks_only():
    nb = nbformat.read(CHAPTERS[1], as_version=4)
    student = student_notebook(nb, CHAPTERS[1].name, grading=True)
    text = "\n".join(c.source for c in student.cells)
    assert "from mnist1d.checks import write_checks" in text
    checks_run = [c.source for c in student.cells if c.source.startswith("grader.check(")]
    assert checks_run == [f'grader.check("{label}")' for label in exercise_labels(nb)]
    assert "hidden=True" not in text and "Plausible but wrong" not in text
    assert not any(c.cell_type == "raw" for c in student.cells)


def notebook(*cells):
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]))


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    """A folder of the worst a class can hand in, graded by the command line."""
    tmp = tmp_path_factory.mktemp("grading")
    bundle = tmp / "bundle"
    write_bundle(Bundle("toy.ipynb", [exercises.Question("q-a", 2, 0, TESTS),
                                      exercises.Question("q-b", 1, 1, TESTS.replace("q_a", "q_b"))]), bundle)
    sub = tmp / "submissions"
    sub.mkdir()
    evil = PACKAGE / "_planted_by_a_submission.py"
    files = {
        "good": notebook("q_a = 42", "q_b = 6 * 7"),
        "stub": notebook("q_a = ...", "q_b = ..."),
        "broken": '{"cells": [',
        "not_a_notebook": '{"hello": 1}',
        "deleted_cells": notebook(),
        "raises": notebook("q_a = 42", "1 / 0", "q_b = 41"),
        "endless": notebook("q_a = 42", "while True:\n    pass", "q_b = 42"),
        "exits": notebook("q_b = 42", "import os\nos._exit(3)", "q_a = 42"),
        "loud": notebook("q_a = 42", "for _ in range(1024):\n    print('x' * 2**20)", "q_b = 42"),
        "malicious": notebook(
            "q_a = q_b = 42",
            # forge its own answers, delete the hidden tests, plant code in the
            # package, and hand in a wrong answer for a classmate graded later
            f"import os, pathlib\n"
            f"pathlib.Path({str(bundle / 'questions.json')!r}).unlink()\n"
            f"pathlib.Path({str(evil)!r}).write_text('x = 1')\n"
            f"pathlib.Path({str(sub / 'zz_victim.ipynb')!r}).write_text('garbage')\n"),
        "zz_victim": notebook("q_a = 42", "q_b = 42"),
    }
    for name, text in files.items():
        (sub / f"{name}.ipynb").write_text(text)
    before = (bundle / "questions.json").read_text()
    out = tmp / "gradebook.csv"
    try:
        subprocess.run([sys.executable, "-m", "mnist1d.course.grading", str(bundle), str(sub), "-o", str(out),
                        "--timeout", "15", "--jobs", "1"] + ([] if SANDBOXED else ["--no-sandbox"]),
                       check=True, capture_output=True, text=True, timeout=600)
    finally:
        planted = evil.exists()
        evil.unlink(missing_ok=True)
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    return rows, before, (bundle / "questions.json").read_text(), planted


def test_gradebook_has_a_row_per_submission_with_reasons(gradebook):
    rows, *_ = gradebook
    assert set(rows) == {"good", "stub", "broken", "not_a_notebook", "deleted_cells", "raises", "endless",
                         "exits", "loud", "malicious", "zz_victim"}
    assert list(next(iter(rows.values())))[:5] == ["student", "q-a", "q-b", "q-b (manual, of 1)", "auto total"]
    assert {k: rows["good"][k] for k in ("q-a", "q-b", "auto total", "auto possible")} == {
        "q-a": "2", "q-b": "1", "auto total": "3", "auto possible": "3"}
    for name in ("stub", "broken", "not_a_notebook", "deleted_cells"):
        assert rows[name]["auto total"] == "0", name
    assert "still `...`" in rows["stub"]["notes"] and "never set" in rows["deleted_cells"]["notes"]
    assert "not a valid notebook" in rows["broken"]["notes"]
    assert "not a valid notebook" in rows["not_a_notebook"]["notes"]


def test_a_failing_cell_costs_only_its_own_answers(gradebook):
    rows, *_ = gradebook
    raises, endless, exits, loud = (rows[k] for k in ("raises", "endless", "exits", "loud"))
    assert (raises["q-a"], raises["q-b"]) == ("2", "0.5")  # q_b = 41: public passes, hidden fails
    assert "ZeroDivisionError" in raises["notes"] and "q-b: failed" in raises["notes"]
    assert (endless["q-a"], endless["q-b"]) == ("2", "0") and "time limit of 15 s" in endless["notes"]
    assert (exits["q-a"], exits["q-b"]) == ("0", "1") and "ended during code cell 2" in exits["notes"]
    assert loud["auto total"] == "3" and "printed 1,024 MiB" in loud["notes"]


def test_a_submission_cannot_touch_the_grader_or_classmates(gradebook):
    rows, before, after, planted = gradebook
    assert after == before, "the hidden tests were put back"
    assert not planted, "the planted file was removed"
    if SANDBOXED:  # the first write was refused: its own answers still count
        assert "code cell 2 raised PermissionError" in rows["malicious"]["notes"]
        assert rows["malicious"]["auto total"] == "3"
    else:  # it changed them: put back, and it scores zero
        assert "changed the grader's files" in rows["malicious"]["notes"]
        assert rows["malicious"]["auto total"] == "0"
    assert rows["zz_victim"]["auto total"] == "3", "read before the malicious one ran"


def test_grading_refuses_a_folder_that_is_not_a_bundle(tmp_path):
    with pytest.raises(ValueError, match="bundle must be a grading folder"):
        load_bundle(tmp_path)
    result = subprocess.run([sys.executable, "-m", "mnist1d.course.grading", str(tmp_path), str(tmp_path), "--timeout",
                             "0"], capture_output=True, text=True)
    assert result.returncode == 2 and "--timeout must be > 0" in result.stderr
    result = subprocess.run([sys.executable, "-m", "mnist1d.course.grading", str(tmp_path), str(tmp_path), "--jobs",
                             "0"], capture_output=True, text=True)
    assert result.returncode == 2 and "--jobs must be an int in 1..256, got 0" in result.stderr


def test_without_landlock_grading_refuses_in_one_line(tmp_path, monkeypatch, capsys):
    from mnist1d.course.grading import grader as grading
    write_bundle(Bundle("toy.ipynb", [exercises.Question("q-a", 2, 0, TESTS)]), tmp_path / "b")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "a.ipynb").write_text(notebook("q_a = 42"))
    monkeypatch.setattr(sandbox, "abi_version", lambda: 0)
    with pytest.raises(SystemExit) as stop:
        grading.main([str(tmp_path / "b"), str(tmp_path / "s"), "-o", str(tmp_path / "g.csv")])
    message = str(stop.value)
    assert "no Linux Landlock" in message and "--no-sandbox" in message and "\n" not in message
    assert not (tmp_path / "g.csv").exists()
    grading.main([str(tmp_path / "b"), str(tmp_path / "s"), "-o", str(tmp_path / "g.csv"), "--no-sandbox"])
    row = next(csv.DictReader((tmp_path / "g.csv").open()))
    assert row["auto total"] == "2" and "graded unsandboxed (--no-sandbox)" in row["notes"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_stored_gradebook_is_of_the_current_questions(path):
    """The instructors page shows these (benchmarks/example_gradebook.py): they must grade
    the chapter's questions as they are, reference full marks, stub zero."""
    qs = chapter_questions(nbformat.read(path, as_version=4), path.name)
    rows = {r["student"]: r for r in csv.DictReader((GRADEBOOKS / f"{path.stem}.csv").open())}
    assert set(rows) == {"reference", "stub"}
    header = list(rows["reference"])
    assert header[1:1 + len(qs)] == [q.label for q in qs], "regenerate: the questions changed"
    possible = f"{sum(q.points for q in qs):g}"
    assert rows["reference"]["auto total"] == rows["reference"]["auto possible"] == possible
    assert rows["stub"]["auto total"] == "0"


def test_otter_imports_where_setuptools_has_no_pkg_resources():
    """otter-grader 5.7.1 imports pkg_resources, which setuptools 81+ dropped: a fresh
    Python 3.12+ environment would fail at `import otter` without the stand-in."""
    code = ("import sys; sys.modules['pkg_resources'] = None\n"
            "from mnist1d.checks import import_otter\n"
            "print(import_otter().Notebook.__name__)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "Notebook", result.stderr[-500:]
