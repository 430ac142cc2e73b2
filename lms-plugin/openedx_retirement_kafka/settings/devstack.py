"""Plugin settings for devstack (lms/envs/devstack.py, built on the production settings)."""

from .common import apply


def plugin_settings(settings):
    apply(settings, "devstack")
