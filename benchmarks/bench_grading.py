"""Grading a class at once (issue 32): wall time of a folder of 16 small
submissions at --jobs 1, 2 and 4, and the sandbox's cost on one submission.

    python benchmarks/bench_grading.py [--out benchmarks/results/bench_grading.txt]

Each submission imports torch and trains a small MLP on MNIST-1D-sized random
data on one thread for about two seconds, so the run takes a few minutes; a
real chapter's submission runs 46-131 s, against which the sandbox's fixed
cost per submission (setting it up, ending what it left) is smaller still.
The overhead is the median of 5 alternating sandboxed and --no-sandbox runs
of one submission, each a whole `python -m mnist1d.course.grading` command.
"""

import argparse
import csv
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from mnist1d.course import exercises
from mnist1d.course.grading.grader import Bundle, write_bundle
from mnist1d.files import atomic_write

ROOT = Path(__file__).resolve().parents[1]
TESTS = """
@test_case(hidden=False)
def is_float(q_loss):
    assert isinstance(q_loss, float)


@test_case(hidden=True)
def fell(q_loss):
    assert q_loss < 2.3
"""
SUBMISSION = """
import torch
torch.set_num_threads(1)
torch.manual_seed({seed})
x, y = torch.randn(4000, 40), torch.randint(0, 10, (4000,))
model = torch.nn.Sequential(torch.nn.Linear(40, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
opt = torch.optim.Adam(model.parameters(), 1e-3)
for step in range(1500):
    i = torch.randint(0, 4000, (128,))
    loss = torch.nn.functional.cross_entropy(model(x[i]), y[i])
    opt.zero_grad(); loss.backward(); opt.step()
q_loss = float(loss)
"""


def grade(bundle, sub, out, *extra):
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mnist1d.course.grading",
            str(bundle),
            str(sub),
            "-o",
            str(out),
            "--timeout",
            "300",
            *extra,
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return time.perf_counter() - start


def rows(path):
    """The gradebook without the grading-time notes, which differ from run to run."""
    return [
        r[:-1] + [re.sub(r"(; )?graded in \d+ s$", "", r[-1])]
        for r in csv.reader(open(path))
    ]


def write_class(tmp, n):
    """The bundle and ``n`` submissions in ``tmp/submissions`` (one also alone in ``tmp/one``)."""
    write_bundle(
        Bundle("bench.ipynb", [exercises.Question("q-loss", 1, 0, TESTS)]),
        tmp / "bundle",
    )
    sub, one = tmp / "submissions", tmp / "one"
    sub.mkdir(), one.mkdir()
    for k in range(n):
        cell = nbformat.v4.new_code_cell(SUBMISSION.format(seed=k))
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), sub / f"student{k:02d}.ipynb")
    (one / "student00.ipynb").write_bytes((sub / "student00.ipynb").read_bytes())
    return sub, one


def parallel_speed(tmp, sub, say):
    """The folder graded with --jobs 1, 2 and 4: wall time, speed-up, same gradebook."""
    times, books = {}, {}
    for jobs in (1, 2, 4):
        out = tmp / f"jobs{jobs}.csv"
        times[jobs] = grade(tmp / "bundle", sub, out, "--jobs", str(jobs))
        books[jobs] = rows(out)
        say(
            f"--jobs {jobs}: {times[jobs]:6.1f} s wall, {times[1] / times[jobs]:.2f}x the speed of --jobs 1, "
            f"gradebook {'identical to' if books[jobs] == books[1] else 'DIFFERENT from'} --jobs 1's"
        )


def sandbox_overhead(tmp, one, say):
    """One submission, sandboxed and not, alternated so drift in the machine's load hits both."""
    sealed, open_ = [], []
    for _ in range(5):
        sealed.append(grade(tmp / "bundle", one, tmp / "s.csv", "--jobs", "1"))
        open_.append(grade(tmp / "bundle", one, tmp / "u.csv", "--jobs", "1", "--no-sandbox"))
    s, u = statistics.median(sealed), statistics.median(open_)
    say(
        f"one submission, whole command, median of 5: sandboxed {s:.2f} s, --no-sandbox {u:.2f} s: "
        f"overhead {100 * (s - u) / u:+.1f}% ({s - u:+.3f} s)"
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_grading.txt")
    ap.add_argument("--n", type=int, default=16, help="submissions in the folder")
    args = ap.parse_args(argv)
    lines = []

    def say(text):
        print(text, flush=True)
        lines.append(text)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sub, one = write_class(tmp, args.n)
        say(
            f"grading {args.n} submissions (about 2 s of one-thread training each) on a machine of "
            f"{len(os.sched_getaffinity(0))} cores"
        )
        parallel_speed(tmp, sub, say)
        sandbox_overhead(tmp, one, say)
    with atomic_write(args.out) as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
