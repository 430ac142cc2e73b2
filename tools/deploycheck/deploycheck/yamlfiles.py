"""Every YAML file under deploy/ parses (all documents)."""

from __future__ import annotations

import yaml

from .report import Report
from .tree import Tree


def yaml_files(tree: Tree) -> list:
    found = set()
    for pattern in ("*.yaml", "*.yml"):
        found.update(p for p in tree.deploy.rglob(pattern) if p.is_file())
    return sorted(found)


def check(tree: Tree, report: Report) -> None:
    files = yaml_files(tree)
    if not files:
        report.fail(f"YAML files under {tree.rel(tree.deploy)}/", "none found")
        return
    for path in files:
        name = f"yaml parses: {tree.rel(path)}"
        try:
            with path.open(encoding="utf-8") as f:
                tree.yaml_docs[path] = [d for d in yaml.safe_load_all(f) if d is not None]
        except (yaml.YAMLError, UnicodeDecodeError, OSError) as e:
            report.fail(name, e)
        else:
            report.ok(name)
