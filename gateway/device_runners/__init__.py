"""Device runners: the one place bytes from a transport meet an adapter's codec.

A runner opens its device through ``drivers.registry``, feeds the bytes to the kind's sans-IO
codec and hands the resulting canonical events to the :class:`gateway.intake.Intake`.
"""
