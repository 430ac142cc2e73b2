"""Test double of openedx.core.djangoapps.user_api (only what the plugin touches)."""
