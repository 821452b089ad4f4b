from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.config import (
    Config,
    ConfigError,
    DeliveryConfig,
    LoggingConfig,
    WebConfig,
    load_config,
    parse_config,
    redacted,
)

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"
NO_ENV: dict[str, str] = {}


def minimal(**sections: dict[str, Any]) -> dict[str, Any]:
    """A valid config dict with only the required keys, updated by ``sections``."""
    data: dict[str, Any] = {
        "matrix": {
            "homeserver": "https://matrix.example.org",
            "user_id": "@labnetz:example.org",
            "password": "secret",
        }
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


def problems(data: dict[str, Any], env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(data, env=NO_ENV if env is None else env)
    assert list(info.value.problems) == str(info.value).splitlines()
    return list(info.value.problems)


def test_example_file_loads_without_env_and_yields_documented_values() -> None:
    config = load_config(EXAMPLE, env=NO_ENV)

    assert isinstance(config, Config)
    assert config.matrix.homeserver == "https://matrix.example.org"
    assert config.matrix.user_id == "@labnetz:example.org"
    assert config.matrix.password == "change-me"
    assert config.matrix.access_token == ""
    assert config.matrix.store_path == Path("data/store")
    assert config.matrix.encryption is True
    assert config.matrix.command_prefix == "!"
    assert config.matrix.allowed_servers == ("example.org",)
    assert config.network.federal_room == "#bundesteam:example.org"
    assert config.network.timezone == "Europe/Berlin"
    assert config.network.language == "de"
    assert config.network.admins == ("@alice:example.org",)
    assert config.database.url == "sqlite+aiosqlite:///data/labnetz.db"
    assert config.web.port == 8080
    assert config.web.public_url == "http://localhost:8080"
    assert config.delivery == DeliveryConfig()
    assert config.logging == LoggingConfig()


def test_example_file_sets_every_key_the_schema_knows() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    config = load_config(EXAMPLE, env=NO_ENV)
    expected = {name: set(section) for name, section in redacted(config).items()}

    assert {name: set(section) for name, section in data.items()} == expected


def test_example_file_loads_with_password_from_env() -> None:
    config = load_config(EXAMPLE, env={"LABNETZ_MATRIX_PASSWORD": "from-env"})

    assert config.matrix.password == "from-env"


def test_missing_optional_sections_get_defaults() -> None:
    config = parse_config(minimal(), env=NO_ENV)

    assert config.web == WebConfig()
    assert config.network.admins == ()
    assert config.network.name == "Open Gov Labs"
    assert config.matrix.allowed_servers == ("example.org",)
    assert config.matrix.display_name == "Labnetz"


def test_config_is_frozen() -> None:
    config = parse_config(minimal(), env=NO_ENV)

    with pytest.raises(AttributeError):
        config.web.port = 1  # type: ignore[misc]


def test_misspelt_key_names_full_key_and_suggests_correct_one() -> None:
    data = minimal()
    data["matrix"]["homserver"] = data["matrix"].pop("homeserver")

    found = problems(data)

    assert "matrix.homserver: unknown key, did you mean 'homeserver'?" in found
    assert "matrix.homeserver: required key missing" in found


def test_unknown_section_is_an_error_with_suggestion() -> None:
    found = problems(minimal(netwrk={"name": "x"}))

    assert found == ["netwrk: unknown section, did you mean 'network'?"]


def test_unknown_section_without_close_match_lists_known_sections() -> None:
    (found,) = problems(minimal(frobnicate={}))

    assert found.startswith("frobnicate: unknown section")
    assert "matrix" in found and "delivery" in found


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("web", "port", "abc", 'web.port: expected an integer, got string "abc"'),
        ("web", "port", True, "web.port: expected an integer, got boolean true"),
        ("web", "port", 8080.0, "web.port: expected an integer, got float 8080.0"),
        ("matrix", "encryption", "yes", 'matrix.encryption: expected a boolean, got string "yes"'),
        ("network", "admins", "@a:b", 'network.admins: expected an array of strings, got string "@a:b"'),
        ("network", "admins", [1], "network.admins[0]: expected a string, got integer 1"),
        ("delivery", "retry_base_seconds", False,
         "delivery.retry_base_seconds: expected a number, got boolean false"),
    ],
)
def test_wrong_type_names_key_expected_type_and_given_value(
    section: str, key: str, value: Any, message: str
) -> None:
    assert problems(minimal(**{section: {key: value}})) == [message]


def test_wrong_type_of_secret_does_not_echo_the_value() -> None:
    data = minimal()
    data["matrix"]["password"] = 123456

    assert problems(data) == ["matrix.password: expected a string, got integer"]


def test_integer_accepted_for_float_field() -> None:
    config = parse_config(minimal(delivery={"retry_base_seconds": 2}), env=NO_ENV)

    assert config.delivery.retry_base_seconds == 2.0
    assert isinstance(config.delivery.retry_base_seconds, float)


def test_section_that_is_not_a_table_is_an_error() -> None:
    data = minimal()
    data["web"] = 8080

    assert problems(data) == ["web: expected a table, got integer 8080"]


def test_bad_timezone_is_an_error() -> None:
    found = problems(minimal(network={"timezone": "Europe/Berln"}))

    assert found == ['network.timezone: unknown time zone "Europe/Berln"']


@pytest.mark.parametrize("bad", ["alice", "@alice", "alice:example.org", "@al ice:example.org"])
def test_bad_matrix_id_in_admins_names_the_entry(bad: str) -> None:
    (found,) = problems(minimal(network={"admins": ["@ok:example.org", bad]}))

    assert found.startswith(f'network.admins[1]: invalid Matrix user id "{bad}"')


def test_bad_language_is_an_error() -> None:
    (found,) = problems(minimal(network={"language": "fr"}))

    assert found.startswith('network.language: unsupported language "fr"')


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("matrix", "homeserver", "matrix.example.org"),
        ("matrix", "user_id", "labnetz"),
        ("matrix", "command_prefix", ""),
        ("matrix", "command_prefix", "! "),
        ("matrix", "allowed_servers", ["exa mple.org"]),
        ("network", "federal_room", "bundesteam"),
        ("web", "port", 65536),
        ("web", "port", -1),
        ("web", "public_url", "localhost:8080"),
        ("delivery", "concurrency", 0),
        ("delivery", "max_attempts", 0),
        ("delivery", "retry_base_seconds", 0),
        ("delivery", "retry_max_seconds", 0.5),
        ("logging", "level", "verbose"),
        ("database", "url", "mysql://db/labnetz"),
    ],
)
def test_invalid_value_is_reported_under_its_key(section: str, key: str, value: Any) -> None:
    found = problems(minimal(**{section: {key: value}}))

    assert len(found) == 1
    assert found[0].startswith(f"{section}.{key}")


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("web", "port", 0),
        ("web", "port", 65535),
        ("network", "federal_room", "!abc:example.org"),
        ("network", "federal_room", "!roomv12hash"),
        ("network", "federal_room", ""),
        ("network", "language", "en"),
        ("matrix", "user_id", "@bot:localhost:8448"),
        ("matrix", "allowed_servers", ["127.0.0.1:8008", "[::1]"]),
        ("matrix", "command_prefix", "labnetz:"),
    ],
)
def test_valid_edge_values_are_accepted(section: str, key: str, value: Any) -> None:
    config = parse_config(minimal(**{section: {key: value}}), env=NO_ENV)

    expected = tuple(value) if isinstance(value, list) else value
    assert getattr(getattr(config, section), key) == expected


def test_log_level_is_case_insensitive_and_stored_upper() -> None:
    config = parse_config(minimal(logging={"level": "debug"}), env=NO_ENV)

    assert config.logging.level == "DEBUG"


def test_allowed_servers_default_follows_user_id_server() -> None:
    config = parse_config(minimal(matrix={"user_id": "@bot:labs.example.net"}), env=NO_ENV)

    assert config.matrix.allowed_servers == ("labs.example.net",)


def test_env_overrides_win_over_file() -> None:
    env = {
        "LABNETZ_MATRIX_PASSWORD": "env-password",
        "LABNETZ_DATABASE_URL": "postgresql+asyncpg://bot@db/labnetz",
    }
    config = parse_config(minimal(database={"url": "sqlite:///file.db"}), env=env)

    assert config.matrix.password == "env-password"
    assert config.database.url == "postgresql+asyncpg://bot@db/labnetz"


def test_access_token_from_env_satisfies_secret_rule() -> None:
    data = minimal()
    del data["matrix"]["password"]

    config = parse_config(data, env={"LABNETZ_MATRIX_ACCESS_TOKEN": "syt_token"})

    assert config.matrix.access_token == "syt_token"
    assert config.matrix.password == ""


def test_empty_env_variable_does_not_override() -> None:
    config = parse_config(minimal(), env={"LABNETZ_MATRIX_PASSWORD": ""})

    assert config.matrix.password == "secret"


def test_load_config_uses_os_environ_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LABNETZ_MATRIX_PASSWORD", "from-os-environ")

    assert load_config(EXAMPLE).matrix.password == "from-os-environ"


def test_neither_password_nor_token_is_an_error() -> None:
    data = minimal()
    del data["matrix"]["password"]

    (found,) = problems(data)

    assert found.startswith("matrix.password:")
    assert "access_token" in found


def test_both_password_and_token_is_an_error() -> None:
    (found,) = problems(minimal(matrix={"access_token": "syt_token"}))

    assert found.startswith("matrix.password:")


def test_all_errors_are_reported_together() -> None:
    data = minimal(
        web={"port": "abc"},
        network={"timezone": "Mars/Olympus", "language": "fr"},
        logging={"level": "loud"},
    )
    data["matrix"]["homserver"] = "x"

    found = problems(data)

    assert [p.split(":")[0] for p in found] == [
        "matrix.homserver",
        "network.timezone",
        "network.language",
        "web.port",
        "logging.level",
    ]


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[matrix]\nhomeserver = "https://a.example"\nuser_id "@a:b"\n')

    with pytest.raises(ConfigError) as info:
        load_config(path, env=NO_ENV)

    assert str(path) in str(info.value)
    assert "line 3" in str(info.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"

    with pytest.raises(ConfigError, match="not found"):
        load_config(path, env=NO_ENV)


def test_redacted_hides_secrets() -> None:
    data = minimal(database={"url": "postgresql://bot:db-secret@db/labnetz"})
    config = parse_config(data, env=NO_ENV)
    del data["matrix"]["password"]
    config_token = parse_config(data, env={"LABNETZ_MATRIX_ACCESS_TOKEN": "syt_token"})

    shown = redacted(config)
    shown_token = redacted(config_token)

    assert shown["matrix"]["password"] == "***"
    assert shown_token["matrix"]["access_token"] == "***"
    assert shown["database"]["url"] == "postgresql+asyncpg://bot:***@db/labnetz"
    text = repr(shown) + repr(shown_token)
    assert "secret" not in text.replace("***", "")
    assert "syt_token" not in text
    assert shown["matrix"]["user_id"] == "@labnetz:example.org"
    assert shown["matrix"]["store_path"] == "data/store"


def test_bad_database_url_error_does_not_leak_password() -> None:
    (found,) = problems(minimal(database={"url": "mysql://bot:hunter2@db/labnetz"}))

    assert found.startswith("database.url:")
    assert "hunter2" not in found


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://bot@db/labnetz", "postgresql+asyncpg://bot@db/labnetz"),
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("postgresql+asyncpg://bot@db/labnetz", "postgresql+asyncpg://bot@db/labnetz"),
    ],
)
def test_plain_database_urls_are_rewritten_to_async_drivers(given: str, expected: str) -> None:
    config = parse_config(minimal(database={"url": given}), env=NO_ENV)

    assert config.database.url == expected
