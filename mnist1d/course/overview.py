"""The instructors page's tables, read from the chapters and the runs.

Each chapter's exercises and stored run time (:func:`chapter_overview`), GPU
times from ``benchmarks/paper_scale.py``'s records, every graded question
(:func:`questions_markdown`) and the example gradebooks
(:func:`gradebooks_markdown`), as Markdown that ``book/instructors.ipynb``
prints.
"""

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import nbformat

from .book import RUNTIME, chapter_number, chapters, exercises
from .exercises import chapter_questions

__all__ = [
    "Chapter",
    "chapter_overview",
    "gradebooks_markdown",
    "load_device_runs",
    "overview_markdown",
    "questions_markdown",
]


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
    for path in chapters(book_dir):
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
                [(m[0], _first_sentence(m[1])) for m in exercises(text)],
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
    for path in chapters(book_dir):
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
    mnist1d.course.grading``), as one Markdown table: a row per submission, its
    points per question, total and notes."""
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
