"""Devices at runtime: the per-device supervisor, the driving loop and the calls that run one."""
