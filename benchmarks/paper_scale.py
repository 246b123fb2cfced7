"""Every chapter at the paper's scale (or the course's) on whatever device is present.

    python benchmarks/paper_scale.py [--scale paper|course] [--chapters 02 05]
                                     [--out benchmarks/results/device_runs.json]

Executes each chapter top to bottom with ``SCALE`` injected after its parameters cell
(the chapters pick CUDA themselves when it is present) and stores, per device, scale and
chapter: the wall time, the checks' outcomes and the first error. Results merge into
``--out`` (written atomically after every chapter), so a run cut short keeps what it
finished. The instructors page (``book/instructors.ipynb``) shows these times beside the
CPU times of the book's own runs, and says "not measured" where there is no record.

The paper presets are sized to fit 10 minutes per chapter on one modern GPU; on the
course's 2-core CPU they take hours (chapters 4 and 5 most), so this is not part of CI.
"""
import argparse
import json
import platform
from pathlib import Path

import torch

from chapter_runs import ROOT, chapters, run, save_atomic, summary


def device_name():
    """The GPU's name when CUDA is present (what the chapters train on), else the CPU's."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"CPU ({platform.machine()}, {torch.get_num_threads()} threads)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=("paper", "course"), default="paper")
    ap.add_argument("--chapters", nargs="+", default=None, help="chapter numbers, e.g. 02 05 (default: all)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "device_runs.json")
    ap.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = ap.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    device = device_name()
    kind = "gpu" if torch.cuda.is_available() else "cpu"
    for path in chapters(args.chapters):
        record, _ = run(path, "benchmarks/paper_scale.py", args.timeout, SCALE=args.scale)
        key = f"ch{int(path.name[:2])}"
        record = {"seconds": record["seconds"], "error": record["error"], "device": device,
                  "torch": torch.__version__, "checks": record["glued"].get(f"{key}_checks", {})}
        results.setdefault(kind, {}).setdefault(args.scale, {})[key] = record
        print(f"{path.name} SCALE={args.scale} on {device}: "
              f"{summary(path, dict(record, glued={f'{key}_checks': record['checks']}))}", flush=True)
        save_atomic(results, args.out)


if __name__ == "__main__":
    main()
