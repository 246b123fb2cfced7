"""The gradebook the instructors page shows: every chapter's reference solutions and its
untouched student stubs, graded the way an instructor grades a class.

    python benchmarks/example_gradebook.py [--out benchmarks/results/gradebooks]

For each chapter: `python -m mnist1d.course.notebooks book/ TMP --instructor --grading`, a
submissions folder holding `reference.ipynb` (the instructor notebook) and `stub.ipynb`
(the student notebook as handed out), then `python -m mnist1d.course.grading` on it, which runs
each submission top to bottom. Writes OUT/<chapter>.csv, the command's own output. Takes
about twice the chapters' run time (each chapter runs twice).
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gradebooks")
    ap.add_argument("--chapters", nargs="*", help="chapter file names (default: all)")
    ap.add_argument("--answers", type=Path, help="also keep the answers here, per chapter")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "mnist1d.course.notebooks", str(ROOT / "book"), str(tmp),
                        "--instructor", "--grading"], check=True, stdout=subprocess.DEVNULL)
        for student in sorted((tmp / "student").glob("*.ipynb")):
            if args.chapters and student.name not in args.chapters:
                continue
            sub = tmp / "submissions" / student.stem
            sub.mkdir(parents=True)
            shutil.copy(tmp / "instructor" / student.name, sub / "reference.ipynb")
            shutil.copy(student, sub / "stub.ipynb")
            start = time.perf_counter()
            keep = ["--answers", str(args.answers / student.stem)] if args.answers else []
            subprocess.run([sys.executable, "-m", "mnist1d.course.grading", str(tmp / "grading" / student.stem),
                            str(sub), "-o", str(args.out / f"{student.stem}.csv")] + keep, check=True, cwd=ROOT)
            print(f"{student.name}: graded 2 submissions in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
