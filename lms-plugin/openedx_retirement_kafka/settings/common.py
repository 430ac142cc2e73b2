"""Plugin settings for every LMS environment: fill in the defaults of RETIREMENT_KAFKA."""
import copy

from ..conf import DEFAULTS, SETTING


def plugin_settings(settings):
    """Called by edx-platform with the settings module: keep the operator's keys, add defaults."""
    current = getattr(settings, SETTING, None)
    if isinstance(current, dict):
        merged = {key: copy.deepcopy(value) for key, value in DEFAULTS.items() if key not in current}
        merged.update(current)
        setattr(settings, SETTING, merged)
    elif current is None:
        setattr(settings, SETTING, copy.deepcopy(DEFAULTS))
    # Anything else is left as is; AppConfig.ready() rejects it with a clear message.
