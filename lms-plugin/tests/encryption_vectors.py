"""
Builds schema/encryption-vectors.json with the plugin's encryption code (deterministic: fixed
keys and nonces). The Python tests check that a rebuild gives the committed file byte for byte;
the Swift tests decrypt it.

    cd lms-plugin && python -m tests.encryption_vectors > ../schema/encryption-vectors.json
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from openedx_retirement_kafka import encryption
from openedx_retirement_kafka.encryption import Key, Keyring

EVENT_TYPE = encryption.EVENT_TYPE


def _bytes(label: str, n: int) -> bytes:
    return hashlib.sha256(label.encode()).digest()[:n]


K0 = Key(id="k0-removed", created="2026-08-01T00:00:00Z", secret=_bytes("secret k0-removed", 32))
K1 = Key(id="k1", created="2026-10-01T00:00:00Z", secret=_bytes("secret k1", 32))
K2 = Key(id="k2.2026-11", created="2026-11-01T00:00:00Z", secret=_bytes("secret k2", 32))
IMPOSTOR = Key(id="k2.2026-11", created="2026-11-01T00:00:00Z", secret=_bytes("another secret", 32))
KEYRING = Keyring(current=K2.id, keys=(K1, K2))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def compact(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def headers(user_id: int, ce_id: str | None = None, drop: str | None = None) -> dict[str, str]:
    result = {
        "ce_specversion": "1.0",
        "ce_type": EVENT_TYPE,
        "ce_id": ce_id or f"00000000-0000-4000-8000-{user_id:012d}",
        "ce_source": "openedx/lms/lms.example.org",
        "ce_time": "2026-11-01T00:00:00Z",
        "content-type": "application/json",
    }
    if drop:
        del result[drop]
    return result


ALL_FIELDS = {
    "username": "retirement_test",
    "email": "orig@foo.invalid",
    "full_name": "Retirement Test",
    "retired_username": "retired__user_88ad1f6f5ac2d2d26b4e",
    "retired_email": "retired__user_d0891fd1b3f5d37c7f6c@retired.invalid",
}


def primitives() -> list[dict]:
    cases = [
        ("fields of one event", K2, {"username": "retirement_test", "email": "orig@foo.invalid"}, "ev-1", 42),
        (
            "unicode fields",
            K1,
            {
                "username": "jos\u00e9",
                "email": "jos\u00e9@b\u00fccher.example",
                "full_name": "Jos\u00e9 \U0001f600",
            },
            "ev-2",
            7,
        ),
        ("empty plaintext", K1, None, "ev-3", 1),
    ]
    out = []
    for name, key, fields, ce_id, user_id in cases:
        plaintext = b"" if fields is None else compact(fields)
        nonce = _bytes(f"nonce {name}", 12)
        ad = encryption.associated_data(ce_id, user_id)
        ciphertext = base64.b64decode(
            encryption.seal(plaintext, key, ce_id, user_id, nonce=nonce)["ciphertext"]
        )
        out.append(
            {
                "name": name,
                "key_id": key.id,
                "key": b64(key.secret),
                "nonce": b64(nonce),
                "plaintext": plaintext.decode("utf-8"),
                "associated_data": ad.decode("utf-8"),
                "ciphertext": b64(ciphertext),
            }
        )
    return out


def envelope(
    fields: Any, user_id: int, ce_id: str, key: Key = K2, name: str = "", raw: bytes | None = None
) -> dict:
    plaintext = raw if raw is not None else compact(fields)
    return encryption.seal(plaintext, key, ce_id, user_id, nonce=_bytes(f"nonce {name}", 12))


def event(name: str, user_id: int, fields: Any = None, **opts) -> dict:
    """One record: an encrypted event of ``user_id`` with ``fields`` (default: all five)."""
    ce_id = opts.get("ce_id") or f"00000000-0000-4000-8000-{user_id:012d}"
    fields = dict(ALL_FIELDS) if fields is None else fields
    env = opts.get("envelope") or envelope(
        fields, user_id, ce_id, key=opts.get("key", K2), name=name, raw=opts.get("raw")
    )
    if "mutate" in opts:
        env = opts["mutate"](dict(env))
    value: dict[str, Any] = {"user_id": user_id}
    value.update(opts.get("clear", {}))
    value["encrypted"] = env
    value.update(opts.get("after", {}))
    record = {
        "name": name,
        "valid": "reason" not in opts,
        "use_keyring": opts.get("use_keyring", True),
        "require_encryption": opts.get("require_encryption", False),
        "key": opts.get("record_key", str(user_id)),
        "headers": headers(user_id, ce_id=opts.get("header_ce_id", ce_id), drop=opts.get("drop_header")),
        "value": json.dumps(value, ensure_ascii=False, separators=(",", ":")),
        "schema_valid": opts.get("schema_valid", True),
    }
    if "reason" in opts:
        record["reason"] = opts["reason"]
    else:
        record["expect"] = {k: v for k, v in fields.items() if v is not None}
    return record


def plain_event(name: str, user_id: int, require_encryption: bool, **opts) -> dict:
    """One record in clear (no envelope): ``ALL_FIELDS`` beside ``user_id``, then ``after``."""
    ce_id = f"00000000-0000-4000-8000-{user_id:012d}"
    value: dict[str, Any] = {"user_id": user_id, **ALL_FIELDS}
    value.update(opts.get("after", {}))
    record = {
        "name": name,
        "valid": "reason" not in opts,
        "use_keyring": True,
        "require_encryption": require_encryption,
        "key": str(user_id),
        "headers": headers(user_id, ce_id=ce_id),
        "value": json.dumps(value, ensure_ascii=False, separators=(",", ":")),
        "schema_valid": opts.get("schema_valid", True),
    }
    if "reason" in opts:
        record["reason"] = opts["reason"]
    else:
        record["expect"] = dict(ALL_FIELDS)
    return record


def flip(field: str, index: int, bit: int = 1):
    def mutate(env):
        data = bytearray(base64.b64decode(env[field]))
        data[index] ^= bit
        env[field] = b64(bytes(data))
        return env

    return mutate


def setting(field: str, value: Any):
    def mutate(env):
        env[field] = value
        return env

    return mutate


def non_canonical(env):
    text = env["ciphertext"]
    assert text.endswith("=") and not text.endswith("=="), "choose fields whose ciphertext length is 2 mod 3"
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(text[-2])
    env["ciphertext"] = text[:-2] + alphabet[last | 1] + "="
    return env


def events() -> list[dict]:
    moved_from = envelope(ALL_FIELDS, 901, "00000000-0000-4000-8000-000000000901", name="moved")
    user_moved = envelope(ALL_FIELDS, 902, "00000000-0000-4000-8000-000000000903", name="user moved")
    unicode_fields = {
        "username": "jos\u00e9_\u00fc",
        "email": "jos\u00e9@b\u00fccher.example",
        "full_name": "Jos\u00e9 \u00dc\U0001f600",
    }
    two_mod_three = {"username": "u", "email": "eee@x.invalid"}
    assert (len(compact(two_mod_three)) + 16) % 3 == 2
    return [
        event(
            "encrypted, all fields, current key",
            5213599,
            clear={"retirement_id": 46},
            after={"requested_at": "2018-10-18T20:35:52.349757Z"},
        ),
        event("encrypted under an older key of the keyring", 801, key=K1),
        event(
            "encrypted, username and email only",
            802,
            fields={"username": "learner802", "email": "learner802@example.org"},
        ),
        event("encrypted, unicode fields", 803, fields=unicode_fields),
        event(
            "encrypted, null clear personal fields count as absent",
            804,
            clear={"email": None, "full_name": None},
        ),
        event("encrypted, no record key", 805, record_key=None),
        event(
            "encrypted, unknown fields in the plaintext are ignored",
            806,
            raw=compact({**ALL_FIELDS, "phone": "x"}),
        ),
        # The key is not there.
        event("key id not in the keyring (removed: shredded)", 810, key=K0, reason="key_unavailable"),
        event("encrypted event and no keyring configured", 811, use_keyring=False, reason="key_unavailable"),
        # Tampering.
        event("flipped bit in the ciphertext", 820, mutate=flip("ciphertext", 3), reason="decryption_failed"),
        event("flipped bit in the tag", 821, mutate=flip("ciphertext", -1, 0x80), reason="decryption_failed"),
        event("another nonce", 822, mutate=flip("nonce", 0), reason="decryption_failed"),
        event(
            "ciphertext moved from another event of the same learner",
            901,
            envelope=moved_from,
            ce_id="00000000-0000-4000-8000-000000000999",
            reason="decryption_failed",
        ),
        event("ciphertext moved from another learner", 903, envelope=user_moved, reason="decryption_failed"),
        event("a different key under the same id", 823, key=IMPOSTOR, reason="decryption_failed"),
        # Malformed envelopes.
        event(
            "truncated nonce",
            830,
            mutate=setting("nonce", b64(_bytes("short", 8))),
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "nonce not base64",
            831,
            mutate=setting("nonce", "not base64 !!!!!"),
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "ciphertext without its padding",
            832,
            fields=two_mod_three,
            mutate=lambda env: setting("ciphertext", env["ciphertext"].rstrip("="))(env),
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "ciphertext in non-canonical base64",
            833,
            fields=two_mod_three,
            mutate=non_canonical,
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "ciphertext shorter than the tag",
            834,
            mutate=setting("ciphertext", b64(_bytes("short", 10))),
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "unknown envelope version",
            835,
            mutate=setting("v", 2),
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "unknown algorithm",
            836,
            mutate=setting("alg", "A128GCM"),
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "key id with forbidden characters",
            837,
            mutate=setting("kid", "k2 2026/11"),
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "envelope is not an object",
            838,
            envelope="c2VjcmV0",
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "clear email beside the envelope",
            839,
            clear={"email": "orig@foo.invalid"},
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
        event(
            "plaintext is not a JSON object",
            840,
            raw=b'["retirement_test"]',
            reason="invalid_value:encrypted",
        ),
        event(
            "plaintext is not JSON",
            841,
            raw=b"retirement_test orig@foo.invalid",
            reason="invalid_value:encrypted",
        ),
        # The decrypted fields follow the usual rules.
        event(
            "plaintext without email", 850, fields={"username": "learner850"}, reason="missing_field:email"
        ),
        event(
            "plaintext with an empty username",
            851,
            fields={"username": "", "email": "e@x.invalid"},
            reason="invalid_value:username",
        ),
        event(
            "plaintext email is a number",
            852,
            fields={"username": "u852", "email": 852},
            reason="wrong_type:email",
        ),
        # Record faults still apply.
        event("encrypted event without ce_id", 860, drop_header="ce_id", reason="missing_header:ce_id"),
        event("encrypted event with a key of another user", 861, record_key="862", reason="key_mismatch"),
        # encryption.required (the consumer refuses events in clear): require_encryption true.
        plain_event("plain event, encryption required", 870, True, reason="not_encrypted"),
        plain_event("the same plain event, encryption not required", 870, False),
        event("encrypted event, encryption required", 871, require_encryption=True),
        plain_event(
            "plain event with a null envelope, encryption required",
            872,
            True,
            after={"encrypted": None},
            reason="not_encrypted",
        ),
        plain_event(
            "plain event whose envelope is not an object, encryption required",
            873,
            True,
            after={"encrypted": "c2VjcmV0"},
            reason="invalid_value:encrypted",
            schema_valid=False,
        ),
    ]


def build() -> dict:
    return {
        "description": " ".join(
            [
                "Shared test vectors for encrypted personal fields (docs/encryption.md).",
                "'keyring' is the consumer's keyring for every event vector with use_keyring true",
                "(false: no keyring configured). 'primitives': AES-256-GCM with the given key, nonce,",
                "plaintext and associated data gives ciphertext (ciphertext || 16-byte tag, standard",
                "base64). 'events': Kafka records as in vectors.json; a valid one decrypts to 'expect'",
                "(the personal fields in clear), an invalid one is dead-lettered with 'reason';",
                "schema_valid says whether the value passes retirement-event.v1.schema.json.",
                "require_encryption is the consumer's encryption.required for that vector: true, an",
                "event in clear (no 'encrypted' member, or null) is invalid with reason not_encrypted;",
                "false (every vector before the 'encryption required' ones), plain events are accepted.",
                "Generated by lms-plugin/tests/encryption_vectors.py; checked by the Python plugin",
                "tests and the Swift consumer tests.",
            ]
        ),
        "event_type": EVENT_TYPE,
        "keyring": json.loads(KEYRING.to_json()),
        "primitives": primitives(),
        "events": events(),
    }


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(render(), end="")
