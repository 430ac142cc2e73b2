"""Plugin settings for edx-platform's unit-test settings (lms/envs/test.py)."""

from .common import apply


def plugin_settings(settings):
    apply(settings, "test")
