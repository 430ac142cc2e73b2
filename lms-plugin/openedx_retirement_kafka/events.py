"""
The retirement event of contract §1: building it and checking it.

This module is shared by the signal receiver and the backfill command, so both produce the
same key, headers and value for one retirement, and the same ``ce_id``.

``ce_id`` formula (do not change it: the receiver, the backfill and anyone re-deriving ids
depend on it)::

    name  = f"openedx-retirement://{lms_host}/users/{user_id}/retirements/{retirement_id}"
    ce_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))

where ``lms_host`` is the ``LMS_HOST`` setting stripped of spaces and lower-cased,
``user_id`` is ``auth_user.id`` and ``retirement_id`` is ``UserRetirementStatus.id``, both
in decimal. One retirement (one ``UserRetirementStatus`` row) therefore always has one id,
however often it is published; a learner who cancels and asks again gets a new row and so
a new id.

With a keyring (``RETIREMENT_KAFKA['ENCRYPTION_KEYRING']``), the personal fields are
encrypted into the ``encrypted`` envelope (see ``encryption.py`` and docs/encryption.md).

The module has no Django dependency.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import encryption

EVENT_TYPE = "org.openedx.learning.user.retirement.requested.v1"
SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

CE_ID_NAMESPACE = uuid.NAMESPACE_URL
CE_ID_NAME_TEMPLATE = "openedx-retirement://{lms_host}/users/{user_id}/retirements/{retirement_id}"

_INT64_MAX = 2**63 - 1

Header = tuple[str, bytes]


def normalize_lms_host(lms_host: str) -> str:
    return lms_host.strip().lower()


def ce_id_for(lms_host: str, user_id: int, retirement_id: int) -> str:
    """The deterministic CloudEvents id of one retirement (see the module docstring)."""
    name = CE_ID_NAME_TEMPLATE.format(
        lms_host=normalize_lms_host(lms_host), user_id=int(user_id), retirement_id=int(retirement_id)
    )
    return str(uuid.uuid5(CE_ID_NAMESPACE, name))


def ce_source_for(lms_host: str) -> str:
    return f"openedx/lms/{normalize_lms_host(lms_host)}"


def format_rfc3339(moment: datetime) -> str:
    """UTC, microseconds, ``Z`` suffix: ``2018-10-18T20:35:52.349757Z``.

    Naive datetimes are taken as UTC (Django stores UTC when USE_TZ is on).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z",
    re.ASCII,
)


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 date-time (a date and a time and an offset); ValueError otherwise."""
    match = _RFC3339.match(text)
    if not match:
        raise ValueError("not an RFC 3339 date-time")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    if int(second) > 59:  # no leap second: the Swift consumer refuses it too
        raise ValueError("second out of range")
    micro = (frac[1:] + "000000")[:6] if frac else "000000"
    offset = "+00:00" if offset in ("Z", "z") else offset
    normalized = f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro}{offset}"
    moment = datetime.fromisoformat(normalized)  # raises ValueError on e.g. month 13
    if moment.tzinfo is None:  # pragma: no cover - the regex requires an offset
        raise ValueError("no offset")
    return moment


@dataclass(frozen=True)
class RetirementRecord:
    """What we know about one retirement, from the model or from the LMS API."""

    user_id: int
    retirement_id: int
    original_username: str
    original_email: str
    original_name: str | None = None
    retired_username: str | None = None
    retired_email: str | None = None
    created: datetime | None = None

    @classmethod
    def from_model(cls, status: Any) -> RetirementRecord:
        """From an ``openedx.core.djangoapps.user_api.models.UserRetirementStatus``."""
        return cls(
            user_id=int(status.user_id),
            retirement_id=int(status.id),
            original_username=status.original_username,
            original_email=status.original_email,
            original_name=status.original_name,
            retired_username=status.retired_username,
            retired_email=status.retired_email,
            created=status.created,
        )

    @classmethod
    def from_api(cls, row: Mapping[str, Any]) -> RetirementRecord:
        """From one element of ``retirements_by_status_and_date`` (UserRetirementStatusSerializer)."""
        user = row.get("user")
        if not isinstance(user, Mapping) or not isinstance(user.get("id"), int):
            raise ValueError("retirement row without user.id")
        if not isinstance(row.get("id"), int):
            raise ValueError("retirement row without id")
        created = row.get("created")
        return cls(
            user_id=user["id"],
            retirement_id=row["id"],
            original_username=row.get("original_username") or "",
            original_email=row.get("original_email") or "",
            original_name=row.get("original_name"),
            retired_username=row.get("retired_username"),
            retired_email=row.get("retired_email"),
            created=parse_rfc3339(created) if isinstance(created, str) and created else None,
        )


@dataclass(frozen=True)
class RetirementEvent:
    """One Kafka record: key, headers, value. ``ce_id`` and ids are kept for logging."""

    key: bytes
    headers: tuple[Header, ...]
    value: bytes
    ce_id: str
    user_id: int
    retirement_id: int | None = None
    # The personal fields in clear (also of an encrypted event): never in a repr.
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def header(self, name: str) -> str | None:
        for key, val in self.headers:
            if key == name:
                return val.decode("utf-8")
        return None


class EventBuildError(ValueError):
    """The record cannot make a valid event. The message holds no personal data."""


def event_value(record: RetirementRecord) -> dict:
    """The JSON object of contract §1. Empty optional strings are left out."""
    if record.user_id is None or int(record.user_id) < 1:
        raise EventBuildError("retirement record has no valid user id")
    if not record.original_username:
        raise EventBuildError(f"retirement {record.retirement_id} has an empty original_username")
    if not record.original_email:
        raise EventBuildError(f"retirement {record.retirement_id} has an empty original_email")
    value: dict = {
        "user_id": int(record.user_id),
        "username": record.original_username,
        "email": record.original_email,
    }
    if record.original_name:
        value["full_name"] = record.original_name
    if record.retired_username:
        value["retired_username"] = record.retired_username
    if record.retired_email:
        value["retired_email"] = record.retired_email
    if record.retirement_id is not None:
        value["retirement_id"] = int(record.retirement_id)
    if record.created is not None:
        value["requested_at"] = format_rfc3339(record.created)
    return value


def build_event(
    record: RetirementRecord,
    lms_host: str,
    now: datetime | None = None,
    keyring: encryption.Keyring | None = None,
) -> RetirementEvent:
    """The Kafka record for one retirement. ``now`` becomes ``ce_time`` (publishing time).

    With ``keyring`` (the config's ``keyring``), the personal fields are encrypted under its
    current key; ``data`` keeps them in clear, in memory only.
    """
    data = event_value(record)
    ce_id = ce_id_for(lms_host, record.user_id, record.retirement_id)
    wire = encryption.encrypt_value(data, keyring, ce_id) if keyring is not None else data
    moment = now or datetime.now(UTC)
    headers: tuple[Header, ...] = (
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_type", EVENT_TYPE.encode()),
        ("ce_id", ce_id.encode()),
        ("ce_source", ce_source_for(lms_host).encode()),
        ("ce_time", format_rfc3339(moment).encode()),
        ("content-type", CONTENT_TYPE.encode()),
    )
    value = json.dumps(wire, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return RetirementEvent(
        key=str(int(record.user_id)).encode("ascii"),
        headers=headers,
        value=value,
        ce_id=ce_id,
        user_id=int(record.user_id),
        retirement_id=record.retirement_id,
        data=data,
    )


# --------------------------------------------------------------------------------------------
# Parsing / validation: the same rules the Swift consumer applies (see schema/vectors.json).
# --------------------------------------------------------------------------------------------


class InvalidRetirementEvent(ValueError):
    """Bad input. ``reason`` is one of the stable codes of schema/vectors.json."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


_OPTIONAL_STRINGS = ("full_name", "retired_username", "retired_email")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _load_object(value: bytes | None) -> dict:
    if value is None or len(value) == 0:
        raise InvalidRetirementEvent("empty_value")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRetirementEvent("not_utf8") from None
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        raise InvalidRetirementEvent("invalid_json") from None
    if not isinstance(obj, dict):
        raise InvalidRetirementEvent("not_an_object")
    return obj


def _is_encrypted(obj: Mapping[str, Any]) -> bool:
    return obj.get(encryption.ENVELOPE_FIELD) is not None


def _check_user_id(obj: Mapping[str, Any]) -> int:
    if obj.get("user_id") is None:
        raise InvalidRetirementEvent("missing_field:user_id")
    user_id = obj["user_id"]
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise InvalidRetirementEvent("wrong_type:user_id")
    if user_id < 1 or user_id > _INT64_MAX:
        raise InvalidRetirementEvent("invalid_value:user_id")
    return user_id


def _check_envelope(obj: Mapping[str, Any]) -> encryption.Sealed:
    """The envelope's shape, and no personal field in clear beside it."""
    try:
        sealed = encryption.parse_envelope(obj[encryption.ENVELOPE_FIELD])
    except encryption.EnvelopeError as exc:
        raise InvalidRetirementEvent(exc.reason) from None
    if any(obj.get(name) is not None for name in encryption.PERSONAL_FIELDS):
        raise InvalidRetirementEvent("invalid_value:encrypted")
    return sealed


def _refuse_plain(obj: Mapping[str, Any]) -> None:
    """``encryption.required``: an event in clear (no envelope, or null) is ``not_encrypted``."""
    _check_user_id(obj)
    raise InvalidRetirementEvent("not_encrypted")


def parse_value(value: bytes | None, require_encryption: bool = False) -> dict:
    """Check the value of a record; return the JSON object or raise InvalidRetirementEvent.

    An encrypted value is checked as far as it can be without headers and keys: ``user_id``,
    the envelope's shape and the clear fields (:func:`parse_record` decrypts). With
    ``require_encryption`` (the consumer's ``encryption.required``) a value in clear is
    ``not_encrypted``.
    """
    obj = _load_object(value)
    if _is_encrypted(obj):
        _check_user_id(obj)
        _check_envelope(obj)
        _check_clear_optionals(obj)
        return obj
    if require_encryption:
        _refuse_plain(obj)
    return _check_fields(obj)


def _check_fields(obj: dict) -> dict:
    for name in ("user_id", "username", "email"):
        if name not in obj or obj[name] is None:
            raise InvalidRetirementEvent(f"missing_field:{name}")
    user_id = obj["user_id"]
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise InvalidRetirementEvent("wrong_type:user_id")
    if user_id < 1 or user_id > _INT64_MAX:
        raise InvalidRetirementEvent("invalid_value:user_id")
    for name in ("username", "email"):
        if not isinstance(obj[name], str):
            raise InvalidRetirementEvent(f"wrong_type:{name}")
        if obj[name] == "":
            raise InvalidRetirementEvent(f"invalid_value:{name}")

    for name in _OPTIONAL_STRINGS:
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise InvalidRetirementEvent(f"wrong_type:{name}")
    _check_clear_optionals(obj)
    return obj


def _check_clear_optionals(obj: Mapping[str, Any]) -> None:
    rid = obj.get("retirement_id")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, int)):
        raise InvalidRetirementEvent("wrong_type:retirement_id")
    if rid is not None and rid > _INT64_MAX:
        raise InvalidRetirementEvent("invalid_value:retirement_id")
    requested_at = obj.get("requested_at")
    if requested_at is not None:
        if not isinstance(requested_at, str):
            raise InvalidRetirementEvent("wrong_type:requested_at")
        try:
            parse_rfc3339(requested_at)
        except ValueError:
            raise InvalidRetirementEvent("invalid_value:requested_at") from None


def _first_header(headers: Sequence[Header] | None, name: str) -> bytes | None:
    for key, val in headers or ():
        if key == name:
            return val if val is not None else b""
    return None


def _check_headers(header_list: Sequence[Header]) -> bytes:
    """``ce_type`` and ``ce_id``; returns ``ce_id``."""
    ce_type = _first_header(header_list, "ce_type")
    if ce_type is None:
        raise InvalidRetirementEvent("missing_header:ce_type")
    if ce_type != EVENT_TYPE.encode():
        raise InvalidRetirementEvent("unsupported_type")
    ce_id = _first_header(header_list, "ce_id")
    if ce_id is None or ce_id == b"":
        raise InvalidRetirementEvent("missing_header:ce_id")
    return ce_id


def parse_record(
    key: bytes | None,
    headers: Iterable[Header] | None,
    value: bytes | None,
    keyring: encryption.Keyring | None = None,
    require_encryption: bool = False,
) -> dict:
    """Check a whole record (value, then headers, then key); return the value object.

    Raises InvalidRetirementEvent with the reason code on bad input. Where a header appears
    more than once, the first one counts. An encrypted value is decrypted with ``keyring`` (in
    the consumer's order: ``user_id``, envelope, headers, key lookup, authentication, then the
    decrypted fields); the returned object holds the personal fields in clear. With
    ``require_encryption`` (the consumer's ``encryption.required``) a value without an envelope
    (absent or null) is ``not_encrypted`` once its ``user_id`` is checked.
    """
    obj = _load_object(value)
    header_list = list(headers) if headers is not None else []
    if _is_encrypted(obj):
        user_id = _check_user_id(obj)
        sealed = _check_envelope(obj)
        ce_id = _check_headers(header_list)
        try:
            fields = encryption.open_envelope(sealed, keyring, ce_id, user_id)
        except encryption.EnvelopeError as exc:
            raise InvalidRetirementEvent(exc.reason) from None
        obj = {name: item for name, item in obj.items() if name != encryption.ENVELOPE_FIELD}
        obj.update(fields)
    elif require_encryption:
        _refuse_plain(obj)
    obj = _check_fields(obj)
    _check_headers(header_list)
    if key is not None and key != str(obj["user_id"]).encode("ascii"):
        raise InvalidRetirementEvent("key_mismatch")
    return obj
