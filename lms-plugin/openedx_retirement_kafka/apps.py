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
                "devstack": {"relative_path": "settings.common"},
                "test": {"relative_path": "settings.common"},
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
        from django.core.signals import setting_changed

        from . import conf

        setting_changed.connect(_on_setting_changed, dispatch_uid="openedx_retirement_kafka.setting_changed")

        # Validate now: a bad setting stops the LMS at start-up, not at the first retirement.
        conf.reset_config_cache()
        config = conf.get_config()
        if config.enabled:
            conf.check_producer_config(config)
            log.info(
                "Retirement events will be published to topic %s (LMS host %s)", config.topic, config.lms_host
            )
