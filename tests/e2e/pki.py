"""A throwaway PKI for TLS tests, made with the openssl command line."""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_pki(directory: Path, clients: dict[str, str] | None = None) -> dict[str, Path]:
    """A throwaway CA with a server certificate for 127.0.0.1 and client certificates.

    ``clients`` maps a file name to the certificate's CN (default: ``client``, CN
    ``wardlink-client``); a ``/`` in a CN is kept as part of the name.
    """
    clients = clients or {"client": "wardlink-client"}
    directory.mkdir()

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    )
    subjects = {"server": ("wardlink-server", "subjectAltName=IP:127.0.0.1")}
    subjects |= {name: (cn, "") for name, cn in clients.items()}
    for name, (cn, extra) in subjects.items():
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=" + cn.replace("/", "\\/"),
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
        )
        ext = directory / f"{name}.ext"
        ext.write_text(extra + "\n")
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            f"{name}.crt",
            "-extfile",
            str(ext),
        )
    names = ["ca.crt", *(f"{name}.{ext}" for name in subjects for ext in ("crt", "key"))]
    return {name: directory / name for name in names}
