"""The book's structure: the table of contents, stored outputs, install cells, chapter contract."""
import json
import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

import mnist1d

from mnist1d.course.book import CHAPTER_GLOB
from mnist1d.course.overview import chapter_overview, load_device_runs, overview_markdown
from mnist1d.notebook import without_docstrings

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
VERSION = mnist1d.__version__  # the one place the version is set (pyproject.toml reads it)


def toc_files(node=TOC):
    files = [node["root"]] if "root" in node else []
    for key in ("chapters", "sections", "parts"):
        for child in node.get(key, []):
            if "file" in child:
                files.append(child["file"])
            files += toc_files(child)
    return files


def resolve(entry):
    for suffix in (".ipynb", ".md"):
        if (ROOT / f"{entry}{suffix}").exists():
            return ROOT / f"{entry}{suffix}"
    return None


NOTEBOOKS = [resolve(f) for f in toc_files() if resolve(f) and resolve(f).suffix == ".ipynb"]
CHAPTERS = [p for p in NOTEBOOKS if p.match(CHAPTER_GLOB)]  # the rest (instructors) are pages
BUDGET_S = {"05_double_descent.ipynb": 240}  # DESIGN.md: 3 minutes a chapter, double descent 4


def code_cells(path):
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def source(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_every_toc_entry_exists():
    missing = [f for f in toc_files() if resolve(f) is None]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_notebook_is_in_the_toc():
    listed = {p.resolve() for p in NOTEBOOKS}
    stray = [p for p in (ROOT / "book").glob("*.ipynb") if p.resolve() not in listed]
    assert not stray, f"notebooks that nbval and the book would miss: {stray}"


def test_there_are_chapters():
    assert CHAPTERS, "the table of contents lists no notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_all_code_cells_executed_without_errors(path):
    cells = code_cells(path)
    unrun = [i for i, c in enumerate(cells) if c.get("execution_count") is None]
    assert not unrun, f"{path.name}: code cells {unrun} have no stored run (a stripped notebook?)"
    counts = [c["execution_count"] for c in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name}: not run top to bottom in one kernel"
    errors = [i for i, c in enumerate(cells) for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{path.name}: stored errors in code cells {errors}"


INSTALL = re.compile(r'"(mnist1d-course[^"]*)"')


def install_requirement(path):
    """The requirement a chapter's install cell passes to pip, as a packaging Requirement."""
    found = INSTALL.findall(source(code_cells(path)[0]))
    assert len(found) == 1, f"{path.name}: the first code cell must install mnist1d-course once, found {found}"
    return Requirement(found[0])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_install_cell_installs_this_release_and_runs_only_on_colab(path):
    req = install_requirement(path)
    assert req.name == "mnist1d-course" and req.url is None, f"{path.name}: install the release by name, not {req}"
    assert str(req.specifier) == f"=={VERSION}", f"{path.name}: pin the book's version {VERSION}, not {req}"
    assert req.specifier.contains(VERSION)
    first = source(code_cells(path)[0])
    assert 'if "google.colab" in sys.modules:' in first
    body = first.split('if "google.colab" in sys.modules:')[1]
    assert all(line.startswith("    ") or not line.strip() for line in body.splitlines()[1:]), \
        "everything after the Colab check must be inside it"
    assert "raise SystemExit(" in body, f"{path.name}: a failed install must end in one clear message"
    for bad in ("git clone", "git+", "sys.path", "drive.mount"):
        assert all(bad not in source(c) for c in code_cells(path)), f"{path.name} uses {bad!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_plumbing_is_tagged_not_shown(path):
    """nbval's markers are cell tags, not comments a reader sees; the install and timing cells
    stay in the notebook (Colab needs the first, the instructors page reads the last) but
    are removed from the page."""
    cells = code_cells(path)
    shown = [i for i, c in enumerate(cells) if "NBVAL_" in source(c)]
    assert not shown, f"{path.name}: nbval comment markers in code cells {shown}; use nbval-* tags"
    for cell in (cells[0], cells[-1]):
        assert "remove-cell" in cell.get("metadata", {}).get("tags", []), f"{path.name}: {source(cell)[:60]!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_contract(path):
    cells = code_cells(path)
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and re.search(r'^SCALE = "course"', source(params[0]), re.M)
    assert re.search(r"^SEED = 0\b", source(params[0]), re.M), f"{path.name}: the parameters cell sets no SEED = 0"
    checks = [c for c in cells if re.search(r"^checks = Checks\(", source(c), re.M)]
    assert len(checks) == 1 and "checks.done()" in source(checks[0]), f"{path.name}: no check cell"
    prefix = f"ch{int(path.name[:2])}"
    assert f'Checks("{prefix}")' in source(checks[0]), f"{path.name}: its checks must be glued as {prefix}_checks"
    text = "\n".join(source(c) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: ([\w-]+)", text)
    assert labels, f"{path.name}: no exercises"
    for label in labels:
        assert f"solution-start}} {label}" in text or f"{{solution}} {label}" in text, \
            f"{path.name}: exercise {label} has no solution"


def test_colab_launch_is_configured():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["repository"]["url"].startswith("https://github.com/")


def test_stored_runs_fit_the_budget():
    """Each chapter's stored run (its last cell prints the time) fits DESIGN.md's budget."""
    chapters = chapter_overview(ROOT / "book")
    assert [c.file for c in chapters] == [p.name for p in CHAPTERS]
    for c in chapters:
        assert c.seconds is not None, f"{c.file}: its last cell must print 'chapter ran in N s'"
        assert c.seconds <= BUDGET_S.get(c.file, 180), f"{c.file}: stored run took {c.seconds} s"


def test_instructors_page_shows_the_current_overview():
    """The instructors page's table is what the chapters say now: re-run it after a chapter."""
    page = ROOT / "book" / "instructors.ipynb"
    shown = [o["data"]["text/markdown"] for c in code_cells(page) for o in c["outputs"]
             if "text/markdown" in o.get("data", {})]
    table = overview_markdown(chapter_overview(ROOT / "book"),
                              load_device_runs(ROOT / "benchmarks" / "results" / "device_runs.json"))
    assert any(source({"source": s}) == table for s in shown), "re-execute book/instructors.ipynb"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_shown_source_is_the_current_source(path):
    """Each show_source(...) output is the package's code as it is now: re-execute the
    chapter after changing a function it shows."""
    import inspect

    cells = code_cells(path)
    imports = "\n".join(ln for c in cells for ln in source(c).splitlines()
                        if re.match(r"^(from mnist1d\S* import|import mnist1d)", ln))
    names = {}
    exec(imports, names)
    shown = 0
    for c in cells:
        for call in re.findall(r"show_source\(([^)]*)\)", source(c)):
            want = "\n\n".join(without_docstrings(inspect.getsource(eval(e.strip(), names))).rstrip()
                                 for e in call.split(","))
            stored = [o["data"]["text/markdown"] for o in c["outputs"] if "text/markdown" in o.get("data", {})]
            stored = ["".join(s) if isinstance(s, list) else s for s in stored]
            assert f"```python\n{want}\n```" in stored, f"{path.name}: show_source({call}) is stale"
            shown += 1
    assert shown, f"{path.name} shows no package source"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_glue_calls_are_not_on_the_page(path):
    """glue(...) carries numbers into the prose; it is bookkeeping, so it lives in cells the
    page removes (tag remove-cell), never in the code a reader studies."""
    shown = [i for i, c in enumerate(code_cells(path)) if "glue(" in source(c)
             and "remove-cell" not in c.get("metadata", {}).get("tags", [])]
    assert not shown, f"{path.name}: glue calls in visible code cells {shown}"


# An object's default repr (``<matplotlib.legend.Legend at 0x7fe0...>``) or a bare ``nan``
# in what a chapter printed means a value the reader cannot use.
STRAY_REPR = re.compile(r"<[\w.]+(?: object)? at 0x[0-9a-f]+>")
STRAY_NAN = re.compile(r"(?<![\w.])nan(?![\w])", re.I)
FIG_NAME = re.compile(r"fig-ch(\d+)-[\w-]+")
NUMREF = re.compile(r"\{numref\}`([^`]+)`")


def outputs_text(cell):
    """What a code cell printed or returned, as text (images and widget state left out)."""
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append("".join(o["text"]))
        elif o.get("output_type") in ("execute_result", "display_data", "error"):
            for mime in ("text/plain", "text/markdown"):
                value = o.get("data", {}).get(mime, "")
                value = "".join(value) if isinstance(value, list) else value
                # shown source (show_source's code blocks) may say NaN in a comment
                parts.append(re.sub(r"```.*?```", "", value, flags=re.S))
    return "\n".join(parts)


def figure_cells(path):
    return [c for c in code_cells(path)
            if any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stray_outputs(path):
    """No object reprs and no bare nan on the page: say what a value is, or why there is none."""
    bad = []
    for cell in code_cells(path):
        text = outputs_text(cell)
        bad += STRAY_REPR.findall(text) + [f"nan in: {line.strip()[:80]}" for line in text.splitlines()
                                           if STRAY_NAN.search(line)]
    assert not bad, f"{path.name}: {bad[:5]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_figure_is_numbered_captioned_described_and_cited(path):
    """A figure cell draws one figure, has a name (fig-chN-...), a caption and alt text that
    describes it, and the chapter's prose refers to it by number."""
    n = int(path.name[:2])
    nb = json.loads(path.read_text())
    prose = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    cited = set(NUMREF.findall(prose))
    cells = figure_cells(path)
    assert cells, f"{path.name} has no figure"
    for cell in cells:
        meta = cell["metadata"].get("mystnb", {})
        fig, alt = meta.get("figure", {}), meta.get("image", {}).get("alt", "")
        where = f"{path.name}: figure cell {source(cell)[:50]!r}"
        assert len(cell["outputs"]) == 1, f"{where}: {len(cell['outputs'])} outputs; a figure cell shows only its figure"
        name = FIG_NAME.fullmatch(fig.get("name", ""))
        assert name and int(name[1]) == n, f"{where}: figure name {fig.get('name')!r} is not fig-ch{n}-..."
        assert len(fig.get("caption", "")) >= 30, f"{where}: no caption that says what to look at"
        assert len(alt) >= 40 and not re.search(r"\.png|_images|^\.\./", alt), f"{where}: alt text {alt!r}"
        assert fig["name"] in cited, f"{where}: the prose never refers to {fig['name']} by number"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_are_titled_with_their_grading_id(path):
    """Each exercise has a title that ends with its grading id; the book numbers it N.k."""
    text = "\n".join(source(c) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
    found = re.findall(r"```\{exercise\}([^\n]*)\n:label: ([\w-]+)", text)
    assert found, f"{path.name} has no exercise"
    for title, label in found:
        # the id in brackets: a backtick would end the directive's fence line (CommonMark)
        assert title.strip().endswith(f" [{label}]") and len(title.strip()) > len(label) + 8, (path.name, title)
    assert not re.search(r"\bExercises? \d+\b(?!\.)", text), f"{path.name}: an exercise named by a bare number"


def table_cells(line):
    """A Markdown table row's cells: split on | that is not escaped (\\|), ends trimmed."""
    return re.split(r"(?<!\\)\|", line.strip().strip("|")) if line.strip().startswith("|") else None


def markdown_tables(text):
    """Each Markdown table in ``text``: its lines, header first."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.strip().startswith("|"):
            current.append(line)
        elif current:
            tables.append(current)
            current = []
    return [t for t in tables if len(t) >= 2 and re.fullmatch(r"\|?\s*:?-{3,}.*", t[1].strip())]


def book_markdown():
    """(where, text) for every Markdown text of the book: pages, notebook cells and what cells printed."""
    for page in [resolve(f) for f in toc_files()]:
        if page.suffix == ".md":
            yield page.name, page.read_text()
            continue
        for i, cell in enumerate(json.loads(page.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                yield f"{page.name} cell {i}", source(cell)
            for o in cell.get("outputs", []):
                md = o.get("data", {}).get("text/markdown")
                if md:
                    yield f"{page.name} cell {i} output", "".join(md) if isinstance(md, list) else md


def test_every_table_row_keeps_the_headers_columns():
    """A row with more or fewer cells than its header renders shifted: a | inside a cell
    must be escaped (issue 31: "|pooled - unpooled|" split one row into 8 cells of 6)."""
    checked, bad = 0, []
    for where, text in book_markdown():
        for table in markdown_tables(text):
            width = len(table_cells(table[0]))
            checked += 1
            bad += [f"{where}: {len(table_cells(r))} cells, header {width}: {r[:70]}"
                    for r in table[1:] if len(table_cells(r)) != width]
    assert checked >= 5, "the book's tables were not found"
    assert not bad, "\n".join(bad)


def test_the_table_check_catches_an_unescaped_bar():
    table = "| a | b |\n| --- | --- |\n| x |y| z |\n| \\|x\\| | y |"
    (t,) = markdown_tables(table)
    assert [len(table_cells(r)) for r in t] == [2, 2, 3, 2]
