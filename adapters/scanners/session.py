"""One scanner connection as a device session: lines in, identifications out.

A scanner has no protocol answer: it cannot be told to resend. So a scan that cannot be decoded
is logged (without its content, which may be a CCCD QR) and counted with its bytes, and a scan
the store refuses is lost, logged and counted by the gateway; the session keeps reading.
"""

from __future__ import annotations

import logging

from adapters.scanners.decode import decode_scan
from adapters.scanners.errors import ScanDecodeError
from adapters.scanners.lines import LineSplitter, OverlongScan, Terminator
from adapters.session import Rejected, SessionBase, Store

log = logging.getLogger(__name__)


class ScanSession(SessionBase):
    def __init__(
        self, device_id: str, encoding: str, terminator: Terminator, max_length: int
    ) -> None:
        super().__init__()
        self._device_id = device_id
        self._encoding = encoding
        self._lines = LineSplitter(terminator, max_length)

    def receive_data(self, data: bytes, now: float) -> None:
        for item in self._lines.receive_data(data):
            if isinstance(item, OverlongScan):
                log.warning(
                    "scanner %s: scan over %d bytes dropped", self._device_id, item.max_length
                )
                self._emit(Rejected("overlong"))
            else:
                self._take(item)

    def _take(self, scan: bytes) -> None:
        try:
            event = decode_scan(scan, self._encoding)
        except ScanDecodeError as exc:
            log.warning("scanner %s: scan rejected (%s)", self._device_id, exc.reason)
            self._emit(Rejected(exc.reason, scan))
            return
        self._emit(Store([event], raw=scan))
