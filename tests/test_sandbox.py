"""Attacks on the grader (issue 32): each hostile submission is graded, by the
command line, just before a correct one, and must be contained: the correct one
gets full marks, the bundle, the Python environment and the home folder are
unchanged, and what the attack saw (its `probe` answer, kept with --answers)
holds nothing it should not."""
import csv
import re
import hashlib
import json
import os
import pwd
import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import nbformat
import pytest

from mnist1d import checks
from mnist1d.course import exercises
from mnist1d.course.grading import answers, sandbox
from mnist1d.course.grading.grader import Bundle, write_bundle

pytestmark = pytest.mark.skipif(sandbox.abi_version() == 0,
                                reason="this kernel offers no Landlock: grading runs only with --no-sandbox")

SECRET = "SECRET-9c1e-hidden-case"
TESTS = f'''
@test_case(hidden=False)
def is_int(q_a):
    assert isinstance(q_a, int), "an int"


@test_case(hidden=True)
def is_42(q_a):
    assert q_a == 42, "{SECRET}"
'''
PROBE = '''
@test_case(hidden=False)
def anything(probe):
    pass
'''
SITE = Path(sysconfig.get_paths()["purelib"])
STDLIB = Path(sysconfig.get_paths()["stdlib"])
HOME = Path(pwd.getpwuid(os.getuid()).pw_dir)  # the real one: the child's HOME is its folder


def notebook(*cells):
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]))


def state():
    """What an attack could change: the bundle's bytes, the environment's and the home folder's listings."""
    listing = {str(d): sorted(os.listdir(d)) for d in (SITE, STDLIB, HOME) if d.exists()}
    startup = HOME / ".ipython" / "profile_default" / "startup"
    listing["startup"] = sorted(os.listdir(startup)) if startup.exists() else []
    return listing


def leftovers():
    """Processes of the users submissions run as (grading as root), zombies aside."""
    if os.geteuid() != 0:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid in range(sandbox.UID_BASE, sandbox.UID_BASE + 8):
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(entry.name)
        except OSError:
            pass
    return found


def grade(tmp, *cells, timeout=20, disk_gb=0.05):
    """Grade `attack` (the cells) then `good`; rows, the attack's probe, and the gradebook's text."""
    bundle, sub, keep = tmp / "bundle", tmp / "submissions", tmp / "answers"
    write_bundle(Bundle("toy.ipynb", [exercises.Question("q-a", 2, 0, TESTS), exercises.Question("probe", 1, 0, PROBE)]),
                 bundle)
    sub.mkdir()
    (sub / "attack.ipynb").write_text(notebook("q_a = 42\nprobe = None", *cells))
    (sub / "good.ipynb").write_text(notebook("q_a = 6 * 7", "probe = 1"))
    digest = hashlib.sha256((bundle / "questions.json").read_bytes()).hexdigest()
    before = state()
    out = tmp / "gradebook.csv"
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "mnist1d.course.grading", str(bundle), str(sub), "-o", str(out),
                             "--answers", str(keep), "--timeout", str(timeout), "--disk-gb", str(disk_gb),
                             "--jobs", "1"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert time.monotonic() - start < timeout + 30
    rows = {r["student"]: r for r in csv.DictReader(out.open())}
    assert list(rows) == ["attack", "good"]
    assert rows["good"]["auto total"] == "3", rows["good"]["notes"]
    assert hashlib.sha256((bundle / "questions.json").read_bytes()).hexdigest() == digest
    assert state() == before, "the environment or the home folder changed"
    assert not leftovers(), "a process of the attack's user still runs"
    kept = keep / "attack.json"
    probe = answers.decode(json.loads(kept.read_text()).get("probe")) if kept.exists() else None
    seen = json.dumps(probe)
    assert SECRET not in seen and SECRET not in out.read_text()
    return rows, probe


def test_reading_the_hidden_tests_through_the_graders_command_line(tmp_path):
    rows, probe = grade(tmp_path, """
import os, pathlib
args = pathlib.Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\\0")
bundle = pathlib.Path(args[3].decode())  # python -m mnist1d.course.grading BUNDLE ...
probe = [str(bundle)]
for what in (bundle / "questions.json", f"/proc/{os.getppid()}/environ", f"/proc/{os.getppid()}/cwd/x",
             f"/proc/{os.getppid()}/mem"):
    try:
        probe.append(pathlib.Path(what).read_bytes().decode(errors="replace"))
    except OSError as e:
        probe.append(type(e).__name__)
""")
    assert probe[0].endswith("bundle"), "the path is visible, the folder is not"
    assert probe[1:] == ["PermissionError"] * 4
    assert rows["attack"]["auto total"] == "3"


def test_searching_the_disk_for_the_hidden_tests(tmp_path):
    rows, probe = grade(tmp_path, """
import os, time
probe, start = [], time.monotonic()
for top in ("/", "/tmp", "/work", "/root", "/home", "/var", os.path.dirname(os.getcwd())):
    for root, dirs, files in os.walk(top):
        for f in files:
            if f == "questions.json" or f.endswith(".ipynb"):
                try:
                    probe.append(open(os.path.join(root, f)).read())
                except OSError:
                    pass
        if time.monotonic() - start > 5:
            break
probe = [p for p in probe if "test_case" in p or "q_a = 6" in p]
""")
    assert probe == [], "it found no questions nor a classmate's notebook"


def test_reading_the_hidden_tests_through_the_environment(tmp_path):
    rows, probe = grade(tmp_path, """
import os, pathlib
probe = [dict(os.environ), pathlib.Path("/proc/self/cmdline").read_bytes().decode(),
         pathlib.Path("/proc/self/environ").read_bytes().decode(), os.listdir(".")]
""")
    environ, cmdline, raw, here = probe
    assert set(environ.values()) & {str(tmp_path), str(tmp_path / "bundle")} == set()
    assert "bundle" not in cmdline + raw and "questions" not in json.dumps(here)
    assert cmdline.split("\0")[1:4] == ["-s", "-m", "mnist1d.course.grading.submission"]


def test_reading_a_classmates_submission(tmp_path):
    rows, probe = grade(tmp_path, """
import os, pathlib
args = pathlib.Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\\0")
submissions = args[4].decode()
probe = []
for how, what in ((os.listdir, submissions), (os.listdir, "/tmp"), (os.listdir, ".."),
                  (lambda p: open(p).read(), submissions + "/good.ipynb")):
    try:
        probe.append(how(what))
    except OSError as e:
        probe.append(type(e).__name__)
""")
    assert probe == ["PermissionError"] * 4


@pytest.mark.parametrize("target", [SITE / "evil_module.py", SITE / "zz_evil.pth", STDLIB / "sitecustomize.py",
                                    SITE / "usercustomize.py", HOME / ".bashrc_evil",
                                    HOME / ".ipython" / "profile_default" / "startup" / "00-evil.py",
                                    Path(checks.__file__).parent / "evil.py"],
                         ids=["site-packages", "pth", "sitecustomize", "usercustomize", "home", "ipython-startup",
                              "course-package"])
def test_planting_code_for_later_processes(tmp_path, target):
    rows, probe = grade(tmp_path, f"""
import os, pathlib
target = pathlib.Path({str(target)!r})
try:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("import os; os.system('touch /tmp/pwned')\\n")
    probe = "written"
except OSError as e:
    probe = type(e).__name__
""")
    assert probe == "PermissionError" and not target.exists()


def test_killing_or_stopping_the_grader(tmp_path):
    rows, probe = grade(tmp_path, """
import os, signal
probe = []
for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
    for pid in (os.getppid(), -1):
        try:
            os.kill(pid, sig)
            probe.append("sent")
        except OSError as e:
            probe.append(type(e).__name__)
""")
    # kill(-1) reaches only processes it may signal, none outside its sandbox: no error, nobody hit
    assert probe[::2] == ["PermissionError"] * 3, probe
    assert rows["attack"]["auto total"] == "3"


def test_a_fork_bomb(tmp_path):
    start = time.monotonic()
    rows, probe = grade(tmp_path, """
import os
probe = 0
while True:
    try:
        os.fork()
        probe += 1
    except OSError:
        break
""")
    assert time.monotonic() - start < 60


def test_filling_the_disk_with_one_file(tmp_path):
    rows, probe = grade(tmp_path, """
probe = 0
with open("big", "wb") as f:
    try:
        while True:
            probe += f.write(b"x" * 2**20)
    except OSError as e:
        probe = [probe, type(e).__name__]
""", disk_gb=0.02)
    assert probe[1] == "OSError" and probe[0] <= 0.02 * 2**30  # EFBIG at the file-size limit


def test_filling_the_disk_with_many_files(tmp_path):
    rows, probe = grade(tmp_path, """
probe = 0
while True:
    for i in range(10**6):
        with open(f"f{i}", "wb") as f:
            f.write(b"x" * 2**20)
""", disk_gb=0.02)
    assert "stopped: wrote over 0.02 GiB" in rows["attack"]["notes"]


def test_opening_a_network_connection(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    port = server.getsockname()[1]
    rows, probe = grade(tmp_path, f"""
import socket
probe = []
for how in ("connect", "bind", "abstract"):
    try:
        if how == "connect":
            socket.create_connection(("127.0.0.1", {port}), timeout=2)
        elif how == "bind":
            socket.socket().bind(("127.0.0.1", 0))
        else:
            socket.socket(socket.AF_UNIX).connect("\\0/tmp/.X11-unix/X0")
        probe.append("done")
    except OSError as e:
        probe.append(type(e).__name__)
""")
    with pytest.raises(socket.timeout):
        server.accept()
    server.close()
    assert probe[:2] == ["PermissionError", "PermissionError"] and probe[2] != "done"


def test_leaving_a_process_behind(tmp_path):
    rows, probe = grade(tmp_path, """
import os, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()  # out of the process group the grader kills
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        signal = __import__("signal")
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        time.sleep(600)
    os._exit(0)
probe = int(os.read(r, 20))
""")
    time.sleep(0.2)
    assert not Path(f"/proc/{probe}").exists() or "Z" in Path(f"/proc/{probe}/stat").read_text().split()[2]
    assert "ended the processes it left behind" in rows["attack"]["notes"]


def test_forging_the_answers_file_as_a_link(tmp_path):
    rows, probe = grade(tmp_path, """
import os, pathlib
args = pathlib.Path(f"/proc/{os.getppid()}/cmdline").read_bytes().split(b"\\0")
os.unlink("answers.json") if os.path.exists("answers.json") else None
os.symlink(args[3].decode() + "/questions.json", "answers.json.tmp")
os.rename("answers.json.tmp", "answers.json")
os._exit(0)  # leave the link as the answers
""")
    assert rows["attack"]["auto total"] == "0" and "left no answers" in rows["attack"]["notes"]


def gradebook(path):
    """The rows, each note of grading time left out (it differs from run to run)."""
    rows = list(csv.reader(open(path)))
    return [r[:-1] + [re.sub(r"(; )?graded in \d+ s$", "", r[-1])] for r in rows]


def test_jobs_give_the_same_gradebook_as_one_at_a_time(tmp_path):
    bundle, sub = tmp_path / "bundle", tmp_path / "submissions"
    write_bundle(Bundle("toy.ipynb", [exercises.Question("q-a", 2, 0, TESTS)]), bundle)
    sub.mkdir()
    cells = {"a_good": ["q_a = 42"], "b_stub": ["q_a = ..."], "c_wrong": ["q_a = 41"],
             "d_killer": ["q_a = 42", "import os; os.kill(os.getppid(), 9)"], "e_raises": ["1 / 0", "q_a = 42"],
             "f_bomb": ["q_a = 42", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n"
                                    "        break"], "g_good": ["q_a = 6 * 7"]}
    for name, code in cells.items():
        (sub / f"{name}.ipynb").write_text(notebook(*code))
    books = []
    for jobs in (1, 3):
        out = tmp_path / f"jobs{jobs}.csv"
        subprocess.run([sys.executable, "-m", "mnist1d.course.grading", str(bundle), str(sub), "-o", str(out),
                        "--timeout", "20", "--jobs", str(jobs)], check=True, capture_output=True, timeout=120)
        books.append(gradebook(out))
    assert books[0] == books[1]
    totals = {r[0]: r[2] for r in books[0][1:]}
    assert totals == {"a_good": "2", "b_stub": "0", "c_wrong": "1", "d_killer": "2", "e_raises": "2",
                      "f_bomb": "2", "g_good": "2"}


def test_a_stopped_grader_leaves_the_rows_it_finished(tmp_path):
    bundle, sub, out = tmp_path / "bundle", tmp_path / "submissions", tmp_path / "gradebook.csv"
    write_bundle(Bundle("toy.ipynb", [exercises.Question("q-a", 2, 0, TESTS)]), bundle)
    sub.mkdir()
    (sub / "a.ipynb").write_text(notebook("q_a = 42"))
    (sub / "b.ipynb").write_text(notebook("q_a = 42", "while True:\n    pass"))
    grader = subprocess.Popen([sys.executable, "-m", "mnist1d.course.grading", str(bundle), str(sub), "-o", str(out),
                               "--timeout", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2)  # b is sealed and looping by now
    grader.kill()
    grader.wait()
    rows = list(csv.DictReader(out.open()))
    assert [(r["student"], r["auto total"]) for r in rows] == [("a", "2")]
    deadline = time.monotonic() + 5
    while leftovers() and time.monotonic() < deadline:  # b's process ends with its grader
        time.sleep(0.1)
    assert not leftovers()
