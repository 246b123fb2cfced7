"""The package's modules share only public names: no `_private` name is imported across modules."""
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mnist1d"


def private_imports(source):
    """The `_names` that `from X import ...` statements in ``source`` import (parenthesised lists too)."""
    found = []
    for m in re.finditer(r"^\s*from\s+(?!__)\S+\s+import\s+(\([^)]*\)|[^\n]+)", source, re.M):
        names = [x.strip().split(" as ")[0] for x in m[1].strip("()").replace("\n", ",").split(",")]
        found += [x for x in names if x.startswith("_")]
    return found


def test_no_private_name_crosses_a_module():
    crossing = {str(p.relative_to(PACKAGE)): private_imports(p.read_text()) for p in PACKAGE.rglob("*.py")}
    assert not {k: v for k, v in crossing.items() if v}


def test_the_check_sees_private_imports():
    assert private_imports("from ..train import TrainConfig, _batches\n") == ["_batches"]
    assert private_imports("from .models import (\n    build,\n    _generators,\n)\n") == ["_generators"]
    assert private_imports("from __future__ import annotations\nimport os\n") == []
