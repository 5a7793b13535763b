"""Pure rules: functions of state and an explicit ``now``, no I/O.

They are what the property-based tests exercise and what the services compose.
"""
