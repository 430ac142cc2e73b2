"""Plugin settings for every LMS environment: fill in the defaults of RETIREMENT_KAFKA."""

import copy
import os

from ..conf import DEFAULTS, SETTING

SETTINGS_TYPE_SETTING = "RETIREMENT_KAFKA_SETTINGS_TYPE"
# Set to "disabled" in an image (the Tutor plugin's Dockerfile does): a settings module with no
# RETIREMENT_KAFKA at all gets ENABLED False instead of the defaults, so an image that still
# carries the plugin after its configuration was removed (Tutor plugin disabled, image not yet
# rebuilt) passes the system checks and `migrate`. A RETIREMENT_KAFKA set later in the settings
# module (Tutor's rendered settings) replaces it as usual.
IF_UNSET_ENV = "RETIREMENT_KAFKA_IF_UNSET"


def apply(settings, settings_type: str) -> None:
    """Keep the operator's keys, add the defaults, record which hook ran last (see checks.py)."""
    current = getattr(settings, SETTING, None)
    if isinstance(current, dict):
        merged = {key: copy.deepcopy(value) for key, value in DEFAULTS.items() if key not in current}
        merged.update(current)
        setattr(settings, SETTING, merged)
    elif current is None:
        defaults = copy.deepcopy(DEFAULTS)
        if os.environ.get(IF_UNSET_ENV, "").strip().lower() == "disabled":
            defaults["ENABLED"] = False
        setattr(settings, SETTING, defaults)
    # Anything else is left as is; the system check and the receiver report it.
    setattr(settings, SETTINGS_TYPE_SETTING, settings_type)


def plugin_settings(settings):
    """Called by edx-platform with the settings module (lms/envs/common.py: add_plugins)."""
    apply(settings, "common")
