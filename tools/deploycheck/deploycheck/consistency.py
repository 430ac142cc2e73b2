"""Cross-file consistency of each rendered kustomization.

The Deployment, its config file (in the ConfigMap), the Service, PDB, KEDA objects,
Prometheus objects, the example Secret, the runbook and, where a kustomization includes
the Strimzi component, the KafkaTopics and KafkaUser must agree with each other.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from .report import Report
from .tree import Tree

# The service's metric names (README "Metrics" and docs/runbook.md).
KNOWN_METRICS = {
    "retirement_events_consumed_total",
    "retirement_events_completed_total",
    "retirement_destination_outcomes_total",
    "retirement_destination_retries_total",
    "retirement_destination_latency_seconds_bucket",
    "retirement_destination_latency_seconds_sum",
    "retirement_destination_latency_seconds_count",
    "retirement_dead_letters_total",
    "retirement_events_in_flight",
    "retirement_partition_lag",
    "retirement_partitions_assigned",
    "retirement_partitions_paused",
    "retirement_rebalances_total",
    "retirement_commits_total",
    "retirement_destination_ready",
    "retirement_circuit_state",
    "retirement_dead_letter_write_failures_total",
    "retirement_destination_calls_total",
    "retirement_oldest_unfinished_event_seconds",
    "retirement_receipts_queued",
    "retirement_receipts_dropped_total",
    "retirement_receipt_write_failures_total",
    "retirement_receipts_written_total",
}
# kafka.properties the service refuses (docs/contract.md#config-refused-properties): a config
# holding one would not start.
REFUSED_PROPERTIES = {
    "group.id",
    "enable.auto.offset.store",
    "enable.auto.commit",
    "auto.commit.enable",
    "partition.assignment.strategy",
}
CONFIG_SECTIONS = {"kafka", "processing", "http", "destinations"}
SECRET_NAME = "retirement-consumer"
# Consumer groups the service uses besides kafka.group_id (README, "Command line").
GROUP_SUFFIXES = ("", ".replay", ".dlq-redrive", ".dlq-list")


def dur(text) -> float:
    """Seconds in a duration like 20s, 5m, 1h, 500ms."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(text).strip())
    if not m:
        raise ValueError(f"bad duration {text!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def stop_budget(cfg) -> float:
    """What the service may take from SIGTERM to exit before the final margin (leaving the group,
    flushing receipts and the producer): shutdown_grace + commit_timeout, with the service's defaults."""
    processing = cfg.get("processing", {}) or {}
    return dur(processing.get("shutdown_grace", "20s")) + dur(processing.get("commit_timeout", "5s"))


def refused_properties(cfg) -> str | None:
    """A problem when the config's kafka.properties hold a key the service refuses."""
    props = (cfg.get("kafka", {}) or {}).get("properties", {}) or {}
    names = {re.sub(r"_(env|file)$", "", key) for key in props}
    bad = sorted(names & REFUSED_PROPERTIES)
    return f"kafka.properties holds refused keys: {bad}" if bad else None


def compose_partitions(tree: Tree) -> int | None:
    """Partitions of user-retirement as the compose setup creates it."""
    compose = tree.docs(tree.deploy / "compose" / "compose.yaml")[0]
    command = " ".join(compose["services"]["kafka-init"]["command"])
    m = re.search(r"--topic user-retirement --partitions (\d+)", command)
    return int(m.group(1)) if m else None


def runbook_anchors(root: Path) -> set:
    text = (root / "docs" / "runbook.md").read_text(encoding="utf-8").lower()
    return {
        re.sub(r"[^a-z0-9 -]", "", h.strip()).replace(" ", "-")
        for h in re.findall(r"^#+\s+(.*)$", text, re.M)
    }


def _sel_matches(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def check(tree: Tree, report: Report, where: str, objects: list) -> None:
    """All checks for one rendered kustomization (`where` prefixes every line)."""
    try:
        _check(tree, report, where, objects)
    except Exception as e:  # a missing object makes the remaining checks meaningless
        report.fail(f"{where}: consistency checks", f"{type(e).__name__}: {e}")


def _check(tree: Tree, report: Report, where: str, objects: list) -> None:
    def one(kind, name=None):
        hits = [
            o for o in objects if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)
        ]
        if len(hits) != 1:
            raise LookupError(f"expected one {kind}{'/' + name if name else ''}, found {len(hits)}")
        return hits[0]

    dep = one("Deployment")
    pod = dep["spec"]["template"]
    podspec = pod["spec"]
    ctr = podspec["containers"][0]
    cm = one("ConfigMap")
    config_text = cm["data"]["config.yaml"]
    cfg = yaml.safe_load(config_text)
    kafka = cfg["kafka"]
    svc, pdb, so, sm, rule = (
        one("Service"),
        one("PodDisruptionBudget"),
        one("ScaledObject"),
        one("ServiceMonitor"),
        one("PrometheusRule"),
    )
    trig = so["spec"]["triggers"][0]["metadata"]
    secret_doc = tree.docs(tree.kubernetes / "base" / "secret.example.yaml")[0]
    secret_keys = set(secret_doc.get("stringData", {})) | set(secret_doc.get("data", {}))
    partitions = compose_partitions(tree)
    pre = f"{where}: "
    c = report.check

    c(
        pre + "config.yaml in ConfigMap has the contract's sections and listens on all interfaces",
        lambda: (
            None
            if CONFIG_SECTIONS <= set(cfg) and str(cfg["http"]["listen"]).startswith("0.0.0.0:")
            else f"sections {sorted(cfg)}, listen {cfg.get('http', {}).get('listen')}"
        ),
    )
    c(
        pre + "container port matches http.listen",
        lambda: (
            None
            if str(ctr["ports"][0]["containerPort"]) == str(cfg["http"]["listen"]).rsplit(":", 1)[1]
            else "port mismatch"
        ),
    )
    c(
        pre + "terminationGracePeriodSeconds exceeds shutdown_grace + commit_timeout by >= 10s",
        lambda: (
            None
            if podspec["terminationGracePeriodSeconds"] >= stop_budget(cfg) + 10
            else f"{podspec['terminationGracePeriodSeconds']}s vs {stop_budget(cfg):.0f}s + 10s"
        ),
    )
    c(pre + "config.yaml in ConfigMap sets no refused kafka.properties", lambda: refused_properties(cfg))
    c(
        pre + "probes: liveness /healthz, readiness /readyz",
        lambda: (
            None
            if ctr["livenessProbe"]["httpGet"]["path"] == "/healthz"
            and ctr["readinessProbe"]["httpGet"]["path"] == "/readyz"
            else "wrong probe paths"
        ),
    )
    c(
        pre + "container hardening (non-root, read-only root fs, no caps)",
        lambda: (
            None
            if ctr["securityContext"]["readOnlyRootFilesystem"] is True
            and ctr["securityContext"]["capabilities"]["drop"] == ["ALL"]
            and ctr["securityContext"]["allowPrivilegeEscalation"] is False
            and podspec["securityContext"]["runAsNonRoot"] is True
            else "securityContext incomplete"
        ),
    )
    c(
        pre + "Deployment has no fixed replicas (KEDA owns it)",
        lambda: None if "replicas" not in dep["spec"] else "spec.replicas is set",
    )
    c(
        pre + "Deployment selector matches its pod labels",
        lambda: (
            None
            if _sel_matches(dep["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"])
            else "no match"
        ),
    )
    c(
        pre + "PDB selector is the Deployment's selector",
        lambda: None if pdb["spec"]["selector"] == dep["spec"]["selector"] else "selectors differ",
    )
    c(
        pre + "Service selects the pods and names the metrics port",
        lambda: (
            None
            if _sel_matches(svc["spec"]["selector"], pod["metadata"]["labels"])
            and any(p["name"] == "metrics" for p in svc["spec"]["ports"])
            else "selector or port"
        ),
    )
    c(
        pre + "ServiceMonitor selects the Service and its port",
        lambda: (
            None
            if _sel_matches(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
            and all(e["port"] in {p["name"] for p in svc["spec"]["ports"]} for e in sm["spec"]["endpoints"])
            else "selector or port"
        ),
    )
    c(
        pre + "ConfigMap volume names the ConfigMap",
        lambda: (
            None
            if any(v.get("configMap", {}).get("name") == cm["metadata"]["name"] for v in podspec["volumes"])
            else "no volume uses the ConfigMap"
        ),
    )

    def secret_refs():
        refs = set()
        for e in ctr.get("env", []):
            r = e.get("valueFrom", {}).get("secretKeyRef")
            if r and r["name"] == SECRET_NAME:
                refs.add(r["key"])
        for v in podspec["volumes"]:
            if v.get("secret", {}).get("secretName") == SECRET_NAME:
                refs |= {i["key"] for i in v["secret"].get("items", [])}
        ta = one("TriggerAuthentication")
        refs |= {r["key"] for r in ta["spec"]["secretTargetRef"] if r["name"] == SECRET_NAME}
        missing = refs - secret_keys
        return f"keys not in secret.example.yaml: {sorted(missing)}" if missing else None

    c(pre + "every Secret key referenced exists in secret.example.yaml", secret_refs)

    def env_refs():
        envs = {e["name"] for e in ctr.get("env", [])}
        wanted = set(re.findall(r"_env:\s*(\w+)", config_text))
        return (
            f"config reads env vars the pod does not set: {sorted(wanted - envs)}" if wanted - envs else None
        )

    c(pre + "every *_env variable in the config is set on the container", env_refs)

    def file_refs():
        mounts = [m["mountPath"].rstrip("/") + "/" for m in ctr["volumeMounts"]]
        paths = re.findall(r"(?:_file|ssl\.ca\.location):\s*(\S+)", config_text)
        bad = [p for p in paths if not any(p.startswith(m) for m in mounts)]
        return f"paths outside any mount: {bad}" if bad else None

    c(pre + "every file path in the config is under a volume mount", file_refs)
    c(
        pre + "ScaledObject targets the Deployment",
        lambda: None if so["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"] else "name differs",
    )
    c(
        pre + "KEDA consumerGroup/topic equal kafka.group_id/topic",
        lambda: (
            None
            if trig["consumerGroup"] == kafka["group_id"] and trig["topic"] == kafka["topic"]
            else f"{trig['consumerGroup']}/{trig['topic']} vs {kafka['group_id']}/{kafka['topic']}"
        ),
    )
    c(
        pre + "KEDA bootstrapServers equal kafka.bootstrap_servers",
        lambda: (
            None
            if trig["bootstrapServers"] == kafka["bootstrap_servers"]
            else f"{trig['bootstrapServers']} vs {kafka['bootstrap_servers']}"
        ),
    )
    c(
        pre + "KEDA offsetResetPolicy equals auto.offset.reset",
        lambda: (
            None
            if trig.get("offsetResetPolicy", "latest")
            == kafka.get("properties", {}).get("auto.offset.reset", "latest")
            else "differ"
        ),
    )
    c(
        pre + f"KEDA 1 <= minReplicaCount <= maxReplicaCount == partitions ({partitions})",
        lambda: (
            None
            if 1 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"] == partitions
            else f"min {so['spec']['minReplicaCount']} max {so['spec']['maxReplicaCount']}"
        ),
    )
    c(
        pre + "KEDA does not allow idle consumers",
        lambda: (
            None
            if str(trig.get("allowIdleConsumers", "false")).lower() == "false"
            else "allowIdleConsumers true"
        ),
    )

    alert_rules = [r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r]

    def metric_names():
        recorded = {r["record"] for g in rule["spec"]["groups"] for r in g["rules"] if "record" in r}
        used = set()
        for g in rule["spec"]["groups"]:
            for r in g["rules"]:
                used |= set(re.findall(r"\bretirement_[a-z_]+\b", r["expr"]))
        unknown = used - KNOWN_METRICS - recorded
        return f"unknown metric names: {sorted(unknown)}" if unknown else None

    c(pre + "alert rules use only the service's metric names", metric_names)

    def alert_annotations():
        bad = [
            r["alert"]
            for r in alert_rules
            if not (
                {"summary", "description", "runbook_url"} <= set(r.get("annotations", {}))
                and "severity" in r.get("labels", {})
            )
        ]
        return f"alerts missing summary/description/runbook_url/severity: {bad}" if bad else None

    c(pre + "every alert has severity, summary, description, runbook_url", alert_annotations)

    def anchors():
        known = runbook_anchors(tree.root)
        missing = [
            r["annotations"]["runbook_url"]
            for r in alert_rules
            if r["annotations"]["runbook_url"].split("#")[-1] not in known
        ]
        return f"runbook anchors missing in docs/runbook.md: {missing}" if missing else None

    c(pre + "every alert's runbook_url anchor exists in docs/runbook.md", anchors)

    if any(str(o.get("apiVersion", "")).startswith("kafka.strimzi.io/") for o in objects):
        strimzi_checks(report, pre, objects, cfg, so)


def topic_name(obj: dict) -> str:
    return (obj.get("spec") or {}).get("topicName") or obj["metadata"]["name"]


def acl_allows(acls: list, resource_type: str, name: str, operation: str) -> bool:
    """Whether a simple-authorization ACL list allows `operation` on a resource (Kafka's
    rules: a DENY wins; Read, Write, Delete and Alter imply Describe; All implies all)."""

    def matches(rule):
        res = rule.get("resource", {})
        if res.get("type") != resource_type:
            return False
        pattern = res.get("name", "")
        if res.get("patternType", "literal") == "prefix":
            return name.startswith(pattern)
        return pattern in (name, "*")

    def grants(rule):
        ops = set(rule.get("operations") or []) | ({rule["operation"]} if rule.get("operation") else set())
        if "All" in ops or operation in ops:
            return True
        return operation == "Describe" and bool(ops & {"Read", "Write", "Delete", "Alter"})

    hits = [r for r in acls if matches(r) and grants(r)]
    if any(r.get("type", "allow") == "deny" for r in hits):
        return False
    return any(r.get("type", "allow") == "allow" for r in hits)


def consumer_acls(user: dict) -> list:
    return ((user.get("spec") or {}).get("authorization") or {}).get("acls") or []


def consumer_permissions(cfg: dict) -> list:
    """(resource type, name, operation) the consumer, `check`, `replay` and `dlq` need."""
    kafka = cfg["kafka"]
    topic, dlq = kafka["topic"], kafka.get("dead_letter_topic") or f"{kafka['topic']}.dlq"
    needed = [("topic", topic, "Read"), ("topic", topic, "Describe")]
    needed += [("topic", dlq, op) for op in ("Read", "Write", "Describe")]
    receipts = (cfg.get("receipts") or {}).get("topic")
    if receipts:
        needed += [("topic", receipts, "Write"), ("topic", receipts, "Describe")]
    needed += [("group", kafka["group_id"] + suffix, "Read") for suffix in GROUP_SUFFIXES]
    return needed


def strimzi_checks(report: Report, pre: str, objects: list, cfg: dict, so: dict) -> None:
    kafka = cfg["kafka"]
    topics = {topic_name(o): o for o in objects if o.get("kind") == "KafkaTopic"}
    users = [o for o in objects if o.get("kind") == "KafkaUser"]
    strimzi = [o for o in objects if str(o.get("apiVersion", "")).startswith("kafka.strimzi.io/")]
    dlq = kafka.get("dead_letter_topic") or f"{kafka['topic']}.dlq"
    receipts = (cfg.get("receipts") or {}).get("topic")
    c = report.check

    def topics_exist():
        wanted = [kafka["topic"], dlq] + ([receipts] if receipts else [])
        missing = [t for t in wanted if t not in topics]
        return f"no KafkaTopic for {missing} (have {sorted(topics)})" if missing else None

    c(pre + "Strimzi: a KafkaTopic for the topic, the dead-letter topic and receipts.topic", topics_exist)

    def topic_partitions():
        return topics[kafka["topic"]]["spec"].get("partitions")

    c(
        pre + "Strimzi: the topic's partitions equal KEDA maxReplicaCount",
        lambda: (
            None
            if topic_partitions() == so["spec"]["maxReplicaCount"]
            else f"partitions {topic_partitions()} vs {so['spec']['maxReplicaCount']}"
        ),
    )

    def cluster_and_namespace():
        # Strimzi's bootstrap Service is <cluster>-kafka-bootstrap in the cluster's namespace.
        m = re.match(
            r"([a-z0-9-]+)-kafka-bootstrap(?:\.([a-z0-9-]+))?", kafka["bootstrap_servers"].split(",")[0]
        )
        if not m:
            return f"bootstrap_servers {kafka['bootstrap_servers']!r} is not a Strimzi bootstrap Service"
        cluster, namespace = m.group(1), m.group(2)
        bad = []
        for o in strimzi:
            md = o["metadata"]
            if (md.get("labels") or {}).get("strimzi.io/cluster") != cluster:
                bad.append(f"{o['kind']}/{md['name']}: strimzi.io/cluster is not {cluster!r}")
            if namespace and md.get("namespace") != namespace:
                bad.append(
                    f"{o['kind']}/{md['name']}: namespace {md.get('namespace')!r}, cluster's is {namespace!r}"
                )
        return "; ".join(bad) or None

    c(
        pre + "Strimzi: objects name the cluster and namespace of kafka.bootstrap_servers",
        cluster_and_namespace,
    )

    def consumer_user():
        props = kafka.get("properties") or {}
        mechanism = str(props.get("sasl.mechanism", "")).upper()
        username_env = props.get("sasl.username_env")
        if mechanism != "SCRAM-SHA-512" and "ssl.certificate.location" not in props:
            return f"the config uses neither SCRAM-SHA-512 nor a client certificate ({mechanism!r})"
        want = "scram-sha-512" if mechanism == "SCRAM-SHA-512" else "tls"
        # The consumer's user: the one with a group ACL (a producer-only user has none).
        matching = [
            u
            for u in users
            if (u["spec"].get("authentication") or {}).get("type") == want
            and any(a.get("resource", {}).get("type") == "group" for a in consumer_acls(u))
        ]
        if len(matching) != 1:
            return (
                f"expected one KafkaUser with authentication {want} and a group ACL, found {len(matching)}"
                f" (config: sasl.mechanism {mechanism!r}, username from {username_env})"
            )
        user = matching[0]
        acls = consumer_acls(user)
        missing = [
            f"{op} on {t} {n}" for t, n, op in consumer_permissions(cfg) if not acl_allows(acls, t, n, op)
        ]
        return f"KafkaUser/{user['metadata']['name']} lacks: {missing}" if missing else None

    c(
        pre + "Strimzi: the consumer's KafkaUser matches its auth and grants every topic and group it uses",
        consumer_user,
    )
