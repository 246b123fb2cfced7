"""The package's three floors (CONTRIBUTING.md, "Layout"), held by its import graph.

The library (`mnist1d.data`, `models`, `train`, ...) at the bottom, `mnist1d.experiments`
above it, the course's machinery (`mnist1d.course`) at the top. Imports point down only:
the library imports neither floor above it, the experiments do not import the course; no
import cycles, counting the imports inside functions (an import moved into a function to
break a cycle still is one); no `_private` name crosses a module, in the package or in a
chapter; no function body longer than 60 lines.
"""
import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "mnist1d"
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def module_name(path, package=PACKAGE):
    """`mnist1d/course/grading/grader.py` -> "mnist1d.course.grading.grader"."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package=PACKAGE):
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def imports(name, path, known):
    """The package's modules that module `name` imports, anywhere in its body.

    `from . import models` names a module; `from .data import make_dataset` names `.data`.
    """
    is_package = path.name == "__init__.py"
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # mnist1d.train.train -> mnist1d.train
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph(package=PACKAGE):
    known = modules(package)
    return {name: imports(name, path, known) for name, path in known.items()}


def floor(name):
    """0: the library, 1: the experiments, 2: the course's machinery."""
    for level, prefix in ((2, "mnist1d.course"), (1, "mnist1d.experiments")):
        if name == prefix or name.startswith(prefix + "."):
            return level
    return 0


def upward_imports(g):
    """(importer, imported) pairs where a lower floor imports a higher one."""
    return sorted((a, b) for a, targets in g.items() for b in targets if floor(b) > floor(a))


def cycles(g):
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return groups


def private_imports(source):
    """The `_names` that `from X import ...` statements in ``source`` import."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            found += [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def private_attributes(source, modules):
    """`module._name` uses in ``source``, where `module` is one of ``modules`` (names bound
    to the package's modules)."""
    return [f"{n.value.id}.{n.attr}" for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules
            and n.attr.startswith("_") and not n.attr.startswith("__")]


def long_functions(source, limit=60):
    """(name, body lines) of every function whose body, docstring left out, is over ``limit``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            if body and body[-1].end_lineno - body[0].lineno + 1 > limit:
                out.append((node.name, body[-1].end_lineno - body[0].lineno + 1))
    return out


def chapter_code(path):
    nb = json.loads(path.read_text())
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    # IPython magics are not Python
    return "\n".join(re.sub(r"^\s*[%!].*$", "", c, flags=re.M) for c in code)


def test_the_floors_import_only_downwards():
    g = graph()
    assert {floor(m) for m in g} == {0, 1, 2}, "three floors"
    assert not upward_imports(g)


def test_no_import_cycles():
    assert not cycles(graph())


def test_no_private_name_crosses_a_module():
    crossing = {str(p.relative_to(PACKAGE)): private_imports(p.read_text()) for p in PACKAGE.rglob("*.py")}
    assert not {k: v for k, v in crossing.items() if v}


def test_no_private_module_attribute_is_used_across_modules():
    """`data._transform` from another module (or `act._loss_and_grads`)."""
    found = {}
    for p in PACKAGE.rglob("*.py"):
        source = p.read_text()
        if hits := private_attributes(source, package_names(source)):
            found[str(p.relative_to(PACKAGE))] = hits
    assert not found


def package_names(source):
    """The names ``source`` binds to what it imports from the package (`from . import data`,
    `from ..models import build`, `import mnist1d.train as train_mod`)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("mnist1d")):
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("mnist1d")}
    return names


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name[:2])
def test_chapters_use_public_names_only(path):
    source = chapter_code(path)
    assert not private_imports(source), path.name
    assert not private_attributes(source, package_names(source)), path.name


def test_no_function_body_over_60_lines():
    found = {}
    for folder in (PACKAGE, ROOT / "benchmarks"):
        for p in folder.rglob("*.py"):
            if hits := long_functions(p.read_text()):
                found[str(p.relative_to(ROOT))] = hits
    assert not found


# The checks see what they should: each fails on a small example of what it forbids.
def test_the_checks_see_what_they_forbid(tmp_path):
    assert private_imports("from ..train import TrainConfig, _batches\n") == ["_batches"]
    assert private_imports("from .models import (\n    build,\n    _generators,\n)\n") == ["_generators"]
    assert private_imports("from __future__ import annotations\nimport os\n") == []
    source = "from mnist1d import data\nimport os\ndata._transform(x)\nos._exit(0)\n"
    assert private_attributes(source, package_names(source)) == ["data._transform"]
    assert long_functions("def f():\n    '''doc'''\n" + "    x = 1\n" * 61) == [("f", 61)]
    assert long_functions("def f():\n    '''doc'''\n" + "    x = 1\n" * 60) == []
    pkg = tmp_path / "mnist1d"
    for rel, text in {"__init__.py": "", "data.py": "def f():\n    from .course import book\n",
                      "course/__init__.py": "", "course/book.py": "from ..course import plain\n",
                      "course/plain.py": "from . import book\n", "experiments/__init__.py": ""}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    g = graph(pkg)
    assert upward_imports(g) == [("mnist1d.data", "mnist1d.course.book")]
    assert cycles(g) == [["mnist1d.course.book", "mnist1d.course.plain"]]


def test_the_style_guide_maps_every_module():
    """CONTRIBUTING.md's tree names every module of the library and the course, and nothing else."""
    tree = (ROOT / "CONTRIBUTING.md").read_text().split("```")[1]
    listed = set(re.findall(r"\b\w+\.(?:py|json)\b", tree))
    here = {p.name for folder in (PACKAGE, PACKAGE / "course") for p in folder.iterdir()
            if p.suffix in (".py", ".json") and p.name != "__init__.py"}
    assert listed == here, f"missing: {here - listed}, gone: {listed - here}"
    assert {"experiments/", "course/", "grading/"} <= set(re.findall(r"\b\w+/", tree))
