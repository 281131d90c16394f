"""Protocol numbers of the Data Export protocol, named as the Programming Guide names them.

Sources: Programming Guide sections "Protocol Command Structure", "Attribute Data Types and
Constants" and "Nomenclature" as reproduced in public code (somno/einstein ``const.py``,
part-cw/LNhealth ``constants.scm``, a C header of the guide for the MP70), and PROTOCOLS §9.
"""

from __future__ import annotations

from typing import Final

# Ports (Programming Guide, via somno/einstein: PIPG-279 and PIPG-29).
CONNECT_INDICATION_PORT: Final = 24005
DATA_EXPORT_PORT: Final = 24105

# Session headers (first byte of an association-control PDU; 0xE1 starts data export).
CN_SPDU: Final = 0x0D  # Association Request
AC_SPDU: Final = 0x0E  # Association Result: accepted
RF_SPDU: Final = 0x0C  # Association Result: refused
FN_SPDU: Final = 0x09  # Release Request
DN_SPDU: Final = 0x0A  # Release Result
AB_SPDU: Final = 0x19  # Abort
DATA_EXPORT_SESSION_ID: Final = 0xE100
DATA_EXPORT_CONTEXT_ID: Final = 2

# Remote operation types and commands.
ROIV_APDU: Final = 1
RORS_APDU: Final = 2
ROER_APDU: Final = 3
ROLRS_APDU: Final = 5
CMD_EVENT_REPORT: Final = 0
CMD_CONFIRMED_EVENT_REPORT: Final = 1
CMD_GET: Final = 3
CMD_SET: Final = 4
CMD_CONFIRMED_SET: Final = 5
CMD_CONFIRMED_ACTION: Final = 7
RORLS_FIRST: Final = 1
RORLS_NOT_FIRST_NOT_LAST: Final = 2
RORLS_LAST: Final = 3

# Partitions.
NOM_PART_OBJ: Final = 1
NOM_PART_SCADA: Final = 2
NOM_PART_EVT: Final = 3
NOM_PART_DIM: Final = 4

# Object classes.
NOM_MOC_VMO_METRIC_NU: Final = 6
NOM_MOC_VMO_METRIC_SA_RT: Final = 9
NOM_MOC_VMS_MDS: Final = 33
NOM_MOC_VMS_MDS_COMPOS_SINGLE_BED: Final = 35
NOM_MOC_PT_DEMOG: Final = 42
NOM_MOC_VMO_AL_MON: Final = 54

# Events and actions.
NOM_NOTI_MDS_CREAT: Final = 0x0D06
NOM_NOTI_CONN_INDIC: Final = 0x0D17
NOM_ACT_POLL_MDIB_DATA: Final = 0x0C16
NOM_ACT_POLL_MDIB_DATA_EXT: Final = 0xF13B

# Attribute groups.
NOM_ATTR_GRP_ALL: Final = 0
NOM_ATTR_GRP_AL_MON: Final = 0x0801
NOM_ATTR_GRP_METRIC_VAL_OBS: Final = 0x0803
NOM_ATTR_GRP_SYS_PROD: Final = 0x080C
NOM_ATTR_GRP_VMO_STATIC: Final = 0x0811

# Attributes.
NOM_ATTR_AL_MON_P_AL_LIST: Final = 0x0902
NOM_ATTR_AL_MON_T_AL_LIST: Final = 0x0904
NOM_ATTR_DEV_AL_COND: Final = 0x0916
NOM_ATTR_ID_BED_LABEL: Final = 0x091E
NOM_ATTR_ID_HANDLE: Final = 0x0921
NOM_ATTR_ID_LABEL: Final = 0x0924
NOM_ATTR_ID_LABEL_STRING: Final = 0x0927
NOM_ATTR_ID_MODEL: Final = 0x0928
NOM_ATTR_ID_PROD_SPECN: Final = 0x092D
NOM_ATTR_NU_CMPD_VAL_OBS: Final = 0x094B
NOM_ATTR_NU_VAL_OBS: Final = 0x0950
NOM_ATTR_SYS_TYPE: Final = 0x0986
NOM_ATTR_TIME_ABS: Final = 0x0987
NOM_ATTR_TIME_REL: Final = 0x098F
NOM_ATTR_TIME_STAMP_ABS: Final = 0x0990
NOM_ATTR_TIME_STAMP_REL: Final = 0x0991
NOM_ATTR_NET_ADDR_INFO: Final = 0xF100
NOM_ATTR_PCOL_SUPPORT: Final = 0xF101
NOM_ATTR_TIME_PD_POLL: Final = 0xF13E
CONNECT_BED_LABEL: Final = 0xF135
"""Seen in the corpus Connect Indication: the bed label as UTF-16, NUL-padded, no length."""

# Production specification (NOM_ATTR_ID_PROD_SPECN).
SERIAL_NUMBER: Final = 1
PART_NUMBER: Final = 2
SW_REVISION: Final = 4
ID_COMP_PRODUCT: Final = 8  # the component the corpus capture's serial and part number carry

# Measurement state bits of a numeric (Programming Guide "MeasurementState").
INVALID: Final = 0x8000
QUESTIONABLE: Final = 0x4000
UNAVAILABLE: Final = 0x2000
CALIBRATION_ONGOING: Final = 0x1000
TEST_DATA: Final = 0x0800
DEMO_DATA: Final = 0x0400
MSMT_STATE_IN_ALARM: Final = 0x0002
NOT_PATIENT_DATA: Final = INVALID | UNAVAILABLE | CALIBRATION_ONGOING | TEST_DATA | DEMO_DATA

# Alerts (Programming Guide "Alert Monitor Object").
NO_ALERT: Final = 0
LOW_PRI_T_AL: Final = 1
MED_PRI_T_AL: Final = 2
HI_PRI_T_AL: Final = 4
LOW_PRI_P_AL: Final = 256
MED_PRI_P_AL: Final = 512
HI_PRI_P_AL: Final = 1024
AL_NEW_ALERT: Final = 0x0008
GEN_ALMON_INFO: Final = 513
STR_ALMON_INFO: Final = 516
NOM_EVT_HI: Final = 40
NOM_EVT_LO: Final = 62
NOM_EVT_DESAT: Final = 3246

# MDSEUserInfoStd (association user data).
MDDL_VERSION1: Final = 0x80000000
NOMEN_VERSION: Final = 0x40000000
SYST_CLIENT: Final = 0x80000000
SYST_SERVER: Final = 0x00800000
COLD_START: Final = 0x20000000
NOM_POLL_PROFILE_SUPPORT: Final = 1
POLL_PROFILE_REV_0: Final = 0x80000000
P_OPT_DYN_CREATE_OBJECTS: Final = 0x40000000
P_OPT_DYN_DELETE_OBJECTS: Final = 0x20000000
NOM_ATTR_POLL_PROFILE_EXT: Final = 0xF001
POLL_EXT_PERIOD_NU_1SEC: Final = 0x80000000
POLL_EXT_PERIOD_RTSA: Final = 0x08000000
POLL_EXT_OPTIONS_CORPUS: Final = 0x8C000000
"""The corpus ``aarq_msg`` asks for NU_1SEC, RTSA and bit 0x04000000 (not named in our sources)."""

RELATIVE_TICKS_PER_SECOND: Final = 8000  # RelativeTime counts 1/8 ms
