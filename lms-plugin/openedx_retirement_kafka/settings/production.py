"""
Plugin settings for production. edx-platform's production settings load the YAML config
(LMS_CFG) into the settings module before plugins run, so ``RETIREMENT_KAFKA`` from YAML is
already there; partial dicts are completed with the defaults.
"""
from .common import plugin_settings as _common_plugin_settings


def plugin_settings(settings):
    _common_plugin_settings(settings)
