"""schema/vectors.json and schema/retirement-event.v1.schema.json against the plugin's parser."""

import base64
import json

import jsonschema
import pytest
from jsonschema import Draft202012Validator

from openedx_retirement_kafka.events import EVENT_TYPE, InvalidRetirementEvent, parse_record, parse_value

from .conftest import load_json

VECTORS = load_json("vectors.json")
SCHEMA = load_json("retirement-event.v1.schema.json")
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)

# Faults JSON Schema cannot express: a JSON number 42.0 is an "integer" for JSON Schema.
NOT_EXPRESSIBLE_IN_SCHEMA = {"user_id as a float", "user_id in exponent notation"}

REASON_CODES = {
    "empty_value",
    "not_utf8",
    "invalid_json",
    "not_an_object",
    "missing_header:ce_type",
    "unsupported_type",
    "missing_header:ce_id",
    "key_mismatch",
}
FIELD_PREFIXES = ("missing_field:", "wrong_type:", "invalid_value:")
VALUE_LEVEL = {"empty_value", "not_utf8", "invalid_json", "not_an_object"}


def record(vector):
    key = vector["key"].encode("utf-8") if vector["key"] is not None else None
    headers = None
    if vector["headers"] is not None:
        headers = [(k, v.encode("utf-8")) for k, v in vector["headers"].items()]
    if "value_base64" in vector:
        value = base64.b64decode(vector["value_base64"])
    else:
        value = vector["value"].encode("utf-8")
    return key, headers, value


def ids(vectors):
    return [v["name"] for v in vectors]


VALID = [v for v in VECTORS["vectors"] if v["valid"]]
INVALID = [v for v in VECTORS["vectors"] if not v["valid"]]


def test_schema_is_valid_2020_12():
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_vector_file_shape():
    assert VECTORS["event_type"] == EVENT_TYPE
    names = [v["name"] for v in VECTORS["vectors"]]
    assert len(names) == len(set(names)), "vector names are unique"
    assert len(VALID) >= 6
    for vector in VECTORS["vectors"]:
        assert set(vector) <= {"name", "valid", "reason", "key", "headers", "value", "value_base64"}
        assert ("value" in vector) != ("value_base64" in vector)
        assert vector["key"] is None or isinstance(vector["key"], str)
        assert vector["headers"] is None or all(isinstance(v, str) for v in vector["headers"].values())
        if vector["valid"]:
            assert "reason" not in vector
        else:
            reason = vector["reason"]
            assert reason in REASON_CODES or reason.startswith(FIELD_PREFIXES), reason


def test_every_reason_code_has_a_vector():
    reasons = {v["reason"] for v in INVALID}
    assert REASON_CODES <= reasons
    for prefix in FIELD_PREFIXES:
        assert sum(r.startswith(prefix) for r in reasons) >= 2, prefix
    names = ids(VALID)
    for wanted in (
        "minimal valid",
        "all fields",
        "unknown fields are ignored",
        "unicode names",
        "null optional fields count as absent",
        "no key",
    ):
        assert wanted in names


@pytest.mark.parametrize("vector", VALID, ids=ids(VALID))
def test_valid_vector(vector):
    key, headers, value = record(vector)
    obj = parse_record(key, headers, value)
    VALIDATOR.validate(json.loads(value))
    assert obj["user_id"] >= 1


@pytest.mark.parametrize("vector", INVALID, ids=ids(INVALID))
def test_invalid_vector_is_rejected_with_its_reason(vector):
    key, headers, value = record(vector)
    with pytest.raises(InvalidRetirementEvent) as info:
        parse_record(key, headers, value)
    assert info.value.reason == vector["reason"]


VALUE_FAULTS = [v for v in INVALID if v["reason"] in VALUE_LEVEL or v["reason"].startswith(FIELD_PREFIXES)]


@pytest.mark.parametrize("vector", VALUE_FAULTS, ids=ids(VALUE_FAULTS))
def test_invalid_value_fails_value_checks_and_schema(vector):
    _, _, value = record(vector)
    with pytest.raises(InvalidRetirementEvent):
        parse_value(value)
    if vector["reason"] in VALUE_LEVEL:
        return  # not a JSON object: nothing for the schema to check
    if vector["name"] in NOT_EXPRESSIBLE_IN_SCHEMA:
        VALIDATOR.validate(json.loads(value))  # documented gap, see the schema description
        return
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(json.loads(value))


HEADER_OR_KEY_FAULTS = [v for v in INVALID if v not in VALUE_FAULTS]


@pytest.mark.parametrize("vector", HEADER_OR_KEY_FAULTS, ids=ids(HEADER_OR_KEY_FAULTS))
def test_header_and_key_faults_have_a_valid_value(vector):
    """Exactly one fault per vector: the value itself is fine."""
    _, _, value = record(vector)
    parse_value(value)
    VALIDATOR.validate(json.loads(value))
