"""What the plugin renders into a Tutor environment, per variant (see conftest.VARIANTS)."""

from __future__ import annotations

import json
import os
import py_compile
import re
import subprocess
import tomllib
from pathlib import Path

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


def exec_block(block: str, states: list[str] | None) -> dict:
    namespace: dict = {}
    if states is not None:
        namespace["RETIREMENT_STATES"] = list(states)
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
    has_destinations = "RETIREMENT_CONSUMER_DESTINATIONS" in VARIANTS[rendered.name]
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
    has_destinations = "RETIREMENT_CONSUMER_DESTINATIONS" in VARIANTS[rendered.name]
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
    setting = exec_block(lms_block(rendered), DEFAULT_STATES)["RETIREMENT_KAFKA"]

    class Settings:
        RETIREMENT_KAFKA = setting
        LMS_BASE = "ignored.example.org"

    config = conf.load_config(Settings, environ={})
    assert config.enabled
    conf.check_producer_config(config)
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
    setting = exec_block(lms_block(environments["sasl"]), DEFAULT_STATES)["RETIREMENT_KAFKA"]
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
    # Their OAuth2 client is reused; no second service worker client is created.
    assert result["RETIREMENT_KAFKA"]["BACKFILL_CLIENT_SECRET"] == "hastexo-client-secret-0005"
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
    assert result["RETIREMENT_KAFKA"]["BACKFILL_CLIENT_SECRET"] == secret


# --- the openedx image ----------------------------------------------------------------------


def test_the_lms_plugin_is_installed_at_the_repository_version(environments):
    lms_version = tomllib.loads((REPO / "lms-plugin" / "pyproject.toml").read_text())["project"]["version"]
    from tutor_retirement_consumer.__about__ import __version__

    assert __version__ == lms_version
    dockerfile = environments["defaults"].read("build", "openedx", "Dockerfile")
    assert f"$PIP_COMMAND install 'openedx-retirement-kafka=={lms_version}'" in dockerfile
    local = environments["local-lms-plugin"].read("build", "openedx", "Dockerfile")
    assert "--mount=type=bind,from=retirement-lms-plugin,target=/tmp/openedx-retirement-kafka,rw" in local
    assert "openedx-retirement-kafka==" not in local
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
            "lms-job",
            "./manage.py lms publish_retirement_backfill --since 40d --dry-run",
        ),
        ("retirement-reader", "--start-date", "2026-11-01", "--end-date", "2026-11-02"): (
            "retirement-reader-job",
            "openedx-retirement-reader  --start-date 2026-11-01 --end-date 2026-11-02",
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
    assert "--tag=docker.io/retirement-consumer:0.1.0" in consumer
    assert f"--build-context=retirement-lms-plugin={REPO / 'lms-plugin'}" in openedx
    # Without a checkout there is nothing to build from: the image is pulled instead.
    result = environments["defaults"].tutor("images", "build", "retirement-consumer", extra_env=extra)
    assert result.returncode != 0


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


@pytest.mark.parametrize(
    "variant", [name for name, sets in VARIANTS.items() if "RETIREMENT_CONSUMER_DESTINATIONS" in sets]
)
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


def test_values_reject_bad_settings():
    from tutor_retirement_consumer import values

    with pytest.raises(ValueError, match="DESTINATIONS"):
        values.compute({"RETIREMENT_CONSUMER_DESTINATIONS": {"name": "x"}})
    with pytest.raises(ValueError, match="used twice"):
        values.compute({"RETIREMENT_CONSUMER_DESTINATIONS": [{"name": "a", "type": "webhook"}] * 2})
    with pytest.raises(ValueError, match="KAFKA_PROPERTIES may not set"):
        values.compute({"RETIREMENT_CONSUMER_KAFKA_PROPERTIES": {"sasl.password": "x"}})
    with pytest.raises(ValueError, match="KAFKA_BOOTSTRAP_SERVERS is empty"):
        values.compute({"RETIREMENT_CONSUMER_RUN_KAFKA": False})
    assert json.loads(json.dumps(values.compute({})["lms_setting"]))["ENABLED"] is True


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
