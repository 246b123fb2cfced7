"""The reproduction report: the paper's numbers beside the course's, over
seeds.

Every chapter glues the numbers its prose quotes (myst-nb ``glue``) and, in its
check cell, a dict of its claims' outcomes (``chN_checks``, from
:class:`mnist1d.notebook.Checks`). :func:`mnist1d.course.book.glued` reads
those back from a notebook's stored outputs. The robustness run (``benchmarks/robustness.py``)
executes every chapter with other values of ``SEED`` and stores what
``glued`` finds in each; the book's own notebooks are seed 0. The report
(``book/reproduction.ipynb``) lines them up against the claims in ``claims.json``
(:data:`CLAIMS`): the paper's numbers, where each comes from and the check
that asserts it. Nothing of ours is typed: a stale report
fails a test.
"""

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .book import chapters, glued

__all__ = [
    "Claim",
    "CLAIMS",
    "CLAIMS_FILE",
    "load_claims",
    "number",
    "load_runs",
    "report_rows",
    "report_markdown",
    "verdicts",
    "verdict_markdown",
    "table_cell",
    "machine_text",
]

CLAIMS_FILE = Path(__file__).with_name("claims.json")


@dataclass(frozen=True)
class Claim:
    """One quantitative claim of the paper that a chapter reproduces: a row
    of ``claims.json``."""

    chapter: str  # "ch2": the prefix of the chapter's glue names
    what: str  # the quantity, in words
    key: str  # the glue name holding our value
    # the paper's value (None: the paper gives a range or a qualitative claim)
    paper: Optional[float]
    source: str  # where the paper's value is from
    # the chapter's check (a name its Checks glues in chN_checks) that
    # asserts it, if any
    check: Optional[str] = None
    # the paper's value as words, when it is not one number
    paper_text: Optional[str] = None
    # why a row has no check: a reference level an asserted claim is measured
    # from, or a number the course's protocol or one seed does not pin down
    unasserted: Optional[str] = None
    digits: int = 1  # decimals shown for our values


def load_claims(path=CLAIMS_FILE):
    """The claims in ``path`` (a JSON list of objects with
    :class:`Claim`'s fields), in the report's order.

    Raises
    ------
    ValueError
        Naming the row, when a row has unknown or missing fields, or both a
        check and a reason for having none, or neither.
    """
    rows = json.loads(Path(path).read_text())
    claims = []
    for i, row in enumerate(rows):
        try:
            claim = Claim(**row)
        except TypeError as e:
            raise ValueError(f"{path}: row {i} ({row.get('key')}): {e}")
        if (claim.check is None) == (claim.unasserted is None):
            raise ValueError(
                f"{path}: row {i} ({claim.key}) needs either a check or a "
                "reason it has none (unasserted), not both"
            )
        claims.append(claim)
    return claims


CLAIMS = load_claims()


def number(value):
    """The first number in a glued value ('93.7%' -> 93.7, '+3.9' -> 3.9, 47 ->
    47.0); NaN if none.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = re.search(r"[-+]?\d[\d,]*\.?\d*", str(value))
    return float(m.group(0).replace(",", "")) if m else math.nan


def load_runs(book_dir, robustness_json):
    """Every run's glued values: {chapter prefix: {seed: glued dict}}.

    Seed 0 is the book's stored run (``book_dir``); the other seeds come from
    the robustness run's file, with its error (``"error"``, None if it ran) and
    wall time (``"seconds"``).
    """
    runs = {}
    for path in chapters(book_dir):
        runs[f"ch{int(path.name[:2])}"] = {0: glued(path)}
    stored = (
        json.loads(Path(robustness_json).read_text())
        if Path(robustness_json).exists()
        else {}
    )
    for chapter, record in stored.get("stored", {}).items():
        if chapter in runs:
            runs[chapter][0].update(
                machine=record.get("machine"), code=record.get("code")
            )
    for chapter, seeds in stored.get("chapters", {}).items():
        for seed, record in seeds.items():
            runs.setdefault(chapter, {})[int(seed)] = dict(
                record.get("glued", {}),
                error=record.get("error"),
                seconds=record.get("seconds"),
                machine=record.get("machine"),
                code=record.get("code"),
            )
    return runs


def machine_text(machine):
    """A run's machine in a few words: "AMD EPYC (AVX512), 2 cores, Python
    3.11.7, torch 2.13.0+cpu"; "not recorded" for runs from before machines
    were recorded."""
    if not isinstance(machine, dict):
        return "not recorded"
    kernels = f" ({machine['kernels']})" if machine.get("kernels") else ""
    return (
        f"{machine.get('cpu', '?')}{kernels}, {machine.get('cores', '?')} "
        f"cores, Python {machine.get('python', '?')}, torch "
        f"{machine.get('torch', '?')}"
    )


def verdicts(runs):
    """Per chapter and seed: 'pass', 'FAIL: <names>' or 'error: ...'."""
    out = {}
    for chapter, seeds in runs.items():
        for seed, values in sorted(seeds.items()):
            checks = values.get(f"{chapter}_checks")
            if values.get("error") and not checks:
                out[chapter, seed] = f"error: {values['error']}"
            elif not isinstance(checks, dict):
                out[chapter, seed] = "no checks recorded"
            else:
                failed = [k for k, ok in checks.items() if not ok]
                out[chapter, seed] = (
                    "pass" if not failed else "FAIL: " + "; ".join(failed)
                )
    return out


def _fmt(x, digits=1):
    return (
        ""
        if x is None or (isinstance(x, float) and math.isnan(x))
        else f"{x:.{digits}f}"
    )


def report_rows(runs):
    """One dict per claim: paper value, ours (seed 0, mean and range over
    seeds), checks."""
    rows = []
    for c in CLAIMS:
        seeds = runs.get(c.chapter, {})
        values = {
            s: number(v[c.key]) for s, v in sorted(seeds.items()) if c.key in v
        }
        ours = [v for v in values.values() if not math.isnan(v)]
        mean = sum(ours) / len(ours) if ours else math.nan
        held = None
        if c.check is not None:
            outcomes = [
                v.get(f"{c.chapter}_checks", {}).get(c.check)
                for v in seeds.values()
            ]
            outcomes = [o for o in outcomes if o is not None]
            held = (
                f"{sum(outcomes)}/{len(outcomes)}" if outcomes else "missing"
            )
        rows.append(
            {
                "claim": c,
                "values": values,
                "mean": mean,
                "lo": min(ours) if ours else math.nan,
                "hi": max(ours) if ours else math.nan,
                "diff": mean - c.paper
                if c.paper is not None and ours
                else math.nan,
                "held": held,
            }
        )
    return rows


def report_markdown(runs):
    """The report's table, as Markdown (one row per claim, six columns to fit
    the page)."""
    lines = [
        "| chapter: quantity *(the check that asserts it)* "
        "| paper *(where)* | ours: seed 0 "
        "| ours: mean (range) over seeds | ours - paper | check held |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in report_rows(runs):
        c = r["claim"]
        paper = c.paper_text if c.paper_text is not None else f"{c.paper:g}"
        d = c.digits
        n = len(r["values"])
        spread = (
            f"{r['mean']:.{d}f} ({r['lo']:.{d}f} to {r['hi']:.{d}f}), {n} "
            "seeds"
            if n
            else "not run"
        )
        diff = "" if math.isnan(r["diff"]) else f"{r['diff']:+.{d}f}"
        check = f" *({c.check})*" if c.check else ""
        cells = [
            f"{c.chapter[2:]}: {c.what}{check}",
            f"{paper} *({c.source.removeprefix('paper: ')})*",
            _fmt(r["values"].get(0), d),
            spread,
            diff,
            r["held"] or f"not asserted: {c.unasserted}",
        ]
        lines.append("| " + " | ".join(map(table_cell, cells)) + " |")
    return "\n".join(lines)


def table_cell(text):
    """``text`` made safe for a Markdown table cell: a ``|`` in it (as in
    "|pooled - unpooled|") would end the cell and shift the rest of the row."""
    return str(text).replace("|", "\\|")


def verdict_markdown(runs):
    """Per chapter: each seed's verdict (and run time, for the robustness run's
    seeds), as Markdown.
    """
    v = verdicts(runs)
    lines = [
        "| chapter | seed | checks | verdict | run time | machine | code |",
        "| --- | ---: | ---: | --- | ---: | --- | --- |",
    ]
    for chapter, seeds in runs.items():
        for seed, values in sorted(seeds.items()):
            checks = values.get(f"{chapter}_checks") or {}
            held = f"{sum(checks.values())}/{len(checks)}" if checks else ""
            t = values.get("seconds")
            when = (
                "the book's stored run"
                if seed == 0
                else (f"{t:.0f} s" if t is not None else "")
            )
            code = values.get("code") or {}
            commit = code.get("commit", "not recorded")
            cells = [chapter[2:], seed, held, v[chapter, seed], when]
            cells += [machine_text(values.get("machine")), commit[:12]]
            lines.append("| " + " | ".join(map(table_cell, cells)) + " |")
    return "\n".join(lines)
