"""The whole checker: passes on the repository, fails (exit 1) on a broken copy."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import HERE, REPO, edit


def run_cli(root, kubectl):
    return subprocess.run(
        [sys.executable, "-m", "deploycheck", "--root", str(root), "--kubectl", kubectl],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_repository_passes_and_last_line_is_the_summary(kubectl):
    proc = run_cli(REPO, kubectl)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 0, proc.stdout[-3000:]
    m = re.fullmatch(r"(\d+) passed, 0 failed", lines[-1])
    assert m, lines[-1]
    assert int(m.group(1)) >= 120
    assert not any(line.startswith("FAIL") for line in lines)


def test_a_broken_copy_fails_with_exit_1(repo, kubectl):
    edit(repo / "deploy/kubernetes/base/deployment.yaml", lambda d: d["spec"].update(replicas="three"))
    proc = run_cli(repo, kubectl)
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 1
    m = re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1])
    assert m and int(m.group(2)) >= 1, lines[-1]
    assert (
        "FAIL  k8s 1.30.0 schema deploy/kubernetes/base/deployment.yaml: Deployment/retirement-consumer"
        in lines
    )
