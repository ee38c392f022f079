"""Naming rules shared by the contracts (``schemas_admin``) and the events (``events``) apps.

They live here, below both apps, so that neither has to import the other for them.
"""

# An event's name, which is also the name of its contract.
EVENT_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_.\-]{0,127}$"
