"""The exercise checks as a Colab student gets them: `grader.check` in a kernel of the
Colab-like environment, with the course and otter-grader installed from the wheel's
`grader` extra and nothing but notebooks in the folder.

    python .ci/colab_grader.py FOLDER

FOLDER holds chapter 1's student notebook (with its checks) and its instructor notebook.
The student's first cells run (install cell, parameters, imports), then the cell that
writes the checks; the first exercise's check must fail on the untouched stub and pass
after the instructor's solution runs in the same kernel.
"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

LABEL = "ex1-transforms"


def code_until(cells, text):
    out = []
    for cell in cells:
        if cell.cell_type == "code":
            out.append(cell)
            if text in cell.source:
                return out
    raise ValueError(f"no code cell holds {text!r}")


def main(folder):
    folder = Path(folder)
    name = "01_building_mnist1d.ipynb"
    student = nbformat.read(folder / "student" / name, as_version=4)
    teacher = nbformat.read(folder / "instructor" / name, as_version=4)
    solution = next(c for c in teacher.cells if "solution" in c.metadata.get("tags", [])
                    and "ex1_transforms" in c.source)
    check = nbformat.v4.new_code_cell(f'grader.check("{LABEL}")')
    stub = next(c for c in student.cells
                if c.source.startswith("# Exercise ") and f"({LABEL})" in c.source.splitlines()[0])
    nb = nbformat.v4.new_notebook()
    nb.cells = code_until(student.cells, "write_checks") + [stub, check, solution, check.copy()]
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(folder / "student")}}).execute()
    shown = ["".join(o.get("data", {}).get("text/plain", "") for o in c.outputs) for c in nb.cells[-3::2]]
    assert "Test case failed" in shown[0] and "All test cases passed" not in shown[0], shown[0]
    assert "All test cases passed" in shown[1], shown[1]
    print(f"grader.check('{LABEL}') on Colab's stack: fails on the stub, passes on the solution")


if __name__ == "__main__":
    main(sys.argv[1])
