"""Settings from `OPENMAILER_*` environment variables (and a `.env` file), validated at start-up."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

PREFIX = "OPENMAILER_"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_TIMEOUT_SECONDS = 3600.0
DEFAULT_DATABASE_CONNECT_TIMEOUT = 5.0
DEFAULT_DATABASE_STATEMENT_TIMEOUT = 10.0
DEFAULT_REDIS_TIMEOUT = 3.0
DEFAULT_DNS_TIMEOUT = 5.0
DEFAULT_PROVIDER_BREAKER_FAILURES = 5
DEFAULT_PROVIDER_BREAKER_COOLDOWN = 30.0
MAX_BREAKER_FAILURES = 1000
DEFAULT_IMPORT_MAX_BYTES = 100 * 1024 * 1024
# Measured (benchmarks/README.md, Campaign): 250 a batch used a fifth less worker CPU a
# message than 100 (each batch's claim, provider lookup, result writes and queue messages).
DEFAULT_CAMPAIGN_BATCH_SIZE = 250
MAX_CAMPAIGN_BATCH_SIZE = 1000
# Batches of one campaign in flight at once across every worker (SendSettings.lanes). Each
# lane holds a worker thread while it waits for a send-speed grant, so the default leaves half
# of one `openmailer worker`'s 2 x 8 threads to other work; a fleet of workers wants more.
DEFAULT_CAMPAIGN_LANES = 8
MAX_CAMPAIGN_LANES = 256
DEFAULT_CAMPAIGN_LEASE_SECONDS = 120.0
DEFAULT_CAMPAIGN_RETRY_BACKOFF = 10.0
DEFAULT_WORKER_METRICS_HOST = "127.0.0.1"
MIN_METRICS_TOKEN_CHARS = 16
_TOKEN = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces: it travels in a header
_T = TypeVar("_T")
ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Nameserver = tuple[str, int]  # address, port


class SettingsError(ValueError):
    """One or more settings are invalid; the message names each variable and what is wrong."""


@dataclass(frozen=True, slots=True)
class SecretKey:
    key_id: str
    key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None
    redis_url: str | None
    secret_keys: tuple[SecretKey, ...]
    base_url: str
    data_dir: Path
    api_host: str
    api_port: int
    log_level: str
    env: str
    # Seconds. An unreachable or silent service must fail a request soon (a 503), not hold it
    # for the client libraries' defaults (asyncpg waits 60 s to connect, queries forever).
    database_connect_timeout: float = DEFAULT_DATABASE_CONNECT_TIMEOUT
    database_statement_timeout: float = DEFAULT_DATABASE_STATEMENT_TIMEOUT
    redis_timeout: float = DEFAULT_REDIS_TIMEOUT
    # Peers whose `X-Forwarded-For` is believed (adapters/http/client_address.py); none by default.
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    # Where domain verification asks (adapters/dns/resolver.py); none: the system's resolvers.
    dns_nameservers: tuple[Nameserver, ...] = ()
    # Seconds one domain's DNS lookups may take in all, so a silent server cannot hold a request.
    dns_timeout: float = DEFAULT_DNS_TIMEOUT
    # A provider's circuit breaker (core/sending/chain.py): this many transient failures in a
    # row open it, and it stays open this many seconds before one probe is let through.
    provider_breaker_failures: int = DEFAULT_PROVIDER_BREAKER_FAILURES
    provider_breaker_cooldown: float = DEFAULT_PROVIDER_BREAKER_COOLDOWN
    # Bytes a CSV upload may have (`POST /api/v1/imports` answers 413 past it).
    import_max_bytes: int = DEFAULT_IMPORT_MAX_BYTES
    # Tests only (refused in production): SNS certificate fetches and subscription
    # confirmations go to this base URL once their address passed the checks
    # (adapters/webhooks/sns.py), so a loopback server plays SNS.
    sns_endpoint_override: str | None = None
    # The campaign send path (core/campaigns/services/delivery.py): recipients per claimed
    # batch; batches of one campaign in flight at once; how long a claim holds its rows before
    # the reconciler takes them back (longer than any batch takes); the first backoff of a
    # transient failure (doubling after).
    campaign_batch_size: int = DEFAULT_CAMPAIGN_BATCH_SIZE
    campaign_lanes: int = DEFAULT_CAMPAIGN_LANES
    campaign_lease_seconds: float = DEFAULT_CAMPAIGN_LEASE_SECONDS
    campaign_retry_backoff: float = DEFAULT_CAMPAIGN_RETRY_BACKOFF
    # Metrics (docs/operations.md). A token: `GET /metrics` and the workers' endpoint want
    # `Authorization: Bearer <it>` from every client; none: they answer loopback clients only.
    metrics_token: str | None = field(default=None, repr=False)
    # Where API and worker processes write their samples for a scrape to sum (one directory
    # per started `api` or `worker` command, emptied at its start); default <data dir>/metrics.
    metrics_dir: Path | None = None
    # The workers' own endpoint (one per `openmailer worker` command, for all its processes);
    # no port: none is served.
    worker_metrics_host: str = DEFAULT_WORKER_METRICS_HOST
    worker_metrics_port: int | None = None

    @property
    def uses_embedded_services(self) -> bool:
        return self.database_url is None or self.redis_url is None

    @property
    def metrics_directory(self) -> Path:
        return self.metrics_dir or self.data_dir / "metrics"

    @property
    def current_secret_key(self) -> SecretKey:
        """The newest key: the last one listed encrypts, every listed key decrypts."""
        return self.secret_keys[-1]


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Settings:
    """Read and validate settings. `.env` values never override real environment variables."""
    env = dict(_read_dotenv(dotenv or Path(".env")))
    env.update(os.environ if environ is None else environ)
    errors: list[str] = []

    def get(name: str) -> str | None:
        value = env.get(PREFIX + name, "").strip()
        return value or None

    def check(name: str, parse: Callable[[str | None], _T], raw: str | None) -> _T | None:
        try:
            return parse(raw)
        except ValueError as exc:
            errors.append(f"{PREFIX}{name}: {exc}")
            return None

    def seconds(name: str, default: float) -> float:
        # the default stands in only after an error was recorded, which raises below
        return check(name, parse_seconds, get(name) or str(default)) or default

    app_env = get("ENV") or "development"
    if app_env not in {"development", "production", "test"}:
        errors.append(f"{PREFIX}ENV: must be development, production or test, got {app_env!r}")
    database_url = check("DATABASE_URL", _parse_database_url, get("DATABASE_URL"))
    redis_url = check("REDIS_URL", _parse_redis_url, get("REDIS_URL"))
    secret_keys = check("SECRET_KEYS", _parse_secret_keys, get("SECRET_KEYS"))
    base_url = check("BASE_URL", _parse_base_url, get("BASE_URL"))
    api_port = check("API_PORT", _parse_port, get("API_PORT") or "8025")
    connect_timeout = seconds("DATABASE_CONNECT_TIMEOUT", DEFAULT_DATABASE_CONNECT_TIMEOUT)
    statement_timeout = seconds("DATABASE_STATEMENT_TIMEOUT", DEFAULT_DATABASE_STATEMENT_TIMEOUT)
    redis_timeout = seconds("REDIS_TIMEOUT", DEFAULT_REDIS_TIMEOUT)
    trusted_proxies = check("TRUSTED_PROXIES", _parse_trusted_proxies, get("TRUSTED_PROXIES"))
    dns_nameservers = check("DNS_NAMESERVERS", _parse_nameservers, get("DNS_NAMESERVERS"))
    dns_timeout = seconds("DNS_TIMEOUT", DEFAULT_DNS_TIMEOUT)
    breaker_failures = check(
        "PROVIDER_BREAKER_FAILURES",
        _parse_failure_count,
        get("PROVIDER_BREAKER_FAILURES") or str(DEFAULT_PROVIDER_BREAKER_FAILURES),
    )
    breaker_cooldown = seconds("PROVIDER_BREAKER_COOLDOWN", DEFAULT_PROVIDER_BREAKER_COOLDOWN)
    import_max_bytes = check(
        "IMPORT_MAX_BYTES",
        _parse_byte_count,
        get("IMPORT_MAX_BYTES") or str(DEFAULT_IMPORT_MAX_BYTES),
    )
    sns_endpoint_override = check(
        "SNS_ENDPOINT_OVERRIDE", _parse_base_url, get("SNS_ENDPOINT_OVERRIDE")
    )
    if sns_endpoint_override and app_env == "production":
        errors.append(f"{PREFIX}SNS_ENDPOINT_OVERRIDE: a test setting, refused in production")
    batch_size = check(
        "CAMPAIGN_BATCH_SIZE",
        _parse_batch_size,
        get("CAMPAIGN_BATCH_SIZE") or str(DEFAULT_CAMPAIGN_BATCH_SIZE),
    )
    lanes = check(
        "CAMPAIGN_LANES", _parse_lanes, get("CAMPAIGN_LANES") or str(DEFAULT_CAMPAIGN_LANES)
    )
    lease_seconds = seconds("CAMPAIGN_LEASE_SECONDS", DEFAULT_CAMPAIGN_LEASE_SECONDS)
    retry_backoff = seconds("CAMPAIGN_RETRY_BACKOFF", DEFAULT_CAMPAIGN_RETRY_BACKOFF)
    metrics_token = check("METRICS_TOKEN", _parse_metrics_token, get("METRICS_TOKEN"))
    worker_metrics_host = check(
        "WORKER_METRICS_HOST", _parse_bind_address, get("WORKER_METRICS_HOST")
    )
    worker_metrics_port = check(
        "WORKER_METRICS_PORT",
        lambda raw: None if raw is None else _parse_port(raw),
        get("WORKER_METRICS_PORT"),
    )
    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        errors.append(
            f"{PREFIX}LOG_LEVEL: must be DEBUG, INFO, WARNING or ERROR, got {log_level!r}"
        )
    if app_env == "production" and not secret_keys:
        errors.append(f"{PREFIX}SECRET_KEYS: required in production (see README, Configuration)")
    if errors:
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(errors))
    assert api_port is not None  # check() answers None only after recording an error

    api_host = get("API_HOST") or "127.0.0.1"
    data_dir = Path(get("DATA_DIR") or ".openmailer").resolve()
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        secret_keys=secret_keys or (),
        base_url=base_url or f"http://{api_host}:{api_port}",
        data_dir=data_dir,
        api_host=api_host,
        api_port=api_port,
        log_level=log_level,
        env=app_env,
        database_connect_timeout=connect_timeout,
        database_statement_timeout=statement_timeout,
        redis_timeout=redis_timeout,
        trusted_proxies=trusted_proxies or (),
        dns_nameservers=dns_nameservers or (),
        dns_timeout=dns_timeout,
        provider_breaker_failures=breaker_failures or DEFAULT_PROVIDER_BREAKER_FAILURES,
        provider_breaker_cooldown=breaker_cooldown,
        import_max_bytes=import_max_bytes or DEFAULT_IMPORT_MAX_BYTES,
        sns_endpoint_override=sns_endpoint_override,
        campaign_batch_size=batch_size or DEFAULT_CAMPAIGN_BATCH_SIZE,
        campaign_lanes=lanes or DEFAULT_CAMPAIGN_LANES,
        campaign_lease_seconds=lease_seconds,
        campaign_retry_backoff=retry_backoff,
        metrics_token=metrics_token,
        metrics_dir=Path(get("METRICS_DIR") or data_dir / "metrics").resolve(),
        worker_metrics_host=worker_metrics_host or DEFAULT_WORKER_METRICS_HOST,
        worker_metrics_port=worker_metrics_port,
    )


def _parse_database_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"postgresql", "postgres", "postgresql+asyncpg"}:
        raise ValueError(f"must be a postgresql:// URL, got scheme {parts.scheme or '(none)'!r}")
    if not parts.path.strip("/"):
        raise ValueError("must name a database, e.g. postgresql://user@host:5432/openmailer")
    return "postgresql://" + raw.split("://", 1)[1]


def _parse_redis_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    scheme = urlsplit(raw).scheme
    if scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"must be a redis://, rediss:// or unix:// URL, got scheme {scheme!r}")
    return raw


def _parse_secret_keys(raw: str | None) -> tuple[SecretKey, ...] | None:
    """`id1:base64key,id2:base64key` — 32-byte AES-256 keys; the last one is current."""
    if raw is None:
        return None
    keys: list[SecretKey] = []
    for index, item in enumerate(raw.split(","), start=1):
        key_id, sep, encoded = item.strip().partition(":")
        if not sep or not _KEY_ID.match(key_id):
            raise ValueError(
                f"entry {index} must be '<key id>:<base64 key>', "
                "the id made of letters, digits, _ or -"
            )
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {key_id!r} is not valid base64") from None
        if len(key) != 32:
            raise ValueError(f"key {key_id!r} must decode to 32 bytes, got {len(key)}")
        if any(existing.key_id == key_id for existing in keys):
            raise ValueError(f"key id {key_id!r} is listed twice")
        keys.append(SecretKey(key_id, key))
    return tuple(keys)


def _parse_base_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError(f"must be an absolute http(s) URL, got {raw!r}")
    return raw.rstrip("/")


def _parse_trusted_proxies(raw: str | None) -> tuple[ProxyNetwork, ...]:
    """`10.0.0.5,10.1.0.0/16,::1`: addresses or networks, each entry checked."""
    if raw is None:
        return ()
    networks: list[ProxyNetwork] = []
    for index, item in enumerate(raw.split(","), start=1):
        try:
            networks.append(ipaddress.ip_network(item.strip()))
        except ValueError as exc:
            raise ValueError(
                f"entry {index} ({item.strip()!r}) must be an IP address or a network "
                f"such as 10.0.0.0/8: {exc}"
            ) from None
    return tuple(networks)


def _parse_nameservers(raw: str | None) -> tuple[Nameserver, ...]:
    """`127.0.0.1,10.0.0.53:5353,[::1]:53`: IP addresses, each with an optional port (53)."""
    if raw is None:
        return ()
    servers: list[Nameserver] = []
    for index, item in enumerate(raw.split(","), start=1):
        entry = item.strip()
        host, port = entry, "53"
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest.removeprefix(":") or "53"
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        try:
            address = str(ipaddress.ip_address(host))
            servers.append((address, _parse_port(port)))
        except ValueError as exc:
            raise ValueError(
                f"entry {index} ({entry!r}) must be an IP address with an optional port, "
                f"such as 127.0.0.1:5353 or [::1]:53: {exc}"
            ) from None
    return tuple(servers)


def _parse_metrics_token(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) < MIN_METRICS_TOKEN_CHARS or not _TOKEN.match(raw):
        raise ValueError(
            f"must be at least {MIN_METRICS_TOKEN_CHARS} printable characters without spaces "
            "(e.g. the output of `openssl rand -hex 32`)"
        )
    return raw


def _parse_bind_address(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ValueError(
            f"must be an IP address to listen on, such as 0.0.0.0, got {raw!r}"
        ) from None


def _parse_port(raw: str | None) -> int:
    try:
        port = int(raw or "")
    except ValueError:
        raise ValueError(f"must be a port number, got {raw!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"must be between 1 and 65535, got {port}")
    return port


def _parse_failure_count(raw: str | None) -> int:
    try:
        count = int(raw or "")
    except ValueError:
        raise ValueError(f"must be a whole number of failures, got {raw!r}") from None
    if not 0 < count <= MAX_BREAKER_FAILURES:
        raise ValueError(f"must be between 1 and {MAX_BREAKER_FAILURES}")
    return count


def _parse_count(raw: str | None, maximum: int) -> int:
    if raw is None or not raw.isdigit() or not 0 < int(raw) <= maximum:
        raise ValueError(f"must be a whole number from 1 to {maximum}, got {raw!r}")
    return int(raw)


def _parse_batch_size(raw: str | None) -> int:
    return _parse_count(raw, MAX_CAMPAIGN_BATCH_SIZE)


def _parse_lanes(raw: str | None) -> int:
    return _parse_count(raw, MAX_CAMPAIGN_LANES)


def _parse_byte_count(raw: str | None) -> int:
    if raw is None or not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"must be a positive number of bytes, got {raw!r}")
    return int(raw)


def parse_seconds(raw: str | None) -> float:
    try:
        seconds = float(raw or "")
    except ValueError:
        raise ValueError(f"must be a number of seconds, got {raw!r}") from None
    # `not <=` also refuses NaN
    if not 0 < seconds <= MAX_TIMEOUT_SECONDS:
        raise ValueError(f"must be more than 0 and at most {MAX_TIMEOUT_SECONDS:g} seconds")
    return seconds


def _read_dotenv(path: Path) -> Mapping[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}
