"""Grade a folder of submitted notebooks into a CSV gradebook:
``python -m mnist1d.grading BUNDLE SUBMISSIONS -o gradebook.csv``.

``BUNDLE`` is one chapter's grading folder written by ``python -m
mnist1d.assignments book OUT --grading`` (``OUT/grading/<chapter>/``: the
questions and their hidden tests). Every ``*.ipynb`` in ``SUBMISSIONS`` is one
student's; its file name, without ``.ipynb``, names the row.

Each submission runs in its own process (:mod:`mnist1d.submission`), in an
empty temporary folder, under a time limit; its answers come back as JSON
(:mod:`mnist1d.answers`, no pickle) and are tested here, in a process that
never runs student code, by otter-grader's test runner against tests held in
memory. So a submission that is not a notebook, raises, loops forever, deletes
its cells, prints without end or ends its own process gets a row with zero for
what could not be graded and the reason, and the other rows are still
written. Every submission is read into memory before any runs, and after
each one the bundle, this package and otter are compared with their state
before grading: a submission that changed them scores zero with the reason,
and the files are put back before the next one runs.

Students' code runs as the user who grades: for a class you do not trust,
run this command as a user who cannot write the course's files (no Docker
is needed either way).
"""

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .answers import NOT_ANSWERED, Unsupported, decode
from .checks import Question, score

__all__ = [
    "Bundle",
    "Row",
    "write_bundle",
    "load_bundle",
    "grade_notebook",
    "grade_folder",
    "write_gradebook",
]


@dataclass
class Bundle:
    """One chapter's questions, with every test case (hidden ones too)."""

    chapter: str
    questions: list  # of mnist1d.checks.Question


def write_bundle(bundle, folder):
    """Write ``bundle`` as ``folder/questions.json`` (the questions with their
    tests)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "chapter": bundle.chapter,
        "questions": [vars(q) for q in bundle.questions],
    }
    tmp = folder / "questions.json.tmp"
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(folder / "questions.json")


def load_bundle(folder):
    """The :class:`Bundle` in ``folder`` (see :func:`write_bundle`)."""
    path = Path(folder) / "questions.json"
    if not path.is_file():
        raise ValueError(
            f"bundle must be a grading folder holding questions.json (from "
            f"python -m mnist1d.assignments BOOK OUT --grading), got {folder}"
        )
    record = json.loads(path.read_text())
    return Bundle(
        record["chapter"], [Question(**q) for q in record["questions"]]
    )


@dataclass
class Row:
    """One student's line of the gradebook."""

    student: str
    points: dict  # question label -> points (auto-graded questions)
    notes: list = field(default_factory=list)  # reasons, in order


def _watched_files(bundle_dir):
    """Every file whose change would change a grade: the bundle, this
    package, otter."""
    from .checks import import_otter

    otter = import_otter()

    roots = [Path(bundle_dir), Path(__file__).parent, Path(otter.__file__)]
    files = []
    for root in roots:
        root = root.parent if root.is_file() else root
        files += [p for p in root.rglob("*") if p.is_file()]
    return {p: p.read_bytes() for p in files if "__pycache__" not in p.parts}


def _restore(snapshot, roots):
    """Put back every watched file that changed; name what was changed."""
    changed = []
    for path, data in snapshot.items():
        try:
            same = path.read_bytes() == data
        except OSError:
            same = False
        if not same:
            changed.append(str(path))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    for root in roots:
        for path in Path(root).rglob("*"):
            if path.is_file() and path not in snapshot:
                if "__pycache__" not in path.parts:
                    changed.append(str(path))
                    path.unlink()
    return changed


def _run(notebook_bytes, names, timeout, memory_gb):
    """Run one submission in a child process; its record and what went
    wrong."""
    with tempfile.TemporaryDirectory(prefix="mnist1d-grading-") as tmp:
        nb_path, out = Path(tmp, "submission.ipynb"), Path(tmp, "answers.json")
        nb_path.write_bytes(notebook_bytes)
        # its own dataset cache: a submission cannot plant data for the next
        env = dict(
            os.environ,
            MPLBACKEND="Agg",
            PYTHONHASHSEED="0",
            MNIST1D_CACHE=str(Path(tmp, "cache")),
        )
        command = [sys.executable, "-m", "mnist1d.submission"]
        limits = None
        if memory_gb:

            def limits():
                import resource

                size = int(memory_gb * 2**30)
                resource.setrlimit(resource.RLIMIT_AS, (size, size))

        child = subprocess.Popen(
            command + [str(nb_path), str(out), *names],
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=limits,
        )
        notes = []
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            notes.append(f"stopped at the time limit of {timeout:g} s")
        finally:
            try:  # the child and anything it started
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait()
        try:
            record = json.loads(out.read_text())
        except (OSError, ValueError):
            return None, notes + ["the notebook's process left no answers"]
    if "running" in record and not notes:
        notes.append(f"its process ended during code cell {record['running']}")
    elif "running" in record:
        notes[-1] += f", in code cell {record['running']}"
    return record, notes


def _answers(record):
    try:
        return {k: decode(v) for k, v in record.get("answers", {}).items()}
    except (ValueError, TypeError, AttributeError) as error:
        return Unsupported(f"unreadable answers: {error}")


def grade_notebook(bundle, data, timeout=600, memory_gb=None, keep=None):
    """Grade one submission (its file's bytes).

    Returns
    -------
    points : dict
        Question label -> points, for every auto-graded question.
    notes : list of str
        Why points were lost, and what else went wrong.

    ``keep``, a path, receives the submission's answers as JSON (to look
    at, or to grade again after a test is changed).
    """
    import nbformat

    zero = {q.label: 0.0 for q in bundle.questions}
    try:
        # not nbformat.validate: Colab and JupyterLab add metadata it refuses
        nb = nbformat.reads(data.decode(), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:
        why = str(error).splitlines()[0][:160]
        return zero, [f"not a valid notebook: {type(error).__name__}: {why}"]
    names = [q.answer for q in bundle.questions]
    record, notes = _run(data, names, timeout, memory_gb)
    if record is None:
        return zero, notes
    if keep is not None:
        Path(keep).write_text(json.dumps(record.get("answers", {})))
    for cell, error in record.get("errors", [])[:3]:
        notes.append(f"code cell {cell} raised {error}")
    if record.get("printed", 0) > 10 * 2**20:
        notes.append(f"printed {record['printed'] / 2**20:,.0f} MiB")
    answers = _answers(record)
    if isinstance(answers, Unsupported):
        return zero, notes + [answers.why]
    points = {}
    for q in bundle.questions:
        value = answers.get(q.answer, NOT_ANSWERED)
        if value == NOT_ANSWERED:
            points[q.label] = 0.0
            how = "still `...`" if q.answer in answers else "never set"
            notes.append(f"{q.label}: not answered ({q.answer} {how})")
            continue
        points[q.label], failed = score(q, answers)
        if failed:
            cases = ", ".join(name for name, _, _ in failed)
            notes.append(f"{q.label}: failed {cases}")
    return points, notes


def grade_folder(
    bundle_dir, submissions, timeout=600, memory_gb=None, answers_dir=None
):
    """Grade every ``*.ipynb`` in ``submissions`` (one at a time).

    Returns
    -------
    list of Row
        In file-name order, one per notebook.
    """
    bundle = load_bundle(bundle_dir)
    paths = sorted(Path(submissions).glob("*.ipynb"))
    if not paths:
        raise ValueError(
            f"submissions must be a folder of .ipynb files, found none in "
            f"{submissions}"
        )
    # read every submission before any runs: none can change another
    files = {p.stem: p.read_bytes() for p in paths}
    snapshot = _watched_files(bundle_dir)
    roots = [Path(bundle_dir), Path(__file__).parent]
    if answers_dir is not None:
        Path(answers_dir).mkdir(parents=True, exist_ok=True)
    rows = []
    for student, data in files.items():
        start = time.perf_counter()
        keep = answers_dir and Path(answers_dir, f"{student}.json")
        points, notes = grade_notebook(bundle, data, timeout, memory_gb, keep)
        changed = _restore(snapshot, roots)
        if changed:
            points = dict.fromkeys(points, 0.0)
            notes.append(
                f"changed the grader's files ({', '.join(changed[:3])}): "
                "put back, and this submission scores zero"
            )
        notes.append(f"graded in {time.perf_counter() - start:.0f} s")
        rows.append(Row(student, points, notes))
    return rows


def write_gradebook(rows, bundle, path):
    """Write ``rows`` as a CSV: one line per student, one column per question
    (manual ones empty, for the instructor), the total, what is possible
    automatically, and the notes. Written atomically."""
    auto = bundle.questions
    manual = [q for q in bundle.questions if q.manual]
    header = (
        ["student"]
        + [q.label for q in auto]
        + [f"{q.label} (manual, of {q.manual:g})" for q in manual]
        + ["auto total", "auto possible", "notes"]
    )
    possible = sum(q.points for q in auto)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        for row in rows:
            got = [row.points[q.label] for q in auto]
            out.writerow(
                [row.student]
                + [f"{p:g}" for p in got]
                + [""] * len(manual)
                + [f"{sum(got):g}", f"{possible:g}", "; ".join(row.notes)]
            )
    tmp.replace(path)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mnist1d.grading",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("bundle", help="OUT/grading/<chapter> folder")
    parser.add_argument("submissions", help="folder of submitted .ipynb")
    parser.add_argument("-o", "--out", default="gradebook.csv")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600,
        help="seconds each submission may run (default 600)",
    )
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=None,
        help="address-space limit per submission, in GiB (default: none)",
    )
    parser.add_argument(
        "--answers",
        default=None,
        help="folder to keep each submission's answers in, as JSON",
    )
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error(f"--timeout must be > 0 seconds, got {args.timeout}")
    rows = grade_folder(
        args.bundle,
        args.submissions,
        args.timeout,
        args.memory_gb,
        args.answers,
    )
    bundle = load_bundle(args.bundle)
    print(write_gradebook(rows, bundle, args.out))


if __name__ == "__main__":
    main()
