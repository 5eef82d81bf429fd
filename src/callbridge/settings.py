"""Settings, loaded once into a frozen object.

Precedence, lowest first: field defaults, the TOML config file, `CALLBRIDGE_*` environment
variables, explicit overrides (CLI flags). The config file is named by `load_settings`'s
`config_file` argument or by `CALLBRIDGE_CONFIG`; it is itself a setting (`config`) so that the
TOML source, which runs after the argument and environment sources, can see which file to read.
"""

from __future__ import annotations

import os
import re
import ssl
import tomllib
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pydantic_settings
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "CALLBRIDGE_"
ORIGIN_HOST = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class SettingsError(ValueError):
    """Settings that cannot be loaded: the message names the setting, where it came from and why."""


class Settings(BaseSettings):
    """Everything the composition root needs to build the application."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        # An empty variable (CALLBRIDGE_ADMIN_TOKEN=) means "not set", never "set to empty".
        env_ignore_empty=True,
    )

    config: Path | None = Field(
        default=None, description="TOML file the other settings were read from, if any."
    )
    database_url: str = Field(default="sqlite:///./callbridge.db", min_length=1)
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8080, ge=0, le=65535, description="0 picks a free port.")
    admin_token: SecretStr | None = Field(
        default=None,
        description="Interim admin API token; when unset the app generates one and prints it.",
    )
    log_level: str = "info"
    log_json: bool = True
    tick_interval_s: float = Field(
        default=0.1, gt=0, description="How often the timer loop wakes, in seconds."
    )
    key_file: Path | None = Field(
        default=None,
        description="JSON key file for personal-data encryption. Unset with SQLite: a file "
        "next to the database (<db>.keys), created on first run. Required with PostgreSQL "
        "unless `keys` is set.",
    )
    keys: SecretStr | None = Field(
        default=None, description="The key file's JSON content, from CALLBRIDGE_KEYS instead."
    )
    tls_cert_file: Path | None = Field(
        default=None, description="PEM certificate chain; with tls_key_file, serve HTTPS."
    )
    # validate_default: the check that the two go together runs when only the cert is set
    tls_key_file: Path | None = Field(
        default=None, validate_default=True, description="PEM private key for TLS."
    )
    inbound_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Shared secret that signs inbound channel webhooks (SMS, email); unset: "
        "the inbound webhook endpoints answer 503.",
    )
    sms_outbound_url: str | None = Field(
        default=None,
        description="Where agents' SMS replies are POSTed as signed JSON for an SMS provider "
        "(or a bridge to one) to send; unset: texts cannot be answered.",
    )
    sms_outbound_secret: SecretStr | None = Field(
        default=None, description="Shared secret that signs SMS replies (required with the URL)."
    )
    session_idle_timeout_s: float = Field(default=1800.0, gt=0)
    session_absolute_timeout_s: float = Field(default=12 * 3600.0, gt=0)
    mfa_required_roles: tuple[str, ...] = Field(
        default=("supervisor", "admin"),
        description="Holders of these roles must enrol in TOTP before doing anything else.",
    )
    password_min_length: int = Field(default=12, ge=8, le=128)
    lockout_account_failures: int = Field(
        default=5, ge=1, description="Failed logins for one account within the window that lock it."
    )
    lockout_address_failures: int = Field(
        default=20,
        ge=1,
        description="Failed logins from one address within the window that lock it.",
    )
    lockout_window_s: float = Field(default=900.0, gt=0)
    lockout_duration_s: float = Field(default=900.0, gt=0)
    sip_realm: str = Field(
        default="callbridge",
        min_length=1,
        max_length=255,
        pattern=r'^[^"\\\x00-\x1f\x7f]+$',
        description="Digest realm of agents' SIP phones; changing it voids every SIP password.",
    )
    crm: str = Field(
        default="builtin",
        description="Which CRM screen pops and activity logs use: builtin or salesforce.",
    )
    crm_mapping_file: Path | None = Field(
        default=None,
        description="YAML field mapping from interactions to CRM activity fields; unset: the "
        "CRM's default mapping.",
    )
    crm_screen_pop_file: Path | None = Field(
        default=None,
        description="YAML screen-pop rules: lookup keys per direction and queue; unset: IVR "
        "data (case, account number) first, then the customer's number or address.",
    )
    crm_outbox_batch: int = Field(default=200, ge=1, le=200, description="Activities per delivery.")
    crm_dnc_sync_interval_s: float = Field(
        default=900.0, gt=0, description="How often do-not-call is synced with the CRM, both ways."
    )
    crm_outbox_interval_s: float = Field(
        default=1.0, gt=0, description="How often the outbox worker looks for work."
    )
    salesforce_instance_url: str | None = Field(
        default=None, description="https://yourorg.my.salesforce.com (the token answer's wins)."
    )
    salesforce_token_url: str = Field(
        default="https://login.salesforce.com/services/oauth2/token",
        description="OAuth token endpoint (test.salesforce.com for sandboxes).",
    )
    salesforce_auth: str = Field(
        default="jwt", description="jwt (JWT bearer) or client_credentials."
    )
    salesforce_client_id: str | None = Field(
        default=None, description="The connected app's consumer key."
    )
    salesforce_client_secret: SecretStr | None = Field(
        default=None, description="The consumer secret (client_credentials)."
    )
    salesforce_username: str | None = Field(
        default=None, description="The integration user (JWT bearer `sub`)."
    )
    salesforce_private_key_file: Path | None = Field(
        default=None, description="PEM RSA key whose certificate the connected app holds (JWT)."
    )
    salesforce_audience: str = Field(
        default="https://login.salesforce.com", description="JWT `aud`."
    )
    salesforce_api_version: str = Field(default="62.0")
    salesforce_ca_file: Path | None = Field(
        default=None, description="Extra CA bundle to trust (tests, TLS-inspecting proxies)."
    )
    salesforce_external_id_field: str = Field(
        default="CC_SessionId__c",
        description="Unique external-id field on Task: the interaction id.",
    )
    salesforce_api_floor: int = Field(
        default=5000,
        ge=0,
        description="Slow down when fewer daily API requests than this remain.",
    )
    sip_enabled: bool = Field(
        default=False, description="Take calls: the SIP endpoint, the registrar and RTP media."
    )
    sip_host: str = Field(default="127.0.0.1", min_length=1, description="SIP and RTP address.")
    sip_port: int = Field(default=5060, ge=0, le=65535, description="0 picks a free port.")
    sip_transports: tuple[str, ...] = Field(
        default=("udp", "tcp"), description="SIP transports to listen on: udp, tcp."
    )
    sip_digest_algorithms: tuple[str, ...] = Field(
        default=("MD5",),
        description="Digest algorithms phones are challenged with, preferred first: MD5, "
        "SHA-256. Many phones fail on a challenge they do not know, so MD5 alone by default.",
    )
    rtp_port_min: int = Field(default=20000, ge=1024, le=65534)
    rtp_port_max: int = Field(default=29999, ge=1025, le=65535)
    sip_max_calls: int | None = Field(
        default=400, ge=1, description="Concurrent calls admitted; above it new calls get 503."
    )
    sip_max_call_rate: float | None = Field(
        default=100.0, gt=0, description="New calls admitted per second; above it 503."
    )
    voice_entry_points: tuple[tuple[str, str], ...] = Field(
        default=(),
        description="Called SIP user or number -> the queue its calls enter, or `flow:NAME` "
        "for an IVR flow from `ivr_flows_dir` (a table; kept as sorted pairs so settings stay "
        "hashable).",
    )
    ivr_flows_dir: Path | None = Field(
        default=None,
        description="Directory of IVR flow files (*.yaml), each checked when the server "
        "starts; entry points name them as `flow:NAME`.",
    )
    sip_trunk_host: str | None = Field(
        default=None, description="The carrier or gateway outbound calls go through."
    )
    sip_trunk_port: int = Field(default=5060, ge=1, le=65535)
    sip_trunk_transport: str = Field(default="udp", pattern="^(udp|tcp)$")
    sip_trunk_username: str | None = Field(
        default=None, description="Credentials for the trunk, when it challenges."
    )
    sip_trunk_password: SecretStr | None = None
    sip_trunk_caller_id: str | None = Field(
        default=None, description="The number outbound calls show (From user); else the dial's."
    )
    sip_ring_timeout_s: float = Field(
        default=26.0,
        ge=15.0,
        le=120.0,
        description="How long an outbound call rings before it counts as no answer "
        "(the US rules ask for at least 15 s).",
    )
    dialer_enabled: bool = Field(
        default=True,
        description="Run the live dialer with SIP: running campaigns place calls through the "
        "trunk.",
    )
    dialer_tick_s: float = Field(
        default=0.5,
        gt=0,
        le=10.0,
        description="How often the live dialer paces each running campaign, in seconds.",
    )
    voice_record_calls: bool = Field(
        default=True, description="Record every call an agent takes (both voices, a WAV each)."
    )
    voice_recordings_dir: Path | None = Field(
        default=None,
        description="Where call recordings go; default: callbridge-recordings next to the "
        "audio cache.",
    )
    voice_cache_dir: Path | None = Field(
        default=None,
        description="Where generated audio (music on hold, speech) is kept; default: a "
        "directory next to a SQLite database, else the system's temporary directory.",
    )
    webchat_queues: tuple[str, ...] = Field(
        default=(),
        description="Queues a customer may start a web chat in (POST /chat); empty: web chat "
        "is off.",
    )
    webchat_starts_per_minute: int = Field(
        default=20, ge=1, description="Web chats one client address may start in a minute."
    )
    webchat_frame_ancestors: tuple[str, ...] = Field(
        default=(),
        description="Origins whose pages may show the web chat page in a frame, such as "
        "https://www.example.com or https://*.example.com; empty: no site may.",
    )
    default_country: str = Field(
        default="US", description="ISO 3166-1 alpha-2 region for numbers without a country code."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().lower()
        if level not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("crm")
    @classmethod
    def _known_crm(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in ("builtin", "salesforce"):
            raise ValueError("must be builtin or salesforce")
        return name

    @field_validator("salesforce_auth")
    @classmethod
    def _known_auth(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in ("jwt", "client_credentials"):
            raise ValueError("must be jwt or client_credentials")
        return name

    @field_validator("voice_entry_points", mode="before")
    @classmethod
    def _entry_table(cls, value: object) -> object:
        if isinstance(value, dict):
            return tuple(sorted((str(k), str(v)) for k, v in value.items()))
        return value

    @field_validator("sms_outbound_url")
    @classmethod
    def _sms_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.strip()

    @field_validator("webchat_frame_ancestors")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(web_origin(v) for v in value)

    @field_validator("sip_transports")
    @classmethod
    def _known_transports(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(v.strip().lower() for v in value)
        if not names or any(n not in ("udp", "tcp") for n in names):
            raise ValueError("must be one or both of udp and tcp")
        return names

    @field_validator("sip_digest_algorithms")
    @classmethod
    def _known_algorithms(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(v.strip().upper() for v in value)
        if not names or any(n not in ("MD5", "SHA-256") for n in names):
            raise ValueError("must be one or both of MD5 and SHA-256")
        return names

    @field_validator("default_country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        code = value.strip().upper()
        if len(code) != 2 or not code.isascii() or not code.isalpha():
            raise ValueError("must be a two-letter ISO 3166-1 country code such as US or GB")
        return code

    @field_validator("tls_cert_file", "tls_key_file")
    @classmethod
    def _tls_files(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is not None:
            _readable(value)
        if info.field_name != "tls_key_file" or "tls_cert_file" not in info.data:
            return value  # a bad cert file is reported by itself
        cert = info.data["tls_cert_file"]
        if (cert is None) != (value is None):
            state = "is not set, but tls_cert_file is" if value is None else "needs tls_cert_file"
            raise ValueError(f"{state}: set both to serve HTTPS, or neither")
        if cert is not None and value is not None:
            try:
                ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, value)
            except ssl.SSLError as exc:
                raise ValueError(
                    f"{value} is not the PEM private key of the certificate in {cert}: {exc}"
                ) from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first. No dotenv or secrets-dir sources: one file, one environment.
        return init_settings, env_settings, _ConfigFileSource(settings_cls)


class _ConfigFileSource(PydanticBaseSettingsSource):
    """The TOML file named by the `config` setting, read with pydantic-settings' TOML source.

    It runs after the override and environment sources, so `current_state` already holds the
    `config` value they resolved (argument over `CALLBRIDGE_CONFIG`).
    """

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads the whole file at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        named = self.current_state.get("config")
        if named is None:
            return {}
        path = Path(named)
        if not path.is_file():
            raise SettingsError(f"config: config file {path} does not exist or is not a file")
        try:
            data = TomlConfigSettingsSource(self.settings_cls, toml_file=path)()
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config: config file {path} is not valid TOML: {exc}") from exc
        except OSError as exc:
            raise SettingsError(f"config: config file {path} cannot be read: {exc}") from exc
        if "config" in data:
            raise SettingsError(
                f"config: config file {path} sets 'config'; a config file cannot name another"
            )
        return data


def _readable(path: Path) -> None:
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Load settings: defaults < TOML file < CALLBRIDGE_* env < `overrides`.

    `config_file` falls back to CALLBRIDGE_CONFIG. An override of None means "not given", so a
    CLI can pass every flag through unconditionally. Raises SettingsError naming the setting.
    """
    kwargs: dict[str, object] = {k: v for k, v in overrides.items() if v is not None}
    if config_file is not None:
        kwargs["config"] = config_file
    try:
        return Settings(**kwargs)  # type: ignore[arg-type]  # validated at run time
    except ValidationError as exc:
        problems = [_describe(error, kwargs) for error in exc.errors()]
        raise SettingsError("invalid settings:\n  " + "\n  ".join(problems)) from exc
    except pydantic_settings.SettingsError as exc:
        # Raised by the environment source when it cannot decode a value, e.g. bad JSON.
        raise SettingsError(f"invalid settings: {exc}") from exc


def _describe(error: ErrorDetails, overrides: dict[str, object]) -> str:
    name = ".".join(str(part) for part in error["loc"]) or "<settings>"
    field = str(error["loc"][0]) if error["loc"] else ""
    origin = _origin(field, overrides)
    if error["type"] == "extra_forbidden":
        return f"{name}: unknown setting (from {origin})"
    hide_input = _is_secret(field) or error["type"] == "missing"
    got = "" if hide_input else f" (got {error['input']!r})"
    message = error["msg"].removeprefix("Value error, ")
    return f"{name}: {message}{got} (from {origin})"


def _origin(field: str, overrides: dict[str, object]) -> str:
    """Where a field's value came from, following the same precedence as the sources."""
    if field in overrides:
        return "an explicit override"
    env_name = f"{ENV_PREFIX}{field}".upper()
    if any(k.upper() == env_name and v for k, v in os.environ.items()):
        return f"environment variable {env_name}"
    config = overrides.get("config") or os.environ.get(f"{ENV_PREFIX}CONFIG")
    if config:
        return f"config file {config}"
    return "the default"


def _is_secret(field: str) -> bool:
    info = Settings.model_fields.get(field)
    if info is None:
        return False
    return info.annotation is SecretStr or SecretStr in get_args(info.annotation)


def web_origin(text: str) -> str:
    """`https://host[:port]` (the host may start with `*.`), lower-cased; a ValueError naming
    the value for anything else: a path, a query or another scheme would not be an origin."""
    parts = urlsplit(text.strip().lower())
    if (
        parts.scheme not in ("http", "https")
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or not ORIGIN_HOST.fullmatch(parts.netloc)
    ):
        raise ValueError(f"{text!r} is not an origin like https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}"
