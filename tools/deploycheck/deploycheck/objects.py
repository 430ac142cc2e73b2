"""Schema validation of every Kubernetes object under deploy/kubernetes.

Objects are validated where they are written (each resource file, not the patch files,
which hold partial objects) and, for overlays, as rendered: an overlay's patches can
break an object that was valid in its base.
"""

from __future__ import annotations

from . import crd_schema, k8s_schema, kustomize
from .report import Report
from .tree import Tree


def validate_object(obj, where: str, report: Report) -> None:
    if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
        report.fail(f"{where}: a document without apiVersion/kind")
        return
    label = f"{where}: {obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
    if crd_schema.handles(obj):
        crd_schema.validate(obj, label, report)
    else:
        k8s_schema.validate(obj, label, report)


def resource_files(tree: Tree) -> list:
    patches = kustomize.patch_files(tree)
    files = set()
    for pattern in ("*.yaml", "*.yml"):
        files.update(tree.kubernetes.rglob(pattern))
    return sorted(p for p in files if p.name != "kustomization.yaml" and p not in patches)


def is_overlay(tree: Tree, kdir) -> bool:
    """A kustomization that builds on another (a directory resource or a component)."""
    k = tree.docs(kdir / "kustomization.yaml")[0]
    if k.get("components"):
        return True
    return any((kdir / r).is_dir() for r in k.get("resources") or [] if isinstance(r, str))


def check(tree: Tree, report: Report, rendered: list) -> None:
    for path in resource_files(tree):
        if path not in tree.yaml_docs:
            continue  # its parse failure is already counted
        for obj in tree.docs(path):
            validate_object(obj, tree.rel(path), report)
    for r in rendered:
        if r.kind == "Kustomization" and is_overlay(tree, r.directory):
            for obj in r.objects:
                validate_object(obj, f"{tree.rel(r.directory)} (rendered)", report)
