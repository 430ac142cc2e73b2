"""Shaped like edx-platform's ``lms/envs/test.py``: common settings, then the test hooks."""

from edx_django_utils.plugins import add_plugins

from .common import *  # noqa: F403
from .common import LMS

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

add_plugins(__name__, LMS, "test")
