"""HL7 v2: message model, fast parser, escapes, charsets, acknowledgements (sans-IO)."""
