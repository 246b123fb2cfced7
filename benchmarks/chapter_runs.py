"""Execute a chapter top to bottom with some parameters changed, and record what it glued.

Shared by ``robustness.py`` (other seeds) and ``paper_scale.py`` (the paper's scale, on
whatever device is present). Parameters are injected as papermill does: a cell right
after the chapter's ``parameters`` cell.
"""
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from mnist1d.assignments import CHAPTER_GLOB  # noqa: E402
from mnist1d.reproduction import glued  # noqa: E402


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
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False, suffix=".tmp") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    os.replace(f.name, out)
