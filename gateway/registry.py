"""Device kinds: the one table of what an inventory ``kind`` may name (ARCHITECTURE §2.3).

Entries hold import *strings*, resolved only when a configured device needs them, so
``wardlink config check`` can list and reject kinds without importing optional or heavy
libraries (the python-can ``BACKENDS`` shape). Third-party kinds will later merge in from the
``wardlink.device_kinds`` entry-point group; nothing registers itself at import time.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from adapters.kind import DeviceKind


@dataclass(frozen=True)
class KindSpec:
    """What the gateway needs to know about a device kind before importing any of its code.

    Attributes:
        description: One line for ``config sample`` and the README table.
        options_model: ``"package.module:Class"`` of the pydantic model for ``[devices.options]``.
        runner: ``"package.module:function"`` that runs one device of this kind.
        schemes: Connection URL schemes the kind can work over.
        dialects: Vendor dialects beyond ``generic``, which every kind accepts.
        sample_config: Path, relative to the repository root, of the kind's annotated sample.
        asks_host: The kind's devices ask the centre questions (host query), so the gateway
            subscribes to answers.
        default_dialect: The dialect of a device whose inventory entry names none.
    """

    description: str
    options_model: str
    runner: str
    schemes: tuple[str, ...]
    dialects: tuple[str, ...]
    sample_config: str
    asks_host: bool = False
    default_dialect: str = "generic"

    @property
    def allowed_dialects(self) -> tuple[str, ...]:
        return ("generic", *(name for name in self.dialects if name != "generic"))


_ASTM_DIALECTS = tuple(
    sorted(
        p.stem.replace("_", "-")
        for p in (Path(__file__).resolve().parents[1] / "adapters/lis_analyzers/dialects").glob(
            "*.toml"
        )
    )
)
"""Read from file names only, so listing kinds imports nothing (see the module docstring)."""

_HL7_DIALECTS = tuple(
    sorted(
        p.stem.replace("_", "-")
        for p in (Path(__file__).resolve().parents[1] / "adapters/lis_analyzers/hl7_dialects").glob(
            "*.toml"
        )
    )
)

DEVICE_KINDS: Mapping[str, KindSpec] = MappingProxyType(
    {
        "serial-scanner": KindSpec(
            description="Barcode scanner on a serial line or TCP that sends one code per line",
            options_model="adapters.scanners.kind:ScannerOptions",
            runner="gateway.devices.run:run_device",
            schemes=("serial", "tcp", "listen"),
            dialects=(),
            sample_config="adapters/scanners/sample.toml",
        ),
        "hl7-analyzer": KindSpec(
            description="Lab analyzer, middleware or LIS link sending HL7 v2 results over MLLP",
            options_model="adapters.lis_analyzers.kind:Hl7AnalyzerOptions",
            runner="gateway.devices.run:run_device",
            schemes=("listen", "tcp", "serial"),
            dialects=("auto", *_HL7_DIALECTS),
            default_dialect="auto",
            sample_config="adapters/lis_analyzers/sample.toml",
        ),
        "astm-analyzer": KindSpec(
            description="Lab analyzer sending ASTM E1394 results (E1381 framed or bare records), "
            "asking for orders by barcode",
            options_model="adapters.lis_analyzers.astm_kind:AstmAnalyzerOptions",
            runner="gateway.devices.run:run_device",
            schemes=("serial", "listen", "tcp"),
            dialects=("auto", *_ASTM_DIALECTS),
            sample_config="adapters/lis_analyzers/astm_sample.toml",
            asks_host=True,
        ),
        "intellivue-monitor": KindSpec(
            description="Philips IntelliVue monitor polled over Data Export "
            "(MIB/RS232 serial or LAN UDP)",
            options_model="adapters.monitors.intellivue_kind:IntelliVueOptions",
            runner="gateway.devices.run:run_device",
            schemes=("serial", "udp"),
            dialects=(),
            sample_config="adapters/monitors/intellivue_sample.toml",
        ),
        "hl7-monitor": KindSpec(
            description="Bedside monitor or central station sending IHE PCD-01/PCD-04 over MLLP",
            options_model="adapters.monitors.kind:Hl7MonitorOptions",
            runner="gateway.devices.run:run_device",
            schemes=("listen", "tcp", "serial"),
            dialects=(),
            sample_config="adapters/monitors/sample.toml",
        ),
    }
)


def resolve(import_string: str) -> Any:
    """Import ``"package.module:attribute"`` and return the attribute.

    Typed ``Any`` because only the caller knows what it asked for (a model, a runner).

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


_DECLARATIONS: Mapping[str, str] = MappingProxyType(
    {
        "serial-scanner": "adapters.scanners.kind:KIND",
        "intellivue-monitor": "adapters.monitors.intellivue_kind:KIND",
        "astm-analyzer": "adapters.lis_analyzers.astm_kind:KIND",
        "hl7-analyzer": "adapters.lis_analyzers.kind:KIND",
        "hl7-monitor": "adapters.monitors.kind:KIND",
    }
)


def device_kind(name: str) -> DeviceKind:
    """The declaration of kind ``name``, imported on first use.

    Raises:
        KeyError: no such kind.
        ImportError: its declaration does not import, or is not a :class:`DeviceKind`.
    """
    declaration = resolve(_DECLARATIONS[name])
    if not isinstance(declaration, DeviceKind):
        raise ImportError(f"{_DECLARATIONS[name]!r} is not a DeviceKind")
    return declaration


def options_model_of(kind: str) -> type[BaseModel]:
    """Return the options model of ``kind``, importing its module on first use.

    Raises:
        KeyError: ``kind`` is not registered.
        ImportError: the model cannot be imported or is not a pydantic model.
    """
    spec = DEVICE_KINDS[kind]
    model = resolve(spec.options_model)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ImportError(f"{spec.options_model!r} is not a pydantic model")
    return model
