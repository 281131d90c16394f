"""Config problems as one line each: file, key path, bad value, what is allowed (ARCHITECTURE §2.4).

A biomedical engineer fixing ``wardlink.toml`` at the bedside reads these lines, not a pydantic
traceback. Pydantic's ``loc`` gives the key path; the raw file data adds the device id; the
models and the registry say which keys and values are allowed. Secret values never appear.
"""

from __future__ import annotations

import difflib
import os
import typing
from collections.abc import Sequence
from dataclasses import dataclass

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from gateway.config.credentials import redact
from gateway.config.inventory import DeviceSettings
from gateway.config.settings import SECRET_KEYS, Settings
from gateway.devices.registry import DEVICE_KINDS, options_model_of

_MAX_VALUE_CHARS = 120  # long enough for a full device or file path
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})
_PREFIXES = {"Value error, ": "", "Assertion failed, ": "", "Input should ": "should "}

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class ConfigProblem:
    """One problem in a config file.

    Attributes:
        file: The file as the user named it.
        key_path: Where in the file, e.g. ``devices[1] (id=sysmex-xn-1).dialect``.
        value: The offending value, already rendered safe to print (repr, truncated, secrets
            masked), or None when no single value is at fault (a missing or unknown key).
        message: What is wrong and what is allowed.
    """

    file: str
    key_path: str
    value: str | None
    message: str

    def line(self) -> str:
        shown = "" if self.value is None else f"{self.value} "
        # Credentials in a URL are masked wherever they come from (value, message, env).
        return redact(f"{self.file}: {self.key_path}: {shown}{self.message}")


class ConfigError(Exception):
    """The configuration cannot be used; holds every problem found, not just the first."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [problem.line() for problem in self.problems]


def render_value(loc: Loc, value: object) -> str | None:
    """Render a bad value for an error line: secrets masked, tables left out, long reprs cut."""
    if any(part in SECRET_KEYS for part in loc):
        return "'***'"
    if isinstance(value, dict | list):
        return None
    text = redact(repr(value))
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 1] + "…"
    return text


def problems_from_validation_error(
    error: ValidationError, *, file: str, data: dict[str, object]
) -> list[ConfigProblem]:
    """Turn pydantic's errors for ``Settings`` into one problem per error.

    Args:
        error: Raised while validating ``Settings``.
        file: The config file as the user named it.
        data: The file's parsed TOML, used to name devices and find their kind.
    """
    return [_problem(details, file, data) for details in error.errors(include_url=False)]


def problem_at(
    loc: Loc, value: object, message: str, *, file: str, data: dict[str, object]
) -> ConfigProblem:
    """A problem found after validation (e.g. across sections), located like pydantic's."""
    return ConfigProblem(file, _key_path(loc, data), render_value(loc, value), message)


def _problem(details: ErrorDetails, file: str, data: dict[str, object]) -> ConfigProblem:
    loc: Loc = tuple(details["loc"])
    key_path = _key_path(loc, data)
    env_name = _overriding_env(loc)
    if env_name is not None:
        key_path += f" (from ${env_name})"
    kind = details["type"]
    if kind == "missing":
        return ConfigProblem(file, key_path, None, "is required")
    if kind == "extra_forbidden":
        return ConfigProblem(file, key_path, None, _unknown_key(loc, data))
    message = details["msg"]
    if kind in _RANGE_ERRORS:
        message = _range(loc, data) or message
    for prefix, replacement in _PREFIXES.items():
        if message.startswith(prefix):
            message = replacement + message.removeprefix(prefix)
            break
    else:
        message = message[:1].lower() + message[1:]
    return ConfigProblem(file, key_path, render_value(loc, details["input"]), message)


def _key_path(loc: Loc, data: object) -> str:
    path = ""
    node: object = data
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("id"), str):
                path += f" (id={node['id']})"
        else:
            path += f".{part}" if path else part
            node = node.get(part) if isinstance(node, dict) else None
    return path


def _overriding_env(loc: Loc) -> str | None:
    # Env beats the file, so when the variable for this exact key is set, the bad value is its.
    if not loc or not all(isinstance(part, str) for part in loc):
        return None
    name = "WARDLINK_" + "__".join(str(part).upper() for part in loc)
    return name if any(key.upper() == name for key in os.environ) else None


def _unknown_key(loc: Loc, data: dict[str, object]) -> str:
    model = _model_at(loc[:-1], data)
    if model is None:
        return "is not an allowed key"
    allowed = [name for name in model.model_fields if name not in SECRET_KEYS]
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"is not an allowed key; {hint}allowed: {', '.join(allowed)}"


def _range(loc: Loc, data: dict[str, object]) -> str | None:
    model = _model_at(loc[:-1], data)
    field = model.model_fields.get(str(loc[-1])) if model is not None else None
    if field is None:
        return None
    bounds = [_bound(constraint) for constraint in field.metadata]
    shown = [bound for bound in bounds if bound]
    return f"is out of range; allowed: {' and '.join(shown)}" if shown else None


def _bound(constraint: object) -> str | None:
    if isinstance(constraint, Ge):
        return f">= {constraint.ge}"
    if isinstance(constraint, Gt):
        return f"> {constraint.gt}"
    if isinstance(constraint, Le):
        return f"<= {constraint.le}"
    if isinstance(constraint, Lt):
        return f"< {constraint.lt}"
    return None


def _model_at(loc: Loc, data: dict[str, object]) -> type[BaseModel] | None:
    """The model whose fields live at ``loc``; device options use the model of their kind."""
    model: type[BaseModel] | None = Settings
    node: object = data
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        field = model.model_fields.get(part)
        parent, node = node, node.get(part) if isinstance(node, dict) else None
        if field is None:
            return None
        if model is DeviceSettings and part == "options":
            model = _options_model(parent)
        else:
            model = _model_of(field)
    return model


def _model_of(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _options_model(device: object) -> type[BaseModel] | None:
    kind = device.get("kind") if isinstance(device, dict) else None
    if kind not in DEVICE_KINDS:
        return None
    try:
        return options_model_of(str(kind))
    except ImportError:
        return None
