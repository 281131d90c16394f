"""Options every HL7-over-MLLP device kind shares (analyzers, monitors)."""

from __future__ import annotations

from pydantic import ConfigDict, Field, FilePath, model_validator

from adapters.zones import ZoneOptions


class Hl7LinkOptions(ZoneOptions):
    """How an MLLP connection is served: sizes, timeouts, charset trust, ACK identity, TLS."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    accept: tuple[str, ...] = Field(
        default=(), description="message types taken; others are answered AR"
    )
    max_message_kb: int = Field(default=1024, ge=1, le=65536)
    idle_timeout_s: float = Field(
        default=600.0, gt=0, description="close a connection silent for this long"
    )
    read_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="a started message must be complete within this, from its start block "
        "(a deadline per message, not per read); else the connection is closed",
    )
    max_connections: int = Field(
        default=16,
        ge=1,
        le=256,
        description="listen://: peers connected at once; at the cap the quietest connection "
        "is closed for a new one (or the new one refused when all are busy)",
    )
    trust_msh18: bool = Field(
        default=True, description="false: always decode with the device's `encoding`"
    )
    sending_application: str = Field(default="WARDLINK", description="MSH-3 of our ACKs")
    sending_facility: str = Field(default="", description="MSH-4 of our ACKs")
    tls_cert_file: FilePath | None = Field(default=None, description="our certificate")
    tls_key_file: FilePath | None = None
    tls_peer_ca_file: FilePath | None = Field(
        default=None,
        description="CA of the peer's certificate: on listen://, client certificates signed by "
        "it are required; on tcp://, the server's certificate is checked against it",
    )

    @model_validator(mode="after")
    def _tls_complete(self) -> Hl7LinkOptions:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            msg = "tls_cert_file and tls_key_file go together"
            raise ValueError(msg)
        return self

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None or self.tls_peer_ca_file is not None
