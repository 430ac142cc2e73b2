"""
Encrypted personal fields: AES-256-GCM under a keyring (docs/encryption.md).

When a keyring is configured, the five personal fields of the retirement event (``username``,
``email``, ``full_name``, ``retired_username``, ``retired_email``) leave the LMS only inside the
``encrypted`` member of the event value::

    {"v": 1, "alg": "A256GCM", "kid": "<key id>", "nonce": "<base64, 12 bytes>",
     "ciphertext": "<base64 of ciphertext || 16-byte tag>"}

The plaintext is the compact UTF-8 JSON object of those of the five fields the event has; the
associated data binds it to one event: ``EVENT_TYPE + "\\n" + ce_id + "\\n" + str(user_id)``.
Removing a key from every keyring makes every event encrypted under it unreadable
(crypto-shredding), however many copies Kafka, its backups and its mirrors keep.

Keyring (JSON text or dict)::

    {"current": "<kid>", "keys": [{"id": "<kid>", "created": "<RFC 3339>", "secret": "<base64 of 32 bytes>"}]}

Nothing in this module puts a secret or a personal value into an exception message.
The module has no Django dependency.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

EVENT_TYPE = "org.openedx.learning.user.retirement.requested.v1"
ENVELOPE_FIELD = "encrypted"
ENVELOPE_VERSION = 1
ALGORITHM = "A256GCM"
PERSONAL_FIELDS = ("username", "email", "full_name", "retired_username", "retired_email")
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_BYTES = 32

_KID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z", re.ASCII)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII
)


class KeyringError(ValueError):
    """The keyring is not valid. The message names the problem, never a secret."""


class EnvelopeError(ValueError):
    """An encrypted event cannot be opened. ``reason`` is a stable dead-letter reason code:
    ``key_unavailable``, ``decryption_failed`` or ``invalid_value:encrypted``."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def is_valid_key_id(kid: Any) -> bool:
    return isinstance(kid, str) and bool(_KID_RE.match(kid))


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_strict(text: Any) -> bytes | None:
    """Standard base64 with padding, canonical only (the consumer's rule); None otherwise."""
    if not isinstance(text, str) or len(text) % 4 != 0 or not text.isascii():
        return None
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if b64encode(data) == text else None


def _parse_rfc3339(text: str) -> datetime:
    match = _RFC3339.match(text)
    if not match:
        raise ValueError("not an RFC 3339 date-time")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    micro = (frac[1:] + "000000")[:6] if frac else "000000"
    offset = "+00:00" if offset in ("Z", "z") else offset
    return datetime.fromisoformat(f"{year}-{month}-{day}T{hour}:{minute}:{second}.{micro}{offset}")


@dataclass(frozen=True)
class Key:
    id: str
    created: str
    secret: bytes = field(repr=False)

    def __post_init__(self):
        if not is_valid_key_id(self.id):
            raise KeyringError("a key id must match [A-Za-z0-9._-]{1,64}")
        if not isinstance(self.created, str):
            raise KeyringError(f"key {self.id!r}: created must be an RFC 3339 date-time")
        try:
            _parse_rfc3339(self.created)
        except ValueError:
            raise KeyringError(f"key {self.id!r}: created must be an RFC 3339 date-time") from None
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_BYTES:
            raise KeyringError(f"key {self.id!r}: secret must be 32 bytes (AES-256)")

    @classmethod
    def generate(cls, kid: str, created: str) -> Key:
        return cls(id=kid, created=created, secret=os.urandom(KEY_BYTES))

    def entry(self) -> dict:
        """The keyring entry, secret included (for writing keyring files only)."""
        return {"id": self.id, "created": self.created, "secret": b64encode(self.secret)}


@dataclass(frozen=True)
class Keyring:
    current: str | None
    keys: tuple[Key, ...]
    _by_id: dict[str, Key] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        if not self.keys:
            raise KeyringError("the keyring has no keys")
        by_id: dict[str, Key] = {}
        for key in self.keys:
            if key.id in by_id:
                raise KeyringError(f"key id {key.id!r} appears twice")
            by_id[key.id] = key
        if self.current is not None and self.current not in by_id:
            shown = repr(self.current) if is_valid_key_id(self.current) else "(not a valid key id)"
            raise KeyringError(f"current key {shown} is not in the keyring")
        object.__setattr__(self, "_by_id", by_id)

    def get(self, kid: str) -> Key | None:
        return self._by_id.get(kid)

    @property
    def current_key(self) -> Key | None:
        return self._by_id.get(self.current) if self.current is not None else None

    @classmethod
    def parse(cls, raw: Any) -> Keyring:
        """From JSON text (str or bytes) or an already parsed dict. Raises KeyringError."""
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise KeyringError("the keyring is not UTF-8") from None
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise KeyringError("the keyring is not valid JSON") from None
        if not isinstance(raw, Mapping):
            raise KeyringError("the keyring must be a JSON object")
        unknown = set(raw) - {"current", "keys"}
        if unknown:
            raise KeyringError("unknown keyring member; known: current, keys")
        current = raw.get("current")
        if current is not None and not isinstance(current, str):
            raise KeyringError("'current' must be a key id string")
        items = raw.get("keys")
        if not isinstance(items, (list, tuple)):
            raise KeyringError("'keys' must be a list of keys")
        keys = []
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise KeyringError(f"keys[{index}] must be an object")
            if set(item) - {"id", "created", "secret"}:
                raise KeyringError(f"keys[{index}]: unknown member; known: id, created, secret")
            for name in ("id", "created", "secret"):
                if not isinstance(item.get(name), str):
                    raise KeyringError(f"keys[{index}]: {name!r} must be a string")
            secret = b64decode_strict(item["secret"])
            if secret is None:
                raise KeyringError(f"keys[{index}]: 'secret' must be standard base64 of 32 bytes")
            keys.append(Key(id=item["id"], created=item["created"], secret=secret))
        return cls(current=current, keys=tuple(keys))

    def to_json(self) -> str:
        """JSON text, secrets included (for writing keyring files only)."""
        return json.dumps({"current": self.current, "keys": [k.entry() for k in self.keys]}, indent=2) + "\n"


def associated_data(ce_id: Any, user_id: int) -> bytes:
    """``ce_id`` as str or as the header's bytes."""
    ce_bytes = ce_id if isinstance(ce_id, bytes) else str(ce_id).encode("utf-8")
    return f"{EVENT_TYPE}\n".encode() + ce_bytes + f"\n{int(user_id)}".encode()


def _compact(obj: Mapping[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def seal(plaintext: bytes, key: Key, ce_id: Any, user_id: int, nonce: bytes | None = None) -> dict:
    """The envelope of ``plaintext`` for one event. ``nonce`` is random unless given (vectors)."""
    nonce = os.urandom(NONCE_BYTES) if nonce is None else nonce
    if len(nonce) != NONCE_BYTES:
        raise ValueError("the nonce must be 12 bytes")
    ciphertext = AESGCM(key.secret).encrypt(nonce, plaintext, associated_data(ce_id, user_id))
    return {
        "v": ENVELOPE_VERSION,
        "alg": ALGORITHM,
        "kid": key.id,
        "nonce": b64encode(nonce),
        "ciphertext": b64encode(ciphertext),
    }


def encrypt_value(value: Mapping[str, Any], keyring: Keyring, ce_id: str, nonce: bytes | None = None) -> dict:
    """The event value with its personal fields moved into an ``encrypted`` envelope under the
    keyring's current key. Other fields (``user_id``, ids, ``requested_at``) stay in clear."""
    key = keyring.current_key
    if key is None:
        raise KeyringError("the keyring has no current key to encrypt with")
    personal = {name: value[name] for name in PERSONAL_FIELDS if name in value}
    result = {name: item for name, item in value.items() if name not in PERSONAL_FIELDS}
    result[ENVELOPE_FIELD] = seal(_compact(personal), key, ce_id, int(value["user_id"]), nonce=nonce)
    return result


@dataclass(frozen=True)
class Sealed:
    kid: str
    nonce: bytes
    ciphertext: bytes


def parse_envelope(envelope: Any) -> Sealed:
    """Checks the envelope's shape; EnvelopeError ``invalid_value:encrypted`` when malformed."""

    def bad(detail: str) -> EnvelopeError:
        return EnvelopeError("invalid_value:encrypted", detail)

    if not isinstance(envelope, Mapping):
        raise bad("'encrypted' must be an object")
    version = envelope.get("v")
    if isinstance(version, bool) or not isinstance(version, int) or version != ENVELOPE_VERSION:
        raise bad("unknown envelope version")
    if envelope.get("alg") != ALGORITHM:
        raise bad("unknown algorithm")
    kid = envelope.get("kid")
    if not is_valid_key_id(kid):
        raise bad("'kid' must be a key id")
    nonce = b64decode_strict(envelope.get("nonce"))
    if nonce is None:
        raise bad("'nonce' must be standard base64")
    if len(nonce) != NONCE_BYTES:
        raise bad("'nonce' must be 12 bytes")
    ciphertext = b64decode_strict(envelope.get("ciphertext"))
    if ciphertext is None:
        raise bad("'ciphertext' must be standard base64")
    if len(ciphertext) < TAG_BYTES:
        raise bad("'ciphertext' is shorter than the tag")
    return Sealed(kid=kid, nonce=nonce, ciphertext=ciphertext)


def open_envelope(sealed: Sealed, keyring: Keyring | None, ce_id: Any, user_id: int) -> dict:
    """The personal fields of an authenticated envelope. Raises EnvelopeError."""
    if keyring is None:
        raise EnvelopeError(
            "key_unavailable", f"encrypted under key {sealed.kid!r}; no keyring is configured"
        )
    key = keyring.get(sealed.kid)
    if key is None:
        raise EnvelopeError(
            "key_unavailable", f"encrypted under key {sealed.kid!r}, which is not in the keyring"
        )
    try:
        plaintext = AESGCM(key.secret).decrypt(
            sealed.nonce, sealed.ciphertext, associated_data(ce_id, user_id)
        )
    except InvalidTag:
        raise EnvelopeError(
            "decryption_failed",
            f"the encrypted fields do not authenticate under key {sealed.kid!r} for this event",
        ) from None
    try:
        fields = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        fields = None
    if not isinstance(fields, dict):
        raise EnvelopeError("invalid_value:encrypted", "the decrypted fields are not a JSON object")
    return {name: fields[name] for name in PERSONAL_FIELDS if name in fields}


def load_keyring_setting(
    raw: Any,
    file_path: Any,
    raw_name: str = "ENCRYPTION_KEYRING",
    file_name: str = "ENCRYPTION_KEYRING_FILE",
) -> Keyring | None:
    """A producer's keyring from ``raw`` (JSON text or dict) or ``file_path`` (a path): the
    plugin's ``ENCRYPTION_KEYRING`` / ``ENCRYPTION_KEYRING_FILE``, or the reader's keyring
    options (``raw_name`` and ``file_name`` name them in messages). None when neither is set.
    A keyring without a current key is refused: producers encrypt with it. Raises KeyringError."""
    if raw not in (None, "", {}) and file_path not in (None, ""):
        raise KeyringError(f"set {raw_name} or {file_name}, not both")
    if file_path not in (None, ""):
        if not isinstance(file_path, (str, os.PathLike)):
            raise KeyringError(f"{file_name} must be a path")
        try:
            with open(file_path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise KeyringError(f"cannot read the keyring file: {exc.strerror}") from None
    if raw in (None, "", {}):
        return None
    keyring = Keyring.parse(raw)
    if keyring.current is None:
        raise KeyringError("the keyring has no 'current' key: the producer encrypts with the current key")
    return keyring
