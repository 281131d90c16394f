"""Independent implementations of our protocols, used as peers and oracles in tests and bench."""
