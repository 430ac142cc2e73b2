"""Built-in Kubernetes kinds against the OpenAPI schemas bundled in `kubernetes-validate`.

Strict (an unknown field is an error), for the oldest and newest Kubernetes minor
versions the manifests support.
"""

from __future__ import annotations

import kubernetes_validate

from .report import Report

# kubernetes-validate ships schemas for 1.25 and later.
VERSIONS = ("1.30.0", "1.37.0")


def validate(obj: dict, label: str, report: Report, versions=VERSIONS) -> None:
    for version in versions:
        name = f"k8s {version} schema {label}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.utils.ValidationError as e:
            report.fail(name, f"{'/'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.utils.SchemaNotFoundError:
            report.fail(name, "no schema for this apiVersion/kind")
        else:
            report.ok(name)
