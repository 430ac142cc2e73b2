"""
Shaped like edx-platform's ``lms/envs/common.py`` where it matters to plugins: the plugin apps
come from the ``lms.djangoapp`` entry points and their ``common`` settings hooks run, both
through edx-django-utils' plugin machinery, as edx-platform does it. No RETIREMENT_KAFKA.
"""

from edx_django_utils.plugins import add_plugins, get_plugin_apps

LMS = "lms.djangoapp"

DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
SECRET_KEY = "dev key"  # edx-platform's common settings carry a placeholder too
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "openedx.core.djangoapps.user_api.apps.UserAPIConfig",
]
INSTALLED_APPS.extend(get_plugin_apps(LMS))

LMS_BASE = "localhost:18000"
LMS_ROOT_URL = "http://localhost:18000"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["console"], "level": "INFO"},
}

add_plugins(__name__, LMS, "common")
