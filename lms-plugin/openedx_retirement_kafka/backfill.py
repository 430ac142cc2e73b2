"""
Backfill: read retirements from the LMS retirement API and publish their events.

For learners whose ``retire_misc`` step ran while the plugin was not installed, disabled or
misconfigured. The HTTP client and the row rules live in :mod:`.lms_api`, shared with the
out-of-band reader; events are built by :mod:`.events` exactly as the receiver builds them, so
they carry the same ``ce_id``; publishing one twice is harmless (the consumer is idempotent).
"""

from .lms_api import (  # noqa: F401 - the backfill command's names
    BackfillError,
    LmsApiError,
    LmsRetirementApi,
    collect_records,
    parse_time,
)
