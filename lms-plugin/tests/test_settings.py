"""Settings: defaults via plugin_settings, and bad settings failing at start-up."""

import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from openedx_retirement_kafka.apps import RetirementKafkaConfig
from openedx_retirement_kafka.conf import DEFAULTS, load_config
from openedx_retirement_kafka.settings import common, production

PLUGIN_ROOT = Path(__file__).resolve().parents[1]


def settings_module(**values):
    module = types.SimpleNamespace(LMS_BASE="lms.example.org", LMS_ROOT_URL="https://lms.example.org")
    for key, value in values.items():
        setattr(module, key, value)
    return module


def test_plugin_settings_fills_defaults_and_keeps_operator_values():
    module = settings_module(RETIREMENT_KAFKA={"BOOTSTRAP_SERVERS": "k:9092", "TOPIC": "t"})
    production.plugin_settings(module)
    assert module.RETIREMENT_KAFKA["BOOTSTRAP_SERVERS"] == "k:9092"
    assert module.RETIREMENT_KAFKA["TOPIC"] == "t"
    assert module.RETIREMENT_KAFKA["DELIVERY_TIMEOUT_SECONDS"] == DEFAULTS["DELIVERY_TIMEOUT_SECONDS"]
    assert module.RETIREMENT_KAFKA_SETTINGS_TYPE == "production"
    empty = settings_module()
    common.plugin_settings(empty)
    assert empty.RETIREMENT_KAFKA == DEFAULTS and empty.RETIREMENT_KAFKA is not DEFAULTS
    assert empty.RETIREMENT_KAFKA_SETTINGS_TYPE == "common"


def test_an_image_that_says_so_is_disabled_when_nothing_configures_it(monkeypatch):
    """RETIREMENT_KAFKA_IF_UNSET=disabled (the Tutor plugin's images): no setting -> disabled,
    so the system check passes (migrate runs) after the Tutor plugin was disabled."""
    from openedx_retirement_kafka import checks

    monkeypatch.setenv("RETIREMENT_KAFKA_IF_UNSET", "disabled")
    module = settings_module()
    production.plugin_settings(module)
    assert module.RETIREMENT_KAFKA["ENABLED"] is False
    assert checks.configuration_problem(module) is None
    # A configured site is not affected: its setting is kept (and completed).
    configured = settings_module(RETIREMENT_KAFKA={"BOOTSTRAP_SERVERS": "k:9092"})
    production.plugin_settings(configured)
    assert configured.RETIREMENT_KAFKA["ENABLED"] is True
    # Without the variable an unconfigured production site is still an error (E001).
    monkeypatch.delenv("RETIREMENT_KAFKA_IF_UNSET")
    bare = settings_module()
    production.plugin_settings(bare)
    assert bare.RETIREMENT_KAFKA["ENABLED"] is True
    assert checks.configuration_problem(bare) is not None


def test_valid_config():
    config = load_config(
        settings_module(
            RETIREMENT_KAFKA={
                "BOOTSTRAP_SERVERS": ["k1:9092", "k2:9092"],
                "TOPIC_PREFIX": "prod",
                "PRODUCER_CONFIG": {"security.protocol": "SASL_SSL", "acks": "all"},
            }
        ),
        environ={"RETIREMENT_KAFKA_BACKFILL_CLIENT_ID": "id", "RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET": "s"},
    )
    assert config.topic == "prod-user-retirement"
    assert config.bootstrap_servers == "k1:9092,k2:9092"
    assert config.lms_host == "lms.example.org"  # from LMS_BASE
    assert config.backfill_client_id == "id"
    conf = config.producer_config()
    assert conf["enable.idempotence"] is True and conf["acks"] == "all"
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["message.timeout.ms"] == 10000


def test_disabled_needs_nothing_else():
    assert load_config(settings_module(RETIREMENT_KAFKA={"ENABLED": False})).enabled is False


BAD = [
    ({"BOOTSTRAP_SERVERS": ""}, "RETIREMENT_KAFKA['BOOTSTRAP_SERVERS']"),
    ({}, "RETIREMENT_KAFKA['BOOTSTRAP_SERVERS']"),
    ({"BOOTSTRAP_SERVERS": "k:1", "ENABLED": "yes"}, "RETIREMENT_KAFKA['ENABLED']"),
    ({"BOOTSTRAP_SERVERS": "k:1", "TOPIC": "bad topic"}, "RETIREMENT_KAFKA['TOPIC']"),
    ({"BOOTSTRAP_SERVERS": "k:1", "TOPIC_PREFIX": "a/b"}, "RETIREMENT_KAFKA['TOPIC_PREFIX']"),
    (
        {"BOOTSTRAP_SERVERS": "k:1", "DELIVERY_TIMEOUT_SECONDS": 0},
        "RETIREMENT_KAFKA['DELIVERY_TIMEOUT_SECONDS']",
    ),
    (
        {"BOOTSTRAP_SERVERS": "k:1", "DELIVERY_TIMEOUT_SECONDS": "10"},
        "RETIREMENT_KAFKA['DELIVERY_TIMEOUT_SECONDS']",
    ),
    ({"BOOTSTRAP_SERVERS": "k:1", "PRODUCER_CONFIG": {"acks": "1"}}, "RETIREMENT_KAFKA['PRODUCER_CONFIG']"),
    (
        {"BOOTSTRAP_SERVERS": "k:1", "PRODUCER_CONFIG": {"enable.idempotence": False}},
        "RETIREMENT_KAFKA['PRODUCER_CONFIG']",
    ),
    ({"BOOTSTRAP_SERVERS": "k:1", "PRODUCER_CONFIG": "x"}, "RETIREMENT_KAFKA['PRODUCER_CONFIG']"),
    ({"BOOTSTRAP_SERVERS": "k:1", "LMS_HOST": "https://lms.example.org/"}, "RETIREMENT_KAFKA['LMS_HOST']"),
    ({"BOOTSTRAP_SERVERS": "k:1", "BACKFILL_STATES": []}, "RETIREMENT_KAFKA['BACKFILL_STATES']"),
    (
        {"BOOTSTRAP_SERVERS": "k:1", "BOOTSTRAP_SERVER": "typo"},
        "RETIREMENT_KAFKA has unknown keys ['BOOTSTRAP_SERVER']",
    ),
]


def production_check(settings):
    from openedx_retirement_kafka import checks

    settings.RETIREMENT_KAFKA_SETTINGS_TYPE = "production"
    return checks.check_settings()


@pytest.mark.parametrize("value,named", BAD, ids=[n for _, n in BAD])
def test_bad_settings_are_a_system_check_error_not_an_exception_in_ready(settings, value, named):
    settings.RETIREMENT_KAFKA = value
    apps.get_app_config("openedx_retirement_kafka").ready()  # never raises
    errors = production_check(settings)
    assert [e.id for e in errors] == ["openedx_retirement_kafka.E001"]
    assert named in errors[0].msg
    with pytest.raises(ImproperlyConfigured) as info:
        load_config(settings)
    assert named in str(info.value)


def test_no_lms_host_anywhere_fails(settings):
    settings.RETIREMENT_KAFKA = {"BOOTSTRAP_SERVERS": "k:1"}
    settings.LMS_BASE = ""
    errors = production_check(settings)
    assert len(errors) == 1 and "RETIREMENT_KAFKA['LMS_HOST']" in errors[0].msg


def test_unknown_librdkafka_property_is_reported(settings):
    settings.RETIREMENT_KAFKA = {
        "BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "PRODUCER_CONFIG": {"sasl.mechanisms.typo": "PLAIN"},
    }
    errors = production_check(settings)
    assert len(errors) == 1
    assert "RETIREMENT_KAFKA['PRODUCER_CONFIG'] is rejected by librdkafka" in errors[0].msg


def test_setting_not_a_dict(settings):
    settings.RETIREMENT_KAFKA = "kafka:9092"
    errors = production_check(settings)
    assert len(errors) == 1 and "RETIREMENT_KAFKA must be a dict" in errors[0].msg


def test_check_outside_production_settings_passes_and_deploy_check_reports(settings):
    from openedx_retirement_kafka import checks

    settings.RETIREMENT_KAFKA = {}
    for settings_type in ("common", "devstack", "test", ""):
        settings.RETIREMENT_KAFKA_SETTINGS_TYPE = settings_type
        assert checks.check_settings() == []
        assert [e.id for e in checks.check_settings_deploy()] == ["openedx_retirement_kafka.E001"]
    settings.RETIREMENT_KAFKA_SETTINGS_TYPE = "production"
    assert checks.check_settings_deploy() == []  # check_settings reports it: once, not twice
    assert len(checks.check_settings()) == 1


def test_valid_settings_pass_every_check(settings):
    from openedx_retirement_kafka import checks

    for settings_type in ("production", "common"):
        settings.RETIREMENT_KAFKA_SETTINGS_TYPE = settings_type
        assert checks.check_settings() == [] and checks.check_settings_deploy() == []


def _django_setup(tmp_path, settings_body):
    (tmp_path / "startup_settings.py").write_text(textwrap.dedent(settings_body))
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="startup_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(PLUGIN_ROOT), str(PLUGIN_ROOT / "tests" / "doubles")]),
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('STARTED')"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_lms_start_up_with_missing_setting_logs_and_starts(tmp_path):
    """A real django.setup() (what LMS start-up runs) does not stop; it logs the problem."""
    result = _django_setup(
        tmp_path,
        """
        import sys
        from tests.settings import *  # noqa
        RETIREMENT_KAFKA = {"TOPIC": "user-retirement"}  # enabled by default, no BOOTSTRAP_SERVERS
        from openedx_retirement_kafka.settings.production import plugin_settings
        plugin_settings(sys.modules[__name__])
    """,
    )
    assert result.returncode == 0, result.stderr
    assert "STARTED" in result.stdout
    assert "RETIREMENT_KAFKA['BOOTSTRAP_SERVERS']" in result.stderr
    assert "openedx_retirement_kafka.E001" in result.stderr


def test_lms_start_up_succeeds_when_configured(tmp_path):
    result = _django_setup(
        tmp_path,
        """
        from tests.settings import *  # noqa
    """,
    )
    assert result.returncode == 0, result.stderr
    assert "STARTED" in result.stdout


def test_app_config_follows_plugin_conventions():
    plugin_app = RetirementKafkaConfig.plugin_app
    receivers = plugin_app["signals_config"]["lms.djangoapp"]["receivers"]
    assert (
        receivers[0]["signal_path"]
        == "openedx.core.djangoapps.user_api.accounts.signals.USER_RETIRE_LMS_MISC"
    )
    assert receivers[0]["receiver_func_name"] == "on_user_retire_lms_misc"
    for settings_type, entry in plugin_app["settings_config"]["lms.djangoapp"].items():
        assert settings_type in {"common", "production", "devstack", "test"}
        module = __import__(
            f"openedx_retirement_kafka.{entry['relative_path']}", fromlist=["plugin_settings"]
        )
        assert callable(module.plugin_settings)


def test_entry_point_is_registered():
    from importlib.metadata import entry_points

    eps = entry_points(group="lms.djangoapp")
    ours = [ep for ep in eps if ep.name == "openedx_retirement_kafka"]
    assert ours, "install the package (pip install ./lms-plugin) to register the entry point"
    assert ours[0].load() is RetirementKafkaConfig
