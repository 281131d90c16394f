"""Device kinds: the one table of what an inventory ``kind`` may name (ADR 0018).

One row per kind: its name and the import string of its :class:`~adapters.kind.DeviceKind`
declaration, imported only when a configured device (or a command listing kinds) needs it, in
the manner of python-can's ``BACKENDS``. Nothing registers itself at import time. A kind whose
code needs a heavy or optional library imports it inside its ``prepare`` or session, so that
``wardlink config check`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from adapters.kind import DeviceKind

_ROWS: dict[str, str] = {
    "serial-scanner": "adapters.scanners.kind:KIND",
    "hl7-analyzer": "adapters.lis_analyzers.kind:KIND",
    "astm-analyzer": "adapters.lis_analyzers.astm_kind:KIND",
    "intellivue-monitor": "adapters.monitors.intellivue_kind:KIND",
    "hl7-monitor": "adapters.monitors.kind:KIND",
}

DEVICE_KINDS: Mapping[str, str] = MappingProxyType(_ROWS)
"""Kind name → ``"package.module:KIND"``; read-only (a test adds a row through ``_ROWS``)."""


def resolve(import_string: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute.

    Typed ``Any`` because only the caller knows what it asked for.

    Raises:
        ImportError: the string is malformed, the module does not import, or lacks the attribute.
    """
    module_name, sep, attribute = import_string.partition(":")
    if not sep or not module_name or not attribute:
        raise ImportError(f"{import_string!r} is not of the form 'package.module:attribute'")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError as exc:
        raise ImportError(f"module {module_name!r} has no attribute {attribute!r}") from exc


def device_kind(name: str) -> DeviceKind:
    """The declaration of kind ``name``, imported on first use.

    Raises:
        KeyError: no such kind.
        ImportError: its declaration does not import, is not a :class:`DeviceKind`, or names
            another kind.
    """
    declaration = resolve(DEVICE_KINDS[name])
    if not isinstance(declaration, DeviceKind) or declaration.name != name:
        raise ImportError(f"{DEVICE_KINDS[name]!r} is not the DeviceKind {name!r}")
    return declaration


def options_model_of(kind: str) -> type[BaseModel]:
    """The options model of ``kind`` (see :func:`device_kind` for the errors)."""
    return device_kind(kind).options_model
