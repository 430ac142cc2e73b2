"""Encrypted personal fields: schema/encryption-vectors.json, the keyring setting, the builder."""

import base64
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured
from jsonschema import Draft202012Validator

from openedx_retirement_kafka import encryption
from openedx_retirement_kafka.conf import load_config
from openedx_retirement_kafka.encryption import Key, Keyring, KeyringError
from openedx_retirement_kafka.events import (
    InvalidRetirementEvent,
    RetirementRecord,
    build_event,
    parse_record,
    parse_value,
)

from . import encryption_vectors
from .conftest import SCHEMA_DIR, load_json

VECTORS = load_json("encryption-vectors.json")
SCHEMA = load_json("retirement-event.v1.schema.json")
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)
KEYRING = Keyring.parse(VECTORS["keyring"])
EVENTS = VECTORS["events"]
VALID = [v for v in EVENTS if v["valid"]]
INVALID = [v for v in EVENTS if not v["valid"]]
REASONS = {"key_unavailable", "decryption_failed", "invalid_value:encrypted", "not_encrypted"}
# The vectors of encryption.required (require_encryption true); every other one has it false.
REQUIRED = {
    "plain event, encryption required": "not_encrypted",
    "the same plain event, encryption not required": None,
    "encrypted event, encryption required": None,
    "plain event with a null envelope, encryption required": "not_encrypted",
    "plain event whose envelope is not an object, encryption required": "invalid_value:encrypted",
}


def is_encrypted(vector):
    return json.loads(vector["value"]).get("encrypted") is not None


def ids(items):
    return [item["name"] for item in items]


def record(vector):
    key = vector["key"].encode() if vector["key"] is not None else None
    headers = [(k, v.encode()) for k, v in vector["headers"].items()]
    return key, headers, vector["value"].encode("utf-8")


class Settings:
    LMS_BASE = "lms.example.org"

    def __init__(self, **values):
        self.RETIREMENT_KAFKA = {"BOOTSTRAP_SERVERS": "127.0.0.1:9092", **values}


def test_the_committed_vectors_are_what_the_plugin_produces():
    """Python encrypts: a rebuild with the plugin's code gives the committed file, byte for byte."""
    assert (SCHEMA_DIR / "encryption-vectors.json").read_text(encoding="utf-8") == encryption_vectors.render()


def test_vector_file_covers_every_reason_and_rotation():
    assert VECTORS["event_type"] == encryption.EVENT_TYPE
    assert len(set(ids(EVENTS))) == len(EVENTS)
    reasons = {v["reason"] for v in INVALID}
    assert REASONS <= reasons
    assert {"missing_field:email", "key_mismatch", "missing_header:ce_id"} <= reasons
    kids = {json.loads(v["value"])["encrypted"]["kid"] for v in VALID if is_encrypted(v)}
    assert len(kids) >= 2, "valid events under an older and the current key"
    assert len(VECTORS["primitives"]) >= 3


def test_every_event_vector_says_whether_encryption_is_required():
    by_name = {v["name"]: v for v in EVENTS}
    for vector in EVENTS:
        assert isinstance(vector["require_encryption"], bool), vector["name"]
        if vector["name"] not in REQUIRED:
            assert vector["require_encryption"] is False, vector["name"]
    for name, reason in REQUIRED.items():
        vector = by_name[name]
        assert vector.get("reason") == reason, name
        assert vector["require_encryption"] is (name != "the same plain event, encryption not required")
    same = by_name["the same plain event, encryption not required"]
    assert same["value"] == by_name["plain event, encryption required"]["value"]
    assert "require_encryption" in VECTORS["description"]


@pytest.mark.parametrize("vector", VECTORS["primitives"], ids=ids(VECTORS["primitives"]))
def test_primitive(vector):
    key = base64.b64decode(vector["key"])
    nonce = base64.b64decode(vector["nonce"])
    plaintext = vector["plaintext"].encode("utf-8")
    ad = vector["associated_data"].encode("utf-8")
    assert base64.b64encode(AESGCM(key).encrypt(nonce, plaintext, ad)).decode() == vector["ciphertext"]
    assert AESGCM(key).decrypt(nonce, base64.b64decode(vector["ciphertext"]), ad) == plaintext
    ce_id, user_id = vector["associated_data"].split("\n")[1:]
    assert encryption.associated_data(ce_id, int(user_id)) == ad


@pytest.mark.parametrize("vector", VALID, ids=ids(VALID))
def test_valid_encrypted_event_decrypts_to_its_fields(vector):
    key, headers, value = record(vector)
    obj = parse_record(
        key,
        headers,
        value,
        keyring=KEYRING if vector["use_keyring"] else None,
        require_encryption=vector["require_encryption"],
    )
    assert {k: obj[k] for k in encryption.PERSONAL_FIELDS if obj.get(k) is not None} == vector["expect"]
    assert "encrypted" not in obj
    assert vector["schema_valid"]
    VALIDATOR.validate(json.loads(value))
    parse_value(value, require_encryption=vector["require_encryption"])
    if not is_encrypted(vector):
        assert not vector["require_encryption"]
        return
    for text in vector["expect"].values():
        assert text.encode("utf-8") not in value, "a personal value is in clear on the wire"


@pytest.mark.parametrize("vector", INVALID, ids=ids(INVALID))
def test_invalid_encrypted_event_is_rejected_with_its_reason(vector):
    key, headers, value = record(vector)
    with pytest.raises(InvalidRetirementEvent) as info:
        parse_record(
            key,
            headers,
            value,
            keyring=KEYRING if vector["use_keyring"] else None,
            require_encryption=vector["require_encryption"],
        )
    assert info.value.reason == vector["reason"]
    if vector["reason"] == "not_encrypted":
        # The same record is a valid plain event when encryption is not required.
        parse_record(key, headers, value, keyring=KEYRING)
        with pytest.raises(InvalidRetirementEvent) as info:
            parse_value(value, require_encryption=True)
        assert info.value.reason == "not_encrypted"


@pytest.mark.parametrize("vector", EVENTS, ids=ids(EVENTS))
def test_schema_agrees_with_the_vector(vector):
    valid = VALIDATOR.is_valid(json.loads(vector["value"]))
    assert valid == vector["schema_valid"]


def test_an_encrypted_event_without_a_keyring_is_key_unavailable_and_names_no_value():
    key, headers, value = record(VALID[0])
    with pytest.raises(InvalidRetirementEvent) as info:
        parse_record(key, headers, value)
    assert info.value.reason == "key_unavailable"
    assert "orig@foo.invalid" not in str(info.value)


def record_of(user_id=42):
    return RetirementRecord(
        user_id=user_id,
        retirement_id=7,
        original_username="ana_b",
        original_email="ana@example.org",
        original_name="Ana B\u00e9",
        retired_username="retired__user_1",
        retired_email="retired__user_1@retired.invalid",
        created=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_build_event_encrypts_the_personal_fields_under_the_current_key():
    event = build_event(record_of(), "lms.example.org", keyring=KEYRING)
    wire = json.loads(event.value)
    assert set(wire) == {"user_id", "retirement_id", "requested_at", "encrypted"}
    assert wire["encrypted"]["kid"] == KEYRING.current
    for secret in (b"ana_b", b"ana@example.org", "Ana B\u00e9".encode(), b"retired__user_1"):
        assert secret not in event.value
    obj = parse_record(event.key, list(event.headers), event.value, keyring=KEYRING)
    assert obj["email"] == "ana@example.org" and obj["full_name"] == "Ana B\u00e9"
    assert obj["retired_email"] == "retired__user_1@retired.invalid"
    VALIDATOR.validate(wire)
    # A fresh nonce each time: the same learner never gives the same ciphertext twice.
    again = json.loads(build_event(record_of(), "lms.example.org", keyring=KEYRING).value)
    assert again["encrypted"]["nonce"] != wire["encrypted"]["nonce"]
    # Without a keyring the event is as before, in clear.
    plain = build_event(record_of(), "lms.example.org")
    assert json.loads(plain.value)["email"] == "ana@example.org"


def test_a_decrypt_only_keyring_cannot_encrypt():
    ring = Keyring(current=None, keys=KEYRING.keys)
    with pytest.raises(KeyringError):
        build_event(record_of(), "lms.example.org", keyring=ring)


def keyring_text(current="k1", secret=None):
    key = Key(id="k1", created="2026-11-01T00:00:00Z", secret=b"\x01" * 32)
    entry = key.entry()
    if secret is not None:
        entry["secret"] = secret
    return json.dumps({"current": current, "keys": [entry]})


def test_setting_as_json_text_dict_or_file(tmp_path):
    config = load_config(Settings(ENCRYPTION_KEYRING=keyring_text()), environ={})
    assert config.keyring.current == "k1"
    config = load_config(Settings(ENCRYPTION_KEYRING=json.loads(keyring_text())), environ={})
    assert config.keyring.current_key.secret == b"\x01" * 32
    path = tmp_path / "keyring.json"
    path.write_text(keyring_text())
    config = load_config(Settings(ENCRYPTION_KEYRING_FILE=str(path)), environ={})
    assert config.keyring.get("k1") is not None
    assert load_config(Settings(), environ={}).keyring is None
    assert "AQEB" not in repr(config) and "keyring" not in repr(config)
    assert "AQEB" not in repr(config.keyring) and "\\x01" not in repr(config.keyring)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"ENCRYPTION_KEYRING": "{not json"}, "not valid JSON"),
        ({"ENCRYPTION_KEYRING": keyring_text(current="k9")}, "not in the keyring"),
        ({"ENCRYPTION_KEYRING": keyring_text(current=None)}, "no 'current' key"),
        ({"ENCRYPTION_KEYRING": keyring_text(secret="AQEB")}, "32 bytes"),
        ({"ENCRYPTION_KEYRING": keyring_text(secret="not base64")}, "base64"),
        ({"ENCRYPTION_KEYRING_FILE": "/nonexistent/keyring.json"}, "cannot read"),
        ({"ENCRYPTION_KEYRING": keyring_text(), "ENCRYPTION_KEYRING_FILE": "/x"}, "not both"),
    ],
)
def test_bad_keyring_settings_stop_the_lms_without_printing_the_secret(values, message):
    with pytest.raises(ImproperlyConfigured) as info:
        load_config(Settings(**values), environ={})
    text = str(info.value)
    assert "ENCRYPTION_KEYRING" in text and message in text
    assert "AQEBAQEB" not in text


def test_keyring_rejects_duplicate_ids_and_bad_ids():
    key = Key(id="k1", created="2026-11-01T00:00:00Z", secret=b"\x02" * 32)
    with pytest.raises(KeyringError):
        Keyring(current="k1", keys=(key, key))
    with pytest.raises(KeyringError):
        Key(id="k 1", created="2026-11-01T00:00:00Z", secret=b"\x02" * 32)
    with pytest.raises(KeyringError):
        Key(id="k1", created="yesterday", secret=b"\x02" * 32)


def test_strict_base64():
    assert encryption.b64decode_strict("AAAA") == b"\x00\x00\x00"
    for text in ("AAA", "AA A", "AB==", "AAA\n", "****", None, 5):
        assert encryption.b64decode_strict(text) is None, text
