"""Cross-file checks on rendered kustomizations, including the Strimzi ones."""

from __future__ import annotations

import pytest
from conftest import edit, failed_names, parsed_tree, quiet_report
from deploycheck import consistency, kustomize

EXAMPLE = "deploy/kubernetes/overlays/example"


def run(repo, kubectl, which=EXAMPLE):
    tree = parsed_tree(repo)
    report = quiet_report()
    rendered = {tree.rel(r.directory): r for r in kustomize.check(tree, quiet_report(), kubectl)}
    consistency.check(tree, report, which, rendered[which].objects)
    return report


def test_the_copy_is_consistent(repo, kubectl):
    report = run(repo, kubectl)
    assert report.failed == 0
    assert sum(1 for r in report.results if "Strimzi:" in r.name) == 4


def test_a_deployment_without_readiness_probe_fails(repo, kubectl):
    edit(
        repo / "deploy/kubernetes/base/deployment.yaml",
        lambda d: d["spec"]["template"]["spec"]["containers"][0].pop("readinessProbe"),
    )
    assert failed_names(run(repo, kubectl, "deploy/kubernetes/base")) == [
        "deploy/kubernetes/base: probes: liveness /healthz, readiness /readyz"
    ]


def test_grace_period_shorter_than_shutdown_grace_fails(repo, kubectl):
    edit(
        repo / "deploy/kubernetes/base/deployment.yaml",
        lambda d: d["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=25),
    )
    assert failed_names(run(repo, kubectl)) == [
        f"{EXAMPLE}: terminationGracePeriodSeconds exceeds shutdown_grace + commit_timeout by >= 10s"
    ]


def test_keda_group_differing_from_the_config_fails(repo, kubectl):
    edit(
        repo / "deploy/kubernetes/base/scaledobject.yaml",
        lambda d: d["spec"]["triggers"][0]["metadata"].update(consumerGroup="other"),
    )
    assert f"{EXAMPLE}: KEDA consumerGroup/topic equal kafka.group_id/topic" in failed_names(
        run(repo, kubectl)
    )


def test_alert_with_unknown_runbook_anchor_fails(repo, kubectl):
    def bump(rule):
        alert = next(r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r)
        alert["annotations"]["runbook_url"] += "-nowhere"

    edit(repo / "deploy/kubernetes/base/prometheusrule.yaml", bump)
    assert failed_names(run(repo, kubectl)) == [
        f"{EXAMPLE}: every alert's runbook_url anchor exists in docs/runbook.md"
    ]


def test_a_missing_object_is_one_failure_not_a_crash(repo, kubectl):
    tree = parsed_tree(repo)
    rendered = {tree.rel(r.directory): r for r in kustomize.check(tree, quiet_report(), kubectl)}
    objects = [o for o in rendered[EXAMPLE].objects if o["kind"] != "PodDisruptionBudget"]
    report = quiet_report()
    consistency.check(tree, report, EXAMPLE, objects)
    assert failed_names(report) == [f"{EXAMPLE}: consistency checks"]


# --- Strimzi ---------------------------------------------------------------------------

COMPONENT = "deploy/kubernetes/components/strimzi"
USER_CHECK = (
    f"{EXAMPLE}: Strimzi: the consumer's KafkaUser matches its auth and grants every topic and group it uses"
)


def acls_of(user):
    return user["spec"]["authorization"]["acls"]


@pytest.mark.parametrize(
    "mutate",
    [
        # No Write on the DLQ: dead letters could not be written.
        lambda acls: acls[1].update(operations=["Read", "Describe"]),
        # A literal group ACL: <group_id>.replay and <group_id>.dlq-redrive are not covered.
        lambda acls: acls[3]["resource"].update(patternType="literal"),
        # Receipts topic not granted at all.
        lambda acls: acls.pop(2),
        # A deny rule wins over the allow.
        lambda acls: acls.append(
            {"type": "deny", "resource": {"type": "topic", "name": "user-retirement"}, "operations": ["Read"]}
        ),
    ],
    ids=["dlq-not-writable", "literal-group", "no-receipts", "deny-wins"],
)
def test_kafkauser_missing_a_permission_fails(repo, kubectl, mutate):
    edit(repo / COMPONENT / "kafkauser.yaml", lambda u: mutate(acls_of(u)))
    report = run(repo, kubectl)
    assert failed_names(report) == [USER_CHECK]


def test_kafkauser_with_the_wrong_authentication_fails(repo, kubectl):
    edit(repo / COMPONENT / "kafkauser.yaml", lambda u: u["spec"]["authentication"].update(type="tls"))
    assert failed_names(run(repo, kubectl)) == [USER_CHECK]


def test_topic_partitions_differing_from_keda_cap_fails(repo, kubectl):
    edit(repo / COMPONENT / "kafkatopics.yaml", lambda t: t["spec"].update(partitions=6))
    assert failed_names(run(repo, kubectl)) == [
        f"{EXAMPLE}: Strimzi: the topic's partitions equal KEDA maxReplicaCount"
    ]


def test_missing_receipts_topic_fails(repo, kubectl):
    path = repo / COMPONENT / "kafkatopics.yaml"
    path.write_text(
        path.read_text().replace("name: user-retirement.receipts", "name: user-retirement.receipt")
    )
    assert (
        f"{EXAMPLE}: Strimzi: a KafkaTopic for the topic, the dead-letter topic and receipts.topic"
        in failed_names(run(repo, kubectl))
    )


def test_strimzi_objects_for_another_cluster_fail(repo, kubectl):
    path = repo / EXAMPLE / "kustomization.yaml"
    text = path.read_text()
    assert text.count("value: kafka-prod\n") == 1
    path.write_text(text.replace("value: kafka-prod\n", "value: kafka-staging\n"))
    assert failed_names(run(repo, kubectl)) == [
        f"{EXAMPLE}: Strimzi: objects name the cluster and namespace of kafka.bootstrap_servers"
    ]


def test_acl_semantics():
    acls = [
        {"resource": {"type": "group", "name": "rc", "patternType": "prefix"}, "operations": ["Read"]},
        {"resource": {"type": "topic", "name": "t"}, "operations": ["Write"]},
        {"resource": {"type": "topic", "name": "*"}, "operations": ["DescribeConfigs"]},
        {"resource": {"type": "topic", "name": "secret"}, "operations": ["All"]},
        {"type": "deny", "resource": {"type": "topic", "name": "secret"}, "operations": ["Read"]},
    ]
    allows = consistency.acl_allows
    assert allows(acls, "group", "rc.replay", "Read")
    assert allows(acls, "group", "rc", "Describe")  # Read implies Describe
    assert not allows(acls, "group", "other", "Read")
    assert allows(acls, "topic", "t", "Describe")  # Write implies Describe
    assert not allows(acls, "topic", "t", "Read")
    assert allows(acls, "topic", "anything", "DescribeConfigs")
    assert allows(acls, "topic", "secret", "Write") and not allows(acls, "topic", "secret", "Read")
