"""Dependencies point one way (DESIGN.md): codecs stay sans-IO, the store stays ignorant."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level modules it must never import
FORBIDDEN = {
    "adapters": {"gateway", "drivers", "edge_store", "asyncio", "socket", "serial", "tests"},
    "drivers": {"gateway", "adapters", "edge_store", "tests"},
    "edge_store": {"gateway", "adapters", "drivers", "tests"},
    "gateway": {"tests"},
}


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


FAMILIES = ["lis_analyzers", "monitors", "scanners"]


@pytest.mark.parametrize("family", FAMILIES)
def test_device_families_do_not_import_each_other(family: str) -> None:
    """Shared readers live in protocol packages (adapters/hl7, adapters/astm), not a sibling."""
    others = {f"adapters.{other}" for other in FAMILIES if other != family}
    offenders = {}
    for path in (ROOT / "adapters" / family).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        bad = sorted(m for m in modules if any(m.startswith(o) for o in others))
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def test_shipped_code_never_uses_asyncio_wait_for() -> None:
    """On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that lands as its inner
    await completes: a device runner then kept serving after SIGTERM (docs/reliability.md).
    ``async with asyncio.timeout(...)`` does not; this keeps the bug from coming back.
    """
    offenders = []
    for package in ("gateway", "drivers", "adapters", "edge_store"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr == "wait_for":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# What the gateway may use of adapters/: the device-kind contract and the canonical model. Every
# parser, link, dialect and mapper stays behind a kind's declaration (ADR 0018).
GATEWAY_MAY_IMPORT_FROM_ADAPTERS = (
    "adapters.session",
    "adapters.kind",
    "adapters.canonical",
    "adapters.astm.unread",  # the Position type of unread-field counts (a metric and a status)
)


def test_protocol_parsing_lives_only_in_adapters() -> None:
    """No per-kind read loop, record parser, dialect choice or message mapper in gateway/."""
    offenders = {}
    for path in (ROOT / "gateway").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        } | {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        bad = sorted(
            module
            for module in modules
            if module.split(".")[0] == "adapters"
            and not any(
                module == allowed or module.startswith(allowed + ".")
                for allowed in GATEWAY_MAY_IMPORT_FROM_ADAPTERS
            )
        )
        if bad:
            offenders[str(path.relative_to(ROOT))] = bad
    assert offenders == {}


def module_file(name: str) -> Path | None:
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def gateway_imports(path: Path) -> set[str]:
    """Gateway modules ``path`` imports anywhere, lazy imports in functions included."""
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            named.add(node.module)
            # ``from gateway.x import y`` may import the module gateway.x.y
            named.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in named if name.split(".")[0] == "gateway" and module_file(name)}


def import_closure(start: str) -> set[str]:
    reached: set[str] = set()
    pending = [start]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        parts = name.split(".")
        # importing a.b.c runs a/__init__.py and a/b/__init__.py first
        pending.extend(".".join(parts[:depth]) for depth in range(1, len(parts)))
        path = module_file(name)
        assert path is not None, name
        pending.extend(gateway_imports(path))
    return reached


def test_the_gateway_daemon_never_imports_the_central_consumer() -> None:
    """The consumer (gateway/central/) runs at the centre: its code and its dependencies must
    not ride along into the edge process (issue 13).
    """
    reached = import_closure("gateway.daemon")
    assert "gateway.forwarding.forwarder" in reached, "the walk did not follow the imports"
    assert sorted(name for name in reached if name.startswith("gateway.central")) == []
