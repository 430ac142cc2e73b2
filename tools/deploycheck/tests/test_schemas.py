"""Kubernetes, KEDA, Prometheus Operator and Strimzi schema validation."""

from __future__ import annotations

import copy

import pytest
from conftest import FIXTURES, REPO, edit, failed_names, load, parsed_tree, quiet_report
from deploycheck import crd_schema, objects


def validate(obj):
    report = quiet_report()
    objects.validate_object(obj, "test", report)
    return report


def test_deployment_unknown_field_fails_on_both_kubernetes_versions(repo):
    path = repo / "deploy/kubernetes/base/deployment.yaml"
    edit(path, lambda d: d["spec"]["template"]["spec"]["containers"][0].update(livenessProbes={}))
    report = quiet_report()
    objects.check(parsed_tree(repo), report, [])
    assert failed_names(report) == [
        "k8s 1.30.0 schema deploy/kubernetes/base/deployment.yaml: Deployment/retirement-consumer",
        "k8s 1.37.0 schema deploy/kubernetes/base/deployment.yaml: Deployment/retirement-consumer",
    ]


def test_wrong_type_in_a_built_in_kind_fails():
    service = load(REPO / "deploy/kubernetes/base/service.yaml")[0]
    assert validate(service).failed == 0
    service["spec"]["ports"][0]["port"] = "nine thousand"
    assert validate(service).failed == 2


def test_patch_files_are_not_validated_alone_but_the_rendered_overlay_is(repo):
    report = quiet_report()
    objects.check(parsed_tree(repo), report, [])
    names = [r.name for r in report.results]
    assert not any("servicemonitor-patch.yaml" in n or "configmap-patch.yaml" in n for n in names)
    assert any("components/strimzi/kafkauser.yaml: KafkaUser/retirement-consumer" in n for n in names)


def test_keda_scaledobject_with_a_wrong_type_and_an_unknown_field_fails(repo):
    path = repo / "deploy/kubernetes/base/scaledobject.yaml"
    so = load(path)[0]
    assert validate(so).failed == 0
    bad = copy.deepcopy(so)
    bad["spec"]["minReplicaCount"] = "one"
    assert validate(bad).failed == 1
    bad = copy.deepcopy(so)
    bad["spec"]["maxReplicas"] = 12  # the HPA's spelling, not KEDA's
    report = validate(bad)
    assert report.failed == 1 and "maxReplicas" in report.failures()[0].detail


def test_prometheusrule_unknown_field_fails(repo):
    rule = load(repo / "deploy/kubernetes/base/prometheusrule.yaml")[0]
    rule["spec"]["groups"][0]["rules"][0]["expresion"] = "up"
    assert validate(rule).failed == 1


def test_an_unknown_version_of_a_crd_group_fails_instead_of_passing():
    topic = load(FIXTURES / "strimzi/kafkatopic-v1.yaml")[0]
    topic["apiVersion"] = "kafka.strimzi.io/v1beta1"
    report = validate(topic)
    assert report.failed == 1 and "no schema" in report.failures()[0].detail


# --- Strimzi ---------------------------------------------------------------------------


def strimzi_errors(obj):
    return crd_schema.errors(obj)


@pytest.mark.parametrize("name", ["kafkatopic-v1.yaml", "kafkauser-v1.yaml", "kafkauser-v1beta2.yaml"])
def test_valid_strimzi_objects_pass(name):
    assert strimzi_errors(load(FIXTURES / "strimzi" / name)[0]) == []


def test_the_components_objects_pass(repo):
    for name in ("kafkatopics.yaml", "kafkauser.yaml"):
        for obj in load(repo / "deploy/kubernetes/components/strimzi" / name):
            assert strimzi_errors(obj) == [], obj["metadata"]["name"]


def topic():
    return load(FIXTURES / "strimzi/kafkatopic-v1.yaml")[0]


def user():
    return load(FIXTURES / "strimzi/kafkauser-v1.yaml")[0]


def test_partitions_as_a_string_fails():
    t = topic()
    t["spec"]["partitions"] = "12"
    assert [e for e in strimzi_errors(t) if e.startswith("spec/partitions:")]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("partitions", 0),
        ("replicas", 0),
        ("replicas", 40000),
        ("partition", 12),
        ("config", "retention.ms=1"),
    ],
)
def test_topic_spec_out_of_range_or_unknown_fails(field, value):
    t = topic()
    t["spec"][field] = value
    assert strimzi_errors(t)


def test_v1_topic_needs_a_spec_but_v1beta2_does_not():
    t = topic()
    del t["spec"]
    assert strimzi_errors(t)
    t["apiVersion"] = "kafka.strimzi.io/v1beta2"
    assert strimzi_errors(t) == []


def test_acl_with_an_unknown_operation_fails():
    u = user()
    u["spec"]["authorization"]["acls"][0]["operations"] = ["Read", "Consume"]
    assert [e for e in strimzi_errors(u) if "acls/0/operations/1" in e]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda acl: acl["resource"].update(type="topics"),
        lambda acl: acl["resource"].update(patternType="prefixed"),
        lambda acl: acl["resource"].pop("name"),
        lambda acl: acl.update(type="permit"),
        lambda acl: acl.update(operations=[]),
        lambda acl: acl.update(permission="allow"),
    ],
    ids=[
        "resource-type",
        "pattern-type",
        "topic-without-name",
        "rule-type",
        "no-operations",
        "unknown-field",
    ],
)
def test_malformed_acl_fails(mutate):
    u = user()
    mutate(u["spec"]["authorization"]["acls"][0])
    assert strimzi_errors(u)


def test_v1_dropped_the_single_operation_field():
    u = user()
    acl = u["spec"]["authorization"]["acls"][0]
    acl["operation"] = acl.pop("operations")[0]
    assert strimzi_errors(u)
    u["apiVersion"] = "kafka.strimzi.io/v1beta2"
    assert strimzi_errors(u) == []


@pytest.mark.parametrize(
    "mutate",
    [
        lambda s: s["authentication"].update(type="scram-sha-256"),
        lambda s: s["authorization"].update(type="opa"),
        lambda s: s.update(quotas={"producerByteRate": -1}),
        lambda s: s.update(authentications={"type": "tls"}),
    ],
    ids=["auth-type", "authz-type", "negative-quota", "unknown-spec-field"],
)
def test_malformed_user_spec_fails(mutate):
    u = user()
    mutate(u["spec"])
    assert strimzi_errors(u)


def test_a_broken_component_object_fails_in_its_file_and_in_the_rendered_overlay(repo, kubectl):
    from deploycheck import kustomize

    edit(
        repo / "deploy/kubernetes/components/strimzi/kafkatopics.yaml",
        lambda t: t["spec"].update(partitions="12"),
    )
    tree = parsed_tree(repo)
    rendered = kustomize.check(tree, quiet_report(), kubectl)
    report = quiet_report()
    objects.check(tree, report, rendered)
    assert failed_names(report) == [
        "CRD schema deploy/kubernetes/components/strimzi/kafkatopics.yaml: KafkaTopic/user-retirement",
        "CRD schema deploy/kubernetes/overlays/example (rendered): KafkaTopic/user-retirement",
    ]
