"""
Plugin settings for production. edx-platform's production settings load the YAML config
(LMS_CFG) into the settings module before plugins run, so ``RETIREMENT_KAFKA`` from YAML is
already there; partial dicts are completed with the defaults. Marks the settings as
production ones: the system check openedx_retirement_kafka.E001 is then an ERROR of every
``manage.py check``.
"""

from .common import apply


def plugin_settings(settings):
    apply(settings, "production")
