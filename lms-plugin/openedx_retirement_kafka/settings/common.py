"""Plugin settings for every LMS environment: fill in the defaults of RETIREMENT_KAFKA."""

import copy

from ..conf import DEFAULTS, SETTING

SETTINGS_TYPE_SETTING = "RETIREMENT_KAFKA_SETTINGS_TYPE"


def apply(settings, settings_type: str) -> None:
    """Keep the operator's keys, add the defaults, record which hook ran last (see checks.py)."""
    current = getattr(settings, SETTING, None)
    if isinstance(current, dict):
        merged = {key: copy.deepcopy(value) for key, value in DEFAULTS.items() if key not in current}
        merged.update(current)
        setattr(settings, SETTING, merged)
    elif current is None:
        setattr(settings, SETTING, copy.deepcopy(DEFAULTS))
    # Anything else is left as is; the system check and the receiver report it.
    setattr(settings, SETTINGS_TYPE_SETTING, settings_type)


def plugin_settings(settings):
    """Called by edx-platform with the settings module (lms/envs/common.py: add_plugins)."""
    apply(settings, "common")
