"""Shaped like edx-platform's ``lms/envs/devstack.py``: production settings, then the devstack hooks."""

from edx_django_utils.plugins import add_plugins

from .production import *  # noqa: F403
from .production import LMS

DEBUG = True

add_plugins(__name__, LMS, "devstack")
