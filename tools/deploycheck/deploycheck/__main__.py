"""python -m deploycheck [--root DIR]: check deploy/ and print one line per check.

The last line is `N passed, N failed` (CI reads it); the exit status is 1 on any failure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import compose, consistency, dockerfile, kustomize, objects, systemd, yamlfiles
from .report import Report
from .tree import Tree

DEFAULT_ROOT = Path(__file__).resolve().parents[3]


def run(root: Path, report: Report, kubectl: str | None) -> None:
    tree = Tree(root)
    yamlfiles.check(tree, report)
    rendered = kustomize.check(tree, report, kubectl)
    objects.check(tree, report, rendered)
    for r in rendered:
        if r.kind == "Kustomization":
            consistency.check(tree, report, tree.rel(r.directory), r.objects)
    systemd.check(tree, report)
    compose.check(tree, report)
    dockerfile.check(tree, report)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploycheck", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=DEFAULT_ROOT, help="repository root (default: %(default)s)"
    )
    parser.add_argument(
        "--kubectl", help="kubectl to render kustomizations with (default: venv's, then PATH's)"
    )
    args = parser.parse_args(argv)
    report = Report()
    start = time.monotonic()
    try:
        run(args.root.resolve(), report, args.kubectl or kustomize.find_kubectl())
    except Exception as e:  # a crash is a failure, and the summary line must still come
        report.fail("deploycheck stopped early", f"{type(e).__name__}: {e}")
    if report.skipped:
        print(f"{report.skipped} skipped")
    print(f"took {time.monotonic() - start:.1f}s")
    print(report.summary(), flush=True)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
