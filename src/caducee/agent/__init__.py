"""The workstation agent: keys, enrolment, outbox → server, server → inbox (``caducee agent``).

It talks to the server only over HTTP (``client``); it never imports ``caducee.server``.
"""

__all__: list[str] = []
