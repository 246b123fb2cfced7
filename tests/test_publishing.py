"""What a maintainer publishes: workflows locked down, the release refusing a wrong tag, and
the citation, changelog, licenses and footer agreeing. actionlint, zizmor and cffconvert run
in .ci/lint-publish; these are the project's own rules that those tools do not know."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import mnist1d

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def load(path):
    return yaml.safe_load(path.read_text())


def test_the_three_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["book.yml", "ci.yml", "release.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_a_commit_with_the_tag_beside_it(path):
    uses = re.findall(r"uses: (\S+)(.*)", path.read_text())
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), (action, comment)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_permission_unless_a_job_asks_for_it(path):
    wf = load(path)
    assert wf["permissions"] == {}
    for name, job in wf["jobs"].items():
        assert "permissions" in job, name
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


def test_only_the_publish_job_gets_an_identity_token():
    jobs = {(p.name, n): j for p in WORKFLOWS for n, j in load(p)["jobs"].items()}
    with_token = sorted(k for k, j in jobs.items() if j["permissions"].get("id-token") == "write")
    assert with_token == [("book.yml", "deploy"), ("release.yml", "publish")]
    publish = jobs["release.yml", "publish"]
    assert publish["environment"]["name"] == "pypi"
    assert not any("password" in s.get("with", {}) for s in publish["steps"])  # no token


def test_the_matrix_is_every_python_the_package_claims():
    pyproject = (ROOT / "pyproject.toml").read_text()
    claimed = re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject)
    assert 'requires-python = ">=' + claimed[0] + '"' in pyproject
    matrix = load(ROOT / ".github/workflows/ci.yml")["jobs"]["package"]["strategy"]["matrix"]
    assert matrix["python"] == claimed


def release_tag(tag):
    return subprocess.run(["bash", ".ci/release-tag", tag], cwd=ROOT, capture_output=True, text=True)


def test_the_release_refuses_a_tag_that_is_not_the_version():
    assert release_tag(f"v{mnist1d.__version__}").returncode == 0
    wrong = release_tag(f"v{mnist1d.__version__}1")
    assert wrong.returncode == 1 and "is not v" in wrong.stderr


def test_citation_and_changelog_name_the_version():
    cff = load(ROOT / "CITATION.cff")
    assert cff["version"] == mnist1d.__version__
    (paper,) = cff["references"]
    assert paper["title"] == "Scaling Down Deep Learning with MNIST-1D"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{mnist1d.__version__}]" in changelog


def test_the_landing_page_cites_what_citation_cff_says():
    cff = load(ROOT / "CITATION.cff")
    (paper,) = cff["references"]
    intro = (ROOT / "book/intro.md").read_text().split("## How to cite")[1]
    assert f"version = {{{cff['version']}}}" in intro
    assert cff["repository-code"] in intro
    assert f"pages     = {{{paper['start']}--{paper['end']}}}" in intro
    assert f"volume    = {{{paper['volume']}}}" in intro and "2011.14439" in intro


def test_the_licenses_are_where_they_are_stated():
    assert "Apache License" in (ROOT / "LICENSE").read_text()[:200]
    assert "Attribution 4.0 International" in (ROOT / "LICENSE-CC-BY-4.0").read_text()[:100]
    assert "tests/data/mnist1d_data.pkl" in (ROOT / "NOTICE").read_text()
    footer = load(ROOT / "_config.yml")["html"]["extra_footer"]
    assert "CC BY 4.0" in footer and "Apache-2.0" in footer
