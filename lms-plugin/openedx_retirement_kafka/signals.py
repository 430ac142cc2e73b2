"""
The ``USER_RETIRE_LMS_MISC`` receiver.

Connected by edx-platform's plugin signals (see ``apps.py``: ``signals_config``) to
``openedx.core.djangoapps.user_api.accounts.signals.USER_RETIRE_LMS_MISC``, which
``LMSAccountRetirementView`` (``POST /api/user/v1/accounts/retire_misc/``) sends with
``user=<User>``. The signal is sent with ``Signal.send``: an exception raised here makes the
view answer 500, the driver marks the learner ERRORED, and the step is re-run later with the
same ``ce_id``.
"""

from __future__ import annotations

import logging
import threading

from django.core.exceptions import ImproperlyConfigured

from .conf import get_config
from .events import EventBuildError, RetirementRecord, build_event
from .producer import RetirementPublishError, publish

log = logging.getLogger(__name__)

_disabled_logged = False
_disabled_lock = threading.Lock()


def _log_disabled_once() -> None:
    global _disabled_logged
    with _disabled_lock:
        if _disabled_logged:
            return
        _disabled_logged = True
    log.info("RETIREMENT_KAFKA['ENABLED'] is False: retirement events are not published to Kafka")


def on_user_retire_lms_misc(sender, user=None, **kwargs):  # pylint: disable=unused-argument
    """Publish the retirement event of ``user`` and wait until Kafka confirmed it."""
    try:
        config = get_config()
    except ImproperlyConfigured as exc:
        # The plugin loads without a usable setting (build-time, devstack settings...); a
        # retirement must not pass unpublished: fail the step, the driver retries it later.
        user_id = getattr(user, "id", None)
        log.error(
            "Retirement event for user_id=%s not published: RETIREMENT_KAFKA is not usable: %s", user_id, exc
        )
        raise RetirementPublishError(
            f"retirement event for user_id={user_id} not published: RETIREMENT_KAFKA is not usable "
            f"(system check openedx_retirement_kafka.E001): {exc}"
        ) from None
    if not config.enabled:
        _log_disabled_once()
        return
    if user is None or getattr(user, "id", None) is None:
        raise RetirementPublishError("USER_RETIRE_LMS_MISC was sent without a saved user")

    # Imported here: plugin modules must not import LMS models at import time.
    from openedx.core.djangoapps.user_api.models import UserRetirementStatus  # pylint: disable=import-error

    try:
        status = UserRetirementStatus.objects.get(user_id=user.id)
    except UserRetirementStatus.DoesNotExist:
        raise RetirementPublishError(f"no UserRetirementStatus for user_id={user.id}") from None

    try:
        record = RetirementRecord.from_model(status)
        event = build_event(record, lms_host=config.lms_host, keyring=config.keyring)
    except EventBuildError as exc:
        raise RetirementPublishError(
            f"cannot build the retirement event for user_id={user.id}: {exc}"
        ) from None

    publish(config, [event])
