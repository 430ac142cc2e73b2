"""
Render real Tutor environments with the plugin enabled, one per variant, with the `tutor`
command of this virtualenv (`tutor plugins enable`, `tutor config save --set ...`), into a
temporary TUTOR_ROOT. No Docker is needed: `config save` only renders files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TUTOR = str(Path(sys.executable).parent / "tutor")

# A self-signed test CA (certificate only; its key was thrown away).
CA_PEM = textwrap.dedent(
    """\
    -----BEGIN CERTIFICATE-----
    MIIBjzCCATWgAwIBAgIUG9BahNFNklLNSr6TP9eD8xnkfSkwCgYIKoZIzj0EAwIw
    HTEbMBkGA1UEAwwScmV0aXJlbWVudC10ZXN0LWNhMB4XDTI2MTIwMTEzMjQxN1oX
    DTM2MTEyODEzMjQxN1owHTEbMBkGA1UEAwwScmV0aXJlbWVudC10ZXN0LWNhMFkw
    EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzeE/nHFW/UNj5OIJHSsSeF1atiqGqJ4H
    Gmx97ErtMB1iz5LRdkKrc3YmqnLjLqfC0byxu81nDtj1C0kOSLL2FqNTMFEwHQYD
    VR0OBBYEFDQlCP+0/rwOtK/RGPh7Muhr/2YyMB8GA1UdIwQYMBaAFDQlCP+0/rwO
    tK/RGPh7Muhr/2YyMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIg
    Ewtk2keFgHUHyvmdEK2NVrmdvrVewiSVmVlmYBAa8eICIQCPeasKhbuZLzqtJ9ak
    6IGxmsQdyi1HuTRPKWpSOWi63Q==
    -----END CERTIFICATE-----"""
)

# Values that must never appear in the consumer's rendered configuration.
SECRETS = {
    "braze": "braze-key-$3cr3t-0001",
    "sql_url": "postgres://archive:pg-pa55word@db.example.org:5432/archive",
    "hubspot": "pat-na1-hubspot-token-0002",
    "sasl": "kafka-sasl-pa55word-0003",
    "crm_own": "crm-own-hmac-secret-0004-0123456789abcdef",
}

SASL_SERVERS = "b-1.kafka.example.org:9096,b-2.kafka.example.org:9096"

DESTINATIONS = [
    {"name": "crm", "type": "webhook", "url": "https://crm.example.org/erase"},
    {
        "name": "braze",
        "type": "braze",
        "base_url": "https://rest.iad-01.braze.com",
        "api_key": SECRETS["braze"],
    },
    {
        "name": "archive",
        "type": "sql",
        "url": SECRETS["sql_url"],
        "statements": ["DELETE FROM marketing_contacts WHERE lms_user_id = :user_id"],
    },
]


def _flow(value) -> str:
    """A value for `tutor config save --set KEY=VALUE` (parsed by Tutor as YAML)."""
    return yaml.safe_dump(value, default_flow_style=True, width=100000).strip()


# Hastexo's tutor-contrib-retirement sets RETIREMENT_STATES (with the misc states) and its own
# OAuth2 client in config. This stand-in plugin does the same, to test living next to it.
RETIREMENT_LIKE_PLUGIN = '''
from tutor import hooks

hooks.Filters.CONFIG_DEFAULTS.add_items([
    ("RETIREMENT_EDX_OAUTH2_CLIENT_ID", "retirement_service_worker"),
    ("RETIREMENT_EDX_OAUTH2_CLIENT_SECRET", "hastexo-client-secret-0005"),
])
hooks.Filters.ENV_PATCHES.add_item(("openedx-lms-common-settings", """
RETIREMENT_SERVICE_WORKER_USERNAME = 'retirement_service_worker'
RETIREMENT_STATES = [
    'PENDING', 'LOCKING_ACCOUNT', 'LOCKING_COMPLETE', 'RETIRING_ENROLLMENTS', 'ENROLLMENTS_COMPLETE',
    'RETIRING_LMS_MISC', 'LMS_MISC_COMPLETE', 'RETIRING_LMS', 'LMS_COMPLETE',
    'ERRORED', 'ABORTED', 'COMPLETE',
]
"""))
'''

VARIANTS: dict[str, dict] = {
    "defaults": {},
    "destinations": {
        "RETIREMENT_CONSUMER_DESTINATIONS": _flow(DESTINATIONS),
        "RETIREMENT_CONSUMER_TOPIC_PARTITIONS": "4",
        "RETIREMENT_CONSUMER_REPLICAS": "10",
        "RETIREMENT_CONSUMER_RUN_READER": "true",
    },
    "eventbus": {
        "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS": "kafka-1.internal:9092,kafka-2.internal:9092",
        "EVENT_BUS_TOPIC_PREFIX": "prod",
        "RETIREMENT_CONSUMER_DESTINATIONS": _flow(
            [{"name": "hubspot", "type": "hubspot", "token": SECRETS["hubspot"]}]
        ),
    },
    "sasl": {
        "RETIREMENT_CONSUMER_KAFKA_BOOTSTRAP_SERVERS": SASL_SERVERS,
        "RETIREMENT_CONSUMER_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "RETIREMENT_CONSUMER_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "RETIREMENT_CONSUMER_KAFKA_SASL_USERNAME": "lms-retirement",
        "RETIREMENT_CONSUMER_KAFKA_SASL_PASSWORD": SECRETS["sasl"],
        "RETIREMENT_CONSUMER_KAFKA_CA_PEM": _flow(CA_PEM),
        "RETIREMENT_CONSUMER_CREATE_TOPICS": "true",
        "RETIREMENT_CONSUMER_DELIVERY_TIMEOUT_SECONDS": "7.5",
        "RETIREMENT_CONSUMER_DESTINATIONS": _flow(
            [
                {
                    "name": "crm",
                    "type": "webhook",
                    "url": "https://crm.example.org/erase",
                    "secret": SECRETS["crm_own"],
                }
            ]
        ),
    },
    "with-retirement-plugin": {
        "RETIREMENT_CONSUMER_DESTINATIONS": _flow(DESTINATIONS[:1]),
    },
    "local-lms-plugin": {
        "RETIREMENT_CONSUMER_SOURCE_DIR": str(REPO),
        "RETIREMENT_CONSUMER_LMS_PLUGIN_REQUIREMENT": "local",
    },
    # A published LMS plugin and a registry image; destinations one per setting; any consumer key.
    "pip-requirement": {
        "RETIREMENT_CONSUMER_LMS_PLUGIN_REQUIREMENT": "openedx-retirement-kafka==0.1.0",
        "RETIREMENT_CONSUMER_DOCKER_IMAGE": "registry.example.org/retirement-consumer:0.1.0",
        "RETIREMENT_CONSUMER_DESTINATION_CRM_EU": _flow(
            {"type": "webhook", "url": "https://crm.example.org/eu"}
        ),
        "RETIREMENT_CONSUMER_DESTINATION_BRAZE": _flow(
            {"type": "braze", "base_url": "https://rest.iad-01.braze.com", "api_key": SECRETS["braze"]}
        ),
        "RETIREMENT_CONSUMER_CONSUMER_CONFIG": _flow(
            {"kafka": {"prefetch_kbytes": 2048}, "processing": {"max_buffered": 4000}}
        ),
    },
}


@dataclass
class Rendered:
    name: str
    root: Path
    env: dict

    @property
    def envdir(self) -> Path:
        return self.root / "env"

    def read(self, *parts: str) -> str:
        return self.envdir.joinpath(*parts).read_text(encoding="utf-8")

    def yaml_docs(self, *parts: str) -> list:
        return [doc for doc in yaml.safe_load_all(self.read(*parts)) if doc]

    def config(self) -> dict:
        return yaml.safe_load((self.root / "config.yml").read_text(encoding="utf-8"))

    def tutor(self, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        env = dict(self.env)
        env.update(extra_env or {})
        return subprocess.run([TUTOR, *args], env=env, capture_output=True, text=True, timeout=300)


def render(name: str, base: Path) -> Rendered:
    root = base / name
    plugins_root = base / f"{name}-plugins"
    plugins_root.mkdir(parents=True)
    env = dict(os.environ)
    env.update({"TUTOR_ROOT": str(root), "TUTOR_PLUGINS_ROOT": str(plugins_root)})
    rendered = Rendered(name, root, env)
    enable = ["retirement-consumer"]
    if name == "with-retirement-plugin":
        (plugins_root / "retirementlike.py").write_text(RETIREMENT_LIKE_PLUGIN, encoding="utf-8")
        enable.append("retirementlike")
    result = rendered.tutor("plugins", "enable", *enable)
    assert result.returncode == 0, result.stdout + result.stderr
    args = ["config", "save"]
    for key, value in VARIANTS[name].items():
        args += ["--set", f"{key}={value}"]
    result = rendered.tutor(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return rendered


@pytest.fixture(scope="session")
def environments(tmp_path_factory) -> dict[str, Rendered]:
    base = tmp_path_factory.mktemp("tutor")
    return {name: render(name, base) for name in VARIANTS}


@pytest.fixture(params=list(VARIANTS))
def rendered(request, environments) -> Rendered:
    return environments[request.param]
