"""
Shaped like Tutor's build-time settings (``lms/envs/tutor/i18n.py``, ``assets.py``): the LMS
common settings plus dummies, used by ``compilemessages``/``collectstatic`` during
``tutor images build openedx``. No RETIREMENT_KAFKA, no database.
"""

from .common import *  # noqa: F403

SECRET_KEY = "secret"
DATABASES = {"default": {}}
LMS_ROOT_URL = "https://lms.local"
