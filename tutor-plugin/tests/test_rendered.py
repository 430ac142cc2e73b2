"""What the plugin renders into a Tutor environment, per variant (see conftest.VARIANTS)."""

from __future__ import annotations

import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from unittest import mock

import kubernetes_validate
import pytest
import yaml
from conftest import CA_PEM, REPO, SECRETS, VARIANTS, Rendered

K8S_VERSIONS = ("1.30.0", "1.37.0")
CONFIG = "/etc/retirement-consumer/config.yaml"
BLOCK = re.compile(r"######## retirement-consumer .*?######## end of retirement-consumer\n", re.S)
DEFAULT_STATES = [
    "PENDING",
    "LOCKING_ACCOUNT",
    "LOCKING_COMPLETE",
    "RETIRING_FORUMS",
    "FORUMS_COMPLETE",
    "RETIRING_EMAIL_LISTS",
    "EMAIL_LISTS_COMPLETE",
    "RETIRING_ENROLLMENTS",
    "ENROLLMENTS_COMPLETE",
    "RETIRING_NOTES",
    "NOTES_COMPLETE",
    "RETIRING_LMS",
    "LMS_COMPLETE",
    "ERRORED",
    "ABORTED",
    "COMPLETE",
]


def has_destination_settings(variant: str) -> bool:
    return any(key.startswith("RETIREMENT_CONSUMER_DESTINATION") for key in VARIANTS[variant])


def services(rendered: Rendered, filename: str) -> dict:
    return yaml.safe_load(rendered.read("local", filename))["services"]


def k8s_objects(rendered: Rendered) -> list[dict]:
    objects = []
    for filename in ("deployments.yml", "services.yml", "jobs.yml", "volumes.yml"):
        objects += rendered.yaml_docs("k8s", filename)
    return objects


def ours(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {
        (o["kind"], o["metadata"]["name"]): o
        for o in objects
        if o["metadata"]["name"].startswith("retirement-")
    }


def consumer_config(rendered: Rendered) -> dict:
    return yaml.safe_load(rendered.read("plugins", "retirement-consumer", "apps", "config.yaml"))


def lms_block(rendered: Rendered, settings: str = "production.py") -> str:
    text = rendered.read("apps", "openedx", "settings", "lms", settings)
    blocks = BLOCK.findall(text)
    assert len(blocks) == 1, f"expected one retirement-consumer block in {settings}"
    return blocks[0]


def lms_env(rendered: Rendered) -> dict:
    """The LMS container's environment the plugin adds (docker-compose.prod.yml, merged into lms)."""
    prod = yaml.safe_load(rendered.read("local", "docker-compose.prod.yml"))["services"]
    environment = prod.get("lms", {}).get("environment", {})
    return {k: v.replace("$$", "$") for k, v in environment.items()}


def exec_block(block: str, states: list[str] | None, env: dict | None = None) -> dict:
    namespace: dict = {}
    if states is not None:
        namespace["RETIREMENT_STATES"] = list(states)
    with mock.patch.dict(os.environ, env or {}, clear=False):
        exec(compile(block, "lms-settings", "exec"), namespace)  # noqa: S102 - our rendered settings
    return namespace


# --- compose --------------------------------------------------------------------------------


def test_compose_files_parse_and_hold_the_services(rendered: Rendered):
    main = services(rendered, "docker-compose.yml")
    jobs = services(rendered, "docker-compose.jobs.yml")
    yaml.safe_load(rendered.read("local", "docker-compose.prod.yml"))
    # The jobs `tutor local do retirement-*` and the init tasks run in.
    for job in ("retirement-consumer-job", "retirement-kafka-job", "retirement-reader-job"):
        assert job in jobs
        assert jobs[job]["entrypoint"] == []
    assert jobs["retirement-consumer-job"]["volumes"] == [
        "../plugins/retirement-consumer/apps/config.yaml:/etc/retirement-consumer/config.yaml:ro,z"
    ]
    run_kafka = rendered.name not in ("eventbus", "sasl")
    assert ("retirement-kafka" in main) is run_kafka
    assert ("retirement-kafka" in main["lms"].get("depends_on", [])) is run_kafka
    has_destinations = has_destination_settings(rendered.name)
    assert ("retirement-consumer" in main) is has_destinations
    assert ("retirement-reader" in main) is (rendered.name == "destinations")
    if has_destinations:
        consumer = main["retirement-consumer"]
        assert consumer["command"] == ["run", "--config", "/etc/retirement-consumer/config.yaml"]
        assert consumer["volumes"] == jobs["retirement-consumer-job"]["volumes"]
        assert consumer["read_only"] is True
        assert consumer["stop_grace_period"] == "45s"
    if run_kafka:
        kafka = main["retirement-kafka"]
        env = kafka["environment"]
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
        assert "../../data/retirement-kafka:/mounts/retirement-kafka:z" in main["permissions"]["volumes"]
        assert "setowner 1000 /mounts/retirement-kafka" in rendered.read(
            "apps", "permissions", "setowners.sh"
        )


def test_compose_files_follow_the_compose_spec(rendered: Rendered):
    jsonschema = pytest.importorskip("jsonschema")
    from check_jsonschema.builtin_schemas import get_builtin_schema

    schema = get_builtin_schema("vendor.compose-spec")
    for filename in ("docker-compose.yml", "docker-compose.jobs.yml"):
        document = yaml.safe_load(rendered.read("local", filename))
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(document), key=str)
        assert not errors, f"{filename}: " + "; ".join(e.message for e in errors[:5])


def test_compose_secrets_are_escaped_for_interpolation(environments):
    main = services(environments["destinations"], "docker-compose.yml")
    # "$3" would be interpolated by docker compose; the plugin doubles every "$".
    assert main["retirement-consumer"]["environment"]["RC_DEST_BRAZE_API_KEY"] == SECRETS["braze"].replace(
        "$", "$$"
    )


# --- Kubernetes -----------------------------------------------------------------------------


def test_kubernetes_manifests_validate(rendered: Rendered):
    """Every object of env/k8s (Tutor's and the plugin's, which share the files), strict."""
    objects = k8s_objects(rendered) + rendered.yaml_docs("k8s", "namespace.yml")
    assert ours(objects), "no retirement-* Kubernetes objects rendered"
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.utils.ValidationError as error:
                pytest.fail(
                    f"{kind}/{name} against Kubernetes {version}: {error.message} at {list(error.path)}"
                )


def test_kubernetes_objects_per_variant(rendered: Rendered):
    objects = ours(k8s_objects(rendered))
    for job in ("retirement-consumer-job", "retirement-kafka-job", "retirement-reader-job"):
        container = objects[("Job", job)]["spec"]["template"]["spec"]["containers"][0]
        # Tutor replaces "command: []" with "sh -e -c" (the consumer image's entrypoint is the binary).
        assert container["command"] == []
    for secret in ("retirement-consumer-env", "retirement-reader-env", "retirement-kafka-client-env"):
        assert ("Secret", secret) in objects
    run_kafka = rendered.name not in ("eventbus", "sasl")
    assert (("Deployment", "retirement-kafka") in objects) is run_kafka
    assert (("Service", "retirement-kafka") in objects) is run_kafka
    assert (("PersistentVolumeClaim", "retirement-kafka") in objects) is run_kafka
    has_destinations = has_destination_settings(rendered.name)
    assert (("Deployment", "retirement-consumer") in objects) is has_destinations
    assert (("PodDisruptionBudget", "retirement-consumer") in objects) is has_destinations
    assert (("Service", "retirement-consumer-metrics") in objects) is has_destinations
    if has_destinations:
        deployment = objects[("Deployment", "retirement-consumer")]
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert pod["volumes"][0]["configMap"]["name"] == "retirement-consumer-config"
        assert container["envFrom"] == [{"secretRef": {"name": "retirement-consumer-env"}}]
        assert pod["terminationGracePeriodSeconds"] > 20
        partitions = int(VARIANTS[rendered.name].get("RETIREMENT_CONSUMER_TOPIC_PARTITIONS", 6))
        assert deployment["spec"]["replicas"] <= partitions
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert (
            objects[("PodDisruptionBudget", "retirement-consumer")]["spec"]["selector"]["matchLabels"]
            == selector
        )
        assert objects[("Service", "retirement-consumer-metrics")]["spec"]["selector"] == selector


def test_replicas_are_capped_at_the_partitions(environments):
    objects = ours(k8s_objects(environments["destinations"]))
    assert objects[("Deployment", "retirement-consumer")]["spec"]["replicas"] == 4  # asked 10, 4 partitions


def test_kustomization_generates_the_config_map(rendered: Rendered):
    kustomization = yaml.safe_load(rendered.read("kustomization.yml"))
    generators = {g["name"]: g for g in kustomization["configMapGenerator"]}
    files = generators["retirement-consumer-config"]["files"]
    assert files == ["plugins/retirement-consumer/apps/config.yaml"]
    assert (rendered.envdir / files[0]).is_file()


# --- LMS settings ---------------------------------------------------------------------------


def test_lms_settings_compile(rendered: Rendered, tmp_path):
    for path in [
        rendered.envdir / "apps/openedx/settings/lms/production.py",
        rendered.envdir / "apps/openedx/settings/lms/development.py",
        rendered.envdir / "build/openedx/settings/lms/assets.py",
        rendered.envdir / "build/openedx/settings/lms/i18n.py",
    ]:
        py_compile.compile(str(path), cfile=str(tmp_path / (path.name + "c")), doraise=True)
    # Image build steps (collectstatic, compilemessages) run without Kafka.
    for name in ("assets.py", "i18n.py"):
        assert 'RETIREMENT_KAFKA = {"ENABLED": False}' in rendered.read(
            "build", "openedx", "settings", "lms", name
        )
    lms_block(rendered, "development.py")


def test_lms_setting_passes_the_lms_plugins_validation(rendered: Rendered):
    """RETIREMENT_KAFKA as rendered, through the LMS plugin's own validation (and librdkafka's)."""
    conf = pytest.importorskip("openedx_retirement_kafka.conf")
    env = lms_env(rendered)
    setting = exec_block(lms_block(rendered), DEFAULT_STATES, env)["RETIREMENT_KAFKA"]

    class Settings:
        RETIREMENT_KAFKA = setting
        LMS_BASE = "ignored.example.org"

    config = conf.load_config(Settings, environ=env)
    assert config.enabled
    conf.check_producer_config(config)
    # Encryption on by default: the LMS encrypts under the site's keyring (from the environment).
    keyring = json.loads(rendered.config()["RETIREMENT_CONSUMER_ENCRYPTION_KEYRING"])
    assert config.keyring is not None and config.keyring.current == keyring["current"]
    for key in keyring["keys"]:
        assert key["secret"] not in lms_block(rendered)
    expected_topic = {"eventbus": "prod-user-retirement"}.get(rendered.name, "user-retirement")
    assert config.topic == expected_topic
    assert config.lms_host == "local.openedx.io"
    assert config.backfill_lms_base_url == "http://lms:8000"
    assert config.backfill_client_id == "retirement_service_worker"
    assert config.backfill_client_secret
    servers = {
        "eventbus": "kafka-1.internal:9092,kafka-2.internal:9092",
        "sasl": "b-1.kafka.example.org:9096,b-2.kafka.example.org:9096",
    }.get(rendered.name, "retirement-kafka:9092")
    assert config.bootstrap_servers == servers


def test_lms_setting_carries_the_producer_security(environments):
    rendered = environments["sasl"]
    assert SECRETS["sasl"] not in lms_block(rendered) and "MIIBjzCCAT" not in lms_block(rendered)
    setting = exec_block(lms_block(rendered), DEFAULT_STATES, lms_env(rendered))["RETIREMENT_KAFKA"]
    assert setting["PRODUCER_CONFIG"] == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "lms-retirement",
        "sasl.password": SECRETS["sasl"],
        "ssl.ca.pem": CA_PEM,
    }
    assert setting["DELIVERY_TIMEOUT_SECONDS"] == 7.5


def test_retirement_states_get_the_misc_step_before_retiring_lms(environments):
    states = exec_block(lms_block(environments["defaults"]), DEFAULT_STATES)["RETIREMENT_STATES"]
    assert states[states.index("NOTES_COMPLETE") + 1 : states.index("RETIRING_LMS")] == [
        "RETIRING_LMS_MISC",
        "LMS_MISC_COMPLETE",
    ]
    assert len(states) == len(DEFAULT_STATES) + 2
    assert states[0] == "PENDING" and states[-3:] == ["ERRORED", "ABORTED", "COMPLETE"]


@pytest.mark.parametrize(
    "before, after",
    [
        # already there (a site's own list, or hastexo's): untouched, even in its own order
        (
            [
                "PENDING",
                "RETIRING_LMS_MISC",
                "LMS_MISC_COMPLETE",
                "RETIRING_LMS",
                "LMS_COMPLETE",
                "ERRORED",
                "ABORTED",
                "COMPLETE",
            ],
            [
                "PENDING",
                "RETIRING_LMS_MISC",
                "LMS_MISC_COMPLETE",
                "RETIRING_LMS",
                "LMS_COMPLETE",
                "ERRORED",
                "ABORTED",
                "COMPLETE",
            ],
        ),
        # one of the two: the pair is put back together before RETIRING_LMS
        (
            [
                "PENDING",
                "LMS_MISC_COMPLETE",
                "RETIRING_LMS",
                "LMS_COMPLETE",
                "ERRORED",
                "ABORTED",
                "COMPLETE",
            ],
            [
                "PENDING",
                "RETIRING_LMS_MISC",
                "LMS_MISC_COMPLETE",
                "RETIRING_LMS",
                "LMS_COMPLETE",
                "ERRORED",
                "ABORTED",
                "COMPLETE",
            ],
        ),
        # no RETIRING_LMS step: before the end states
        (
            ["PENDING", "RETIRING_ENROLLMENTS", "ENROLLMENTS_COMPLETE", "ERRORED", "ABORTED", "COMPLETE"],
            [
                "PENDING",
                "RETIRING_ENROLLMENTS",
                "ENROLLMENTS_COMPLETE",
                "RETIRING_LMS_MISC",
                "LMS_MISC_COMPLETE",
                "ERRORED",
                "ABORTED",
                "COMPLETE",
            ],
        ),
    ],
)
def test_retirement_states_are_completed_not_replaced(environments, before, after):
    assert exec_block(lms_block(environments["defaults"]), before)["RETIREMENT_STATES"] == after


def test_next_to_the_retirement_plugin(environments):
    rendered = environments["with-retirement-plugin"]
    text = rendered.read("apps", "openedx", "settings", "lms", "production.py")
    theirs = text.index("RETIREMENT_STATES = [")
    mine = text.index("######## retirement-consumer")
    assert theirs < mine, "the plugin's settings must come after other plugins' (priority LOW)"
    # Their list already has the misc states: the result is exactly their list.
    namespace: dict = {}
    exec(compile(text[theirs : text.index("]", theirs) + 1], "theirs", "exec"), namespace)  # noqa: S102
    result = exec_block(lms_block(rendered), namespace["RETIREMENT_STATES"])
    assert result["RETIREMENT_STATES"] == namespace["RETIREMENT_STATES"]
    # Their OAuth2 client is reused (its secret from the environment); no second client.
    assert lms_env(rendered)["RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET"] == "hastexo-client-secret-0005"
    assert "RETIREMENT_SERVICE_WORKER_USERNAME" not in result
    init = rendered.read("plugins", "retirement-consumer", "jobs", "init-lms.sh")
    assert "create_dot_application" not in init
    assert "populate_retirement_states" in init
    reader_env = services(rendered, "docker-compose.jobs.yml")["retirement-reader-job"]["environment"]
    assert reader_env["RETIREMENT_READER_CLIENT_SECRET"] == "hastexo-client-secret-0005"
    # Tutor's internal LMS URL is plain http: the reader needs the explicit opt-in for it.
    assert reader_env["RETIREMENT_READER_LMS_URL"] == "http://lms:8000"
    assert reader_env["RETIREMENT_READER_ALLOW_INSECURE_HTTP"] == "true"


def test_without_the_retirement_plugin_a_service_worker_client_is_created(environments):
    rendered = environments["defaults"]
    init = rendered.read("plugins", "retirement-consumer", "jobs", "init-lms.sh")
    secret = rendered.config()["RETIREMENT_CONSUMER_OAUTH2_CLIENT_SECRET"]
    assert f"--client-secret '{secret}'" in init
    assert "manage_user retirement_service_worker" in init
    result = exec_block(lms_block(rendered), DEFAULT_STATES)
    assert result["RETIREMENT_SERVICE_WORKER_USERNAME"] == "retirement_service_worker"
    assert "BACKFILL_CLIENT_SECRET" not in result["RETIREMENT_KAFKA"] and secret not in lms_block(rendered)
    assert lms_env(rendered)["RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET"] == secret


# --- the openedx image ----------------------------------------------------------------------


def test_the_lms_plugin_is_installed_at_the_repository_version(environments):
    lms_version = tomllib.loads((REPO / "lms-plugin" / "pyproject.toml").read_text())["project"]["version"]
    from tutor_retirement_consumer.__about__ import __version__

    assert __version__ == lms_version
    # Nothing published is needed: by default the sources shipped with the Tutor plugin.
    dockerfile = environments["defaults"].read("build", "openedx", "Dockerfile")
    bind = "--mount=type=bind,from=retirement-lms-plugin,target=/tmp/openedx-retirement-kafka,rw"
    assert bind in dockerfile and "openedx-retirement-kafka==" not in dockerfile
    local = environments["local-lms-plugin"].read("build", "openedx", "Dockerfile")
    assert bind in local
    assert "openedx-retirement-kafka==" not in local
    # Disabling the Tutor plugin before the image is rebuilt must not break migrate.
    final = dockerfile[dockerfile.index("FROM production AS final") :]
    assert "ENV RETIREMENT_KAFKA_IF_UNSET=disabled" in final
    pinned = environments["pip-requirement"].read("build", "openedx", "Dockerfile")
    assert "$PIP_COMMAND install 'openedx-retirement-kafka==0.1.0'" in pinned and bind not in pinned
    # The patch sits in the python-requirements stage, before the extra requirements.
    requirements_stage = dockerfile.index("FROM python AS python-requirements")
    assert (
        requirements_stage
        < dockerfile.index("openedx-retirement-kafka")
        < dockerfile.index("FROM python AS nodejs")
    )


# --- jobs and scripts -----------------------------------------------------------------------


def test_job_scripts_are_valid_shell(rendered: Rendered):
    for script in ("init-topics.sh", "init-lms.sh"):
        path = rendered.envdir / "plugins" / "retirement-consumer" / "jobs" / script
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script}: {result.stderr}"
        result = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script} (sh): {result.stderr}"


def test_topic_creation(environments):
    defaults = environments["defaults"].read("plugins", "retirement-consumer", "jobs", "init-topics.sh")
    assert "create 'user-retirement' 6 1209600000" in defaults
    assert "create 'user-retirement.dlq' 6 2592000000" in defaults
    assert "create 'user-retirement.receipts' 6 " in defaults
    # Whole segments expire: one day each, on new and existing topics alike.
    assert "--config segment.ms=86400000" in defaults and "retention.ms=$3,segment.ms=86400000" in defaults
    # An existing event-bus Kafka: topics are not created unless asked.
    eventbus = environments["eventbus"].read("plugins", "retirement-consumer", "jobs", "init-topics.sh")
    assert "kafka-topics.sh" not in eventbus
    assert "prod-user-retirement" in eventbus
    sasl = environments["sasl"].read("plugins", "retirement-consumer", "jobs", "init-topics.sh")
    assert "security.protocol=SASL_SSL" in sasl and "ScramLoginModule" in sasl
    assert SECRETS["sasl"] not in sasl  # read from the environment at run time


def test_topic_script_writes_a_client_config_the_java_tools_accept(environments, tmp_path):
    """Run the SASL part of the topic script with the job's environment (no Kafka needed)."""
    script = environments["sasl"].read("plugins", "retirement-consumer", "jobs", "init-topics.sh")
    head = script[: script.index("bin=/opt/kafka/bin")]
    props = tmp_path / "client.properties"
    head = head.replace("/tmp/retirement-consumer-client.properties", str(props))
    env = services(environments["sasl"], "docker-compose.jobs.yml")["retirement-kafka-job"]["environment"]
    env = {k: v.replace("$$", "$") for k, v in env.items()}
    result = subprocess.run(
        ["sh", "-e", "-c", head], env={**env, "PATH": os.environ["PATH"]}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    text = props.read_text()
    assert f'password="{SECRETS["sasl"]}";' in text
    assert "ssl.truststore.type=PEM" in text
    # Java properties continuation lines: the certificate is one logical value.
    logical = re.sub(r"\\\n", "", text)
    assert "ssl.truststore.certificates=" + CA_PEM.replace("\n", "") in logical


def test_do_commands_run_in_the_right_containers(environments, tmp_path):
    """`tutor local do ...` with a stand-in `docker` that records what Tutor would run."""
    rendered = environments["destinations"]
    log = tmp_path / "docker.log"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        "#!/bin/sh\n"
        'printf "%s\\0" "$@" >> "$FAKE_DOCKER_LOG"; printf "\\n" >> "$FAKE_DOCKER_LOG"\n'
        'case " $* " in *" ls --format json "*) echo "[]";; esac\n'
    )
    (fake / "docker").chmod(0o755)
    extra = {"PATH": f"{fake}:{os.environ['PATH']}", "FAKE_DOCKER_LOG": str(log)}
    expected = {
        ("retirement-consumer-status",): (
            "retirement-consumer-job",
            "retirement-consumer status --config /etc/retirement-consumer/config.yaml",
        ),
        ("retirement-consumer-check",): (
            "retirement-consumer-job",
            "retirement-consumer check --config /etc/retirement-consumer/config.yaml",
        ),
        ("retirement-consumer-dlq-list",): (
            "retirement-consumer-job",
            "retirement-consumer dlq list --config /etc/retirement-consumer/config.yaml",
        ),
        ("retirement-consumer-dlq-redrive", "--destination", "crm", "--dry-run"): (
            "retirement-consumer-job",
            f"retirement-consumer dlq redrive --config {CONFIG} --destination crm --dry-run",
        ),
        (
            "retirement-consumer-replay",
            "--from",
            "2026-11-01T00:00:00Z",
            "--to",
            "24h",
            "--destination",
            "braze",
        ): (
            "retirement-consumer-job",
            f"retirement-consumer replay --config {CONFIG} --from 2026-11-01T00:00:00Z --to 24h "
            "--destination braze",
        ),
        ("retirement-backfill", "--since", "40d", "--dry-run"): (
            "retirement-lms-job",
            "./manage.py lms publish_retirement_backfill --since 40d --dry-run",
        ),
        ("retirement-reader", "--start-date", "2026-11-01", "--end-date", "2026-11-02"): (
            "retirement-reader-job",
            "openedx-retirement-reader --kafka-property 'security.protocol=SASL_PLAINTEXT' "
            "--kafka-property 'sasl.mechanism=SCRAM-SHA-512' "
            '--kafka-property "sasl.username=$KAFKA_SASL_USERNAME" '
            '--kafka-property "sasl.password=$KAFKA_SASL_PASSWORD" '
            "--start-date 2026-11-01 --end-date 2026-11-02",
        ),
    }
    for args, (service, command) in expected.items():
        log.write_text("")
        result = rendered.tutor("local", "do", *args, extra_env=extra)
        assert result.returncode == 0, result.stdout + result.stderr
        calls = [line.split("\0")[:-1] for line in log.read_text().splitlines() if line]
        runs = [call for call in calls if "run" in call]
        assert len(runs) == 1, calls
        run = runs[0]
        assert run[run.index("--rm") + 1 :][-5:] == [service, "sh", "-e", "-c", command], run
        subprocess.run(["sh", "-n", "-c", command], check=True)


def test_init_runs_the_topics_and_lms_tasks(environments, tmp_path):
    rendered = environments["defaults"]
    log = tmp_path / "docker.log"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        '#!/bin/sh\nprintf "%s\\0" "$@" >> "$FAKE_DOCKER_LOG"; printf "\\n" >> "$FAKE_DOCKER_LOG"\n'
        'case " $* " in *" ls --format json "*) echo "[]";; esac\n'
    )
    (fake / "docker").chmod(0o755)
    result = rendered.tutor(
        "local",
        "do",
        "init",
        "--limit",
        "retirement-consumer",
        extra_env={"PATH": f"{fake}:{os.environ['PATH']}", "FAKE_DOCKER_LOG": str(log)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = [line.split("\0") for line in log.read_text().splitlines() if "\0run\0" in line]
    services_run = [run[run.index("sh") - 1] for run in runs]
    assert services_run == ["retirement-kafka-job", "lms-job"]


def test_the_consumer_image_builds_from_the_repository(environments, tmp_path):
    rendered = environments["local-lms-plugin"]
    log = tmp_path / "docker.log"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        '#!/bin/sh\nprintf "%s\\0" "$@" >> "$FAKE_DOCKER_LOG"; printf "\\n" >> "$FAKE_DOCKER_LOG"\n'
    )
    (fake / "docker").chmod(0o755)
    extra = {"PATH": f"{fake}:{os.environ['PATH']}", "FAKE_DOCKER_LOG": str(log)}
    result = rendered.tutor("images", "build", "retirement-consumer", "openedx", extra_env=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    builds = [line.split("\0")[:-1] for line in log.read_text().splitlines() if line]
    consumer, openedx = builds
    assert consumer[:2] == ["buildx", "build"]
    assert consumer[-1] == str(REPO)  # the build context is the repository
    assert consumer[consumer.index("--file") + 1] == str(REPO / "deploy" / "Dockerfile")
    assert "--tag=retirement-consumer:0.1.0" in consumer
    assert f"--build-context=retirement-lms-plugin={REPO / 'lms-plugin'}" in openedx
    # Without a checkout: the sources shipped in the installed package (nothing published).
    log.write_text("")
    result = environments["defaults"].tutor(
        "images", "build", "retirement-consumer", "openedx", extra_env=extra
    )
    assert result.returncode == 0, result.stdout + result.stderr
    consumer, openedx = [line.split("\0")[:-1] for line in log.read_text().splitlines() if line]
    shipped = Path(consumer[-1]).parent
    assert shipped.parts[-2:] == ("tutor_retirement_consumer", "sources") and "site-packages" in shipped.parts
    for path in ("Package.swift", "Sources", "Tests", "deploy/Dockerfile"):
        assert (shipped / "consumer" / path).exists(), path
    assert (shipped / "lms-plugin" / "pyproject.toml").is_file()
    assert (shipped / "lms-plugin" / "openedx_retirement_kafka" / "signals.py").is_file()
    assert f"--build-context=retirement-lms-plugin={shipped / 'lms-plugin'}" in openedx
    # The default image has no registry: never pulled nor pushed; a registry image is.
    log.write_text("")
    result = environments["defaults"].tutor("images", "pull", "all", extra_env=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    pulled = log.read_text()
    assert "retirement-consumer:" not in pulled and "apache/kafka" in pulled
    log.write_text("")
    result = environments["pip-requirement"].tutor("images", "pull", "retirement-consumer", extra_env=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "registry.example.org/retirement-consumer:0.1.0" in log.read_text()


# --- the consumer's configuration -----------------------------------------------------------


def secret_values(rendered: Rendered) -> list[str]:
    config = rendered.config()
    values = [
        config["RETIREMENT_CONSUMER_WEBHOOK_SECRET"],
        config["RETIREMENT_CONSUMER_OAUTH2_CLIENT_SECRET"],
    ]
    return values + list(SECRETS.values()) + ["MIIBjzCCATWgAwIBAgIUG9BahNFNklLNSr6TP9eD8xnkfSkw"]


def test_no_secret_in_the_consumer_config(rendered: Rendered):
    text = rendered.read("plugins", "retirement-consumer", "apps", "config.yaml")
    for value in secret_values(rendered):
        assert value not in text
    kustomize_cm = rendered.read("kustomization.yml")
    for value in secret_values(rendered):
        assert value not in kustomize_cm


def test_consumer_config_shape(environments):
    config = consumer_config(environments["destinations"])
    assert config["kafka"]["bootstrap_servers"] == "retirement-kafka:9092"
    assert config["kafka"]["dead_letter_topic"] == "user-retirement.dlq"
    assert config["receipts"] == {"topic": "user-retirement.receipts"}
    assert config["http"]["listen"] == "0.0.0.0:9464"
    crm, braze, archive = config["destinations"]
    assert crm["secret_env"] == "RETIREMENT_WEBHOOK_SECRET"  # generated by Tutor (CONFIG_UNIQUE)
    assert braze["api_key_env"] == "RC_DEST_BRAZE_API_KEY" and "api_key" not in braze
    assert archive["url_env"] == "RC_DEST_ARCHIVE_URL" and "url" not in archive
    eventbus = consumer_config(environments["eventbus"])
    assert eventbus["kafka"]["topic"] == "prod-user-retirement"
    assert eventbus["kafka"]["dead_letter_topic"] == "prod-user-retirement.dlq"
    assert eventbus["kafka"]["bootstrap_servers"] == "kafka-1.internal:9092,kafka-2.internal:9092"
    sasl = consumer_config(environments["sasl"])
    assert sasl["kafka"]["properties"] == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username_env": "KAFKA_SASL_USERNAME",
        "sasl.password_env": "KAFKA_SASL_PASSWORD",
        "ssl.ca.pem_env": "KAFKA_SSL_CA_PEM",
    }
    assert (
        sasl["destinations"][0]["secret_env"] == "RC_DEST_CRM_SECRET"
    )  # its own secret, not the generated one


def consumer_binary() -> str:
    binary = os.environ.get("RETIREMENT_CONSUMER_BIN", "")
    if not binary:
        pytest.skip("RETIREMENT_CONSUMER_BIN is not set (scripts/test-tutor.sh says so)")
    assert os.access(binary, os.X_OK), f"RETIREMENT_CONSUMER_BIN={binary} is not executable"
    return binary


def run_check(rendered: Rendered, config_path: Path) -> subprocess.CompletedProcess:
    environment = services(rendered, "docker-compose.jobs.yml")["retirement-consumer-job"].get(
        "environment", {}
    )
    env = {"PATH": os.environ["PATH"], **{k: v.replace("$$", "$") for k, v in environment.items()}}
    return subprocess.run(
        [consumer_binary(), "check", "--config", str(config_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("variant", [name for name in VARIANTS if has_destination_settings(name)])
def test_rendered_config_passes_the_consumers_validation(environments, variant):
    rendered = environments[variant]
    path = rendered.envdir / "plugins" / "retirement-consumer" / "apps" / "config.yaml"
    result = run_check(rendered, path)
    output = result.stdout + result.stderr
    print(f"{variant}: retirement-consumer check exit {result.returncode}\n{output}")
    # 2 = configuration invalid; 1 = something unreachable (no Kafka, no vendor here).
    assert result.returncode != 2, output
    assert "invalid configuration" not in output


def test_check_does_reject_a_broken_rendering(environments, tmp_path):
    """The previous test can fail: the same config with a bad key, or without its env, exits 2."""
    rendered = environments["destinations"]
    config = consumer_config(rendered)
    config["processing"]["shutdown_grace"] = "20"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = run_check(rendered, broken)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "processing.shutdown_grace" in result.stdout + result.stderr
    # The env indirection is real: without the variables the config is invalid.
    path = rendered.envdir / "plugins" / "retirement-consumer" / "apps" / "config.yaml"
    result = subprocess.run(
        [consumer_binary(), "check", "--config", str(path)],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "RC_DEST_BRAZE_API_KEY" in result.stdout + result.stderr
    assert "encryption.keyring_env" in result.stdout + result.stderr  # the keyring is wired, and required


def test_check_knows_encryption_required(environments, tmp_path):
    """encryption.required as rendered is a key the consumer knows (a bad value of it is refused)."""
    rendered = environments["destinations"]
    config = consumer_config(rendered)
    assert config["encryption"]["required"] is True
    config["encryption"]["required"] = "sometimes"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = run_check(rendered, broken)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "encryption.required" in result.stdout + result.stderr


def base_values() -> dict:
    from tutor_retirement_consumer import values

    return {
        "RETIREMENT_CONSUMER_ENCRYPTION_KEYRING": values.new_keyring(),
        **{
            f"RETIREMENT_CONSUMER_KAFKA_{c}_PASSWORD": f"pw-{c}"
            for c in ("ADMIN", "LMS", "CONSUMER", "READER")
        },
    }


def test_values_reject_bad_settings():
    from tutor_retirement_consumer import values

    def compute(**settings):
        return values.compute({**base_values(), **settings})

    with pytest.raises(ValueError, match="DESTINATIONS"):
        compute(RETIREMENT_CONSUMER_DESTINATIONS={"name": "x"})
    with pytest.raises(ValueError, match="already used"):
        compute(RETIREMENT_CONSUMER_DESTINATIONS=[{"name": "a", "type": "webhook"}] * 2)
    with pytest.raises(ValueError, match="KAFKA_PROPERTIES may not set"):
        compute(RETIREMENT_CONSUMER_KAFKA_PROPERTIES={"sasl.password": "x"})
    with pytest.raises(ValueError, match="KAFKA_BOOTSTRAP_SERVERS is empty"):
        compute(RETIREMENT_CONSUMER_RUN_KAFKA=False)
    with pytest.raises(ValueError, match="KAFKA_LMS_PASSWORD is empty"):
        values.compute({**base_values(), "RETIREMENT_CONSUMER_KAFKA_LMS_PASSWORD": ""})
    with pytest.raises(ValueError, match="ENCRYPTION_KEYRING"):
        compute(RETIREMENT_CONSUMER_ENCRYPTION_KEYRING='{"current": "a", "keys": []}')
    with pytest.raises(ValueError, match="CONSUMER_CONFIG: unknown section 'kafak'"):
        compute(RETIREMENT_CONSUMER_CONSUMER_CONFIG={"kafak": {}})
    with pytest.raises(ValueError, match="CONSUMER_CONFIG may not set destinations"):
        compute(RETIREMENT_CONSUMER_CONSUMER_CONFIG={"destinations": []})
    # crm-eu (from the setting's name) and crm_eu: the same secret variable, refused.
    with pytest.raises(ValueError, match="RC_DEST_CRM_EU_TOKEN"):
        compute(
            RETIREMENT_CONSUMER_DESTINATION_CRM_EU={"type": "hubspot", "token": "a"},
            RETIREMENT_CONSUMER_DESTINATIONS=[{"name": "crm_eu", "type": "hubspot", "token": "b"}],
        )
    assert json.loads(json.dumps(compute()["lms_setting"]))["ENABLED"] is True
    # A secret in the passthrough goes to the environment, not into config.yaml.
    result = compute(RETIREMENT_CONSUMER_CONSUMER_CONFIG={"http": {"auth_token": "tok-123"}})
    assert result["consumer_config"]["http"]["auth_token_env"] == "RC_CONFIG_HTTP_AUTH_TOKEN"
    assert result["consumer_env"]["RC_CONFIG_HTTP_AUTH_TOKEN"] == "tok-123"
    assert "tok-123" not in result["consumer_config_yaml"]


def test_without_destinations_no_consumer_runs(environments):
    """Defaults: the config has no destination, which the consumer rejects; so none is deployed."""
    rendered = environments["defaults"]
    assert consumer_config(rendered)["destinations"] == []
    assert "retirement-consumer" not in services(rendered, "docker-compose.yml")
    assert ("Deployment", "retirement-consumer") not in ours(k8s_objects(rendered))
    path = rendered.envdir / "plugins" / "retirement-consumer" / "apps" / "config.yaml"
    result = run_check(rendered, path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "destinations" in result.stdout + result.stderr


# --- issue 19: secure by default, settings, operations ----------------------------------------


def test_the_kafka_the_plugin_runs_requires_sasl(environments):
    rendered = environments["destinations"]
    config = rendered.config()
    kafka = services(rendered, "docker-compose.yml")["retirement-kafka"]["environment"]
    assert kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"] == (
        "CLIENT:SASL_PLAINTEXT,INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
    )
    # The only plaintext listeners are bound to the broker's loopback.
    assert kafka["KAFKA_LISTENERS"] == "CLIENT://:9092,INTERNAL://127.0.0.1:9094,CONTROLLER://127.0.0.1:9093"
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "1@127.0.0.1:9093"  # the loopback it listens on
    # One principal per component, each with its own password.
    consumer_env = services(rendered, "docker-compose.yml")["retirement-consumer"]["environment"]
    assert consumer_env["KAFKA_SASL_USERNAME"] == "retirement-consumer"
    assert consumer_env["KAFKA_SASL_PASSWORD"] == config["RETIREMENT_CONSUMER_KAFKA_CONSUMER_PASSWORD"]
    reader_env = services(rendered, "docker-compose.yml")["retirement-reader"]["environment"]
    assert reader_env["KAFKA_SASL_USERNAME"] == "retirement-reader"
    assert reader_env["KAFKA_SASL_PASSWORD"] == config["RETIREMENT_CONSUMER_KAFKA_READER_PASSWORD"]
    setting = exec_block(lms_block(rendered), DEFAULT_STATES, lms_env(rendered))["RETIREMENT_KAFKA"]
    assert setting["PRODUCER_CONFIG"]["sasl.username"] == "retirement-lms"
    assert setting["PRODUCER_CONFIG"]["sasl.password"] == config["RETIREMENT_CONSUMER_KAFKA_LMS_PASSWORD"]
    passwords = {
        config[f"RETIREMENT_CONSUMER_KAFKA_{c}_PASSWORD"] for c in ("ADMIN", "LMS", "CONSUMER", "READER")
    }
    assert len(passwords) == 4
    # The init job creates the SCRAM users and the ACLs, secrets from its environment.
    script = rendered.read("plugins", "retirement-consumer", "jobs", "init-topics.sh")
    assert 'scram retirement-lms "$SCRAM_LMS_PASSWORD"' in script
    assert "--operation IdempotentWrite --cluster" in script
    assert not any(password in script for password in passwords)
    job_env = services(rendered, "docker-compose.jobs.yml")["retirement-kafka-job"]["environment"]
    assert job_env["SCRAM_LMS_PASSWORD"] == config["RETIREMENT_CONSUMER_KAFKA_LMS_PASSWORD"]
    assert job_env["KAFKA_SASL_USERNAME"] == "retirement-admin"
    # Kubernetes: the admin password through a Secret, expanded by the kubelet.
    objects = ours(k8s_objects(rendered))
    env = objects[("Deployment", "retirement-kafka")]["spec"]["template"]["spec"]["containers"][0]["env"]
    by_name = {e["name"]: e for e in env}
    assert by_name["RETIREMENT_KAFKA_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
        "retirement-kafka-broker-env"
    )
    assert config["RETIREMENT_CONSUMER_KAFKA_ADMIN_PASSWORD"] not in json.dumps(env)


def test_network_policies(environments):
    objects = ours(k8s_objects(environments["destinations"]))
    kafka = objects[("NetworkPolicy", "retirement-kafka")]["spec"]
    allowed = kafka["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"]
    assert set(allowed) == {
        "lms",
        "lms-worker",
        "retirement-lms-job",
        "retirement-consumer",
        "retirement-consumer-job",
        "retirement-reader",
        "retirement-reader-job",
        "retirement-kafka-job",
    }
    consumer = objects[("NetworkPolicy", "retirement-consumer")]["spec"]
    assert consumer["ingress"] == [
        {
            "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}],
            "ports": [{"port": 9464, "protocol": "TCP"}],
        }
    ]
    # The pods the policy admits carry those labels.
    for job in (
        "retirement-consumer-job",
        "retirement-kafka-job",
        "retirement-reader-job",
        "retirement-lms-job",
    ):
        assert (
            objects[("Job", job)]["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == job
        )
    # An external Kafka: no policy for it.
    assert ("NetworkPolicy", "retirement-kafka") not in ours(k8s_objects(environments["sasl"]))


def test_secrets_reach_the_lms_through_secrets_only(rendered: Rendered):
    objects = ours(k8s_objects(rendered))
    lms_secret = objects[("Secret", "retirement-lms-env")]["stringData"]
    assert "RETIREMENT_KAFKA_ENCRYPTION_KEYRING" in lms_secret
    override = rendered.yaml_docs("k8s", "override.yml")
    lms = next(o for o in override if o["metadata"]["name"] == "lms")
    assert lms["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [
        {"secretRef": {"name": "retirement-lms-env"}}
    ]
    # Nothing secret in any ConfigMap kustomize generates (the LMS settings included).
    settings = "".join(
        (rendered.envdir / "apps/openedx/settings/lms" / name).read_text()
        for name in ("production.py", "development.py")
    )
    for value in secret_values(rendered) + list(lms_secret.values()):
        if len(value) >= 8:
            assert value not in settings
            assert value not in rendered.read("plugins", "retirement-consumer", "apps", "config.yaml")


def test_kustomize_builds_the_site(rendered: Rendered):
    kubectl = shutil.which("kubectl")
    if not kubectl:
        pytest.skip("kubectl is not installed")
    result = subprocess.run([kubectl, "kustomize", str(rendered.envdir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    lms = next(d for d in built if d["kind"] == "Deployment" and d["metadata"]["name"] == "lms")
    container = lms["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "retirement-lms-env"}} in container["envFrom"]
    assert any(e["name"] == "SERVICE_VARIANT" for e in container["env"])  # merged, not replaced
    for doc in built:
        if doc["kind"] == "ConfigMap":
            text = json.dumps(doc)
            for value in secret_values(rendered):
                assert value not in text, doc["metadata"]["name"]


def test_consumer_config_has_encryption_required(environments):
    config = consumer_config(environments["destinations"])
    assert config["encryption"] == {
        "keyring_env": "RETIREMENT_KEYRING",
        "required": True,
        "longest_retention": "2592000s",
    }
    env = services(environments["destinations"], "docker-compose.yml")["retirement-consumer"]["environment"]
    keyring = json.loads(environments["destinations"].config()["RETIREMENT_CONSUMER_ENCRYPTION_KEYRING"])
    assert json.loads(env["RETIREMENT_KEYRING"].replace("$$", "$")) == keyring
    reader = services(environments["destinations"], "docker-compose.yml")["retirement-reader"]["environment"]
    assert json.loads(reader["RETIREMENT_READER_KEYRING"].replace("$$", "$")) == keyring


def test_passthrough_and_destination_settings(environments):
    config = consumer_config(environments["pip-requirement"])
    assert config["kafka"]["prefetch_kbytes"] == 2048
    assert config["processing"]["max_buffered"] == 4000
    assert config["processing"]["max_in_flight"] == 1000  # merged, not replaced
    names = [d["name"] for d in config["destinations"]]
    assert names == ["braze", "crm-eu"]
    assert config["destinations"][0]["api_key_env"] == "RC_DEST_BRAZE_API_KEY"


def test_compose_consumer_healthcheck_and_local_image(environments, tmp_path):
    consumer = services(environments["destinations"], "docker-compose.yml")["retirement-consumer"]
    test = consumer["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    assert consumer["pull_policy"] == "never"
    assert (
        "pull_policy"
        not in services(environments["pip-requirement"], "docker-compose.yml")["retirement-consumer"]
    )
    # The probe against a stand-in /healthz: 200 passes, 503 fails.
    import http.server
    import threading

    for code, expected in ((200, 0), (503, 1)):

        class Handler(http.server.BaseHTTPRequestHandler):
            status = code

            def do_GET(self):  # noqa: N802
                self.send_response(self.status if self.path == "/healthz" else 404)
                self.end_headers()

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.handle_request, daemon=True).start()
        script = test[3].replace("9464", str(server.server_address[1]))
        result = subprocess.run(["bash", "-c", script], capture_output=True, timeout=10)
        server.server_close()
        assert result.returncode == expected, (code, result.stderr)


def test_receipts_job(environments, tmp_path):
    rendered = environments["destinations"]
    log = tmp_path / "docker.log"
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        '#!/bin/sh\nprintf "%s\\0" "$@" >> "$FAKE_DOCKER_LOG"; printf "\\n" >> "$FAKE_DOCKER_LOG"\n'
        'case " $* " in *" ls --format json "*) echo "[]";; esac\n'
    )
    (fake / "docker").chmod(0o755)
    extra = {"PATH": f"{fake}:{os.environ['PATH']}", "FAKE_DOCKER_LOG": str(log)}
    result = rendered.tutor("local", "do", "retirement-consumer-receipts", "-n", "3", extra_env=extra)
    assert result.returncode == 0, result.stdout + result.stderr
    # One record per docker call: arguments ended by NUL, the call by NUL + newline.
    runs = [record.split("\0") for record in log.read_text().split("\0\n") if "\0run\0" in record]
    assert len(runs) == 1
    run = runs[0]
    assert run[-5:-1] == ["retirement-kafka-job", "sh", "-e", "-c"]
    script = run[-1]
    assert script.startswith("RECEIPTS_COUNT=3;")  # the template strips the newline
    assert '--topic "$topic" --partition "$partition"' in script
    assert "topic='user-retirement.receipts'" in script
    subprocess.run(["sh", "-n", "-c", script], check=True)


def tutor_in(rendered: Rendered, *args: str) -> subprocess.CompletedProcess:
    return rendered.tutor(*args)


@pytest.fixture
def scratch(tmp_path) -> Rendered:
    root = tmp_path / "site"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    env = dict(os.environ, TUTOR_ROOT=str(root), TUTOR_PLUGINS_ROOT=str(plugins))
    site = Rendered("scratch", root, env)
    assert site.tutor("plugins", "enable", "retirement-consumer").returncode == 0
    assert site.tutor("config", "save").returncode == 0
    return site


@pytest.mark.parametrize(
    "setting, value, message",
    [
        (
            "RETIREMENT_CONSUMER_DESTINATIONS",
            "{name: x}",
            "RETIREMENT_CONSUMER_DESTINATIONS must be a YAML list",
        ),
        ("RETIREMENT_CONSUMER_DESTINATION_CRM", "3", "RETIREMENT_CONSUMER_DESTINATION_CRM must be a mapping"),
        ("RETIREMENT_CONSUMER_CONSUMER_CONFIG", "{kafak: {}}", "unknown section 'kafak'"),
        (
            "RETIREMENT_CONSUMER_TOPIC_PARTITIONS",
            "many",
            "RETIREMENT_CONSUMER_TOPIC_PARTITIONS must be an integer",
        ),
        (
            "RETIREMENT_CONSUMER_ENCRYPTION_KEYRING",
            "nope",
            "RETIREMENT_CONSUMER_ENCRYPTION_KEYRING must be a keyring",
        ),
    ],
)
def test_config_save_refuses_a_bad_value_in_one_line(scratch, setting, value, message):
    before = (scratch.root / "config.yml").read_text()
    result = scratch.tutor("config", "save", "--set", f"{setting}={value}")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert (scratch.root / "config.yml").read_text() == before  # nothing saved
    assert scratch.tutor("config", "save").returncode == 0  # later saves still work


def test_destinations_are_added_one_setting_at_a_time(scratch):
    crm = "RETIREMENT_CONSUMER_DESTINATION_CRM={type: webhook, url: 'https://crm.example.org/erase'}"
    braze = (
        "RETIREMENT_CONSUMER_DESTINATION_BRAZE={type: braze, base_url: 'https://x.braze.com', api_key: k-1}"
    )
    assert scratch.tutor("config", "save", "--set", crm).returncode == 0
    assert scratch.tutor("config", "save", "--set", braze).returncode == 0
    names = [d["name"] for d in consumer_config(scratch)["destinations"]]
    assert names == ["braze", "crm"]
    assert scratch.tutor("config", "save", "--unset", "RETIREMENT_CONSUMER_DESTINATION_CRM").returncode == 0
    assert [d["name"] for d in consumer_config(scratch)["destinations"]] == ["braze"]
    clash = "RETIREMENT_CONSUMER_DESTINATIONS=[{name: braze, type: webhook, url: 'https://b.example.org'}]"
    result = scratch.tutor("config", "save", "--set", clash)
    assert result.returncode != 0 and "'braze' is already used" in result.stderr


def test_printvalue_shows_effective_defaults(scratch):
    def value(key):
        result = scratch.tutor("config", "printvalue", key)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert value("RETIREMENT_CONSUMER_RUN_KAFKA") == "true"
    assert value("RETIREMENT_CONSUMER_CREATE_TOPICS") == "true"
    assert value("RETIREMENT_CONSUMER_RUN_CONSUMER") == "false"
    assert value("RETIREMENT_CONSUMER_RECEIPTS_TOPIC") == "user-retirement.receipts"
    assert value("RETIREMENT_CONSUMER_DEAD_LETTER_TOPIC") == "user-retirement.dlq"
    assert value("RETIREMENT_CONSUMER_TOPIC_PREFIX") == ""
    scratch.tutor(
        "config",
        "save",
        "--set",
        "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=k:9092",
        "--set",
        "EVENT_BUS_TOPIC_PREFIX=prod",
    )
    assert value("RETIREMENT_CONSUMER_RUN_KAFKA") == "false"
    assert value("RETIREMENT_CONSUMER_TOPIC_PREFIX") == "prod"
    assert value("RETIREMENT_CONSUMER_RECEIPTS_TOPIC") == "prod-user-retirement.receipts"


def test_keyring_is_generated_once_and_rotates(scratch):
    first = json.loads(scratch.config()["RETIREMENT_CONSUMER_ENCRYPTION_KEYRING"])
    assert scratch.tutor("config", "save").returncode == 0
    assert json.loads(scratch.config()["RETIREMENT_CONSUMER_ENCRYPTION_KEYRING"]) == first  # CONFIG_UNIQUE
    result = scratch.tutor("retirement-consumer", "rotate-key")
    assert result.returncode == 0, result.stderr
    rotated = json.loads(scratch.config()["RETIREMENT_CONSUMER_ENCRYPTION_KEYRING"])
    assert len(rotated["keys"]) == 2 and rotated["keys"][0] == first["keys"][0]
    assert rotated["current"] == rotated["keys"][1]["id"] != first["current"]
    assert first["keys"][0]["secret"] not in result.stdout + result.stderr
    result = scratch.tutor("retirement-consumer", "remove-key", rotated["current"])
    assert result.returncode != 0 and "current key" in result.stderr
    result = scratch.tutor("retirement-consumer", "remove-key", first["current"])
    assert result.returncode == 0, result.stderr
    assert [
        k["id"] for k in json.loads(scratch.config()["RETIREMENT_CONSUMER_ENCRYPTION_KEYRING"])["keys"]
    ] == [rotated["current"]]
    # Encryption off: no keyring anywhere.
    assert scratch.tutor("config", "save", "--set", "RETIREMENT_CONSUMER_ENCRYPTION=false").returncode == 0
    assert "encryption" not in consumer_config(scratch)


def test_wheel_built_from_the_checkout_carries_the_sources(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(REPO / "tutor-plugin")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("tutor_contrib_retirement_consumer-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in (
        "sources/lms-plugin/pyproject.toml",
        "sources/lms-plugin/openedx_retirement_kafka/signals.py",
        "sources/consumer/Package.swift",
        "sources/consumer/deploy/Dockerfile",
    ):
        assert f"tutor_retirement_consumer/{path}" in names, path
    assert not any("/tests/" in name for name in names)


# --- the retirement driver --------------------------------------------------------------------


def test_driver_is_scheduled_and_configured(environments):
    rendered = environments["defaults"]
    objects = ours(k8s_objects(rendered))
    cron = objects[("CronJob", "retirement-driver")]["spec"]
    assert cron["schedule"] == "0 3 * * *" and cron["concurrencyPolicy"] == "Forbid"
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["envFrom"] == [{"secretRef": {"name": "retirement-driver-env"}}]
    script = pod["containers"][0]["args"][0]
    assert script == rendered.read("plugins", "retirement-consumer", "jobs", "driver.sh")
    secret = rendered.config()["RETIREMENT_CONSUMER_OAUTH2_CLIENT_SECRET"]
    assert secret not in script
    assert (
        objects[("Secret", "retirement-driver-env")]["stringData"]["RETIREMENT_DRIVER_CLIENT_SECRET"]
        == secret
    )
    assert "--cool_off_days 7" in script
    assert "[RETIRING_LMS_MISC, LMS_MISC_COMPLETE, LMS, retirement_lms_retire_misc]" in script
    subprocess.run(["sh", "-n", "-c", script], check=True)
    # Requirements installed at image build, in their own venv.
    dockerfile = rendered.read("build", "openedx", "Dockerfile")
    assert "source=/scripts/user_retirement/requirements/base.txt" in dockerfile
    assert "/openedx/venv/retirement-driver/bin/pip install -r" in dockerfile
    jobs = services(rendered, "docker-compose.jobs.yml")
    assert jobs["retirement-driver-job"]["environment"]["RETIREMENT_DRIVER_CLIENT_SECRET"] == secret
    # hastexo's plugin drives retirements itself: no second driver.
    other = ours(k8s_objects(environments["with-retirement-plugin"]))
    assert ("CronJob", "retirement-driver") not in other
    assert "retirement-driver" not in environments["with-retirement-plugin"].read(
        "build", "openedx", "Dockerfile"
    )


def test_driver_pipeline_without_the_misc_step_is_refused(scratch):
    pipeline = "[[RETIRING_LMS, LMS_COMPLETE, LMS, retirement_lms_retire]]"
    result = scratch.tutor("config", "save", "--set", f"RETIREMENT_CONSUMER_DRIVER_PIPELINE={pipeline}")
    assert result.returncode != 0 and "RETIRING_LMS_MISC" in result.stderr
    result = scratch.tutor("config", "save", "--set", "RETIREMENT_CONSUMER_COOL_OFF_DAYS=0")
    assert result.returncode == 0
    assert "--cool_off_days 0" in scratch.read("plugins", "retirement-consumer", "jobs", "driver.sh")


def test_driver_takes_a_learner_through_every_state_against_a_fake_lms(environments, tmp_path):
    """edx-platform's own driver scripts, run by the rendered driver script, against a local fake
    of the LMS retirement API. Needs EDX_PLATFORM_DIR (a checkout of edx-platform) and
    RETIREMENT_DRIVER_PYTHON (a Python with scripts/user_retirement/requirements/base.txt);
    scripts/test-tutor.sh sets the latter up when the former is given."""
    from fake_lms_retirement import FakeLms

    edx_platform = os.environ.get("EDX_PLATFORM_DIR", "")
    python = os.environ.get("RETIREMENT_DRIVER_PYTHON", "")
    if not edx_platform or not python:
        pytest.skip(
            "EDX_PLATFORM_DIR / RETIREMENT_DRIVER_PYTHON not set: edx-platform's driver scripts unavailable"
        )
    scripts = Path(edx_platform) / "scripts" / "user_retirement"
    assert (scripts / "retire_one_learner.py").is_file(), scripts
    rendered = environments["defaults"]
    script = rendered.read("plugins", "retirement-consumer", "jobs", "driver.sh")
    with FakeLms("retirement_service_worker", "driver-secret") as lms:
        lms.add_learner("alice", 41, days_ago=8)  # past the 7-day cool-off
        lms.add_learner("bob", 42, days_ago=1)  # not yet
        result = subprocess.run(
            ["sh", "-e", "-c", script.replace("http://lms:8000/", lms.url)],
            env={
                "PATH": os.environ["PATH"],
                "RETIREMENT_DRIVER_SCRIPTS": str(scripts),
                "RETIREMENT_DRIVER_PYTHON": python,
                "RETIREMENT_DRIVER_CLIENT_ID": "retirement_service_worker",
                "RETIREMENT_DRIVER_CLIENT_SECRET": "driver-secret",
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert not lms.errors, lms.errors
        pipeline = yaml.safe_load(
            script.split("<<'RETIREMENT_DRIVER_CONFIG'\n")[1].split("RETIREMENT_DRIVER_CONFIG")[0]
        )
        expected = [state for row in pipeline["retirement_pipeline"] for state in row[:2]] + ["COMPLETE"]
        assert lms.transitions["alice"] == expected
        assert "RETIRING_LMS_MISC" in expected
        assert ("/api/user/v1/accounts/retire_misc/", "alice") in lms.steps
        assert lms.transitions["bob"] == []
        assert "driver-secret" not in output


STAND_IN_GET_LEARNERS = """
import os, sys
args = sys.argv[1:]
out = args[args.index("--output_dir") + 1]
os.makedirs(out)
open(os.path.join(os.environ["STAND_IN_LOG"], "get_learners.args"), "w").write("\\n".join(args))
for name in ("Alice", "bob"):
    path = os.path.join(out, "learner_retire_" + name.lower())
    open(path, "w").write("RETIREMENT_USERNAME=" + name + "\\n")
"""

STAND_IN_RETIRE_ONE = """
import os, shutil, sys
args = sys.argv[1:]
username = args[args.index("--username") + 1]
log = os.environ["STAND_IN_LOG"]
shutil.copy(args[args.index("--config_file") + 1], os.path.join(log, "config.yml"))
open(os.path.join(log, "retired"), "a").write(username + "\\n")
sys.exit(1 if username == "bob" else 0)
"""


def test_driver_script_with_stand_in_scripts(environments, tmp_path):
    """The rendered driver script's own logic, with stand-ins for edx-platform's two scripts
    (their documented command lines and output files only; the pipeline itself is the
    EDX_PLATFORM_DIR test's): the configuration they get, one call per learner, the exit status."""
    script = environments["defaults"].read("plugins", "retirement-consumer", "jobs", "driver.sh")
    scripts = tmp_path / "user_retirement"
    scripts.mkdir()
    (scripts / "get_learners_to_retire.py").write_text(STAND_IN_GET_LEARNERS)
    (scripts / "retire_one_learner.py").write_text(STAND_IN_RETIRE_ONE)
    log = tmp_path / "log"
    log.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "RETIREMENT_DRIVER_SCRIPTS": str(scripts),
        "RETIREMENT_DRIVER_PYTHON": sys.executable,
        "RETIREMENT_DRIVER_CLIENT_ID": "retirement_service_worker",
        "RETIREMENT_DRIVER_CLIENT_SECRET": 'se"cr:et',
        "STAND_IN_LOG": str(log),
    }
    result = subprocess.run(["sh", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    # bob failed: the run fails (the CronJob's job is marked failed), after trying everyone.
    assert result.returncode == 1, output
    assert "2 learner(s), 1 failed" in output
    assert (log / "retired").read_text().split() == ["Alice", "bob"]  # original usernames, as written
    config = yaml.safe_load((log / "config.yml").read_text())
    assert config["client_id"] == "retirement_service_worker"
    assert config["client_secret"] == 'se"cr:et'  # quoted safely, from the environment
    assert config["base_urls"] == {"lms": "http://lms:8000/"}
    assert ["RETIRING_LMS_MISC", "LMS_MISC_COMPLETE", "LMS", "retirement_lms_retire_misc"] in config[
        "retirement_pipeline"
    ]
    args = (log / "get_learners.args").read_text().split("\n")
    assert args[args.index("--cool_off_days") + 1] == "7"
    assert 'se"cr:et' not in output
    # All learners retired: exit 0.
    (scripts / "retire_one_learner.py").write_text(STAND_IN_RETIRE_ONE.replace('== "bob"', '== "nobody"'))
    (log / "retired").unlink()
    result = subprocess.run(["sh", "-e", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("bad", [[1, 2], {"a": "b"}, "abc", -5, "", None, True])
def test_every_setting_with_a_bad_value_is_refused_naming_it_or_accepted(bad):
    """No setting can raise anything but a ValueError naming it (a one-line TutorError), and
    none that the templates use as a single value is silently turned into text."""
    from tutor_retirement_consumer import plugin, values

    for key in plugin.CONFIG_DEFAULTS:
        name = values.PREFIX + key
        try:
            values.compute({**base_values(), name: bad})
        except ValueError as error:
            assert name in str(error), (name, bad, str(error))
            assert "\n" not in str(error)
        else:
            assert not (isinstance(bad, (list, dict)) and key in values._SCALAR_SETTINGS), (name, bad)
