"""Grade a folder of submitted notebooks into a CSV gradebook:
``python -m mnist1d.course.grading BUNDLE SUBMISSIONS -o gradebook.csv``.

``BUNDLE`` is one chapter's grading folder written by ``python -m
mnist1d.course.notebooks book OUT --grading`` (``OUT/grading/<chapter>/``: the
questions and their hidden tests). Every ``*.ipynb`` in ``SUBMISSIONS`` is one
student's; its file name, without ``.ipynb``, names the row.

Each submission runs in its own process (:mod:`mnist1d.course.grading.submission`), in an
empty temporary folder, under a time limit; its answers come back as JSON
(:mod:`mnist1d.course.grading.answers`, no pickle) and are tested here, in a process that
never runs student code, by otter-grader's test runner against tests held in
memory: the child is told only the answers' names. Before its first cell the
child seals itself off (:mod:`mnist1d.course.grading.sandbox`: Landlock and resource
limits), and whatever it started is ended with it. So a submission that is
not a notebook, raises, loops forever, deletes its cells, prints without end,
ends its own process, reads or writes where it should not, signals the
grader or forks without end gets a row with zero for what could not be
graded and the reason, and the other rows are still written, each as it is
finished. ``--jobs N`` grades N at once, with the same rows.

Without Landlock, grading refuses to start unless ``--no-sandbox``; then,
after each submission, the bundle, this package and otter are compared with
their state before grading: a submission that changed them scores zero with
the reason, and the files are put back before the next one runs.
"""

import argparse
import csv
import json
import os
import queue
import resource
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ...files import atomic_write
from ..exercises import Question, score
from .answers import NOT_ANSWERED, Unsupported, decode
from .sandbox import (
    PACKAGE_DIR,
    SandboxUnavailable,
    check,
    exposed,
    kill_orphans,
    kill_user,
    set_subreaper,
)
from .sandbox import policy as sandbox_policy

MAX_RECORD = 256 * 2**20  # bytes of answers a child may hand back

__all__ = [
    "Bundle",
    "Row",
    "Settings",
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
    questions: list  # of mnist1d.course.exercises.Question


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
            f"python -m mnist1d.course.notebooks BOOK OUT --grading), got {folder}"
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
    from ...checks import import_otter

    otter = import_otter()

    roots = [Path(bundle_dir), PACKAGE_DIR, Path(otter.__file__)]
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


@dataclass
class Settings:
    """How each submission is run.

    Attributes
    ----------
    timeout : float
        Seconds of wall time it may run.
    memory_gb : float
        Its address-space limit, GiB.
    disk_gb : float
        What it may write: its largest file and its whole folder, GiB.
    sandbox : bool
        Seal it off with :mod:`mnist1d.course.grading.sandbox` (False only on request).
    jobs : int
        Submissions graded at once, each on its own share of the cores.
    """

    timeout: float = 600
    memory_gb: float = 8
    disk_gb: float = 2
    sandbox: bool = True
    jobs: int = 1

    def validate(self):
        for name in ("timeout", "memory_gb", "disk_gb"):
            if not getattr(self, name) > 0:
                raise ValueError(
                    f"{name} must be > 0, got {getattr(self, name)}"
                )
        if not (isinstance(self.jobs, int) and 1 <= self.jobs <= 256):
            raise ValueError(f"jobs must be an int in 1..256, got {self.jobs}")
        if self.jobs > 1 and not self.sandbox:
            raise ValueError(
                "jobs must be 1 without the sandbox: a submission that "
                "changes the grader's files could not be told from another"
            )

    def cpus(self, slot):
        """The cores submission slot ``slot`` runs on: an equal share."""
        cores = sorted(os.sched_getaffinity(0))
        share = max(1, len(cores) // self.jobs)
        first = slot * share % len(cores)
        return cores[first : first + share]


class _Children:
    """The submission processes running now, so that what dead ones left
    behind (adopted by this process) can be told from them and ended."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pids = set()

    def start(self, *args, **kwargs):
        with self.lock:  # no orphan hunt between fork and registration
            child = subprocess.Popen(*args, **kwargs)
            self.pids.add(child.pid)
        return child

    def end(self, child, uid=None):
        """Kill ``child``, its process group, its orphans and, grading as
        root, every process of its user ``uid``."""
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()
        with self.lock:
            self.pids.discard(child.pid)
            if uid is not None:
                kill_user(uid)
            return kill_orphans(self.pids)


CHILDREN = _Children()


def _environment(tmp, threads):
    """The child's whole environment: nothing of the grader's but the
    locale, PATH and PYTHONPATH (so no secret or path leaks to it)."""
    keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        HOME=tmp,
        TMPDIR=tmp,
        MPLBACKEND="Agg",
        MPLCONFIGDIR=str(Path(tmp, ".matplotlib")),
        IPYTHONDIR=str(Path(tmp, ".ipython")),  # no startup files but its
        PYTHONHASHSEED="0",
        # its own dataset cache: a submission cannot plant data for the next
        MNIST1D_CACHE=str(Path(tmp, "cache")),
    )
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    return env


def _folder_size(folder):
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _watch(child, tmp, settings):
    """Wait for ``child`` under the time and disk limits; what stopped it."""
    deadline = time.monotonic() + settings.timeout
    while True:
        try:
            child.wait(timeout=min(0.25, max(deadline - time.monotonic(), 0)))
            return []
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() >= deadline:
            return [f"stopped at the time limit of {settings.timeout:g} s"]
        if _folder_size(tmp) > settings.disk_gb * 2**30:
            return [f"stopped: wrote over {settings.disk_gb:g} GiB"]


def _read_record(path):
    """The child's answers file, read without following a link it may have
    put there (the grader can read what the child cannot)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_RECORD:
            raise ValueError("not a plain file of answers")
        return json.loads(f.read())


def _run(notebook_bytes, names, settings, slot=0):
    """Run one submission in a child process; its record and what went
    wrong."""
    with tempfile.TemporaryDirectory(
        prefix="mnist1d-grading-", ignore_cleanup_errors=True
    ) as tmp:
        nb_path, out = Path(tmp, "submission.ipynb"), Path(tmp, "answers.json")
        nb_path.write_bytes(notebook_bytes)
        cpus = settings.cpus(slot) if settings.sandbox else None
        policy = None
        if settings.sandbox:
            policy = sandbox_policy(
                tmp,
                settings.timeout,
                settings.memory_gb,
                settings.disk_gb,
                slot,
                cpus,
            )
        job = {"notebook": str(nb_path), "out": str(out), "names": names}
        job["sandbox"] = policy and json.loads(policy.to_json())
        child = CHILDREN.start(
            [sys.executable, "-s", "-m", "mnist1d.course.grading.submission"],
            cwd=tmp,
            env=_environment(tmp, len(cpus or [0]) if cpus else 2),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=None if settings.sandbox else _limits(settings),
        )
        try:  # the job goes in by a pipe: no argument shows it
            child.stdin.write(json.dumps(job).encode())
            child.stdin.close()
        except OSError:
            pass
        try:
            notes = _watch(child, tmp, settings)
        finally:
            left = CHILDREN.end(child, policy and policy.uid)
        if left:  # how many depends on timing: say only that there were
            notes.append("ended the processes it left behind")
        try:
            record = _read_record(out)
        except (OSError, ValueError):
            return None, notes + ["the notebook's process left no answers"]
    if "running" in record and not notes:
        notes.append(f"its process ended during code cell {record['running']}")
    elif "running" in record:
        notes[-1] += f", in code cell {record['running']}"
    return record, notes


def _limits(settings):
    """Without the sandbox, the address-space limit alone, as before."""

    def limits():
        size = int(settings.memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return limits


def _answers(record):
    try:
        return {k: decode(v) for k, v in record.get("answers", {}).items()}
    except (ValueError, TypeError, AttributeError) as error:
        return Unsupported(f"unreadable answers: {error}")


def grade_notebook(bundle, data, settings=None, keep=None, slot=0):
    """Grade one submission (its file's bytes).

    Parameters
    ----------
    settings : Settings, optional
        How it runs (default: :class:`Settings`, sandboxed).
    keep : path, optional
        Receives the submission's answers as JSON (to look at, or to grade
        again after a test is changed).
    slot : int
        Which of ``settings.jobs`` parallel places it runs in.

    Returns
    -------
    points : dict
        Question label -> points, for every auto-graded question.
    notes : list of str
        Why points were lost, and what else went wrong.
    """
    import nbformat

    settings = settings or Settings()
    zero = {q.label: 0.0 for q in bundle.questions}
    try:
        # not nbformat.validate: Colab and JupyterLab add metadata it refuses
        nb = nbformat.reads(data.decode(), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as error:
        why = str(error).splitlines()[0][:160]
        return zero, [f"not a valid notebook: {type(error).__name__}: {why}"]
    # only the answers' names reach the child: never a test
    names = [q.answer for q in bundle.questions]
    record, notes = _run(data, names, settings, slot)
    if record is None:
        return zero, notes
    if keep is not None:
        Path(keep).write_text(json.dumps(record.get("answers", {})))
    return _score(bundle, record, notes)


def _score(bundle, record, notes):
    zero = {q.label: 0.0 for q in bundle.questions}
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


def _check_sealed(settings, paths):
    """Refuse to grade where a submission could read the bundle, the
    submissions or the gradebook."""
    if not settings.sandbox:
        return
    check()  # SandboxUnavailable: one line, why and what to do
    policy = sandbox_policy(tempfile.gettempdir(), 1, 1, 1)
    for path in filter(None, paths):
        if exposed([path], policy):
            raise ValueError(
                f"{path} lies inside a folder every submission may read "
                "(the Python environment or the system's libraries): "
                "move it elsewhere"
            )


def grade_folder(
    bundle_dir, submissions, settings=None, answers_dir=None, out=None
):
    """Grade every ``*.ipynb`` in ``submissions``.

    ``settings.jobs`` of them run at once; the rows are the same as one at a
    time. ``out``, a path, receives the gradebook again (atomically) each
    time a row is finished, so a grader that is stopped keeps those.

    Returns
    -------
    list of Row
        In file-name order, one per notebook.
    """
    settings = settings or Settings()
    settings.validate()
    bundle = load_bundle(bundle_dir)
    paths = sorted(Path(submissions).glob("*.ipynb"))
    if not paths:
        raise ValueError(
            f"submissions must be a folder of .ipynb files, found none in "
            f"{submissions}"
        )
    _check_sealed(settings, [bundle_dir, submissions, answers_dir, out])
    # read every submission before any runs: none can change another
    files = {p.stem: p.read_bytes() for p in paths}
    if answers_dir is not None:
        Path(answers_dir).mkdir(parents=True, exist_ok=True)
    book = _Gradebook(bundle, list(files), out)
    grade = _Grader(bundle, bundle_dir, settings, answers_dir)
    set_subreaper(True)  # what a submission leaves behind comes back here
    try:
        if settings.jobs == 1:
            for student, data in files.items():
                book.add(grade(student, data, 0))
        else:
            _in_parallel(grade, files, settings.jobs, book)
    finally:
        set_subreaper(False)
    return book.rows()


def _in_parallel(grade, files, jobs, book):
    """Grade ``files`` on ``jobs`` threads, each with a slot of its own
    (its cores, its user), each waiting on its child process."""
    slots = queue.SimpleQueue()
    for slot in range(jobs):
        slots.put(slot)

    def one(item):
        slot = slots.get()
        try:
            book.add(grade(*item, slot))
        finally:
            slots.put(slot)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, files.items()))


class _Grader:
    """Grades one submission and checks the grader's files after it."""

    def __init__(self, bundle, bundle_dir, settings, answers_dir):
        self.bundle, self.settings = bundle, settings
        self.answers_dir = answers_dir
        self.snapshot = _watched_files(bundle_dir)
        self.roots = [Path(bundle_dir), Path(__file__).parent]

    def __call__(self, student, data, slot):
        start = time.perf_counter()
        keep = self.answers_dir and Path(self.answers_dir, f"{student}.json")
        points, notes = grade_notebook(
            self.bundle, data, self.settings, keep, slot
        )
        changed = _restore(self.snapshot, self.roots)
        if changed:
            points = dict.fromkeys(points, 0.0)
            notes.append(
                f"changed the grader's files ({', '.join(changed[:3])}): "
                "put back, and this submission scores zero"
            )
        if not self.settings.sandbox:
            notes.append("graded unsandboxed (--no-sandbox)")
        notes.append(f"graded in {time.perf_counter() - start:.0f} s")
        return Row(student, points, notes)


class _Gradebook:
    """The rows finished so far, in file-name order, written out each time
    one is added."""

    def __init__(self, bundle, students, out):
        self.bundle, self.order, self.out = bundle, students, out
        self.done, self.lock = {}, threading.Lock()

    def add(self, row):
        with self.lock:
            self.done[row.student] = row
            if self.out is not None:
                write_gradebook(self.rows(), self.bundle, self.out)

    def rows(self):
        return [self.done[s] for s in self.order if s in self.done]


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
    with atomic_write(path, newline="") as f:
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
    return Path(path)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m mnist1d.course.grading",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("bundle", help="OUT/grading/<chapter> folder")
    parser.add_argument("submissions", help="folder of submitted .ipynb")
    parser.add_argument("-o", "--out", default="gradebook.csv")
    add = parser.add_argument
    add(
        "--timeout",
        type=float,
        default=600,
        help="seconds each submission may run (default 600)",
    )
    add(
        "--memory-gb",
        type=float,
        default=Settings.memory_gb,
        help="address-space limit per submission, in GiB (default 8)",
    )
    add(
        "--disk-gb",
        type=float,
        default=Settings.disk_gb,
        help="what each submission may write, in GiB (default 2)",
    )
    add(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="submissions graded at once (default: cores // 2, at least 1)",
    )
    add(
        "--no-sandbox",
        action="store_true",
        help="run students' code unconfined (where Landlock is missing)",
    )
    add(
        "--answers",
        default=None,
        help="folder to keep each submission's answers in, as JSON",
    )
    return parser


def default_jobs():
    """One submission per two cores: the chapters run on two threads."""
    return max(1, len(os.sched_getaffinity(0)) // 2)


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    settings = Settings(
        args.timeout,
        args.memory_gb,
        args.disk_gb,
        not args.no_sandbox,
        args.jobs,
    )
    try:
        settings.validate()
    except ValueError as error:
        parser.error(f"--{str(error).replace('_', '-')}")
    try:
        rows = grade_folder(
            args.bundle, args.submissions, settings, args.answers, args.out
        )
    except (SandboxUnavailable, ValueError) as error:
        raise SystemExit(
            f"python -m mnist1d.course.grading: {error}"
        ) from None
    bundle = load_bundle(args.bundle)
    print(write_gradebook(rows, bundle, args.out))


if __name__ == "__main__":
    main()
