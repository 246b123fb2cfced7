"""The robustness run: every chapter at course scale with other seeds.

    python benchmarks/robustness.py [--seeds 1 2] [--chapters 02 05] [--out benchmarks/results/robustness.json]

Executes each chapter (``book/NN_*.ipynb``) top to bottom in a fresh kernel with ``SEED``
set after its parameters cell, as papermill does, and stores per chapter and seed: the
wall time, the first error (if any), and every value the chapter glued, among them its
checks' outcomes (``chN_checks``), and where and on what it ran: the CPU model, core
count, Python, torch and numpy versions, the git commit and hashes of the chapter's code and
of the package (``chapter_runs.machine``, ``code_version``). With ``--stored-here`` it also
records that the chapters' stored outputs (seed 0) were made on this machine, with the code
they ran. Checks are reported one by one
(:class:`mnist1d.notebook.Checks`), so a failing claim does not hide the others, and
execution continues past it. Results are merged into ``--out``, so chapters can be run
separately. The book's own stored run is seed 0; the reproduction report
(``book/reproduction.ipynb``) reads both.

It costs one execution of the book per seed (about 20 minutes on the course's 2-core CPU),
so it is not part of CI.
"""
import argparse
import json
from pathlib import Path

import nbformat

from chapter_runs import ROOT, chapters, code_version, machine, run, save_atomic, summary


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--chapters", nargs="+", default=None, help="chapter numbers, e.g. 02 05 (default: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "robustness.json")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    ap.add_argument("--keep", type=Path, default=None, help="folder for the executed notebooks")
    ap.add_argument("--stored-here", action="store_true",
                    help="also record that the chapters' stored outputs (seed 0) were executed on this machine")
    args = ap.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.setdefault("chapters", {})
    for path in chapters(args.chapters):
        key = f"ch{int(path.name[:2])}"
        if args.stored_here:
            results.setdefault("stored", {})[key] = {"machine": machine(), "code": code_version(path)}
        for seed in args.seeds:
            record, nb = run(path, "benchmarks/robustness.py", args.timeout, SEED=seed)
            record["machine"], record["code"] = machine(), code_version(path)
            results["chapters"].setdefault(key, {})[str(seed)] = record
            print(f"{path.name} SEED={seed}: {summary(path, record)}", flush=True)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, args.keep / f"{path.stem}_seed{seed}.ipynb")
            save_atomic(results, args.out)


if __name__ == "__main__":
    main()
