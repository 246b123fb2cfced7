"""Run one submitted notebook and write its answers: the grader's child
process.

``python -m mnist1d.course.grading.submission`` reads one job from its standard input, as
JSON: ``{"notebook": PATH, "out": OUT_JSON, "names": [NAME, ...],
"sandbox": POLICY or null}``, so its command line and environment hold
nothing a submission could use (the hidden tests never reach this process at
all: only the answer names do). It first seals itself off
(:func:`mnist1d.course.grading.sandbox.enter`, before it imports anything a notebook could
have touched), then runs the notebook's code cells in order in an IPython shell in this process (so the
grader can stop it, and everything it started, as one process group), and
after every cell rewrites ``OUT_JSON`` atomically with the answers ``NAME...``
defined so far (:func:`mnist1d.course.grading.answers.collect`), the cells that raised, and
how much the notebook printed. A notebook that runs forever or ends its own
process still leaves the answers of the cells it finished. Printed output is
counted, not kept, so a notebook that prints without end costs no memory.
"""

import io
import json
import os
import sys
import time

from ...files import atomic_write


class CountingSink(io.TextIOBase):
    """A text stream that only counts the characters written to it."""

    def __init__(self):
        self.total = 0

    def writable(self):
        return True

    def write(self, text):
        self.total += len(text)
        return len(text)


def _write(path, record, owner=os.getpid()):
    # only the process the grader started speaks for the notebook: a copy
    # forked by a cell would race it for the file with answers of its own
    if os.getpid() != owner:
        return
    with atomic_write(path) as f:
        json.dump(record, f)


def run(notebook, out, names):
    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

    from .answers import collect

    nb = nbformat.read(notebook, as_version=4)

    sink = CountingSink()
    real = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = sink
    shell = InteractiveShell.instance()
    record = {"answers": {}, "errors": [], "cells": 0, "printed": 0}
    start = time.perf_counter()
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code, 1):
        record["running"] = i
        _write(out, record)
        result = shell.run_cell(cell.source, store_history=True)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            record["errors"].append(
                [i, f"{type(error).__name__}: {str(error)[:200]}"]
            )
        record["answers"] = collect(shell.user_ns, names)
        record["cells"], record["printed"] = i, sink.total
        record["seconds"] = round(time.perf_counter() - start, 1)
    record.pop("running", None)
    record["finished"] = True
    _write(out, record)
    sys.stdout, sys.stderr = real


def main():
    job = json.loads(sys.stdin.read())
    if job.get("sandbox") is not None:
        from .sandbox import Policy, enter

        # still one thread, and no student code has run: seal this process
        enter(Policy.from_json(json.dumps(job["sandbox"])))
    run(job["notebook"], job["out"], job["names"])
    # skip atexit handlers and threads a notebook may have left behind
    os._exit(0)


if __name__ == "__main__":
    main()
