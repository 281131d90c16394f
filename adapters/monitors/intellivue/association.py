"""Association control: the session-layer PDUs that open and close a Data Export association.

Association Request, Release Request/Result and Abort are mostly fixed ISO session and
presentation envelopes that the Programming Guide publishes byte for byte ("Definition of the
Association Control Protocol"; the corpus ``intellivue_data_export_host_request_pdus.hex.txt``
holds them as captured from VSCaptureMP). Only the ``MDSEUserInfoStd`` inside the request and
result carries meaning: protocol and nomenclature versions, client or server, and the poll
profile (minimum poll period, MTUs, extended-poll options). The first byte tells the PDU
(:data:`~.nomenclature.CN_SPDU` …); the user information follows the marker ``BE 80 28 80``,
then an optional ``02 01 02`` and ``81`` + length (PROTOCOLS §9 note on the Association
Response; our sources say the response ends with 16 zero bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.monitors.intellivue import nomenclature as nom
from adapters.monitors.intellivue.attributes import (
    Attribute,
    encode_attribute_list,
    find,
    read_attribute_list,
)
from adapters.monitors.intellivue.wire import PduError, Reader, u32

_SESSION_PARAMETERS = bytes.fromhex("0508130100160102800014020002")
_REQUEST_PRESENTATION = bytes.fromhex(
    "3180a0808001010000a280a003000001a4803080020101060452010001308006025101000000003080020102"
    "060c2a8648ce14020100000001013080060c2a8648ce14020100000002010000000000006180308002010"
    "1a0806080a180060c2a8648ce14020100000003010000be802880060c2a8648ce1402010000000101020102"
)
# Shaped like the request's (presentation accept, AARE, then the same user-data marker);
# only the simulator sends it, and a host reads only the session byte and the user info.
_RESPONSE_PRESENTATION = bytes.fromhex(
    "3180a0808001010000a280a003000001a5803080800100810251010000000061803080020101a080"
    "6180a180060c2a8648ce140201000000030100a203020100a305a103020100be802880020102"
)
_USER_INFO_TAG = 0x81
_TRAILER = bytes(16)
_USER_DATA_TAG = 0xC1
_RELEASE_BODY = bytes.fromhex("c11661803080020101a08062808001000000000000000000")
_RELEASE_RESULT_BODY = bytes.fromhex("c11661803080020101a08063808001000000000000000000")
_ABORT_BODY = bytes.fromhex(
    "110103c129a080a0803080020101060251010000000061803080020101a080648080010100000000000000000000"
)
USER_INFO_MARKER = bytes.fromhex("be802880")


@dataclass(frozen=True, slots=True)
class PollProfile:
    """``PollProfileSupport`` (+ the ``PollProfileExt`` package when present)."""

    min_poll_period: int = 2500  # RelativeTime ticks (1/8 ms); the corpus request asks 0.3125 s
    max_mtu_rx: int = 2500
    max_mtu_tx: int = 1000
    max_bw_tx: int = 0xFFFFFFFF
    options: int = nom.P_OPT_DYN_CREATE_OBJECTS | nom.P_OPT_DYN_DELETE_OBJECTS
    ext_options: int | None = nom.POLL_EXT_OPTIONS_CORPUS
    revision: int = nom.POLL_PROFILE_REV_0

    @property
    def min_poll_period_s(self) -> float:
        return self.min_poll_period / nom.RELATIVE_TICKS_PER_SECOND


@dataclass(frozen=True, slots=True)
class UserInfo:
    """``MDSEUserInfoStd``."""

    system_type: int = nom.SYST_CLIENT
    poll_profile: PollProfile | None = PollProfile()
    protocol_version: int = nom.MDDL_VERSION1
    nomenclature_version: int = nom.NOMEN_VERSION
    functional_units: int = 0
    startup_mode: int = nom.COLD_START


@dataclass(frozen=True, slots=True)
class AssociationRequest:
    user_info: UserInfo


@dataclass(frozen=True, slots=True)
class AssociationAccepted:
    user_info: UserInfo | None


@dataclass(frozen=True, slots=True)
class AssociationRefused:
    pass


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    pass


@dataclass(frozen=True, slots=True)
class ReleaseResult:
    pass


@dataclass(frozen=True, slots=True)
class Abort:
    pass


AssociationPdu = (
    AssociationRequest
    | AssociationAccepted
    | AssociationRefused
    | ReleaseRequest
    | ReleaseResult
    | Abort
)


def encode_user_info(info: UserInfo) -> bytes:
    profiles = []
    if info.poll_profile is not None:
        profiles.append(Attribute(nom.NOM_POLL_PROFILE_SUPPORT, _poll_profile(info.poll_profile)))
    return (
        u32(info.protocol_version)
        + u32(info.nomenclature_version)
        + u32(info.functional_units)
        + u32(info.system_type)
        + u32(info.startup_mode)
        + encode_attribute_list(())
        + encode_attribute_list(profiles)
    )


def _poll_profile(profile: PollProfile) -> bytes:
    packages = []
    if profile.ext_options is not None:
        ext = u32(profile.ext_options) + encode_attribute_list(())
        packages.append(Attribute(nom.NOM_ATTR_POLL_PROFILE_EXT, ext))
    return (
        u32(profile.revision)
        + u32(profile.min_poll_period)
        + u32(profile.max_mtu_rx)
        + u32(profile.max_mtu_tx)
        + u32(profile.max_bw_tx)
        + u32(profile.options)
        + encode_attribute_list(packages)
    )


def decode_user_info(data: bytes) -> UserInfo:
    reader = Reader(data)
    protocol, nomenclature, units, system, startup = (reader.u32() for _ in range(5))
    read_attribute_list(reader)  # option list: no options are defined
    profile_value = find(read_attribute_list(reader), nom.NOM_POLL_PROFILE_SUPPORT)
    profile = _read_poll_profile(profile_value) if profile_value is not None else None
    return UserInfo(system, profile, protocol, nomenclature, units, startup)


def _read_poll_profile(value: bytes) -> PollProfile:
    reader = Reader(value)
    revision, period, rx, tx, bandwidth, options = (reader.u32() for _ in range(6))
    ext_value = find(read_attribute_list(reader), nom.NOM_ATTR_POLL_PROFILE_EXT)
    ext = Reader(ext_value).u32() if ext_value is not None else None
    return PollProfile(period, rx, tx, bandwidth, options, ext, revision)


def _li(length: int) -> bytes:
    """Session length indicator: one byte up to 254, else ``FF`` and two bytes."""
    return bytes((length,)) if length <= 254 else b"\xff" + length.to_bytes(2, "big")


def _read_li(reader: Reader) -> int:
    first = reader.u8()
    return reader.u16() if first == 0xFF else first


def _with_user_info(session: int, presentation: bytes, info: UserInfo) -> bytes:
    user_info = encode_user_info(info)
    user_data = presentation + bytes((_USER_INFO_TAG,)) + _li(len(user_info)) + user_info
    user_data += _TRAILER
    body = _SESSION_PARAMETERS + bytes((_USER_DATA_TAG,)) + _li(len(user_data)) + user_data
    return bytes((session,)) + _li(len(body)) + body


def encode_association_request(info: UserInfo | None = None) -> bytes:
    """The host's Association Request; with the defaults, the corpus ``aarq_msg`` bytes."""
    return _with_user_info(nom.CN_SPDU, _REQUEST_PRESENTATION, info or UserInfo())


def encode_association_result(info: UserInfo) -> bytes:
    """A monitor's Association Result (accepted), for the simulator."""
    return _with_user_info(nom.AC_SPDU, _RESPONSE_PRESENTATION, info)


def encode_association_refused() -> bytes:
    return bytes((nom.RF_SPDU, 0))


def encode_release_request() -> bytes:
    return bytes((nom.FN_SPDU,)) + _li(len(_RELEASE_BODY)) + _RELEASE_BODY


def encode_release_result() -> bytes:
    return bytes((nom.DN_SPDU,)) + _li(len(_RELEASE_RESULT_BODY)) + _RELEASE_RESULT_BODY


def encode_abort() -> bytes:
    return bytes((nom.AB_SPDU,)) + _li(len(_ABORT_BODY)) + _ABORT_BODY


def is_association_pdu(data: bytes) -> bool:
    return bool(data) and data[0] in _KINDS


def decode_association(data: bytes) -> AssociationPdu:
    """Read an association-control PDU.

    Raises:
        PduError: unknown session byte, a length that lies, or unreadable user information.
    """
    reader = Reader(data)
    session = reader.u8()
    kind = _KINDS.get(session)
    if kind is None:
        raise PduError(f"session byte {session:#04x} is not association control")
    length = _read_li(reader)
    if length > reader.remaining:
        raise PduError(f"session length {length}, {reader.remaining} bytes follow")
    body = reader.take(length)
    if kind is AssociationRequest:
        return AssociationRequest(_user_info_in(body) or UserInfo())
    if kind is AssociationAccepted:
        return AssociationAccepted(_user_info_in(body))
    return _SIMPLE[session]()


def _user_info_in(body: bytes) -> UserInfo | None:
    at = body.find(USER_INFO_MARKER)
    if at < 0:
        return None
    reader = Reader(body, at + len(USER_INFO_MARKER))
    while reader.remaining:
        tag = reader.u8()
        if tag == _USER_INFO_TAG:
            return decode_user_info(reader.take(_read_li(reader)))
        reader.take(reader.u8())  # an OID (06) or the integer 02 01 02 before the user data
    raise PduError("association user information is missing")


_SIMPLE: dict[int, type[AssociationRefused | ReleaseRequest | ReleaseResult | Abort]] = {
    nom.RF_SPDU: AssociationRefused,
    nom.FN_SPDU: ReleaseRequest,
    nom.DN_SPDU: ReleaseResult,
    nom.AB_SPDU: Abort,
}
_KINDS: dict[int, type[AssociationPdu]] = {
    nom.CN_SPDU: AssociationRequest,
    nom.AC_SPDU: AssociationAccepted,
    nom.RF_SPDU: AssociationRefused,
    nom.FN_SPDU: ReleaseRequest,
    nom.DN_SPDU: ReleaseResult,
    nom.AB_SPDU: Abort,
}
