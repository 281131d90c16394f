"""Devices at runtime: the per-device supervisor and the call that runs one device."""
