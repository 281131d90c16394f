"""Retained gateway status with a last will, and retained per-device status."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.e2e.harness import PYTHON, _env, wait_for, write_config
from tests.hardware_sim.broker import Mosquitto

BASE = "wardlink/test-site/icu-1/gw-1"


class StatusWatcher:
    """Records every status message, retained ones included, as a fresh subscriber sees them."""

    def __init__(self, broker: Mosquitto) -> None:
        self.seen: list[tuple[str, dict[str, Any], bool]] = []
        self._lock = threading.Lock()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_message = self._on_message
        self._client.connect(broker.host, broker.port)
        self._client.subscribe([(f"{BASE}/status", 1), (f"{BASE}/device/+/status", 1)])
        self._client.loop_start()

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.seen.append((message.topic, json.loads(message.payload), message.retain))

    def states(self, topic: str) -> list[str]:
        with self._lock:
            return [payload["state"] for t, payload, _ in self.seen if t == topic]

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def test_status_is_retained_and_the_will_says_offline(tmp_path: Path, mosquitto: Mosquitto) -> None:
    config = write_config(tmp_path, mosquitto.url)
    watcher = StatusWatcher(mosquitto)
    try:
        gateway = subprocess.Popen(
            [PYTHON, "-m", "gateway", "run", "--config", str(config)],
            env=_env(),
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: watcher.states(f"{BASE}/status")[-1:] == ["online"], 20, "online")
        wait_for(
            lambda: watcher.states(f"{BASE}/device/dev-1/status") == ["disabled"],
            20,
            "device status",
        )
        gateway.send_signal(signal.SIGKILL)  # no goodbye: only the broker's will can say it
        gateway.wait()
        wait_for(lambda: watcher.states(f"{BASE}/status")[-1:] == ["offline"], 20, "will")
    finally:
        watcher.close()

    # A subscriber arriving later still learns both facts from the retained messages.
    late = StatusWatcher(mosquitto)
    try:
        wait_for(lambda: len(late.seen) == 2, 20, "retained status")
        assert sorted(
            (topic, payload["state"], retained) for topic, payload, retained in late.seen
        ) == [
            (f"{BASE}/device/dev-1/status", "disabled", True),
            (f"{BASE}/status", "offline", True),
        ]
    finally:
        late.close()
