"""The plugin's Django app (edx-django-utils plugin conventions)."""

from __future__ import annotations

import logging

from django.apps import AppConfig

log = logging.getLogger(__name__)

LMS = "lms.djangoapp"
SIGNAL_PATH = "openedx.core.djangoapps.user_api.accounts.signals.USER_RETIRE_LMS_MISC"


def _on_setting_changed(setting=None, **kwargs):  # pylint: disable=unused-argument
    """Tests override settings: forget the cached config (and with it the producer)."""
    from . import conf

    if setting in (conf.SETTING, "LMS_BASE", "LMS_ROOT_URL"):
        conf.reset_config_cache()


class RetirementKafkaConfig(AppConfig):
    name = "openedx_retirement_kafka"
    label = "openedx_retirement_kafka"
    verbose_name = "Retirement events to Kafka"
    default_auto_field = "django.db.models.BigAutoField"

    # Read by edx-platform (edx_django_utils.plugins): settings modules and signal receivers.
    plugin_app = {
        "settings_config": {
            LMS: {
                "common": {"relative_path": "settings.common"},
                "production": {"relative_path": "settings.production"},
                "devstack": {"relative_path": "settings.devstack"},
                "test": {"relative_path": "settings.test"},
            },
        },
        "signals_config": {
            LMS: {
                "relative_path": "signals",
                "receivers": [
                    {
                        "receiver_func_name": "on_user_retire_lms_misc",
                        "signal_path": SIGNAL_PATH,
                        "dispatch_uid": "openedx_retirement_kafka.signals.on_user_retire_lms_misc",
                    },
                ],
            },
        },
    }

    def ready(self):
        """Never raises: see checks.py for where misconfiguration is reported."""
        from django.core.signals import setting_changed

        from . import checks, conf

        setting_changed.connect(_on_setting_changed, dispatch_uid="openedx_retirement_kafka.setting_changed")

        conf.reset_config_cache()
        problem = checks.configuration_problem()
        if problem is not None:
            level = logging.ERROR if checks.is_production() else logging.WARNING
            log.log(
                level,
                "Retirement events cannot be published to Kafka (%s): %s. Every retire_misc step will fail "
                "until this is fixed.",
                checks.CHECK_ID,
                problem,
            )
            return
        config = conf.get_config()
        if config.enabled:
            log.info(
                "Retirement events will be published to topic %s (LMS host %s)", config.topic, config.lms_host
            )
