"""Errors of the MISS server side (roles, devices, cases), messages French then English.

    CaduceeError
     └── InstantError
          ├── InvalidInstantRequest   a request that breaks the rules (bad shift, bad kind)
          ├── UnknownUnit             no such service or role
          ├── NobodyOnDuty            a role nobody can be reached for, not even its service
          ├── UnknownDevice           not one of the caller's devices
          ├── DeviceRevoked           a revoked device: it sends and receives nothing
          ├── DeviceTaken             a device id already registered
          ├── UnknownParticipant      an address the directory has no active mailbox for
          ├── CaseNotFound            no such case, or the caller is not in it (never 403)
          └── MessageReplayed         a message id already used for other bytes

The HTTP statuses are chosen in :mod:`caducee.server.domain_problems`.
"""

from __future__ import annotations

from caducee.errors import CaduceeError

__all__ = [
    "CaseNotFound",
    "DeviceRevoked",
    "DeviceTaken",
    "InstantError",
    "InvalidInstantRequest",
    "MessageReplayed",
    "NobodyOnDuty",
    "UnknownDevice",
    "UnknownParticipant",
    "UnknownUnit",
]


class InstantError(CaduceeError):
    code = "instant-error"


class InvalidInstantRequest(InstantError):
    code = "instant-invalid-request"


class UnknownUnit(InstantError):
    code = "instant-unknown-unit"


class NobodyOnDuty(InstantError):
    code = "instant-nobody-on-duty"


class UnknownDevice(InstantError):
    code = "instant-unknown-device"


class DeviceRevoked(InstantError):
    code = "instant-device-revoked"


class DeviceTaken(InstantError):
    code = "instant-device-taken"


class UnknownParticipant(InstantError):
    code = "instant-unknown-participant"

    def __init__(self, message: str, addresses: list[str]) -> None:
        super().__init__(message)
        self.addresses = addresses


class CaseNotFound(InstantError):
    code = "instant-case-not-found"


class MessageReplayed(InstantError):
    code = "instant-message-replayed"
