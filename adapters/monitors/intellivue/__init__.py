"""Philips IntelliVue Data Export, spoken directly (PROTOCOLS §9), sans-IO.

For monitors without an HL7 gateway. The reference is the Philips "Data Export Interface
Programming Guide" (4535 642 59271), as reproduced in public code; the corpus files
``intellivue_data_export_*`` hold a real Connect Indication and the host request PDUs.

Modules, one job each: :mod:`floats` (IEEE 11073 FLOAT-Type), :mod:`framing` (MIB/RS232
frames), :mod:`wire` (big-endian reader), :mod:`nomenclature` (protocol numbers),
:mod:`attributes` (attribute lists and values), :mod:`association` (session-layer PDUs),
:mod:`pdu` (remote operations: event reports, polls, results), :mod:`agent_pdus` (the
monitor's side, for the simulator), :mod:`connect` (the LAN Connect Indication), :mod:`codes`
(physio ids and units to MDC and UCUM), :mod:`session` (the host's state machine), with
:mod:`session_inputs` (PDUs named as its inputs), :mod:`session_polls` (poll numbering and
results) and :mod:`session_events` (what it reports), and :mod:`events` (to the canonical
events).
"""
