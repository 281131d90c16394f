"""Load ``wardlink.toml`` or report every problem in it, one line each.

``wardlink run`` calls :func:`load_settings`, ``wardlink config check FILE`` calls
:func:`check_config_file`. Both collect all problems before giving up, so one pass of fixes is
usually enough.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError

from gateway.config.errors import (
    ConfigError,
    ConfigProblem,
    problem_at,
    problems_from_validation_error,
)
from gateway.config.inventory import http_port_conflicts
from gateway.config.settings import SECRET_KEYS, Settings, read_settings

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def load_settings(path: Path) -> Settings:
    """Load and validate the config file at ``path`` with its environment overrides.

    Raises:
        ConfigError: with one problem per thing to fix.
    """
    file = str(path)
    data = _read_toml(path, file)
    problems = _secrets_in_clear(data, file)
    try:
        settings = read_settings(path)
        problems += [
            problem_at(("devices", c.index, c.field), c.value, c.message, file=file, data=data)
            for c in http_port_conflicts(settings.devices, settings.http.listen)
        ]
    except ValidationError as exc:
        problems += problems_from_validation_error(exc, file=file, data=data)
    except SettingsError as exc:
        # A WARDLINK_* variable holding a table or list that is not valid JSON.
        problems.append(ConfigProblem(file, "environment", None, str(exc)))
    if problems:
        raise ConfigError(problems)
    return settings


def check_config_file(path: Path) -> list[str]:
    """Return one line per problem in the config file; an empty list means it is usable."""
    try:
        load_settings(path)
    except ConfigError as exc:
        return exc.lines()
    return []


def _read_toml(path: Path, file: str) -> dict[str, object]:
    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(file, "path", None, "file not found")]) from None
    except IsADirectoryError:
        problem = ConfigProblem(file, "path", None, "is a directory, not a TOML file")
        raise ConfigError([problem]) from None
    except OSError as exc:
        problem = ConfigProblem(file, "path", None, f"cannot be read: {exc.strerror}")
        raise ConfigError([problem]) from None
    except UnicodeDecodeError:
        problem = ConfigProblem(file, "path", None, "is not UTF-8 text, which TOML requires")
        raise ConfigError([problem]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([_syntax_problem(exc, file)]) from None


def _syntax_problem(exc: tomllib.TOMLDecodeError, file: str) -> ConfigProblem:
    # Python 3.11's TOMLDecodeError carries the position only in its message.
    message = str(exc)
    position = _TOML_POSITION.search(message)
    if position is None:
        return ConfigProblem(file, "syntax", None, f"invalid TOML: {message}")
    where = f"line {position[1]}, column {position[2]}"
    return ConfigProblem(file, where, None, f"invalid TOML: {message[: position.start()]}")


def _secrets_in_clear(data: dict[str, object], file: str) -> list[ConfigProblem]:
    mqtt = data.get("mqtt")
    if not isinstance(mqtt, dict):
        return []
    return [
        ConfigProblem(
            file,
            f"mqtt.{key}",
            "'***'",
            f"is a secret and must not be written in the file; set "
            f"WARDLINK_MQTT__{key.upper()} in the environment or {key}_file to a file holding it",
        )
        for key in sorted(SECRET_KEYS)
        if key in mqtt
    ]
