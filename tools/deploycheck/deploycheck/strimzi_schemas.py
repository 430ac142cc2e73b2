"""JSON Schemas for Strimzi's KafkaTopic and KafkaUser (API group kafka.strimzi.io).

No PyPI package ships Strimzi's CRD schemas (KEDA and the Prometheus Operator have the
`cloudcoil.models.*` packages, see crd_schema.py), and this repository does not vendor
third-party files. So these schemas are written here by hand from the fields of
Strimzi's CustomResourceDefinitions (`043-Crd-kafkatopic.yaml` and `044-Crd-kafkauser.yaml`
in strimzi/strimzi-kafka-operator, read at release 1.2.0 for `v1` and 0.51.0 for
`v1beta2`). They cover `spec` completely: every field the CRD has, with its type, enum,
minimum/maximum and required-ness; `status` is left out (the operator writes it, a
manifest must not). Like the KEDA and Prometheus schemas, they are strict: an unknown
field is an error (the API server prunes it silently, so a typo would be lost).

Versions: `v1` is served by Strimzi 0.49 and later (the only version from 1.0 on);
`v1beta2` by Strimzi 0.22 to 0.51. Differences used here: in `v1`, `spec` is required, an
ACL rule must list `operations` and the old single `operation` field is gone; `v1`
KafkaUser `tls` authentication has `validityDays`/`renewalDays` (Strimzi 1.x).
"""

from __future__ import annotations

import copy

ACL_OPERATIONS = [
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "AlterConfigs",
    "DescribeConfigs",
    "IdempotentWrite",
    "All",
]
ACL_RESOURCE_TYPES = ["topic", "group", "cluster", "transactionalId"]

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

# metadata is `type: object` in the CRD; the API server checks ObjectMeta. Here: the
# fields a manifest uses, typed, and a name (the Topic and User Operators need one).
_METADATA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
    "required": ["name"],
}


def _closed(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _kafka_topic(version: str) -> dict:
    spec = _closed(
        {
            "topicName": {"type": "string"},
            "partitions": {"type": "integer", "minimum": 1},
            "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
            # x-kubernetes-preserve-unknown-fields in the CRD: any Kafka topic config.
            "config": {
                "type": "object",
                "additionalProperties": {"type": ["string", "integer", "number", "boolean", "array"]},
            },
        }
    )
    return _closed(
        {
            "apiVersion": {"const": f"kafka.strimzi.io/{version}"},
            "kind": {"const": "KafkaTopic"},
            "metadata": _METADATA,
            "spec": spec,
        },
        required=["apiVersion", "kind", "metadata", "spec"]
        if version == "v1"
        else ["apiVersion", "kind", "metadata"],
    )


def _kafka_user(version: str) -> dict:
    secret_key_ref = _closed(
        {"key": {"type": "string"}, "name": {"type": "string"}, "optional": {"type": "boolean"}}
    )
    auth_props = {
        "type": {"enum": ["tls", "tls-external", "scram-sha-512"]},
        "password": _closed({"valueFrom": _closed({"secretKeyRef": secret_key_ref})}, required=["valueFrom"]),
    }
    if version == "v1":
        auth_props["validityDays"] = {"type": "integer", "minimum": 1}
        auth_props["renewalDays"] = {"type": "integer", "minimum": 1}
    resource = _closed(
        {
            "type": {"enum": ACL_RESOURCE_TYPES},
            "name": {"type": "string"},
            "patternType": {"enum": ["literal", "prefix"]},
        },
        required=["type"],
    )
    # This checker's own rule, not the CRD's: a topic, group or transactionalId ACL
    # without a name matches nothing useful (the cluster resource has no name).
    resource["if"] = {"properties": {"type": {"enum": ["topic", "group", "transactionalId"]}}}
    resource["then"] = {"required": ["type", "name"]}
    rule_props = {
        "type": {"enum": ["allow", "deny"]},
        "resource": resource,
        "host": {"type": "string"},
        # minItems: this checker's rule (an empty list grants nothing).
        "operations": {"type": "array", "items": {"enum": ACL_OPERATIONS}, "minItems": 1},
    }
    if version == "v1beta2":
        rule_props["operation"] = {"enum": ACL_OPERATIONS}
    rule = _closed(rule_props, required=["resource", "operations"] if version == "v1" else ["resource"])
    authorization = _closed(
        {"type": {"enum": ["simple"]}, "acls": {"type": "array", "items": rule}}, required=["acls", "type"]
    )
    quotas = _closed(
        {
            "producerByteRate": {"type": "integer", "minimum": 0},
            "consumerByteRate": {"type": "integer", "minimum": 0},
            "requestPercentage": {"type": "integer", "minimum": 0},
            "controllerMutationRate": {"type": "number", "minimum": 0},
        }
    )
    template = _closed(
        {"secret": _closed({"metadata": _closed({"labels": _STRING_MAP, "annotations": _STRING_MAP})})}
    )
    spec = _closed(
        {
            "authentication": _closed(auth_props, required=["type"]),
            "authorization": authorization,
            "quotas": quotas,
            "template": template,
        }
    )
    return _closed(
        {
            "apiVersion": {"const": f"kafka.strimzi.io/{version}"},
            "kind": {"const": "KafkaUser"},
            "metadata": _METADATA,
            "spec": spec,
        },
        required=["apiVersion", "kind", "metadata", "spec"]
        if version == "v1"
        else ["apiVersion", "kind", "metadata"],
    )


def schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> JSON Schema (Draft 2020-12), a fresh copy each call."""
    result = {}
    for version in ("v1", "v1beta2"):
        result[(f"kafka.strimzi.io/{version}", "KafkaTopic")] = _kafka_topic(version)
        result[(f"kafka.strimzi.io/{version}", "KafkaUser")] = _kafka_user(version)
    return copy.deepcopy(result)
