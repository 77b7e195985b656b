"""The workstation's MISS client (issue #8): the agent's own device and the person's cases.

- :mod:`.device`: the device keys (made once, sealed to the person's certificate in the agent
  folder), their registration and the device's login;
- :mod:`.peers`: other people's devices, checked against their certificates and the log;
- :mod:`.cipher`: the sender-key group with a fresh generation per session, keys sealed to
  this device too, and the scheduled rotation;
- :mod:`.case`: one case (sync, share keys, send, edit, delete, read, acknowledge);
- :mod:`.timeline`: what a person reads (edits, deletions, replies, receipts folded);
- :mod:`.export`: the transcript sent to the patient's record by Caducée mail;
- :mod:`.client`: the entry point, :class:`InstantClient`.
"""

from caducee.agent.instant.client import InstantClient

__all__ = ["InstantClient"]
