from __future__ import annotations

import re

import pytest

from drivers import registry
from drivers.base import InvalidUrlError


def test_roles_by_scheme() -> None:
    assert registry.accepts_connections("listen://0.0.0.0:7001")
    assert not registry.accepts_connections("TCP://10.0.0.1:7001")
    with pytest.raises(InvalidUrlError, match="no scheme"):
        registry.accepts_connections("/dev/ttyUSB0")


async def test_unknown_or_misplaced_schemes_name_the_allowed_ones() -> None:
    with pytest.raises(InvalidUrlError, match=r"allowed: serial://, tcp://, listen://"):
        await registry.open_stream("hid://scanner")
    with pytest.raises(InvalidUrlError):
        await registry.open_stream("listen://0.0.0.0:7001")
    with pytest.raises(InvalidUrlError):
        registry.open_listener("tcp://10.0.0.1:7001")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("serial:///dev/ttyUSB0?baudrate=96000", "has baudrate='96000'; allowed: an integer"),
        ("tcp://10.0.4.21:7001/path", "has a path or query; expected tcp://host:port"),
        ("modbus+rtu:///dev/ttyUSB0?unit=3", "uses modbus+rtu://, which is not supported yet"),
    ],
)
async def test_what_config_check_refuses_is_never_opened(url: str, message: str) -> None:
    with pytest.raises(InvalidUrlError, match=re.escape(f"{url!r} {message}")):
        await registry.open_stream(url)
