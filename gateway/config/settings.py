"""Gateway settings: one human-edited TOML file plus ``WARDLINK_*`` environment overrides.

ARCHITECTURE §2.4. The file is read, never written. Environment variables beat the file and use
``__`` between levels (``WARDLINK_MQTT__URL``). Secrets never live in the file: they come from
the environment (``WARDLINK_MQTT__PASSWORD``) or from a ``*_file`` key naming a file that holds
them (systemd credentials, container secrets). ``gateway.config.check.load_settings`` is the
entry point that turns every problem into a readable line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.config.credentials import loose_secret_files
from gateway.config.inventory import DeviceSettings, Slug, validate_inventory

_MQTT_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}
# Keys that hold secrets: never accepted from the file, never shown in an error line.
SECRET_KEYS = frozenset({"password", "key_passphrase"})
MIN_REPLY_KEY_BYTES = 32


class GatewaySettings(BaseModel):
    """Who this gateway is; the three ids form the MQTT topic prefix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: Slug
    ward: Slug
    id: Slug


class MqttSettings(BaseModel):
    """The broker connection and the forwarding policy (DESIGN: MQTT contract)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = "mqtt://localhost:1883"
    client_id: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: FilePath | None = None
    ca_file: FilePath | None = None
    cert_file: FilePath | None = None
    key_file: FilePath | None = None
    key_passphrase: SecretStr | None = None
    key_passphrase_file: FilePath | None = None
    topic_root: str = Field(default="wardlink", min_length=1)
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    protocol: Literal["auto", "5", "3.1.1"] = "auto"
    inflight_window: int = Field(default=64, ge=1, le=1024)
    end_to_end_ack: bool = False
    resend_unacked_after_s: float = Field(default=60.0, gt=0)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    readable_secret_files: Literal["warn", "refuse"] = "warn"  # noqa: S105 - a policy
    """What a secret file (password, key, passphrase) readable by others does: a warning in the
    log, or a refusal to start (the shipped systemd unit sets ``refuse``)."""
    stall_after_s: float = Field(default=120.0, gt=0)
    """Liveness fails after this long with rows pending, the broker connected and no PUBACK or
    end-to-end ack (the forwarder hangs); keep it above the 30 s retry of refused rows."""
    query_reply_key_file: FilePath | None = None
    """The centre's shared HMAC key: host-query replies must carry its signature (MQTT 5)."""

    @field_validator("url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        parts = urlsplit(value)
        shape = "expected mqtt://host:port or mqtts://host:port"
        if parts.scheme not in _MQTT_DEFAULT_PORTS:
            raise ValueError(f"has an unknown scheme; {shape}")
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                f"carries credentials; use username and WARDLINK_MQTT__PASSWORD; {shape}"
            )
        if not parts.hostname or parts.path not in ("", "/") or parts.query:
            raise ValueError(shape)
        try:
            parts.port  # noqa: B018 - urlsplit checks the port only when asked
        except ValueError:
            raise ValueError(f"has a port outside 0..65535; {shape}") from None
        return value

    @field_validator("password_file", "key_passphrase_file", "query_reply_key_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                value.read_bytes()
            except OSError as exc:
                raise ValueError(f"cannot be read: {exc.strerror}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MqttSettings:
        if self.password is not None and self.password_file is not None:
            raise ValueError("set WARDLINK_MQTT__PASSWORD or password_file, not both")
        if self.key_passphrase is not None and self.key_passphrase_file is not None:
            raise ValueError("set WARDLINK_MQTT__KEY_PASSPHRASE or key_passphrase_file, not both")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (mutual TLS needs both)")
        if not self.tls and (self.ca_file or self.cert_file):
            raise ValueError("ca_file, cert_file and key_file need an mqtts:// url")
        if self.query_reply_key_file is not None:
            if len(self.resolved_reply_key() or b"") < MIN_REPLY_KEY_BYTES:
                raise ValueError(
                    f"query_reply_key_file must hold at least {MIN_REPLY_KEY_BYTES} bytes "
                    "(e.g. `openssl rand -hex 32`)"
                )
            if self.protocol == "3.1.1":
                raise ValueError("query_reply_key_file needs MQTT 5 (signatures are properties)")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("reconnect_max_s must not be below reconnect_min_s")
        refuse = self.readable_secret_files == "refuse"  # noqa: S105 - a policy, not a secret
        if refuse and (loose := self.loose_secret_files()):
            raise ValueError("; ".join(loose) + ' (or set readable_secret_files = "warn")')
        return self

    def loose_secret_files(self) -> list[str]:
        """One line per secret file that other users may read (empty when all are private)."""
        return loose_secret_files(
            [
                ("password_file", self.password_file),
                ("key_file", self.key_file),
                ("key_passphrase_file", self.key_passphrase_file),
                ("query_reply_key_file", self.query_reply_key_file),
            ]
        )

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or _MQTT_DEFAULT_PORTS[parts.scheme]

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    def effective_client_id(self, gateway_id: str) -> str:
        """The broker keys the persistent session on the client id, so the default is stable."""
        return self.client_id or f"wardlink-{gateway_id}"

    def resolved_password(self) -> str | None:
        """Read the password at connect time, so a rotated ``password_file`` is picked up."""
        return _secret(self.password, self.password_file)

    def resolved_reply_key(self) -> bytes | None:
        """The key query replies are signed with, as the file holds it (without a final EOL)."""
        if self.query_reply_key_file is None:
            return None
        return self.query_reply_key_file.read_bytes().rstrip(b"\r\n")

    def resolved_key_passphrase(self) -> str | None:
        """The passphrase of ``key_file``, from the environment or ``key_passphrase_file``."""
        return _secret(self.key_passphrase, self.key_passphrase_file)


class StoreSettings(BaseModel):
    """The durable outbox (DESIGN: measured SQLite facts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Path("/var/lib/wardlink/outbox.db")
    durability: Literal["durable", "relaxed"] = "durable"
    quota_mb: int = Field(default=1024, gt=0)
    min_free_mb: int = Field(default=64, ge=0)
    retention_hours: int = Field(default=168, gt=0)
    max_batch: int = Field(default=2000, gt=0)
    reject_budget_mb: float | None = Field(default=None, gt=0)
    """Room for rejected device input (``rejected/``), taken out of ``quota_mb`` so garbage can
    never crowd out results; default 1/32 of the quota, at most half of it."""

    @model_validator(mode="after")
    def _budget_fits(self) -> StoreSettings:
        if self.reject_budget_mb is not None and self.reject_budget_mb > self.quota_mb / 2:
            raise ValueError("reject_budget_mb must be at most half of quota_mb")
        return self

    @property
    def reject_budget_bytes(self) -> int:
        budget_mb = self.reject_budget_mb or self.quota_mb / 32
        return int(budget_mb * 1024 * 1024)

    @property
    def outbox_quota_bytes(self) -> int:
        """The outbox's own share of ``quota_mb``: the rest is the reject budget."""
        return self.quota_mb * 1024 * 1024 - self.reject_budget_bytes


class HttpSettings(BaseModel):
    """The local control surface (metrics, health)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = "127.0.0.1:9108"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError("is not host:port; e.g. 127.0.0.1:9108 (port 1..65535)")
        return value


class Settings(BaseSettings):
    """The whole gateway configuration."""

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix="WARDLINK_",
        env_nested_delimiter="__",
    )

    config_version: Literal[1] = 1
    gateway: GatewaySettings
    mqtt: MqttSettings = MqttSettings()
    store: StoreSettings = StoreSettings()
    http: HttpSettings = HttpSettings()
    devices: list[DeviceSettings] = []

    @field_validator("devices", mode="plain")
    @classmethod
    def _inventory(cls, value: object) -> list[DeviceSettings]:
        return validate_inventory(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No .env or secrets-dir lookups in the working directory: the TOML file named at load
        # time (see ``read_settings``) and the environment are the only inputs.
        return (init_settings, env_settings)


def read_settings(path: Path) -> Settings:
    """Build settings from ``path`` and the environment, the environment winning.

    Raises:
        pydantic.ValidationError: a value is missing or invalid.
        tomllib.TOMLDecodeError: the file is not TOML.
        OSError: the file cannot be read.
    """
    # Sources in priority order: the first one to set a key wins.
    sources = (EnvSettingsSource(Settings), TomlConfigSettingsSource(Settings, toml_file=path))
    return Settings(_build_sources=(sources, {}))


def _secret(value: SecretStr | None, file: Path | None) -> str | None:
    if value is not None:
        return value.get_secret_value()
    if file is not None:
        return file.read_text(encoding="utf-8").rstrip("\r\n")
    return None
