"""What accounts announces to the rest of the platform, without knowing who listens.

``device_revoked`` is sent after the revocation commits, with ``user_id`` and ``device_id``: the stream
listens and closes that device's open sockets (``moods.stream.revocation``).
``device_mode_changed`` is sent after a device's mode (where its frames are read) changed and
committed, with ``user_id``, ``device_id`` and ``mode``: its open sockets switch (``moods.stream.revocation``).
"""

from __future__ import annotations

from django.dispatch import Signal

device_revoked = Signal()
device_mode_changed = Signal()
