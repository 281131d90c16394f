"""One IntelliVue line as a device session (``adapters/session.py``): the gateway polls.

Wraps the association (:class:`~adapters.monitors.intellivue.session.IntelliVueSession`) and,
on a byte stream (MIB/RS232), the frame decoder: a serial line carries every PDU in a frame, a
UDP datagram is one bare PDU, so what goes out is one item per PDU either way and datagrams keep
their boundaries. The session speaks first (the Association Request at :meth:`start`) and always
has a deadline of its own while connected (a poll, a keep-alive, the watchdog, a retry), so the
loop's idle timeout never applies; only after :meth:`close` has released the association is the
deadline ``None``.

Numerics pass the device's rate policy, shared by all its connections so thinning carries over
a new line; alarms are never thinned. A monitor cannot be asked to send a value again, so a
:class:`~adapters.session.Store` carries no ticket: what the store refuses is counted by the
gateway and polling goes on. Unreadable frames and PDUs are rejected input, with their bytes.
"""

from __future__ import annotations

import logging
from datetime import tzinfo

from adapters.canonical.events import DeviceState
from adapters.kind import Capability
from adapters.monitors.intellivue.events import alarms_from_changes, vitals_from_numerics
from adapters.monitors.intellivue.framing import Frame, FrameDecoder, encode_frame
from adapters.monitors.intellivue.session import IntelliVueSession, SessionConfig
from adapters.monitors.intellivue.session_events import (
    Alarms,
    Associated,
    Lost,
    Numerics,
    PduRejected,
    SessionEvent,
)
from adapters.monitors.rate import RatePolicy
from adapters.session import Rejected, SessionBase, StateChanged, Store

log = logging.getLogger(__name__)


class IntelliVueDeviceSession(SessionBase):
    """One connection to one monitor; ``policy`` is the device's, shared across connections."""

    def __init__(
        self,
        device_id: str,
        config: SessionConfig,
        *,
        capability: Capability,
        policy: RatePolicy,
        zone: tzinfo,
        bed: str | None = None,
        frame_header: bool = True,
    ) -> None:
        super().__init__()
        self._device_id = device_id
        self._session = IntelliVueSession(config, bed_label=bed)
        self._decoder = None if capability == "datagram" else FrameDecoder()
        self._frame_header = frame_header
        self._policy = policy
        self._zone = zone

    def start(self, now: float) -> None:
        self._session.start(now)
        self._pump(now)

    def receive_data(self, data: bytes, now: float) -> None:
        if self._decoder is None:
            self._session.receive_pdu(data, now)
        else:
            for item in self._decoder.receive_data(data):
                if isinstance(item, Frame):
                    self._session.receive_pdu(item.pdu, now)
                else:
                    self._emit(Rejected(item.reason, item.data))
        self._pump(now)

    def handle_timeout(self, now: float) -> None:
        self._session.handle_timeout(now)
        self._pump(now)

    def next_deadline(self) -> float | None:
        return self._session.next_deadline()

    def close(self, now: float) -> bool:
        """Ask the monitor to release; the loop waits for the answer while a deadline stands."""
        self._session.close(now)
        self._pump(now)
        return True

    def _pump(self, now: float) -> None:
        for pdu in self._session.pdus_to_send():
            if self._decoder is None:
                self._send(pdu)
            else:
                self._send(encode_frame(pdu, with_header=self._frame_header))
        for event in self._session.events():
            self._take(event, now)

    def _take(self, event: SessionEvent, now: float) -> None:
        if isinstance(event, Numerics):
            vitals = self._policy.apply(vitals_from_numerics(event, local_zone=self._zone), now)
            if vitals is not None:
                self._emit(Store([vitals]))
        elif isinstance(event, Alarms):
            alarms = list(alarms_from_changes(event, local_zone=self._zone))
            if alarms:
                self._emit(Store(alarms))
        elif isinstance(event, Associated):
            log.info("device %s: associated", self._device_id)
            self._emit(StateChanged(DeviceState.CONNECTED, "associated"))
        elif isinstance(event, Lost):
            log.warning(
                "device %s: association lost (%s); associating again",
                self._device_id,
                event.reason,
            )
            self._emit(StateChanged(DeviceState.DISCONNECTED, event.reason))
        elif isinstance(event, PduRejected):
            self._emit(Rejected(event.reason, event.data))
        # Released only follows close(): the connection is ending, nothing left to report.
