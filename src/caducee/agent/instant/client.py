"""The workstation's MISS client: this device, its session, and the cases it reads.

``InstantClient.open(config, client)`` makes (once) and registers the agent's device
(:mod:`.device`), logs it in, and from then on answers for the person's cases: list them,
create one (participants, then the patient's card as its first message), and hand out one
:class:`.case.CaseState` per case, kept for the life of the process. The first use of a case
replays it from sequence 1 (the sender keys sealed to this device, its own included, are in
the log), so nothing but the device keys file needs to be kept between restarts. Other
people's devices get keys only when a validated certificate proven in the evidence log vouches
for them (:mod:`.peers`), the log key being the one the agent pinned at ``init``.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.agent.instant.case import MAX_TEXT, CaseState
from caducee.agent.instant.cipher import RotationLimits
from caducee.agent.instant.device import DeviceSession, ensure_device
from caducee.agent.instant.errors import InvalidCaseInput, NotConnected
from caducee.agent.instant.peers import PeerDevices
from caducee.agent.ledger_watch import LedgerWatch
from caducee.agent.transparency import CertificateLog
from caducee.agent.trust import make_validator
from caducee.crypto.trust import CertificateValidator
from caducee.instant.device_keys import DeviceKeys
from caducee.instant.payloads import PatientCard, Text

__all__ = ["MAX_PARTICIPANTS", "InstantClient"]

log = logging.getLogger(__name__)
MAX_PARTICIPANTS = 50


class InstantClient:
    """The person's cases, seen from this workstation's device (thread-safe)."""

    def __init__(
        self,
        config: AgentConfig,
        client: ServerClient,
        device: DeviceKeys,
        *,
        validator: CertificateValidator | None = None,
        certificate_log: CertificateLog | None = None,
        limits: RotationLimits | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.device = device
        self.session = DeviceSession(client, device)
        self.peers = PeerDevices(self.session, client, validator, certificate_log=certificate_log)
        self.limits = limits
        self._cases: dict[str, CaseState] = {}
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        config: AgentConfig,
        client: ServerClient | None,
        *,
        limits: RotationLimits | None = None,
    ) -> InstantClient:
        """This workstation's device (made and registered if needed), logged in."""
        if client is None or client.credentials is None:
            raise NotConnected("l'agent n'est pas connecté au serveur / the agent is not connected")
        device = ensure_device(config, client)
        validator = make_validator(config, client)
        # Peers' certificates are proven in the evidence log, as a mail's recipients' are.
        certificate_log = CertificateLog(client, LedgerWatch(config.directory, client).pin_key)
        opened = cls(
            config,
            client,
            device,
            validator=validator,
            certificate_log=certificate_log,
            limits=limits,
        )
        opened.session.login()
        return opened

    @property
    def address(self) -> str:
        return self.device.address

    def cases(self) -> list[dict[str, Any]]:
        """The person's cases (metadata only: participants, escalation)."""
        found: list[dict[str, Any]] = self.session.json("GET", "/cases")["cases"]
        return found

    def case(self, case_id: str) -> CaseState:
        """The state of one case (made on first use; synced by its callers)."""
        with self._lock:
            state = self._cases.get(case_id)
            if state is None:
                state = CaseState(
                    case_id, self.device, self.session, self.peers, limits=self.limits
                )
                self._cases[case_id] = state
            return state

    def create_case(
        self,
        participants: list[str],
        patient: PatientCard,
        first_text: str = "",
        *,
        role: int | None = None,
    ) -> CaseState:
        """A case with ``participants`` and/or a ``role`` (whoever is on duty, then its
        escalation); its first message is the patient's card, sealed to the participants and
        to the escalation's reach (the backup reads it even if this workstation is off)."""
        others = sorted({a.strip().lower() for a in participants if a.strip()} - {self.address})
        if (not others and role is None) or len(others) > MAX_PARTICIPANTS:
            raise InvalidCaseInput(
                "indiquez au moins un participant (50 au plus) ou un rôle / "
                "name one to fifty participants, or a role"
            )
        if not patient.name.strip() or len(first_text) > MAX_TEXT:
            raise InvalidCaseInput("le nom du patient est requis / the patient's name is required")
        body: dict[str, Any] = {"participants": others}
        if role is not None:
            body["role"] = role
        created = self.session.json("POST", "/cases", json=body)
        state = self.case(str(created["case_id"]))
        state.send(patient)
        if first_text.strip():
            state.send(Text(first_text.strip()))
        log.info("case %s created from this workstation", state.case_id)
        return state
