from __future__ import annotations

import base64
from pathlib import Path

import pytest

from openmailer.adapters.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit

KEY = base64.b64encode(b"k" * 32).decode()


def settings(env: dict[str, str], tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings(env, dotenv=tmp_path / "absent.env")


def test_defaults_use_embedded_services(tmp_path: Path) -> None:
    loaded = settings({}, tmp_path)
    assert loaded.uses_embedded_services
    assert loaded.base_url == "http://127.0.0.1:8025"
    assert loaded.data_dir.name == ".openmailer"


def test_a_valid_environment_is_read(tmp_path: Path) -> None:
    loaded = settings(
        {
            "OPENMAILER_DATABASE_URL": "postgres://u@db:5432/om",
            "OPENMAILER_REDIS_URL": "redis://cache:6379/0",
            "OPENMAILER_SECRET_KEYS": f"old:{KEY},new:{base64.b64encode(b'n' * 32).decode()}",
            "OPENMAILER_BASE_URL": "https://mail.example.com/",
        },
        tmp_path,
    )
    assert loaded.database_url == "postgresql://u@db:5432/om"
    assert not loaded.uses_embedded_services
    assert [key.key_id for key in loaded.secret_keys] == ["old", "new"]
    assert loaded.current_secret_key.key == b"n" * 32
    assert loaded.base_url == "https://mail.example.com"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://x/y", "must be a postgresql:// URL"),
        ("DATABASE_URL", "postgresql://x", "must name a database"),
        ("REDIS_URL", "http://x", "redis://"),
        ("SECRET_KEYS", "nocolon", "'<key id>:<base64 key>'"),
        ("SECRET_KEYS", "a:!!!", "not valid base64"),
        ("SECRET_KEYS", "a:" + base64.b64encode(b"short").decode(), "32 bytes"),
        ("SECRET_KEYS", f"a:{KEY},a:{KEY}", "listed twice"),
        ("BASE_URL", "mail.example.com", "absolute http(s) URL"),
        ("API_PORT", "99999", "between 1 and 65535"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("DATABASE_CONNECT_TIMEOUT", "soon", "must be a number of seconds"),
        ("DATABASE_STATEMENT_TIMEOUT", "0", "more than 0"),
        ("REDIS_TIMEOUT", "-1", "more than 0"),
        ("REDIS_TIMEOUT", "nan", "more than 0"),
        ("DATABASE_CONNECT_TIMEOUT", "86400", "at most 3600"),
        ("TRUSTED_PROXIES", "proxy.internal", "entry 1 ('proxy.internal') must be an IP"),
        ("TRUSTED_PROXIES", "10.0.0.1,10.0.0.1/8", "entry 2 ('10.0.0.1/8')"),
        ("TRUSTED_PROXIES", "10.0.0.1,,::1", "entry 2"),
        ("PROVIDER_BREAKER_FAILURES", "0", "between 1 and 1000"),
        ("PROVIDER_BREAKER_FAILURES", "many", "whole number"),
        ("PROVIDER_BREAKER_COOLDOWN", "0", "more than 0"),
        ("CAMPAIGN_BATCH_SIZE", "0", "from 1 to 1000"),
        ("CAMPAIGN_BATCH_SIZE", "1001", "from 1 to 1000"),
        ("CAMPAIGN_LANES", "0", "from 1 to 256"),
        ("CAMPAIGN_LANES", "eight", "from 1 to 256"),
        ("CAMPAIGN_LEASE_SECONDS", "0", "more than 0"),
        ("CAMPAIGN_RETRY_BACKOFF", "later", "must be a number of seconds"),
        ("METRICS_TOKEN", "short", "at least 16 printable characters"),
        ("METRICS_TOKEN", "sixteen chars with spaces", "without spaces"),
        ("WORKER_METRICS_PORT", "0", "between 1 and 65535"),
        ("WORKER_METRICS_PORT", "ninety", "must be a port number"),
        ("WORKER_METRICS_HOST", "workers.internal", "must be an IP address to listen on"),
    ],
)
def test_invalid_values_are_named_with_the_reason(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError) as error:
        settings({f"OPENMAILER_{name}": value}, tmp_path)
    assert f"OPENMAILER_{name}" in str(error.value)
    assert message in str(error.value)


def test_timeouts_default_to_seconds_and_can_be_set(tmp_path: Path) -> None:
    defaults = settings({}, tmp_path)
    assert (defaults.database_connect_timeout, defaults.database_statement_timeout) == (5.0, 10.0)
    assert defaults.redis_timeout == 3.0
    loaded = settings(
        {
            "OPENMAILER_DATABASE_CONNECT_TIMEOUT": "1.5",
            "OPENMAILER_DATABASE_STATEMENT_TIMEOUT": "30",
            "OPENMAILER_REDIS_TIMEOUT": "0.5",
        },
        tmp_path,
    )
    assert loaded.database_connect_timeout == 1.5
    assert loaded.database_statement_timeout == 30.0
    assert loaded.redis_timeout == 0.5


def test_the_provider_breaker_defaults_to_5_failures_and_30_seconds(tmp_path: Path) -> None:
    defaults = settings({}, tmp_path)
    assert (defaults.provider_breaker_failures, defaults.provider_breaker_cooldown) == (5, 30.0)
    loaded = settings(
        {
            "OPENMAILER_PROVIDER_BREAKER_FAILURES": "2",
            "OPENMAILER_PROVIDER_BREAKER_COOLDOWN": "7.5",
        },
        tmp_path,
    )
    assert (loaded.provider_breaker_failures, loaded.provider_breaker_cooldown) == (2, 7.5)


def test_the_campaign_send_path_defaults_and_can_be_set(tmp_path: Path) -> None:
    defaults = settings({}, tmp_path)
    assert (
        defaults.campaign_batch_size,
        defaults.campaign_lanes,
        defaults.campaign_lease_seconds,
        defaults.campaign_retry_backoff,
    ) == (250, 8, 120.0, 10.0)
    loaded = settings(
        {
            "OPENMAILER_CAMPAIGN_BATCH_SIZE": "25",
            "OPENMAILER_CAMPAIGN_LANES": "64",
            "OPENMAILER_CAMPAIGN_LEASE_SECONDS": "3",
            "OPENMAILER_CAMPAIGN_RETRY_BACKOFF": "0.2",
        },
        tmp_path,
    )
    assert (
        loaded.campaign_batch_size,
        loaded.campaign_lanes,
        loaded.campaign_lease_seconds,
        loaded.campaign_retry_backoff,
    ) == (25, 64, 3.0, 0.2)


def test_metrics_are_for_loopback_with_no_worker_endpoint_by_default(tmp_path: Path) -> None:
    defaults = settings({"OPENMAILER_DATA_DIR": str(tmp_path / "data")}, tmp_path)
    assert defaults.metrics_token is None
    assert defaults.metrics_directory == (tmp_path / "data" / "metrics").resolve()
    assert (defaults.worker_metrics_host, defaults.worker_metrics_port) == ("127.0.0.1", None)
    token = "f" * 32
    loaded = settings(
        {
            "OPENMAILER_METRICS_TOKEN": token,
            "OPENMAILER_METRICS_DIR": str(tmp_path / "samples"),
            "OPENMAILER_WORKER_METRICS_HOST": "::",
            "OPENMAILER_WORKER_METRICS_PORT": "9191",
        },
        tmp_path,
    )
    assert loaded.metrics_token == token
    assert token not in repr(loaded)  # a secret: never in a log line
    assert loaded.metrics_directory == (tmp_path / "samples").resolve()
    assert (loaded.worker_metrics_host, loaded.worker_metrics_port) == ("::", 9191)


def test_trusted_proxies_are_none_by_default_and_read_as_networks(tmp_path: Path) -> None:
    assert settings({}, tmp_path).trusted_proxies == ()
    loaded = settings({"OPENMAILER_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1"}, tmp_path)
    assert [str(network) for network in loaded.trusted_proxies] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        settings({"OPENMAILER_DATABASE_URL": "x://", "OPENMAILER_REDIS_URL": "y://"}, tmp_path)
    assert "DATABASE_URL" in str(error.value) and "REDIS_URL" in str(error.value)


def test_production_requires_secret_keys(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEYS: required in production"):
        settings({"OPENMAILER_ENV": "production"}, tmp_path)


def test_dotenv_is_read_but_the_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("OPENMAILER_API_PORT=9001\nOPENMAILER_LOG_LEVEL=debug\n")
    loaded = load_settings({"OPENMAILER_LOG_LEVEL": "warning"}, dotenv=dotenv)
    assert loaded.api_port == 9001
    assert loaded.log_level == "WARNING"
