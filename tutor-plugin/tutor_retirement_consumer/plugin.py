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

import json
import os
import shlex
import typing as t
from copy import deepcopy
from importlib import resources
from pathlib import Path

import click
import jinja2
from tutor import config as tutor_config
from tutor import exceptions, hooks

from . import values
from .__about__ import __version__

NAME = "retirement-consumer"
PACKAGE = resources.files("tutor_retirement_consumer")

CONFIG_DEFAULTS: dict[str, t.Any] = {
    "VERSION": __version__,
    # Images
    # No registry host: built here (`tutor images build retirement-consumer`), never pulled.
    "DOCKER_IMAGE": "retirement-consumer:{{ RETIREMENT_CONSUMER_VERSION }}",
    "SOURCE_DIR": "",
    "KAFKA_DOCKER_IMAGE": "docker.io/apache/kafka:3.9.1",
    # The LMS plugin
    # "bundled": the LMS plugin's sources shipped in this package; "local": SOURCE_DIR's
    # lms-plugin; anything else is a pip requirement (index or git URL).
    "LMS_PLUGIN_REQUIREMENT": "bundled",
    "LMS_ENABLED": True,
    "DELIVERY_TIMEOUT_SECONDS": 10,
    "LMS_INTERNAL_URL": "http://lms:8000",
    "MANAGE_RETIREMENT_STATES": True,
    "POPULATE_RETIREMENT_STATES": True,
    "OAUTH2_CLIENT_ID": "retirement_service_worker",
    "CREATE_OAUTH2_CLIENT": True,
    # Kafka
    "RUN_KAFKA": "{{ retirement_consumer_default('RUN_KAFKA') }}",
    "CREATE_TOPICS": "{{ retirement_consumer_default('CREATE_TOPICS') }}",
    "KAFKA_SASL": True,
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
    "TOPIC_PREFIX": "{{ retirement_consumer_default('TOPIC_PREFIX') }}",
    "DEAD_LETTER_TOPIC": "{{ retirement_consumer_default('DEAD_LETTER_TOPIC') }}",
    # "" turns receipts off.
    "RECEIPTS_TOPIC": "{{ retirement_consumer_default('RECEIPTS_TOPIC') }}",
    "TOPIC_PARTITIONS": 6,
    "TOPIC_RETENTION_MS": 1209600000,
    "DEAD_LETTER_RETENTION_MS": 2592000000,
    "RECEIPTS_RETENTION_MS": 31536000000,
    # The consumer
    "RUN_CONSUMER": "{{ retirement_consumer_default('RUN_CONSUMER') }}",
    # Destinations: one setting each, RETIREMENT_CONSUMER_DESTINATION_<NAME> (a mapping), or
    # this list; both are merged.
    "DESTINATIONS": [],
    # Merged into the rendered config.yaml (any key of docs/contract.md §7 but destinations).
    "CONSUMER_CONFIG": {},
    "ENCRYPTION": True,
    "METRICS_SCRAPER_POD_LABELS": {"app.kubernetes.io/name": "prometheus"},
    "METRICS_SCRAPER_NAMESPACE_LABELS": {},
    "NETWORK_POLICIES": True,
    "GROUP_ID": "retirement-consumer",
    "REPLICAS": 1,
    "MAX_IN_FLIGHT": 1000,
    "MAX_ATTEMPTS": 10,
    "SHUTDOWN_GRACE_SECONDS": 20,
    "LOG_LEVEL": "info",
    # The out-of-band reader in follow mode
    "RUN_READER": False,
    # The retirement driver: edx-platform's scripts/user_retirement, on a schedule. On unless
    # another plugin drives retirements (hastexo's tutor-contrib-retirement).
    "RUN_DRIVER": "{{ retirement_consumer_default('RUN_DRIVER') }}",
    "DRIVER_SCHEDULE": "0 3 * * *",
    "COOL_OFF_DAYS": 7,
    "DRIVER_USER_COUNT_ERROR_THRESHOLD": 300,
    "DRIVER_MAX_USER_BATCH_SIZE": 200,
    # [start state, end state, service, method] rows of the driver configuration.
    "DRIVER_PIPELINE": values.DEFAULT_PIPELINE,
    "READER_INTERVAL": "5m",
    "READER_START_DATE": "",
}

CONFIG_UNIQUE: dict[str, str] = {
    "WEBHOOK_SECRET": "{{ 48|random_string }}",
    "OAUTH2_CLIENT_SECRET": "{{ 32|random_string }}",
    # The encryption keyring (JSON), made once per site; `tutor retirement-consumer
    # rotate-key` adds a key.
    "ENCRYPTION_KEYRING": "{{ retirement_consumer_new_keyring() }}",
    # SASL/SCRAM passwords of the Kafka the plugin runs: its admin (PLAIN, for the init job)
    # and one principal per component.
    "KAFKA_ADMIN_PASSWORD": "{{ 32|random_string }}",
    "KAFKA_LMS_PASSWORD": "{{ 32|random_string }}",
    "KAFKA_CONSUMER_PASSWORD": "{{ 32|random_string }}",
    "KAFKA_READER_PASSWORD": "{{ 32|random_string }}",
}

hooks.Filters.CONFIG_DEFAULTS.add_items(
    [(values.PREFIX + key, value) for key, value in CONFIG_DEFAULTS.items()]
)
hooks.Filters.CONFIG_UNIQUE.add_items([(values.PREFIX + key, value) for key, value in CONFIG_UNIQUE.items()])


@jinja2.pass_context
def _retirement_consumer(context: t.Any) -> dict:
    """Jinja global ``retirement_consumer()``: a bad value is a one-line TutorError."""
    try:
        return values.compute(context)
    except ValueError as error:
        raise exceptions.TutorError(str(error)) from None


hooks.Filters.ENV_TEMPLATE_VARIABLES.add_items(
    [
        ("retirement_consumer", _retirement_consumer),
        ("retirement_consumer_default", values.retirement_consumer_default),
        ("retirement_consumer_new_keyring", values.new_keyring),
    ]
)
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


def bundled_source(part: str) -> str:
    """
    The sources shipped with this package (``sources/lms-plugin``, ``sources/consumer``:
    copied in by setup.py when the package is built from the repository), or, for an
    editable install, the repository itself. "" when neither is there.
    """
    shipped = Path(str(PACKAGE)) / "sources" / part
    if (shipped / ("pyproject.toml" if part == "lms-plugin" else "Package.swift")).is_file():
        return str(shipped)
    checkout = Path(__file__).resolve().parents[2]
    candidate = checkout / "lms-plugin" if part == "lms-plugin" else checkout
    if (candidate / ("pyproject.toml" if part == "lms-plugin" else "Package.swift")).is_file():
        return str(candidate)
    return ""


def _source_dir(config: dict) -> str:
    source = str(config.get(values.PREFIX + "SOURCE_DIR") or "").strip()
    return os.path.abspath(os.path.expanduser(source)) if source else ""


@hooks.Filters.IMAGES_BUILD.add()
def _build_consumer_image(images: list, config: dict) -> list:
    """
    `tutor images build retirement-consumer`: the build context is the consumer's sources
    shipped with this package (or RETIREMENT_CONSUMER_SOURCE_DIR, a checkout), the
    Dockerfile its deploy/Dockerfile.
    """
    source = _source_dir(config) or bundled_source("consumer")
    if not source:
        raise exceptions.TutorError(
            f"this installation of the plugin carries no consumer sources: set {values.PREFIX}SOURCE_DIR "
            "to a checkout of the repository"
        )
    images.append(
        (
            "retirement-consumer",
            # An absolute path: os.path.join(env_root, source) is the source itself.
            source,
            "{{ RETIREMENT_CONSUMER_DOCKER_IMAGE }}",
            ("--file", os.path.join(source, "deploy", "Dockerfile")),
        )
    )
    return images


@hooks.Filters.IMAGES_BUILD.add(priority=hooks.priorities.LOW)
def _lms_plugin_build_context(images: list, config: dict) -> list:
    """
    LMS_PLUGIN_REQUIREMENT=bundled (default) or local: give the openedx image build the LMS
    plugin's sources as the named build context `retirement-lms-plugin` (see the Dockerfile
    patch). Any other value is a pip requirement and needs no context.
    """
    requirement = str(config.get(values.PREFIX + "LMS_PLUGIN_REQUIREMENT") or "").strip()
    if requirement == "local":
        if not _source_dir(config):
            raise exceptions.TutorError(
                f"{values.PREFIX}LMS_PLUGIN_REQUIREMENT=local needs {values.PREFIX}SOURCE_DIR "
                "(a checkout of the repository)"
            )
        context = os.path.join(_source_dir(config), "lms-plugin")
    elif requirement == "bundled":
        context = bundled_source("lms-plugin")
        if not context:
            raise exceptions.TutorError(
                f"{values.PREFIX}LMS_PLUGIN_REQUIREMENT=bundled, but this installation of the plugin "
                "carries no LMS plugin sources: install it from the repository or a wheel built there"
            )
    else:
        return images
    result = []
    for name, path, tag, args in images:
        if name in ("openedx", "openedx-dev"):
            args = (*args, f"--build-context=retirement-lms-plugin={context}")
        result.append((name, path, tag, args))
    return result


@hooks.Filters.IMAGES_PULL.add()
def _pull_images(images: list, config: dict) -> list:
    # The consumer image is pulled (and pushed) only when the operator named a registry image.
    if not values.image_is_local(str(config.get(values.PREFIX + "DOCKER_IMAGE") or "")):
        images.append(("retirement-consumer", "{{ RETIREMENT_CONSUMER_DOCKER_IMAGE }}"))
    images.append(("retirement-kafka", "{{ RETIREMENT_CONSUMER_KAFKA_DOCKER_IMAGE }}"))
    return images


@hooks.Filters.IMAGES_PUSH.add()
def _push_images(images: list, config: dict) -> list:
    if not values.image_is_local(str(config.get(values.PREFIX + "DOCKER_IMAGE") or "")):
        images.append(("retirement-consumer", "{{ RETIREMENT_CONSUMER_DOCKER_IMAGE }}"))
    return images


# --- `tutor config save`: a bad value is refused before it is saved -------------------------

_save_config_file = tutor_config.save_config_file


def _validated_save_config_file(root: str, config: dict) -> None:
    """
    Tutor saves config.yml before it renders anything, so a bad value would be saved and
    break every later command. Tutor has no hook between the two; the plugin wraps
    ``tutor.config.save_config_file`` and computes its values from the configuration about
    to be saved: a problem is a one-line TutorError naming the setting, and nothing is saved.
    """
    if NAME in (config.get(tutor_config.PLUGINS_CONFIG_KEY) or []):
        full = deepcopy(config)
        tutor_config.update_with_base(full)
        tutor_config.update_with_defaults(full)
        tutor_config.render_full(full)
        try:
            values.compute(full)
        except ValueError as error:
            raise exceptions.TutorError(f"{error} (configuration not saved)") from None
    _save_config_file(root, config)


tutor_config.save_config_file = _validated_save_config_file


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
    # retirement-lms-job: Tutor's lms-job with the plugin's secrets in its environment.
    yield ("retirement-lms", shlex.join(command))


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


@click.command(
    name="retirement-consumer-receipts",
    help="Print the latest receipts per partition of the receipts topic (ids only, no personal data)",
)
@click.option(
    "-n", "--count", type=click.IntRange(1, 10000), default=10, show_default=True, help="per partition"
)
def receipts(count: int) -> t.Iterable[tuple[str, str]]:
    yield ("retirement-kafka", f"RECEIPTS_COUNT={count};\n" + _job_script("receipts.sh"))


@click.command(
    name="retirement-driver",
    help="Run the retirement driver once: learners past the cool-off go through the pipeline "
    "(edx-platform's get_learners_to_retire.py, then retire_one_learner.py per learner)",
)
def driver() -> t.Iterable[tuple[str, str]]:
    yield ("retirement-driver", _job_script("driver.sh"))


hooks.Filters.CLI_DO_COMMANDS.add_items(
    [backfill, reader, replay, dlq_list, dlq_redrive, status, check, receipts, driver]
)


# --- `tutor retirement-consumer ...`: the keyring -------------------------------------------


@click.group(name=NAME, help="Commands of the retirement-consumer plugin")
def command_group() -> None:
    pass


@command_group.command(
    name="rotate-key",
    help="Add a new key to RETIREMENT_CONSUMER_ENCRYPTION_KEYRING and make it current (the older "
    "keys stay, to decrypt what is still in Kafka); then run `tutor config save` and restart",
)
@click.pass_obj
def rotate_key(context: t.Any) -> None:
    config = tutor_config.load_minimal(context.root)
    name = values.PREFIX + "ENCRYPTION_KEYRING"
    try:
        keyring = values.parse_keyring(config.get(name) or "", name)
    except ValueError as error:
        raise exceptions.TutorError(str(error)) from None
    key = values.new_key()
    if any(existing["id"] == key["id"] for existing in keyring["keys"]):
        raise exceptions.TutorError(f"{name}: a key {key['id']} exists already; try again in a second")
    keyring["keys"].append(key)
    keyring["current"] = key["id"]
    config[name] = json.dumps(keyring, separators=(",", ":"))
    tutor_config.save_config_file(context.root, config)
    click.echo(f"new current key {key['id']}; keys: {', '.join(k['id'] for k in keyring['keys'])}")


@command_group.command(
    name="remove-key",
    help="Remove a key from the keyring (crypto-shredding: events encrypted under it become "
    "unreadable); refused for the current key",
)
@click.argument("kid")
@click.pass_obj
def remove_key(context: t.Any, kid: str) -> None:
    config = tutor_config.load_minimal(context.root)
    name = values.PREFIX + "ENCRYPTION_KEYRING"
    try:
        keyring = values.parse_keyring(config.get(name) or "", name)
    except ValueError as error:
        raise exceptions.TutorError(str(error)) from None
    if kid == keyring["current"]:
        raise exceptions.TutorError(f"{name}: {kid} is the current key; rotate-key first")
    if kid not in [k["id"] for k in keyring["keys"]]:
        raise exceptions.TutorError(f"{name}: no key {kid}")
    keyring["keys"] = [k for k in keyring["keys"] if k["id"] != kid]
    config[name] = json.dumps(keyring, separators=(",", ":"))
    tutor_config.save_config_file(context.root, config)
    click.echo(f"removed {kid}; keys: {', '.join(k['id'] for k in keyring['keys'])}")


hooks.Filters.CLI_COMMANDS.add_item(command_group)
