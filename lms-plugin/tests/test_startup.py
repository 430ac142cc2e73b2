"""
The plugin never breaks a ``manage.py`` run that lacks its settings, and stays loud where it
matters. Each case is a fresh process running django.setup() on settings modules shaped like
edx-platform's (``tests/fake_lms/envs``), with the plugin found through its installed
``lms.djangoapp`` entry point and its settings hooks run by edx-django-utils.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN_ROOT = Path(__file__).resolve().parents[1]
CHECK_ID = "openedx_retirement_kafka.E001"

SCRIPT = textwrap.dedent(
    """
    import io, json, sys, types
    import django
    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    result = {"installed": "openedx_retirement_kafka.apps.RetirementKafkaConfig" in settings.INSTALLED_APPS,
              "settings_type": getattr(settings, "RETIREMENT_KAFKA_SETTINGS_TYPE", None)}
    for name, deploy in (("check", False), ("check_deploy", True)):
        try:
            call_command("check", deploy=deploy, stdout=io.StringIO(), stderr=io.StringIO())
            result[name] = "ok"
        except SystemCheckError as exc:
            result[name] = str(exc)
    if "retire" in sys.argv:
        from edx_django_utils.plugins import connect_plugin_receivers
        from openedx.core.djangoapps.user_api.accounts.signals import USER_RETIRE_LMS_MISC
        connect_plugin_receivers("lms.djangoapp")
        try:
            USER_RETIRE_LMS_MISC.send(sender=None, user=types.SimpleNamespace(id=7))
            result["retire"] = "published"
        except Exception as exc:
            result["retire"] = f"{type(exc).__name__}: {exc}"
    print("RESULT " + json.dumps(result))
    """
)


def run_lms(settings_module, lms_cfg=None, *args, extra_env=None):
    env = dict(
        os.environ,
        **(extra_env or {}),
        DJANGO_SETTINGS_MODULE=f"tests.fake_lms.envs.{settings_module}",
        PYTHONPATH=os.pathsep.join([str(PLUGIN_ROOT), str(PLUGIN_ROOT / "tests" / "doubles")]),
        FAKE_LMS_CFG=json.dumps(lms_cfg or {}),
    )
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PLUGIN_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    assert line, proc.stdout + proc.stderr
    return json.loads(line[-1][len("RESULT ") :]), proc.stderr


def error_lines(stderr):
    return [x for x in stderr.splitlines() if "Retirement events cannot be published" in x]


def test_tutor_build_time_settings_load_and_pass_check():
    """``tutor.i18n``/``tutor.assets``: common settings only, no RETIREMENT_KAFKA."""
    result, stderr = run_lms("tutor_i18n")
    assert result["installed"], "the plugin app comes from the lms.djangoapp entry point"
    assert result["settings_type"] == "common"
    assert result["check"] == "ok"
    assert "Traceback" not in stderr
    # Not silent: one WARNING line, naming the key and the check id.
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    assert CHECK_ID in lines[0] and "RETIREMENT_KAFKA['BOOTSTRAP_SERVERS']" in lines[0]
    # check --deploy reports it under any settings.
    assert CHECK_ID in result["check_deploy"]
    assert "BOOTSTRAP_SERVERS" in result["check_deploy"]


def test_unit_test_settings_load_and_pass_check():
    result, _ = run_lms("test")
    assert result["settings_type"] == "test"
    assert result["check"] == "ok"
    assert CHECK_ID in result["check_deploy"]


def test_devstack_settings_load_and_pass_check():
    """Devstack settings are built on the production ones; the devstack hook runs last."""
    result, _ = run_lms("devstack", {"RETIREMENT_KAFKA": {"TOPIC": "user-retirement"}})
    assert result["settings_type"] == "devstack"
    assert result["check"] == "ok"
    assert CHECK_ID in result["check_deploy"]


def test_production_without_bootstrap_servers_is_loud():
    result, stderr = run_lms("production", {"RETIREMENT_KAFKA": {"TOPIC": "user-retirement"}}, "retire")
    assert result["settings_type"] == "production"
    # The check is an ERROR of every `check` under production settings, and of `check --deploy`,
    # where it is reported once.
    for name in ("check", "check_deploy"):
        assert CHECK_ID in result[name], result[name]
        assert result[name].count(CHECK_ID) == 1
        assert "RETIREMENT_KAFKA['BOOTSTRAP_SERVERS']" in result[name]
    # One ERROR line at start-up.
    lines = error_lines(stderr)
    assert len(lines) == 1, stderr
    # A retirement that arrives now raises (the view answers 500; the driver marks ERRORED).
    assert result["retire"].startswith("RetirementPublishError: ")
    assert "user_id=7" in result["retire"] and CHECK_ID in result["retire"]


def test_production_with_the_plugin_disabled_is_quiet():
    result, stderr = run_lms("production", {"RETIREMENT_KAFKA": {"ENABLED": False}}, "retire")
    assert result["check"] == "ok" and result["check_deploy"] == "ok"
    assert not error_lines(stderr)
    assert result["retire"] == "published"  # nothing to do: the receiver returns


def test_production_with_no_setting_in_an_image_that_says_if_unset_disabled():
    """The Tutor plugin's images set RETIREMENT_KAFKA_IF_UNSET=disabled: after the Tutor plugin is
    disabled (no RETIREMENT_KAFKA rendered) and before the image is rebuilt, the checks that
    `migrate` runs pass; without the variable the same settings are an error."""
    result, stderr = run_lms("production", {}, extra_env={"RETIREMENT_KAFKA_IF_UNSET": "disabled"})
    assert result["settings_type"] == "production"
    assert result["check"] == "ok" and result["check_deploy"] == "ok"
    assert not error_lines(stderr)
    result, _ = run_lms("production", {}, extra_env={"RETIREMENT_KAFKA_IF_UNSET": ""})
    assert CHECK_ID in result["check"]


def test_production_configured_passes_checks():
    cfg = {"RETIREMENT_KAFKA": {"BOOTSTRAP_SERVERS": "127.0.0.1:9", "LMS_HOST": "lms.example.org"}}
    result, stderr = run_lms("production", cfg)
    assert result["check"] == "ok" and result["check_deploy"] == "ok"
    assert not error_lines(stderr)
    assert "Retirement events will be published to topic user-retirement" in stderr


@pytest.mark.parametrize(
    "cfg,named",
    [
        (
            {"BOOTSTRAP_SERVERS": "k:1", "PRODUCER_CONFIG": {"acks": "1"}},
            "RETIREMENT_KAFKA['PRODUCER_CONFIG']",
        ),
        ({"BOOTSTRAP_SERVERS": "k:1", "BOOTSTRAP_SERVER": "typo"}, "unknown keys ['BOOTSTRAP_SERVER']"),
        (
            {"BOOTSTRAP_SERVERS": "k:1", "PRODUCER_CONFIG": {"sasl.mechanisms.typo": "x"}},
            "rejected by librdkafka",
        ),
    ],
)
def test_production_with_bad_values_is_an_error(cfg, named):
    result, _ = run_lms("production", {"RETIREMENT_KAFKA": cfg})
    assert CHECK_ID in result["check"] and named in result["check"]
