"""Keeping secrets out of sight: credentials redacted from text, secret files checked for mode.

A broker URL may carry ``user:password@`` (the config refuses it, but the refusal must not print
it), and an operator pastes log lines into tickets: every URL's userinfo is masked before a line
is shown. A secret file other users can read is a leaked secret; ``mqtt.readable_secret_files``
says whether the gateway warns (the default, for containers that mount secrets 0444) or refuses
(the shipped systemd unit, where credentials are 0400).
"""

from __future__ import annotations

import logging
import re
import stat
from collections.abc import Iterable
from pathlib import Path

# scheme://userinfo@ — greedy up to the last '@' before the path, so an unescaped '@' in a
# password is masked too.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s?#]*@")
_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def redact(text: str) -> str:
    """``text`` with the userinfo of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", text)


class RedactingFormatter(logging.Formatter):
    """A log formatter that masks URL credentials in the whole line, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def loose_secret_files(named: Iterable[tuple[str, Path | None]]) -> list[str]:
    """One line per secret file that its group or other users may access."""
    lines = []
    for key, path in named:
        if path is None:
            continue
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # unreadable files are reported by the settings' own check
        if mode & _OTHERS:
            lines.append(
                f"{key} {str(path)!r} is accessible to group or others (mode {mode:04o}); "
                f"chmod 600 it"
            )
    return lines
