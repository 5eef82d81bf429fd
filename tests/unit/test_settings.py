"""Settings precedence (default < TOML < env < override) and the errors a user sees."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from callbridge.settings import Settings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's or CI's own CALLBRIDGE_* variables must not leak into these tests."""
    for name in list(os.environ):
        if name.upper().startswith("CALLBRIDGE_"):
            monkeypatch.delenv(name)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callbridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./callbridge.db"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.admin_token is None
    assert settings.log_level == "info"
    assert settings.log_json is True
    assert settings.tick_interval_s == 0.1
    assert settings.default_country == "US"
    assert settings.config is None


def test_precedence_default_toml_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_toml(
        tmp_path,
        'host = "10.0.0.1"\nport = 9000\nlog_level = "debug"\ndefault_country = "GB"\n',
    )
    monkeypatch.setenv("CALLBRIDGE_PORT", "9100")
    monkeypatch.setenv("CALLBRIDGE_LOG_LEVEL", "warning")

    settings = load_settings(config, log_level="error")

    assert settings.tick_interval_s == 0.1  # default: set nowhere else
    assert settings.host == "10.0.0.1"  # TOML over default
    assert settings.default_country == "GB"
    assert settings.port == 9100  # env over TOML
    assert settings.log_level == "error"  # override over env and TOML
    assert settings.config == config


def test_config_file_from_env_and_argument_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = tmp_path / "env.toml"
    from_env.write_text("port = 1111\n", encoding="utf-8")
    from_arg = tmp_path / "arg.toml"
    from_arg.write_text("port = 2222\n", encoding="utf-8")
    monkeypatch.setenv("CALLBRIDGE_CONFIG", str(from_env))

    assert load_settings().port == 1111
    assert load_settings(from_arg).port == 2222


def test_none_override_means_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBRIDGE_HOST", "10.1.2.3")
    assert load_settings(host=None).host == "10.1.2.3"


def test_secret_from_env_is_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBRIDGE_ADMIN_TOKEN", "hunter2")
    settings = load_settings()
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings)


def test_unknown_toml_key_is_named(tmp_path: Path) -> None:
    config = write_toml(tmp_path, 'port = 9000\ncolour = "red"\n')
    with pytest.raises(SettingsError, match=r"colour: unknown setting") as caught:
        load_settings(config)
    assert str(config) in str(caught.value)


def test_unknown_override_is_named() -> None:
    with pytest.raises(SettingsError, match=r"colour: unknown setting \(from an explicit override"):
        load_settings(colour="red")


def test_bad_env_value_names_field_and_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBRIDGE_PORT", "eighty")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "port:" in message
    assert "valid integer" in message
    assert "'eighty'" in message
    assert "CALLBRIDGE_PORT" in message
    assert isinstance(caught.value, ValueError)


def test_bad_toml_value_names_field_and_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "tick_interval_s = 0\n")
    with pytest.raises(
        SettingsError, match=r"tick_interval_s: Input should be greater than 0"
    ) as e:
        load_settings(config)
    assert str(config) in str(e.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("log_level", "loud"), ("default_country", "USA"), ("port", 70000), ("tick_interval_s", -1)],
)
def test_bad_override_names_field(field: str, value: object) -> None:
    with pytest.raises(SettingsError, match=rf"{field}: "):
        load_settings(None, **{field: value})


def test_bad_secret_value_is_not_echoed(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "admin_token = 123456789\n")
    with pytest.raises(SettingsError, match="admin_token") as caught:
        load_settings(config)
    assert "123456789" not in str(caught.value)


def test_invalid_toml_names_file_and_position(tmp_path: Path) -> None:
    config = write_toml(tmp_path, "port = \n")
    with pytest.raises(SettingsError, match=r"not valid TOML.*line 1"):
        load_settings(config)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_values_are_normalised() -> None:
    settings = load_settings(log_level="WARNING", default_country="gb")
    assert settings.log_level == "warning"
    assert settings.default_country == "GB"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError, match="frozen"):
        settings.port = 1  # type: ignore[misc]
    assert settings.port == 8080
    assert hash(settings) == hash(load_settings())


def test_settings_class_uses_the_same_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLBRIDGE_PORT", "9100")
    assert Settings().port == 9100


def test_voice_entry_points_come_as_a_table_and_keep_settings_hashable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "callbridge.toml"
    config.write_text('[voice_entry_points]\nsupport = "q1"\n"+18005550100" = "q2"\n')
    settings = load_settings(config)
    assert dict(settings.voice_entry_points) == {"support": "q1", "+18005550100": "q2"}
    assert hash(settings) == hash(load_settings(config))
    monkeypatch.setenv("CALLBRIDGE_VOICE_ENTRY_POINTS", '{"demo": "demo-calls"}')
    assert dict(load_settings().voice_entry_points) == {"demo": "demo-calls"}


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://www.example.com", "https://www.example.com"),
        ("HTTPS://Shop.Example:8443/", "https://shop.example:8443"),
        ("https://*.example.com", "https://*.example.com"),
    ],
)
def test_frame_ancestors_are_origins(given: str, kept: str) -> None:
    assert load_settings(webchat_frame_ancestors=[given]).webchat_frame_ancestors == (kept,)


@pytest.mark.parametrize(
    "given", ["www.example.com", "ftp://example.com", "https://example.com/chat", "https://a b"]
)
def test_a_frame_ancestor_that_is_no_origin_is_named(given: str) -> None:
    with pytest.raises(SettingsError, match=r"webchat_frame_ancestors: .*not an origin") as caught:
        load_settings(webchat_frame_ancestors=[given])
    assert given in str(caught.value)


def test_the_sms_providers_url_must_be_http() -> None:
    assert load_settings(sms_outbound_url=" https://sms.example.com/out ").sms_outbound_url == (
        "https://sms.example.com/out"
    )
    with pytest.raises(SettingsError, match=r"sms_outbound_url: .*not an http\(s\) URL"):
        load_settings(sms_outbound_url="sms.example.com/out")
