"""Configuration: the TOML settings, the device inventory, their checks and errors."""
