"""The reproduction report, the robustness run's stored results, and the chapters' checks."""
import json
import math
from pathlib import Path

import nbformat
import pytest

from mnist1d.notebook import Checks
from mnist1d.course.book import glued
from mnist1d.course.reproduction import CLAIMS, CLAIMS_FILE, load_claims, load_runs, number, report_markdown, report_rows, verdicts

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
RESULTS = ROOT / "benchmarks" / "results" / "robustness.json"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
PREFIXES = [f"ch{int(p.name[:2])}" for p in CHAPTERS]


def record_output(name, text):
    return nbformat.v4.new_output("display_data", data={"application/papermill.record/text/plain": text},
                                  metadata={"scrapbook": {"name": name, "mime_prefix": "application/papermill.record/"}})


def test_glued_reads_values_back():
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [record_output("a", "'93.7%'"), record_output("b", "{'x': True, 'y': False}"),
                    record_output("c", "not python")]
    nb = nbformat.v4.new_notebook(cells=[cell])
    assert glued(nb) == {"a": "93.7%", "b": {"x": True, "y": False}, "c": "not python"}


@pytest.mark.parametrize("value, expected", [("93.7%", 93.7), ("+3.9", 3.9), ("-2.0", -2.0), (47, 47.0),
                                             ("1,000", 1000.0), ("h = 61", 61.0)])
def test_number(value, expected):
    assert number(value) == expected


def test_number_of_text_without_digits_is_nan():
    assert math.isnan(number("swish"))


def test_checks_report_every_claim_then_raise(capsys):
    checks = Checks("chX")
    assert checks("holds", 1 < 2, "detail") is True
    assert checks("fails", 2 < 1) is False
    with pytest.raises(AssertionError, match="1 of 2 checks failed: \\['fails'\\]"):
        checks.done()
    out = capsys.readouterr().out
    assert "pass  holds  [detail]" in out and "FAIL  fails" in out


def test_checks_refuse_a_repeated_name():
    checks = Checks("chX")
    checks("a", True)
    with pytest.raises(ValueError, match="name must be unique"):
        checks("a", True)


def synthetic_runs():
    return {"ch2": {0: {"ch2_cnn_default": "93.7%", "ch2_checks": {"CNN beats the MLP by 15 points": True}},
                    1: {"ch2_cnn_default": "92.7%", "ch2_checks": {"CNN beats the MLP by 15 points": False}},
                    2: {"error": "RuntimeError: boom"}}}


def test_report_rows_mean_range_and_verdicts():
    rows = {r["claim"].key: r for r in report_rows(synthetic_runs())}
    cnn = rows["ch2_cnn_default"]
    assert cnn["values"] == {0: 93.7, 1: 92.7}
    assert cnn["mean"] == pytest.approx(93.2) and cnn["lo"] == 92.7 and cnn["hi"] == 93.7
    assert cnn["diff"] == pytest.approx(93.2 - 94) and cnn["held"] == "1/2"
    v = verdicts(synthetic_runs())
    assert v["ch2", 0] == "pass" and v["ch2", 1].startswith("FAIL: CNN beats")
    assert v["ch2", 2] == "error: RuntimeError: boom"


def test_every_claim_reads_a_value_the_chapter_glues():
    runs = load_runs(BOOK, RESULTS)
    for c in CLAIMS:
        assert c.key in runs[c.chapter][0], f"{c.chapter} glues no {c.key!r}"
        assert not math.isnan(number(runs[c.chapter][0][c.key])), (c.key, runs[c.chapter][0][c.key])


def test_every_claim_names_a_check_the_chapter_has():
    runs = load_runs(BOOK, RESULTS)
    for c in CLAIMS:
        if c.check is not None:
            assert c.check in runs[c.chapter][0][f"{c.chapter}_checks"], f"{c.chapter} has no check {c.check!r}"


def test_every_chapter_records_its_checks_and_they_pass():
    runs = load_runs(BOOK, RESULTS)
    for prefix in PREFIXES:
        checks = runs[prefix][0].get(f"{prefix}_checks")
        assert isinstance(checks, dict) and checks, f"{prefix}: no checks recorded (Checks.done() glues them)"
        assert all(checks.values()), (prefix, checks)


def test_robustness_run_covers_every_chapter_with_two_other_seeds_and_passes():
    """The stored robustness results: every chapter, at least two seeds besides 0, all checks passing.

    They come from ``benchmarks/robustness.py`` (not run in CI: it costs two books). A chapter
    whose checks change must be run again: its stored checks must be the chapter's checks now.
    """
    stored = json.loads(RESULTS.read_text())["chapters"]
    runs = load_runs(BOOK, RESULTS)
    v = verdicts(runs)
    for prefix in PREFIXES:
        seeds = sorted(int(s) for s in stored.get(prefix, {}))
        assert len([s for s in seeds if s != 0]) >= 2, f"{prefix}: robustness run has seeds {seeds}"
        current = set(runs[prefix][0][f"{prefix}_checks"])
        for s in seeds:
            assert v[prefix, s] == "pass", (prefix, s, v[prefix, s])
            assert set(runs[prefix][s][f"{prefix}_checks"]) == current, \
                f"{prefix} seed {s}: stored checks differ from the chapter's; rerun benchmarks/robustness.py"


def test_report_page_is_current():
    """book/reproduction.ipynb shows the table that the chapters and the stored run give now."""
    page = BOOK / "reproduction.ipynb"
    shown = ["".join(o["data"]["text/markdown"]) if isinstance(o["data"]["text/markdown"], list)
             else o["data"]["text/markdown"]
             for c in json.loads(page.read_text())["cells"] if c["cell_type"] == "code"
             for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    table = report_markdown(load_runs(BOOK, RESULTS))
    assert any(table in s for s in shown), "re-execute book/reproduction.ipynb"


def test_every_run_names_its_machine_and_the_code_it_ran():
    """Each robustness run and the chapters' stored run (seed 0) record the CPU, core count,
    Python and torch versions, the commit, and a hash of the chapter's code cells, which is
    the chapter's code now: a chapter re-executed with other code needs its seeds re-run."""
    import sys
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from chapter_runs import notebook_code_hash

    stored = json.loads(RESULTS.read_text())
    for path, prefix in zip(CHAPTERS, PREFIXES):
        records = {"0 (stored)": stored.get("stored", {}).get(prefix)}
        records.update(stored["chapters"].get(prefix, {}))
        for seed, record in records.items():
            assert record, f"{prefix} seed {seed}: no record of where it ran"
            m, code = record.get("machine"), record.get("code") or {}
            assert isinstance(m, dict) and all(m.get(k) for k in ("cpu", "cores", "python", "torch")), (prefix, seed, m)
            assert code.get("commit") and code.get("package"), (prefix, seed, code)
            assert code.get("notebook") == notebook_code_hash(path), \
                f"{prefix} seed {seed} ran other code than the chapter has now: rerun benchmarks/robustness.py"


def test_every_row_is_asserted_or_says_why_not():
    """A claim without a check says on the page why it has none (issue 31)."""
    for c in CLAIMS:
        assert (c.check is None) != (c.unasserted is None), c.key
        assert c.check or len(c.unasserted) > 20, c.key


def test_claims_are_a_data_file_shipped_with_the_package():
    """claims.json, readable without Python (and without tomllib): one object per row."""
    rows = json.loads(CLAIMS_FILE.read_text())
    assert [r["key"] for r in rows] == [c.key for c in CLAIMS] and len(rows) == 48
    assert all(set(r) == {"chapter", "what", "key", "paper", "paper_text", "source", "check", "unasserted", "digits"}
               for r in rows)


@pytest.mark.parametrize("edit, match", [
    (lambda r: r.update(check=None), "either a check or a reason"),
    (lambda r: r.update(unasserted="both a check and a reason for having none"), "either a check or a reason"),
    (lambda r: r.update(typo=1), "unexpected keyword"),
    (lambda r: r.pop("key"), "missing"),
])
def test_a_malformed_claims_row_is_refused_by_name(tmp_path, edit, match):
    rows = json.loads(CLAIMS_FILE.read_text())
    edit(rows[3])
    (tmp_path / "claims.json").write_text(json.dumps(rows))
    with pytest.raises(ValueError, match=match) as info:
        load_claims(tmp_path / "claims.json")
    assert "row 3" in str(info.value)
