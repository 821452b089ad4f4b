"""Load and validate the Labnetz TOML configuration.

The dataclasses below are the schema: each field's annotation is its TOML type, its
default is the default, and ``_key(check=...)`` attaches a validator. ``parse_config``
walks that schema, collects every problem and raises one :class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "ENV_OVERRIDES", "Config", "ConfigError", "DatabaseConfig", "DeliveryConfig", "ExpertsConfig", "LoggingConfig",
    "MatrixConfig", "NetworkConfig", "WebConfig", "load_config", "parse_config", "redacted",
]

Check = Callable[[Any], Any]  # returns the (possibly normalised) value or raises ValueError


class ConfigError(Exception):
    """One or more configuration problems; ``str()`` lists them one per line."""

    def __init__(self, problems: str | Iterable[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems)
        )
        super().__init__("\n".join(self.problems))


# --- validators -------------------------------------------------------------------

_SERVER = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?"
_SERVER_RE = re.compile(_SERVER)
_USER_RE = re.compile(rf"@[^\s:]+:({_SERVER})")
# Room versions >= 12 drop the server part of room ids, so it is optional for "!".
_ROOM_RE = re.compile(rf"![^\s:]+(?::{_SERVER})?|#[^\s:]+:{_SERVER}")


def _q(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _rule(test: Callable[[Any], bool], message: str) -> Check:
    def check(value: Any) -> Any:
        if not test(value):
            raise ValueError(message.format(v=_q(value)))
        return value

    return check


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http:// or https:// URL, got {_q(value)}")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {_q(value)}") from None
    return value


_DB_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
_DB_REWRITES = {"sqlite://": "sqlite+aiosqlite://", "postgresql://": "postgresql+asyncpg://"}


def _database_url(value: str) -> str:
    for plain, driver in _DB_REWRITES.items():
        if value.startswith(plain):
            value = driver + value[len(plain):]
    if not value.startswith(_DB_SCHEMES):
        scheme = value.split("://", 1)[0] if "://" in value else value[:20]
        # Never echo the whole URL: it may carry a password.
        raise ValueError(f"unsupported database URL {_q(scheme + '://...')}, expected one "
                         f"starting with {' or '.join(_q(s) for s in _DB_SCHEMES)}")
    return value


def _level(value: str) -> str:
    if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"unknown log level {_q(value)}, expected DEBUG, INFO, WARNING or ERROR")
    return value.upper()


_nonempty = _rule(lambda v: v != "", "must not be empty")
_user_id = _rule(_USER_RE.fullmatch, 'invalid Matrix user id {v}, expected "@name:server"')
_server = _rule(_SERVER_RE.fullmatch, 'invalid server name {v}, expected e.g. "example.org"')
_room = _rule(lambda v: v == "" or _ROOM_RE.fullmatch(v),
              'invalid room {v}, expected a room id "!id:server" or alias "#name:server"')
_prefix = _rule(lambda v: v != "" and not any(c.isspace() for c in v),
                "must be non-empty and contain no whitespace, got {v}")
_language = _rule(lambda v: v in ("de", "en"), 'unsupported language {v}, expected "de" or "en"')
_port = _rule(lambda v: 0 <= v <= 65535, "must be between 0 and 65535, got {v}")
_at_least_1 = _rule(lambda v: v >= 1, "must be at least 1, got {v}")
_positive = _rule(lambda v: math.isfinite(v) and v > 0, "must be a positive number, got {v}")


def _mask(value: str) -> str:
    return "***" if value else ""


def _mask_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.password is None:
        return value
    return value.replace(f":{parts.password}@", ":***@", 1)


def _key(default: Any = MISSING, check: Check | None = None,
         redact: Callable[[Any], Any] | None = None) -> Any:
    return field(default=default, metadata={"check": check, "redact": redact})


# --- schema -----------------------------------------------------------------------

@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str = _key(check=_http_url)
    user_id: str = _key(check=_user_id)
    password: str = _key("", redact=_mask)
    access_token: str = _key("", redact=_mask)
    device_name: str = _key("labnetz", _nonempty)
    store_path: Path = _key(Path("data/store"), _nonempty)
    encryption: bool = _key(True)
    command_prefix: str = _key("!", _prefix)
    allowed_servers: tuple[str, ...] = _key((), _server)  # default: server part of user_id
    display_name: str = _key("Labnetz")


@dataclass(frozen=True)
class NetworkConfig:
    name: str = _key("Open Gov Labs")
    federal_room: str = _key("", _room)
    timezone: str = _key("Europe/Berlin", _timezone)
    language: str = _key("de", _language)
    admins: tuple[str, ...] = _key((), _user_id)
    space: bool = _key(False)


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = _key("sqlite+aiosqlite:///data/labnetz.db", _database_url, _mask_url)
    echo: bool = _key(False)


@dataclass(frozen=True)
class WebConfig:
    enabled: bool = _key(True)
    host: str = _key("127.0.0.1", _nonempty)
    port: int = _key(8080, _port)  # 0 = pick a free port
    public_url: str = _key("http://localhost:8080", _http_url)


@dataclass(frozen=True)
class DeliveryConfig:
    concurrency: int = _key(8, _at_least_1)
    max_attempts: int = _key(8, _at_least_1)
    retry_base_seconds: float = _key(1.0, _positive)
    retry_max_seconds: float = _key(300.0, _positive)


def _category_spec(value: str) -> str:
    from commands.categories import parse_category_spec

    parse_category_spec(value)  # raises ValueError naming what is wrong
    return value


@dataclass(frozen=True)
class ExpertsConfig:
    contacts_per_day: int = _key(10, _at_least_1)
    reconfirm_days: int = _key(182, _at_least_1)
    grace_days: int = _key(30, _at_least_1)
    # More categories, or new names for a built-in key: "key | Deutsch | English | synonym, ..."
    categories: tuple[str, ...] = _key((), _category_spec)


@dataclass(frozen=True)
class LoggingConfig:
    level: str = _key("INFO", _level)


@dataclass(frozen=True)
class Config:
    matrix: MatrixConfig
    network: NetworkConfig
    database: DatabaseConfig
    web: WebConfig
    delivery: DeliveryConfig
    logging: LoggingConfig
    experts: ExpertsConfig = ExpertsConfig()


_SECTIONS: dict[str, type] = {
    "matrix": MatrixConfig, "network": NetworkConfig, "database": DatabaseConfig,
    "web": WebConfig, "delivery": DeliveryConfig, "logging": LoggingConfig,
    "experts": ExpertsConfig,
}

ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "LABNETZ_MATRIX_PASSWORD": ("matrix", "password"),
    "LABNETZ_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "LABNETZ_DATABASE_URL": ("database", "url"),
}

# annotation -> (what the error says is expected, type test, conversion)
_KINDS: dict[str, tuple[str, Callable[[Any], bool], Callable[[Any], Any]]] = {
    "str": ("a string", lambda v: isinstance(v, str), str),
    "Path": ("a string", lambda v: isinstance(v, str), Path),
    "bool": ("a boolean", lambda v: isinstance(v, bool), bool),
    "int": ("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool), int),
    "float": ("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool),
              float),
    "tuple[str, ...]": ("an array of strings", lambda v: isinstance(v, list), tuple),
}

# Every schema annotation must be one _KINDS knows (catches a typo at import, not at parse).
assert all(str(f.type) in _KINDS for cls in _SECTIONS.values() for f in fields(cls))


# --- parsing ----------------------------------------------------------------------

def _describe(value: Any, secret: bool = False) -> str:
    kind = {bool: "boolean", str: "string", int: "integer", float: "float", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)
    if secret or isinstance(value, list | dict):
        return kind
    return f"{kind} {_q(value) if isinstance(value, str) else str(value).lower()}"


def _unknown(name: str, what: str, known: Iterable[str]) -> str:
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"{name}: unknown {what}, did you mean {close[0]!r}?"
    return f"{name}: unknown {what}; expected one of: {', '.join(known)}"


def _parse_value(key: str, kind: str, check: Check | None, value: Any, secret: bool,
                 errors: list[str]) -> Any:
    expected, is_kind, convert = _KINDS[kind]
    if not is_kind(value):
        errors.append(f"{key}: expected {expected}, got {_describe(value, secret)}")
        return MISSING
    if kind == "tuple[str, ...]":
        items = [_parse_value(f"{key}[{i}]", "str", check, v, secret, errors)
                 for i, v in enumerate(value)]
        return MISSING if MISSING in items else tuple(items)
    try:
        return convert(check(value) if check else value)
    except ValueError as exc:
        errors.append(f"{key}: {exc}")
        return MISSING


def _parse_section(name: str, cls: type, raw: Mapping[str, Any],
                   errors: list[str]) -> dict[str, Any]:
    """Return the valid keys of one section; keys that failed are left out."""
    schema = {f.name: f for f in fields(cls)}
    errors.extend(_unknown(f"{name}.{k}", "key", schema) for k in raw if k not in schema)
    values: dict[str, Any] = {}
    for key, f in schema.items():
        if key not in raw:
            if f.default is MISSING:
                errors.append(f"{name}.{key}: required key missing")
            continue
        value = _parse_value(f"{name}.{key}", str(f.type), f.metadata["check"], raw[key],
                             f.metadata["redact"] is not None, errors)
        if value is not MISSING:
            values[key] = value
    return values


def _cross_checks(raw: Mapping[str, Any], sections: dict[str, dict[str, Any]],
                  errors: list[str]) -> None:
    """Rules spanning several keys; skipped where one of those keys already failed."""

    def ok(section: str, *keys: str) -> bool:
        return all(k in sections[section] or k not in raw[section] for k in keys)

    matrix, delivery = sections["matrix"], sections["delivery"]
    secrets = [matrix.get(k, "") for k in ("password", "access_token")]
    if ok("matrix", "password", "access_token") and not any(secrets):
        errors.append("matrix.password: set either matrix.password or matrix.access_token "
                      "(or LABNETZ_MATRIX_PASSWORD / LABNETZ_MATRIX_ACCESS_TOKEN)")
    elif all(secrets):
        errors.append("matrix.password: set only one of matrix.password and "
                      "matrix.access_token, not both")
    if "allowed_servers" not in raw["matrix"] and "user_id" in matrix:
        matrix["allowed_servers"] = (_USER_RE.fullmatch(matrix["user_id"]).group(1),)
    base = delivery.get("retry_base_seconds", DeliveryConfig.retry_base_seconds)
    top = delivery.get("retry_max_seconds", DeliveryConfig.retry_max_seconds)
    if ok("delivery", "retry_base_seconds", "retry_max_seconds") and top < base:
        errors.append(f"delivery.retry_max_seconds: must be at least "
                      f"delivery.retry_base_seconds ({base}), got {top}")


def parse_config(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Config:
    """Validate already-parsed TOML data (plus env overrides) into a :class:`Config`."""
    env = os.environ if env is None else env
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var) and isinstance(raw.setdefault(section, {}), dict):
            raw[section][key] = env[var]

    errors = [_unknown(k, "section", _SECTIONS) for k in raw if k not in _SECTIONS]
    sections: dict[str, dict[str, Any]] = {}
    for name, cls in _SECTIONS.items():
        table = raw.setdefault(name, {})
        if not isinstance(table, dict):
            errors.append(f"{name}: expected a table, got {_describe(table)}")
            raw[name] = table = {}
        sections[name] = _parse_section(name, cls, table, errors)
    _cross_checks(raw, sections, errors)
    if errors:
        raise ConfigError(errors)
    return Config(**{name: cls(**sections[name]) for name, cls in _SECTIONS.items()})


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Read and validate a TOML config file; every problem raises :class:`ConfigError`."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not valid UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, env)


def redacted(config: Config) -> dict[str, dict[str, Any]]:
    """The config as plain data, with secrets masked; safe to log."""
    out: dict[str, dict[str, Any]] = {}
    for section in fields(config):
        obj = getattr(config, section.name)
        out[section.name] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            value = f.metadata["redact"](value) if f.metadata["redact"] else value
            if isinstance(value, Path):
                value = str(value)
            out[section.name][f.name] = list(value) if isinstance(value, tuple) else value
    return out
