"""ASTM E1381/E1394 (CLSI LIS1-A/LIS2-A2) for lab analyzers: link layer and records, sans-IO."""
