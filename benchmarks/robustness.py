"""The robustness run: every chapter at course scale with other seeds.

    python benchmarks/robustness.py [--seeds 1 2] [--chapters 02 05] [--out benchmarks/results/robustness.json]

Executes each chapter (``book/NN_*.ipynb``) top to bottom in a fresh kernel with ``SEED``
set after its parameters cell, as papermill does, and stores per chapter and seed: the
wall time, the first error (if any), and every value the chapter glued, among them its
checks' outcomes (``chN_checks``). Checks are reported one by one
(:class:`mnist1d.notebook.Checks`), so a failing claim does not hide the others, and
execution continues past it. Results are merged into ``--out``, so chapters can be run
separately. The book's own stored run is seed 0; the reproduction report
(``book/reproduction.ipynb``) reads both.

It costs one execution of the book per seed (about 20 minutes on the course's 2-core CPU),
so it is not part of CI.
"""
import argparse
import json
import os
import platform
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


def with_seed(nb, seed):
    """A copy of ``nb`` with a cell setting ``SEED = seed`` right after its parameters cell."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    cell = nbformat.v4.new_code_cell(f"# Injected by benchmarks/robustness.py\nSEED = {seed}")
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at + 1, cell)
    return nb


def first_error(nb):
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                return f"{o['ename']}: {o['evalue']}"[:500]
    return None


def run(path, seed, timeout):
    nb = with_seed(nbformat.read(path, as_version=4), seed)
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--chapters", nargs="+", default=None, help="chapter numbers, e.g. 02 05 (default: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "robustness.json")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    ap.add_argument("--keep", type=Path, default=None, help="folder for the executed notebooks")
    args = ap.parse_args()
    chapters = sorted((ROOT / "book").glob(CHAPTER_GLOB))
    if args.chapters:
        chapters = [p for p in chapters if p.name[:2] in {c.zfill(2) for c in args.chapters}]
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.setdefault("chapters", {})
    for path in chapters:
        key = f"ch{int(path.name[:2])}"
        for seed in args.seeds:
            record, nb = run(path, seed, args.timeout)
            record["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}"
            results["chapters"].setdefault(key, {})[str(seed)] = record
            checks = record["glued"].get(f"{key}_checks", {})
            failed = [k for k, ok in checks.items() if not ok]
            print(f"{path.name} SEED={seed}: {record['seconds']:.0f} s, "
                  f"{len(checks) - len(failed)}/{len(checks)} checks pass"
                  + (f"; failed: {failed}" if failed else "") + (f"; error: {record['error']}" if record["error"] else ""),
                  flush=True)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, args.keep / f"{path.stem}_seed{seed}.ipynb")
            # Atomic: a run stopped half-way never leaves a truncated results file.
            args.out.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=args.out.parent, delete=False, suffix=".tmp") as f:
                json.dump(results, f, indent=1, sort_keys=True)
            os.replace(f.name, args.out)


if __name__ == "__main__":
    main()
