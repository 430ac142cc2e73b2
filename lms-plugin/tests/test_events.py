"""Event building (shared by receiver and backfill) and the ce_id formula."""

import json
import uuid
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from openedx_retirement_kafka.events import (
    EVENT_TYPE,
    EventBuildError,
    RetirementRecord,
    build_event,
    ce_id_for,
    parse_record,
    parse_rfc3339,
)

from .conftest import load_json, serialize_retirement

SCHEMA = Draft202012Validator(
    load_json("retirement-event.v1.schema.json"), format_checker=Draft202012Validator.FORMAT_CHECKER
)


def test_ce_id_formula_is_stable():
    # Pinned: changing the formula would give old retirements new ids.
    expected = str(
        uuid.uuid5(uuid.NAMESPACE_URL, "openedx-retirement://lms.example.org/users/5213599/retirements/46")
    )
    assert ce_id_for("lms.example.org", 5213599, 46) == expected
    assert ce_id_for(" LMS.Example.ORG ", 5213599, 46) == expected
    assert ce_id_for("lms.example.org", 5213599, 47) != expected
    assert ce_id_for("lms.other.org", 5213599, 46) != expected


def test_built_event_shape():
    record = RetirementRecord(
        user_id=5213599,
        retirement_id=46,
        original_username="retirement_test",
        original_email="orig@foo.invalid",
        original_name="Retirement Test",
        retired_username="retired__user_88ad",
        retired_email="r@retired.invalid",
        created=datetime(2018, 10, 18, 20, 35, 52, 349757, tzinfo=UTC),
    )
    now = datetime(2026, 11, 1, tzinfo=UTC)
    event = build_event(record, "lms.example.org", now=now)
    assert event.key == b"5213599"
    assert dict((k, v.decode()) for k, v in event.headers) == {
        "ce_specversion": "1.0",
        "ce_type": EVENT_TYPE,
        "ce_id": ce_id_for("lms.example.org", 5213599, 46),
        "ce_source": "openedx/lms/lms.example.org",
        "ce_time": "2026-11-01T00:00:00.000000Z",
        "content-type": "application/json",
    }
    assert json.loads(event.value) == {
        "user_id": 5213599,
        "username": "retirement_test",
        "email": "orig@foo.invalid",
        "full_name": "Retirement Test",
        "retired_username": "retired__user_88ad",
        "retired_email": "r@retired.invalid",
        "retirement_id": 46,
        "requested_at": "2018-10-18T20:35:52.349757Z",
    }
    SCHEMA.validate(json.loads(event.value))
    parse_record(event.key, event.headers, event.value)


def test_unicode_is_written_as_utf8():
    record = RetirementRecord(
        user_id=7,
        retirement_id=1,
        original_username="zoë",
        original_email="jürgen@exämple.org",
        original_name="王小明",
    )
    event = build_event(record, "lms.example.org")
    assert "王小明".encode() in event.value
    SCHEMA.validate(json.loads(event.value.decode("utf-8")))


def test_empty_optional_fields_are_left_out():
    record = RetirementRecord(
        user_id=7, retirement_id=1, original_username="u", original_email="e@x", original_name=""
    )
    assert "full_name" not in json.loads(build_event(record, "h").value)


@pytest.mark.parametrize("field", ["original_username", "original_email"])
def test_missing_required_data_is_refused_without_personal_data(field):
    values = dict(user_id=7, retirement_id=1, original_username="secret_user", original_email="secret@x.org")
    values[field] = ""
    with pytest.raises(EventBuildError) as info:
        build_event(RetirementRecord(**values), "h")
    assert "secret" not in str(info.value)


def test_model_and_api_row_give_the_same_event(make_retirement):
    status = make_retirement(user_id=5213599)
    from_model = build_event(
        RetirementRecord.from_model(status), "lms.example.org", now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    row = json.loads(json.dumps(serialize_retirement(status)))
    from_api = build_event(
        RetirementRecord.from_api(row), "lms.example.org", now=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert from_model == from_api
    assert from_model.value == from_api.value


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2018-10-18T20:35:52.349757Z", datetime(2018, 10, 18, 20, 35, 52, 349757, tzinfo=UTC)),
        ("2026-11-01T09:30:00+02:00", datetime(2026, 11, 1, 7, 30, tzinfo=UTC)),
        ("2026-11-01t00:00:00.1234567890z", datetime(2026, 11, 1, 0, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_parse_rfc3339(text, expected):
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-01",
        "2026-11-01T00:00:00",
        "2026-13-01T00:00:00Z",
        "yesterday",
        "2026-11-01T00:00:00Z\n",
        "２０２６-11-01T00:00:00Z",
    ],
)
def test_parse_rfc3339_rejects(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)
