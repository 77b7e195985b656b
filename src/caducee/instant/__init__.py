"""MISS: the end-to-end cryptographic core, and the server's side of it (roles, devices, cases).

The crypto core is a pure library (DESIGN.md §3): it imports ``caducee.errors``,
``caducee.crypto`` and ``cryptography`` only, never the store, the server, the agent or the
settings. The hazardous parts (HPKE suites, the ratchet's KDF steps, the wire encoding) live in
underscore modules; callers use :mod:`.device_keys`, :mod:`.group_cipher` and
:mod:`.sender_keys`. The domain side (``models``, ``oncall``, ``roles``, ``devices``,
``cases``, ``escalation``) uses :mod:`caducee.store` and the evidence log, never the server.
"""
