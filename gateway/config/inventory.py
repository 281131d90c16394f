"""The device inventory: one ``[[devices]]`` entry, and the checks that span entries.

ARCHITECTURE §2.4. Each entry is validated on its own so one bad device does not hide the
problems of the others; the cross-entry checks (duplicate ids, a serial port or a listen port
claimed twice) then run over the entries that are valid by themselves. ``options`` is validated
by the kind's own model from the registry, so its errors name the kind's fields.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from drivers.listen_hosts import hosts_overlap
from drivers.urls import (
    ConnectionSpec,
    ListenConnection,
    PortUse,
    may_share,
    parse_connection_url,
    port_use_of,
)
from gateway.devices.registry import DEVICE_KINDS, device_kind, options_model_of

_SLUG = re.compile(r"[a-z0-9-]+")


def _check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("is not a valid id; allowed: lowercase letters a-z, digits 0-9 and '-'")
    return value


# Ids end up in MQTT topics and metric labels, so they are kept to characters safe in both.
Slug = Annotated[str, AfterValidator(_check_slug)]


class DeviceSettings(BaseModel):
    """One device the gateway talks to (``[[devices]]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    kind: str
    connection: str
    dialect: str = "generic"
    encoding: str = "utf-8"
    enabled: bool = True
    # Checked against the kind's options model; runners validate it again into that model.
    options: dict[str, Any] = Field(default_factory=dict, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _kind_default_dialect(cls, data: Any) -> Any:
        """A device without ``dialect`` gets its kind's default (``auto`` for hl7-analyzer)."""
        if isinstance(data, dict) and "dialect" not in data and data.get("kind") in DEVICE_KINDS:
            return {**data, "dialect": device_kind(data["kind"]).default_dialect}
        return data

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in DEVICE_KINDS:
            raise ValueError(f"is not a known device kind; allowed: {', '.join(DEVICE_KINDS)}")
        return value

    @field_validator("connection")
    @classmethod
    def _connection_fits_kind(cls, value: str, info: ValidationInfo) -> str:
        # The kind's own schemes are the most useful answer, so they are checked before the syntax.
        scheme, sep, _ = value.partition("://")
        kind = info.data.get("kind")
        if sep and isinstance(kind, str) and scheme.lower() not in device_kind(kind).schemes:
            allowed = ", ".join(f"{name}://" for name in device_kind(kind).schemes)
            raise ValueError(
                f"uses {scheme}://, which kind '{kind}' cannot use; allowed: {allowed}"
            )
        spec = parse_connection_url(value)
        if isinstance(spec, ListenConnection) and spec.port == 0:
            # The drivers accept port 0 (tests bind it); a configured device must find the port.
            raise ValueError(
                "needs a port from 1 to 65535; port 0 would be a random free port that no "
                "device can find"
            )
        return value

    @field_validator("enabled", mode="before")
    @classmethod
    def _toml_boolean(cls, value: object) -> object:
        # pydantic's lax bool would read "no", "off" or 0 as false: only true/false mean one.
        if not isinstance(value, bool):
            raise ValueError("should be true or false, without quotes (a TOML boolean)")
        return value

    @field_validator("dialect")
    @classmethod
    def _dialect_of_kind(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if isinstance(kind, str) and value not in device_kind(kind).allowed_dialects:
            allowed = ", ".join(device_kind(kind).allowed_dialects)
            raise ValueError(f"is not a dialect of kind '{kind}'; allowed: {allowed}")
        return value

    @field_validator("encoding")
    @classmethod
    def _text_encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
            "".encode(value)  # rejects byte-to-byte codecs such as base64
        except LookupError:
            raise ValueError(
                "is not a text encoding Python knows; e.g. utf-8, cp1258, latin-1"
            ) from None
        return value

    @field_validator("options")
    @classmethod
    def _options_of_kind(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("kind")
        if not isinstance(kind, str):
            return value  # the kind is already reported as invalid; nothing to check against
        try:
            model = options_model_of(kind)
        except ImportError as exc:
            raise ValueError(
                f"cannot be checked: the options model of kind '{kind}' does not import ({exc})"
            ) from None
        model.model_validate(value)
        return value

    @property
    def connection_spec(self) -> ConnectionSpec:
        return parse_connection_url(self.connection)


@dataclass(frozen=True)
class Conflict:
    """A clash between two inventory entries, reported on the later one."""

    index: int
    field: str
    value: str
    message: str


def duplicate_ids(ids: Mapping[int, str]) -> list[Conflict]:
    """Find ids used twice, keyed by entry index; checked even on entries that are otherwise bad."""
    conflicts: list[Conflict] = []
    first_use: dict[str, int] = {}
    for index, device_id in sorted(ids.items()):
        first = first_use.setdefault(device_id, index)
        if first != index:
            message = f"is already the id of devices[{first}]; ids must be unique"
            conflicts.append(Conflict(index, "id", device_id, message))
    return conflicts


def port_conflicts(devices: Mapping[int, DeviceSettings]) -> list[Conflict]:
    """Find valid entries that claim the same local port, keyed by their index in the file.

    Disabled devices open nothing, so only enabled ones compete. Whether two devices may share
    a port is their schemes' sharing rule (``drivers/urls.py``): a serial or listen port serves
    one device, a bus serves each unit address once.
    """
    conflicts: list[Conflict] = []
    holders: dict[tuple[str, str], list[tuple[int, PortUse]]] = {}
    for index, device in sorted(devices.items()):
        use = port_use_of(device.connection_spec) if device.enabled else None
        if use is None:
            continue
        on_port = holders.setdefault((use.claim.noun, use.claim.key), [])
        refused = next((held for held in on_port if not may_share(held[1], use)), None)
        if refused is None:
            on_port.append((index, use))
            continue
        message = _refusal(use, refused[0], devices[refused[0]], device)
        conflicts.append(Conflict(index, "connection", device.connection, message))
    return conflicts


def _refusal(use: PortUse, first_index: int, first: DeviceSettings, device: DeviceSettings) -> str:
    clash = f"{use.claim.clash} {_name(first_index, first)}"
    if first.kind != device.kind:
        # Two kinds cannot even be told apart on one port: said first, it is the bigger mistake.
        return f"{clash} of kind '{first.kind}'; one {use.claim.noun} serves one kind"
    return f"{clash}; one {use.claim.noun} serves {use.sharing.value}"


def http_port_conflicts(devices: list[DeviceSettings], http_listen: str) -> list[Conflict]:
    """Find enabled devices that would listen on the control surface's port.

    Whichever binds second fails; when it is the control surface the gateway refuses to start.
    Hosts clash as the binds would (``drivers/listen_hosts.py``): equal or overlapping
    addresses, a wildcard and any address of its family, ``localhost`` and the loopbacks.
    """
    http_host, _, http_port = http_listen.rpartition(":")
    conflicts: list[Conflict] = []
    for index, device in enumerate(devices):
        spec = device.connection_spec
        if not device.enabled or not isinstance(spec, ListenConnection):
            continue
        if str(spec.port) == http_port and hosts_overlap(spec.host, http_host):
            message = (
                f"listens on port {spec.port}, the port of http.listen ({http_listen}); "
                "give the device or the control surface another port"
            )
            conflicts.append(Conflict(index, "connection", device.connection, message))
    return conflicts


def validate_inventory(value: object) -> list[DeviceSettings]:
    """Validate every ``[[devices]]`` entry separately, then across entries.

    Raises:
        ValidationError: one line error per problem, located as ``(index, field, ...)``.
    """
    if not isinstance(value, list):
        raise ValueError("should be a list of [[devices]] tables")
    errors: list[InitErrorDetails] = []
    valid: dict[int, DeviceSettings] = {}
    ids: dict[int, str] = {}
    for index, entry in enumerate(value):
        entry_id = entry.id if isinstance(entry, DeviceSettings) else _raw_id(entry)
        if entry_id is not None:
            ids[index] = entry_id
        try:
            valid[index] = DeviceSettings.model_validate(entry)
        except ValidationError as exc:
            # Re-raised under this entry's index; the rendered message is kept as it was.
            errors.extend(
                InitErrorDetails(
                    type=PydanticCustomError(error["type"], error["msg"]),
                    loc=(index, *error["loc"]),
                    input=error["input"],
                )
                for error in exc.errors(include_url=False)
            )
    for conflict in sorted([*duplicate_ids(ids), *port_conflicts(valid)], key=_position):
        errors.append(
            InitErrorDetails(
                type=PydanticCustomError("inventory_conflict", conflict.message),
                loc=(conflict.index, conflict.field),
                input=conflict.value,
            )
        )
    if errors:
        raise ValidationError.from_exception_data("devices", errors)
    return [valid[index] for index in range(len(value))]


def _raw_id(entry: object) -> str | None:
    raw = entry.get("id") if isinstance(entry, dict) else None
    return raw if isinstance(raw, str) else None


def _position(conflict: Conflict) -> tuple[int, str]:
    return conflict.index, conflict.field


def _name(index: int, device: DeviceSettings) -> str:
    return f"devices[{index}] (id={device.id})"
