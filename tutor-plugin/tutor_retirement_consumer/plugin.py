"""
Tutor plugin ``retirement-consumer`` (Tutor v1 hooks API).

- installs the LMS plugin ``openedx-retirement-kafka`` into the openedx image;
- writes ``RETIREMENT_KAFKA`` and the ``RETIREMENT_STATES`` it needs into the LMS settings;
- optionally runs a one-broker Kafka (KRaft) and creates the topics;
- runs retirement-consumer (compose service, Kubernetes Deployment) and, optionally, the
  out-of-band reader in follow mode;
- adds ``tutor local/k8s do`` jobs for the backfill, the reader and the consumer's
  replay / dlq / status / check commands.

See docs/tutor.md in the repository.
"""

from __future__ import annotations

import os
import shlex
import typing as t
from importlib import resources

import click
from tutor import hooks

from . import values
from .__about__ import __version__

NAME = "retirement-consumer"
PACKAGE = resources.files("tutor_retirement_consumer")

CONFIG_DEFAULTS: dict[str, t.Any] = {
    "VERSION": __version__,
    # Images
    "DOCKER_IMAGE": "{{ DOCKER_REGISTRY }}retirement-consumer:{{ RETIREMENT_CONSUMER_VERSION }}",
    "SOURCE_DIR": "",
    "KAFKA_DOCKER_IMAGE": "docker.io/apache/kafka:3.9.1",
    # The LMS plugin
    "LMS_PLUGIN_REQUIREMENT": "openedx-retirement-kafka=={{ RETIREMENT_CONSUMER_VERSION }}",
    "LMS_ENABLED": True,
    "DELIVERY_TIMEOUT_SECONDS": 10,
    "LMS_INTERNAL_URL": "http://lms:8000",
    "MANAGE_RETIREMENT_STATES": True,
    "POPULATE_RETIREMENT_STATES": True,
    "OAUTH2_CLIENT_ID": "retirement_service_worker",
    "CREATE_OAUTH2_CLIENT": True,
    # Kafka
    "RUN_KAFKA": None,
    "CREATE_TOPICS": None,
    "KAFKA_BOOTSTRAP_SERVERS": "",
    "KAFKA_CLUSTER_ID": "5L6g3nShT-eMCtK--X86sw",
    "KAFKA_SECURITY_PROTOCOL": "",
    "KAFKA_SASL_MECHANISM": "",
    "KAFKA_SASL_USERNAME": "",
    "KAFKA_SASL_PASSWORD": "",
    "KAFKA_CA_PEM": "",
    "KAFKA_PROPERTIES": {},
    "KAFKA_REPLICATION_FACTOR": 1,
    "KAFKA_STORAGE_SIZE": "2Gi",
    "TOPIC": "user-retirement",
    "TOPIC_PREFIX": None,
    "DEAD_LETTER_TOPIC": "",
    "RECEIPTS_TOPIC": None,
    "TOPIC_PARTITIONS": 6,
    "TOPIC_RETENTION_MS": 1209600000,
    "DEAD_LETTER_RETENTION_MS": 2592000000,
    "RECEIPTS_RETENTION_MS": 31536000000,
    # The consumer
    "RUN_CONSUMER": None,
    "DESTINATIONS": [],
    "GROUP_ID": "retirement-consumer",
    "REPLICAS": 1,
    "MAX_IN_FLIGHT": 1000,
    "MAX_ATTEMPTS": 10,
    "SHUTDOWN_GRACE_SECONDS": 20,
    "LOG_LEVEL": "info",
    # The out-of-band reader in follow mode
    "RUN_READER": False,
    "READER_INTERVAL": "5m",
    "READER_START_DATE": "",
}

CONFIG_UNIQUE: dict[str, str] = {
    "WEBHOOK_SECRET": "{{ 48|random_string }}",
    "OAUTH2_CLIENT_SECRET": "{{ 32|random_string }}",
}

hooks.Filters.CONFIG_DEFAULTS.add_items(
    [(values.PREFIX + key, value) for key, value in CONFIG_DEFAULTS.items()]
)
hooks.Filters.CONFIG_UNIQUE.add_items([(values.PREFIX + key, value) for key, value in CONFIG_UNIQUE.items()])

hooks.Filters.ENV_TEMPLATE_VARIABLES.add_item(("retirement_consumer", values.retirement_consumer))
hooks.Filters.ENV_TEMPLATE_FILTERS.add_items(
    [
        ("retirement_consumer_compose_value", values.yaml_value),
        ("retirement_consumer_k8s_value", values.k8s_value),
        ("retirement_consumer_shell", values.shell_quote),
    ]
)

# Templates: env/plugins/retirement-consumer/{apps,jobs}/...
hooks.Filters.ENV_TEMPLATE_ROOTS.add_item(str(PACKAGE / "templates"))
hooks.Filters.ENV_TEMPLATE_TARGETS.add_items([(f"{NAME}/apps", "plugins"), (f"{NAME}/jobs", "plugins")])

# Patches: one file per patch under patches/. Rendered after other plugins' patches of the
# same name, so the RETIREMENT_STATES code sees what e.g. hastexo's retirement plugin set.
for entry in sorted((PACKAGE / "patches").iterdir(), key=lambda p: p.name):
    if entry.is_file() and not entry.name.startswith("."):
        hooks.Filters.ENV_PATCHES.add_item(
            (entry.name, entry.read_text(encoding="utf-8")), priority=hooks.priorities.LOW
        )


def _job_script(name: str) -> str:
    return (PACKAGE / "templates" / NAME / "jobs" / name).read_text(encoding="utf-8")


# Init tasks, run by `tutor local launch` / `tutor k8s launch` / `tutor local do init`.
with hooks.Contexts.app(NAME).enter():
    hooks.Filters.CLI_DO_INIT_TASKS.add_item(("retirement-kafka", _job_script("init-topics.sh")))
    hooks.Filters.CLI_DO_INIT_TASKS.add_item(
        ("lms", _job_script("init-lms.sh")), priority=hooks.priorities.LOW
    )


# --- images -------------------------------------------------------------------------------


@hooks.Filters.IMAGES_BUILD.add()
def _build_consumer_image(images: list, config: dict) -> list:
    """
    `tutor images build retirement-consumer`: the build context is a checkout of the
    repository (RETIREMENT_CONSUMER_SOURCE_DIR), the Dockerfile its deploy/Dockerfile.
    Without a checkout the image is not built here; pull a published one instead.
    """
    source = str(config.get(values.PREFIX + "SOURCE_DIR") or "").strip()
    if source:
        source = os.path.abspath(os.path.expanduser(source))
        images.append(
            (
                "retirement-consumer",
                # An absolute path: os.path.join(env_root, source) is the checkout itself.
                source,
                "{{ RETIREMENT_CONSUMER_DOCKER_IMAGE }}",
                ("--file", os.path.join(source, "deploy", "Dockerfile")),
            )
        )
    return images


@hooks.Filters.IMAGES_BUILD.add(priority=hooks.priorities.LOW)
def _lms_plugin_build_context(images: list, config: dict) -> list:
    """
    LMS_PLUGIN_REQUIREMENT=local: give the openedx image build the checkout's lms-plugin
    folder as the named build context `retirement-lms-plugin` (see the Dockerfile patch).
    """
    requirement = str(config.get(values.PREFIX + "LMS_PLUGIN_REQUIREMENT") or "").strip()
    source = str(config.get(values.PREFIX + "SOURCE_DIR") or "").strip()
    if requirement != "local":
        return images
    if not source:
        raise click.ClickException(
            f"{values.PREFIX}LMS_PLUGIN_REQUIREMENT=local needs {values.PREFIX}SOURCE_DIR "
            "(a checkout of the repository)"
        )
    context = os.path.join(os.path.abspath(os.path.expanduser(source)), "lms-plugin")
    result = []
    for name, path, tag, args in images:
        if name in ("openedx", "openedx-dev"):
            args = (*args, f"--build-context=retirement-lms-plugin={context}")
        result.append((name, path, tag, args))
    return result


hooks.Filters.IMAGES_PULL.add_items(
    [
        ("retirement-consumer", "{{ RETIREMENT_CONSUMER_DOCKER_IMAGE }}"),
        ("retirement-kafka", "{{ RETIREMENT_CONSUMER_KAFKA_DOCKER_IMAGE }}"),
    ]
)
hooks.Filters.IMAGES_PUSH.add_item(("retirement-consumer", "{{ RETIREMENT_CONSUMER_DOCKER_IMAGE }}"))


# --- `tutor local/k8s do` jobs --------------------------------------------------------------


def _consumer(*args: str) -> str:
    return shlex.join(["retirement-consumer", *args[:1], "--config", values.CONFIG_PATH, *args[1:]])


@click.command(
    name="retirement-backfill", help="Publish the retirement events of learners the LMS plugin never saw"
)
@click.option("--since", required=True, help="start of the request-date window: RFC 3339 or a duration (40d)")
@click.option("--until", help="end of the window (exclusive); default now")
@click.option(
    "--states", help="comma-separated retirement states; default RETIREMENT_KAFKA['BACKFILL_STATES']"
)
@click.option("--dry-run", is_flag=True, help="list what would be published")
def backfill(since: str, until: str | None, states: str | None, dry_run: bool) -> t.Iterable[tuple[str, str]]:
    command = ["./manage.py", "lms", "publish_retirement_backfill", "--since", since]
    if until:
        command += ["--until", until]
    if states:
        command += ["--states", states]
    if dry_run:
        command.append("--dry-run")
    yield ("lms", shlex.join(command))


@click.command(
    name="retirement-reader",
    context_settings={"ignore_unknown_options": True},
    help="Run openedx-retirement-reader once (the out-of-band way, no LMS plugin needed); "
    "extra arguments are passed on, e.g. --start-date 2026-11-01 --end-date 2026-11-30",
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def reader(args: tuple[str, ...]) -> t.Iterable[tuple[str, str]]:
    command = "openedx-retirement-reader {{ retirement_consumer().reader_property_flags }}"
    if args:
        command += " " + shlex.join(args)
    yield ("retirement-reader", command)


@click.command(
    name="retirement-consumer-replay",
    help="Re-apply the events of a time window (retirement-consumer replay)",
)
@click.option("--from", "from_", required=True, help="RFC 3339 time or a duration back from now (24h, 7d)")
@click.option("--to", help="end of the window (exclusive)")
@click.option("--destination", multiple=True, help="only this destination (repeatable)")
@click.option("--dry-run", is_flag=True)
def replay(
    from_: str, to: str | None, destination: tuple[str, ...], dry_run: bool
) -> t.Iterable[tuple[str, str]]:
    args = ["replay", "--from", from_]
    if to:
        args += ["--to", to]
    for name in destination:
        args += ["--destination", name]
    if dry_run:
        args.append("--dry-run")
    yield ("retirement-consumer", _consumer(*args))


@click.command(name="retirement-consumer-dlq-list", help="Dead-lettered events by reason and destination")
def dlq_list() -> t.Iterable[tuple[str, str]]:
    yield (
        "retirement-consumer",
        shlex.join(["retirement-consumer", "dlq", "list", "--config", values.CONFIG_PATH]),
    )


@click.command(
    name="retirement-consumer-dlq-redrive",
    help="Re-apply dead-lettered events to the destinations that owe them",
)
@click.option("--destination", multiple=True, help="only this destination (repeatable)")
@click.option("--dry-run", is_flag=True)
def dlq_redrive(destination: tuple[str, ...], dry_run: bool) -> t.Iterable[tuple[str, str]]:
    args = ["retirement-consumer", "dlq", "redrive", "--config", values.CONFIG_PATH]
    for name in destination:
        args += ["--destination", name]
    if dry_run:
        args.append("--dry-run")
    yield ("retirement-consumer", shlex.join(args))


@click.command(
    name="retirement-consumer-status", help="Committed offset, high watermark and lag per partition"
)
def status() -> t.Iterable[tuple[str, str]]:
    yield ("retirement-consumer", _consumer("status"))


@click.command(
    name="retirement-consumer-check",
    help="Validate the consumer configuration and reach Kafka and every destination",
)
def check() -> t.Iterable[tuple[str, str]]:
    yield ("retirement-consumer", _consumer("check"))


hooks.Filters.CLI_DO_COMMANDS.add_items([backfill, reader, replay, dlq_list, dlq_redrive, status, check])
