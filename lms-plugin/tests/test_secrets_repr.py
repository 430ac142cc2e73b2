"""No secret in a repr: configuration objects that hold a password, a SASL secret, an OAuth
client secret or key bytes never show it in ``repr()``/``str()`` (a stray log line, a traceback
with locals, a debugger print)."""

from datetime import UTC, datetime

from openedx_retirement_kafka.conf import load_config
from openedx_retirement_kafka.encryption import Key, Keyring
from openedx_retirement_kafka.events import RetirementRecord, build_event
from openedx_retirement_kafka.lms_api import LmsRetirementApi
from openedx_retirement_kafka.producer import Delivery
from openedx_retirement_kafka.reader.options import parse_options

CLIENT_SECRET = "oauth-client-secret-7f3a"
SASL_PASSWORD = "sasl-password-91bc"
SSL_KEY_PASSWORD = "ssl-key-password-55de"
KEY_BYTES = bytes(range(32))


def shown(obj) -> str:
    return repr(obj) + "\n" + str(obj)


def assert_hidden(obj, *secrets):
    text = shown(obj)
    for secret in secrets:
        assert secret not in text, f"{secret!r} in {type(obj).__name__}'s repr"


def key():
    return Key(id="k1", created="2026-11-01T00:00:00Z", secret=KEY_BYTES)


def secret_forms():
    """The key bytes as repr, hex and base64 would show them."""
    import base64

    return (repr(KEY_BYTES)[2:-1], KEY_BYTES.hex(), base64.b64encode(KEY_BYTES).decode())


def test_key_and_keyring_repr_hide_the_key_bytes():
    ring = Keyring(current="k1", keys=(key(),))
    assert_hidden(key(), *secret_forms())
    assert_hidden(ring, *secret_forms())
    assert "k1" in repr(ring), "the key id is not secret and helps"


def test_reader_options_repr_hides_client_secret_and_sasl_password():
    env = {
        "RETIREMENT_READER_LMS_URL": "https://lms.example.org",
        "RETIREMENT_READER_CLIENT_ID": "client",
        "RETIREMENT_READER_CLIENT_SECRET": CLIENT_SECRET,
        "RETIREMENT_READER_BOOTSTRAP_SERVERS": "127.0.0.1:9",
        "RETIREMENT_READER_KAFKA_PROPERTIES": (
            f'{{"sasl.password": "{SASL_PASSWORD}", "ssl.key.password": "{SSL_KEY_PASSWORD}"}}'
        ),
    }
    options = parse_options([], env)
    assert options.client_secret == CLIENT_SECRET
    assert options.kafka_properties["sasl.password"] == SASL_PASSWORD
    assert_hidden(options, CLIENT_SECRET, SASL_PASSWORD, SSL_KEY_PASSWORD)
    assert "lms.example.org" in repr(options)


class Settings:
    LMS_BASE = "lms.example.org"

    def __init__(self, **values):
        self.RETIREMENT_KAFKA = {"BOOTSTRAP_SERVERS": "127.0.0.1:9092", **values}


def test_plugin_config_repr_hides_client_secret_sasl_password_and_keyring():
    config = load_config(
        Settings(
            BACKFILL_CLIENT_SECRET=CLIENT_SECRET,
            PRODUCER_CONFIG={"sasl.password": SASL_PASSWORD, "ssl.key.password": SSL_KEY_PASSWORD},
            ENCRYPTION_KEYRING=Keyring(current="k1", keys=(key(),)).to_json(),
        ),
        environ={},
    )
    assert config.backfill_client_secret == CLIENT_SECRET
    assert_hidden(config, CLIENT_SECRET, SASL_PASSWORD, SSL_KEY_PASSWORD, *secret_forms())
    # The secret given by the environment instead of the setting.
    config = load_config(Settings(), environ={"RETIREMENT_KAFKA_BACKFILL_CLIENT_SECRET": CLIENT_SECRET})
    assert_hidden(config, CLIENT_SECRET)


def test_lms_api_client_repr_hides_the_client_secret():
    api = LmsRetirementApi("https://lms.example.org", "client", CLIENT_SECRET)
    assert_hidden(api, CLIENT_SECRET)
    assert_hidden(vars(api).get("session"), CLIENT_SECRET)


def test_event_and_delivery_repr_hide_the_clear_personal_fields():
    """An encrypted event keeps its clear fields in memory (``data``); a repr does not print them."""
    record = RetirementRecord(
        user_id=42,
        retirement_id=7,
        original_username="ana_b",
        original_email="ana@example.org",
        original_name="Ana B",
        created=datetime(2026, 11, 1, tzinfo=UTC),
    )
    event = build_event(record, "lms.example.org", keyring=Keyring(current="k1", keys=(key(),)))
    assert event.data["email"] == "ana@example.org"
    assert_hidden(event, "ana@example.org", "ana_b", "Ana B")
    assert_hidden(Delivery(event), "ana@example.org", "ana_b", "Ana B")


def test_reader_options_repr_hides_the_keyring(tmp_path):
    path = tmp_path / "keyring.json"
    path.write_text(Keyring(current="k1", keys=(key(),)).to_json())
    env = {
        "RETIREMENT_READER_LMS_URL": "https://lms.example.org",
        "RETIREMENT_READER_CLIENT_ID": "client",
        "RETIREMENT_READER_CLIENT_SECRET": CLIENT_SECRET,
        "RETIREMENT_READER_BOOTSTRAP_SERVERS": "127.0.0.1:9",
    }
    for extra in (
        {"RETIREMENT_READER_KEYRING_FILE": str(path)},
        {"RETIREMENT_READER_KEYRING": path.read_text()},
    ):
        options = parse_options([], {**env, **extra})
        assert options.keyring.current_key.secret == KEY_BYTES
        assert_hidden(options, CLIENT_SECRET, *secret_forms())
