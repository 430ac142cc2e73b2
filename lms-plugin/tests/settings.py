"""Django settings for the plugin tests: a minimal LMS-like project with the test doubles."""

import sys

SECRET_KEY = "tests-only"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "openedx.core.djangoapps.user_api.apps.UserAPIConfig",
    # What edx-platform's get_plugin_apps() adds from the lms.djangoapp entry point:
    "openedx_retirement_kafka.apps.RetirementKafkaConfig",
]
LMS_BASE = "lms.example.org"
LMS_ROOT_URL = "https://lms.example.org"

# A valid, enabled configuration; tests point it at a mock cluster with override_settings.
RETIREMENT_KAFKA = {
    "ENABLED": True,
    "BOOTSTRAP_SERVERS": "127.0.0.1:9",
    "DELIVERY_TIMEOUT_SECONDS": 10,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO"},
}

# As edx-platform's settings do (add_plugins): let the plugin fill in its defaults.
from openedx_retirement_kafka.settings.common import plugin_settings  # noqa: E402

plugin_settings(sys.modules[__name__])
