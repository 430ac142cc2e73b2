"""
Django system checks of the ``RETIREMENT_KAFKA`` setting.

The plugin never refuses to load: edx-platform loads every installed plugin app under every
settings module, including Tutor's image-build settings (``tutor.i18n``, ``tutor.assets``),
devstack and unit-test settings, where ``RETIREMENT_KAFKA`` is absent. Misconfiguration is
reported instead by:

* ``openedx_retirement_kafka.E001`` (ERROR): the setting is unusable while the plugin is
  enabled (e.g. no ``BOOTSTRAP_SERVERS``). Reported by every ``manage.py check`` (and by
  commands that run the checks: ``runserver``, ``migrate``) under *production* settings, and by
  ``manage.py check --deploy`` under any settings. ``check`` without ``--deploy`` under
  build-time, devstack or test settings passes.
* one log line at start-up (``AppConfig.ready``): ERROR under production settings, WARNING
  elsewhere;
* the receiver: a retirement that arrives while the setting is unusable raises, so the
  ``retire_misc`` step fails and the driver marks the learner ERRORED (nothing is lost).

"Production settings" means: the plugin's ``production`` settings hook was the last of its
hooks that edx-platform ran (``lms/envs/production.py`` and settings built on it, such as
Tutor's ``tutor.production``); devstack settings run the ``devstack`` hook after it. The hooks
record their type in ``settings.RETIREMENT_KAFKA_SETTINGS_TYPE``.
"""

from __future__ import annotations

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from . import conf

CHECK_ID = "openedx_retirement_kafka.E001"
TAG = "openedx_retirement_kafka"
SETTINGS_TYPE_SETTING = "RETIREMENT_KAFKA_SETTINGS_TYPE"
HINT = (
    "Set RETIREMENT_KAFKA['BOOTSTRAP_SERVERS'] (and the other keys, see docs/lms-plugin.md) in the LMS "
    "production settings, or RETIREMENT_KAFKA['ENABLED'] = False where retirements are not to be "
    "published. Until then every retire_misc step fails and the driver marks the learner ERRORED."
)


def settings_type(settings=None) -> str:
    """The last plugin settings hook edx-platform ran: production, devstack, test, common or ''."""
    if settings is None:
        from django.conf import settings
    value = getattr(settings, SETTINGS_TYPE_SETTING, "")
    return value if isinstance(value, str) else ""


def is_production(settings=None) -> bool:
    return settings_type(settings) == "production"


def configuration_problem(settings=None) -> str | None:
    """None when the setting is usable (or ENABLED is False); otherwise what is wrong, naming keys."""
    if settings is None:
        from django.conf import settings
    try:
        config = conf.load_config(settings)
        if config.enabled:
            conf.check_producer_config(config)
    except ImproperlyConfigured as exc:
        return str(exc)
    return None


def _error(problem: str) -> checks.Error:
    return checks.Error(
        f"The retirement-to-Kafka plugin is enabled but not usable: {problem}",
        hint=HINT,
        id=CHECK_ID,
    )


@checks.register(TAG)
def check_settings(app_configs=None, **kwargs):
    """ERROR under production settings (every ``check``); nothing elsewhere."""
    if not is_production():
        return []
    problem = configuration_problem()
    return [_error(problem)] if problem else []


@checks.register(TAG, deploy=True)
def check_settings_deploy(app_configs=None, **kwargs):
    """``check --deploy``: ERROR under any settings (production ones are covered above)."""
    if is_production():
        return []
    problem = configuration_problem()
    return [_error(problem)] if problem else []
