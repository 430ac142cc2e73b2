"""
Shaped like edx-platform's ``lms/envs/production.py`` (and Tutor's ``tutor.production`` built on
it): common settings, then the YAML config file (here JSON from env ``FAKE_LMS_CFG``) copied
into the module, then the plugins' ``production`` settings hooks.
"""

import json
import os

from edx_django_utils.plugins import add_plugins

from .common import *  # noqa: F403
from .common import LMS

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
LMS_BASE = "lms.example.org"
LMS_ROOT_URL = "https://lms.example.org"

vars().update(json.loads(os.environ.get("FAKE_LMS_CFG", "{}")))

add_plugins(__name__, LMS, "production")
