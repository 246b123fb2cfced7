"""Generator speed, measured side by side in one run.

    python benchmarks/bench_generator.py

Prints the batch generator's speed-up over the straightforward per-sample loop
(tests/paper_loop.py, same steps, same draws), the fast mode's time and peak memory for
1,000,000 samples, and the time of `import mnist1d`.
"""
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from mnist1d.data import get_dataset_args, get_templates, make_dataset  # noqa: E402
from paper_loop import make_dataset_loop  # noqa: E402


def best_of(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def in_subprocess(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main():
    args = get_dataset_args(as_dict=True)
    loop = best_of(lambda: make_dataset_loop(args, get_templates()), 3)
    batch = best_of(lambda: make_dataset(args), 5)
    print(f"make_dataset() defaults, 5000 samples: per-sample loop {loop:.3f} s, "
          f"batch {batch:.3f} s, speed-up {loop / batch:.1f}x (target >= 10x)")

    fast = in_subprocess(
        "import time, resource; from mnist1d.data import make_dataset; t0 = time.perf_counter(); "
        "make_dataset({'num_samples': 1_000_000}, mode='fast'); t = time.perf_counter() - t0; "
        "print(t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    t, mb = map(float, fast.split())
    print(f"make_dataset(num_samples=1e6, mode='fast'): {t:.2f} s (target < 5 s), "
          f"peak memory {mb:.0f} MB (target < 2048 MB)")
    paper = best_of(lambda: make_dataset({"num_samples": 100_000}), 1)
    fast100 = best_of(lambda: make_dataset({"num_samples": 100_000}, mode="fast"), 1)
    print(f"100,000 samples: paper mode {paper:.2f} s, fast mode {fast100:.2f} s, "
          f"ratio {paper / fast100:.1f}x")

    imp = in_subprocess(
        "import time, sys; t0 = time.perf_counter(); import mnist1d; t = time.perf_counter() - t0; "
        "print(t, *[m for m in ('matplotlib', 'ipywidgets', 'torch') if m in sys.modules])")
    t, *heavy = imp.split()
    print(f"import mnist1d: {float(t):.2f} s (target < 1 s); heavy modules pulled in: {heavy or 'none'}")


if __name__ == "__main__":
    main()
