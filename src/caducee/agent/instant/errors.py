"""Errors of the workstation's MISS client (the server's refusals stay ``ServerError``).

AgentError
 └── InstantClientError
      ├── DeviceFileError        the device keys file cannot be read or written
      ├── NotConnected           no identity loaded: the client cannot act for the person
      ├── UnknownCaseMessage     no such message in the case (or not readable here)
      ├── NotYourMessage         an edit or a deletion of someone else's message
      ├── MessageTooLarge        a payload bigger than one MISS message carries
      └── InvalidCaseInput       a form or command value that cannot be sent
"""

from __future__ import annotations

from caducee.agent.errors import AgentError

__all__ = [
    "DeviceFileError",
    "InstantClientError",
    "InvalidCaseInput",
    "MessageTooLarge",
    "NotConnected",
    "NotYourMessage",
    "UnknownCaseMessage",
]


class InstantClientError(AgentError):
    code = "miss-client-error"


class DeviceFileError(InstantClientError):
    code = "miss-device-file"


class NotConnected(InstantClientError):
    code = "miss-not-connected"


class UnknownCaseMessage(InstantClientError):
    code = "miss-unknown-message"


class NotYourMessage(InstantClientError):
    code = "miss-not-your-message"


class MessageTooLarge(InstantClientError):
    code = "miss-message-too-large"


class InvalidCaseInput(InstantClientError):
    code = "miss-invalid-input"
