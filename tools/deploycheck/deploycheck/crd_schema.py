"""Objects of custom resources against JSON Schemas derived from their CRDs.

- KEDA ScaledObject/TriggerAuthentication and Prometheus Operator ServiceMonitor/
  PrometheusRule: the JSON Schema of the pydantic models in the `cloudcoil.models.keda`
  and `cloudcoil.models.prometheus_operator` packages (generated from the upstream
  CRDs), made strict here.
- Strimzi KafkaTopic/KafkaUser: hand-written from Strimzi's CRDs (strimzi_schemas.py),
  since no package ships them.

Strict: pydantic ignores unknown fields and the API server prunes them from a custom
resource without a word, so a misspelt field would silently do nothing. Every object
schema that lists its properties is closed here.
"""

from __future__ import annotations

import functools

import jsonschema

from . import strimzi_schemas
from .report import Report

# API groups whose objects must match a schema here; any other version or kind in these
# groups is an error rather than a fall-through to the Kubernetes schemas.
CRD_GROUPS = {"keda.sh", "monitoring.coreos.com", "kafka.strimzi.io"}


def strict(schema):
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for value in schema.values():
            strict(value)
    elif isinstance(schema, list):
        for value in schema:
            strict(value)
    return schema


@functools.cache
def schemas() -> dict:
    from cloudcoil.models.keda import v1alpha1 as keda
    from cloudcoil.models.prometheus_operator import v1 as promv1

    models = {
        ("keda.sh/v1alpha1", "ScaledObject"): keda.ScaledObject,
        ("keda.sh/v1alpha1", "TriggerAuthentication"): keda.TriggerAuthentication,
        ("monitoring.coreos.com/v1", "ServiceMonitor"): promv1.ServiceMonitor,
        ("monitoring.coreos.com/v1", "PrometheusRule"): promv1.PrometheusRule,
    }
    result = {key: strict(model.model_json_schema(by_alias=True)) for key, model in models.items()}
    result.update(strimzi_schemas.schemas())
    return result


def group_of(api_version: str) -> str:
    return api_version.split("/")[0] if "/" in api_version else ""


def handles(obj: dict) -> bool:
    """True for objects of the CRD groups above (validated here, not as Kubernetes kinds)."""
    return group_of(str(obj.get("apiVersion", ""))) in CRD_GROUPS


def errors(obj: dict) -> list:
    """Schema errors of one object, as 'path: message' lines (KeyError if no schema)."""
    schema = schemas()[(obj.get("apiVersion"), obj.get("kind"))]
    found = sorted(jsonschema.Draft202012Validator(schema).iter_errors(obj), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path)) or '(object)'}: {e.message[:200]}" for e in found]


def validate(obj: dict, label: str, report: Report) -> None:
    name = f"CRD schema {label}"
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in schemas():
        report.fail(name, f"no schema for {key[0]} {key[1]} (known: {sorted(schemas())})")
        return
    problems = errors(obj)
    if problems:
        report.fail(name, "\n".join(problems))
    else:
        report.ok(name)
