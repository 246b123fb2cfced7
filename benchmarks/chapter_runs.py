"""Execute a chapter top to bottom with some parameters changed, and record what it glued.

Shared by ``robustness.py`` (other seeds) and ``paper_scale.py`` (the paper's scale, on
whatever device is present). Parameters are injected as papermill does: a cell right
after the chapter's ``parameters`` cell.
"""
import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnist1d.course.book import CHAPTER_GLOB, glued  # noqa: E402
from mnist1d.files import atomic_write  # noqa: E402


def chapters(numbers=None):
    """The chapter notebooks, all or those numbered ``numbers`` (e.g. ["02", "5"])."""
    paths = sorted((ROOT / "book").glob(CHAPTER_GLOB))
    if numbers:
        paths = [p for p in paths if p.name[:2] in {n.zfill(2) for n in numbers}]
    return paths


def with_parameters(nb, script, **params):
    """A copy of ``nb`` with a cell setting ``params`` right after its parameters cell."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    lines = [f"# Injected by {script}"] + [f"{k} = {v!r}" for k, v in params.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, cell)
    return nb


def cpu_model():
    """The processor's name as the kernel reports it (Linux), else what Python knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """Where a run ran: CPU model and core count, Python, torch and numpy versions.

    Floating-point kernels differ between CPUs and library builds, and long training runs
    amplify the difference, so a stored number is only traceable with these."""
    import numpy
    import torch

    return {"cpu": cpu_model(), "arch": platform.machine(), "cores": os.cpu_count(),
            "kernels": torch.backends.cpu.get_cpu_capability(),  # e.g. AVX512: which kernels torch runs
            "python": platform.python_version(), "torch": torch.__version__, "numpy": numpy.__version__}


def notebook_code_hash(path):
    """SHA-256 of a notebook's code cells' sources, in order: what the chapter runs, not
    what it printed. A chapter re-executed with other code has another hash."""
    nb = nbformat.read(path, as_version=4)
    code = "\n\x00".join(c.source for c in nb.cells if c.cell_type == "code")
    return hashlib.sha256(code.encode()).hexdigest()


def package_hash():
    """SHA-256 over the package's Python sources (path and text, in sorted order)."""
    h = hashlib.sha256()
    for f in sorted((ROOT / "mnist1d").rglob("*.py")):
        h.update(str(f.relative_to(ROOT)).encode() + b"\x00" + f.read_bytes())
    return h.hexdigest()


def code_version(path):
    """What ran: the git commit (``+dirty`` when the tree had changes), and hashes of the
    chapter's code and of the package."""
    def git(*args):
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    # the results this run writes are tracked too: they do not make the code dirty
    dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!benchmarks/results"))
    return {"commit": commit + ("+dirty" if dirty else ""), "notebook": notebook_code_hash(path),
            "package": package_hash()}


def first_error(nb):
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                return f"{o['ename']}: {o['evalue']}"[:500]
    return None


def run(path, script, timeout, **params):
    """Execute chapter ``path`` with ``params``; returns (record, executed notebook).

    The record holds the wall time (s), the first error or None, and every glued value
    (among them the checks' outcomes). Execution goes on past errors and never raises.
    """
    nb = with_parameters(nbformat.read(path, as_version=4), script, **params)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
        error = first_error(nb)
    except Exception as e:  # a timeout or a dead kernel: record it, go on with the next run
        error = f"{type(e).__name__}: {e}"[:500]
    seconds = time.perf_counter() - t0
    values = {k: v for k, v in glued(nb).items() if isinstance(v, (str, int, float, dict, bool))}
    return {"seconds": round(seconds, 1), "error": error, "glued": values}, nb


def summary(path, record):
    """One line: time, checks passed, failures, error."""
    key = f"ch{int(path.name[:2])}"
    checks = record["glued"].get(f"{key}_checks", {})
    failed = [k for k, ok in checks.items() if not ok]
    return (f"{record['seconds']:.0f} s, {len(checks) - len(failed)}/{len(checks)} checks pass"
            + (f"; failed: {failed}" if failed else "") + (f"; error: {record['error']}" if record["error"] else ""))


def save_atomic(results, out):
    """Write ``results`` as JSON to ``out``; a run stopped half-way never leaves a truncated file."""
    with atomic_write(out) as f:
        json.dump(results, f, indent=1, sort_keys=True)
