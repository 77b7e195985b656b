"""Other people's devices, checked here before anything is sealed to them or read from them.

``GET /api/v1/instant/people/{address}/devices`` lists the active device statements the
server holds; the server could add one of its own. So each statement is checked on the
workstation with :func:`caducee.instant.device_keys.verify_device_statement` against the
person's certificates from the directory, each of them validated first like a recipient's
certificate before a mail is encrypted (chain to the pinned root, not revoked:
:func:`caducee.agent.trust.make_validator`). A statement that no valid certificate of that
address signed is left out (logged by device id), so no sender key is sealed to it and none
of its messages is read. A device another device of the person endorsed comes with its
endorser's statement: both are checked
(:func:`caducee.instant.endorsement.verify_endorsed_device`), so trust still ends at the
certificate. Certificates are kept a minute, as the mail sender keeps them.

The certificate that vouches for a device must also be proven in the evidence log, with the
check the mail sender makes before encrypting (:class:`caducee.agent.transparency.
CertificateLog`, key transparency, DESIGN §4): a certificate the operator put in the directory
without logging it (a substituted key) certifies nothing here, and its devices are left out
the same way.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import quote

from cryptography import x509

from caducee.agent.client import ServerClient
from caducee.agent.errors import CertificateNotInLog
from caducee.agent.instant.device import DeviceSession
from caducee.agent.transparency import CertificateLog, certificate_sha256
from caducee.crypto.errors import CryptoError
from caducee.crypto.trust import CertificateValidator, KeyPurpose
from caducee.instant.device_keys import DevicePublicKeys, verify_device_statement
from caducee.instant.endorsement import verify_endorsed_device
from caducee.instant.errors import InstantCryptoError

__all__ = ["CERTIFICATE_CACHE_SECONDS", "PeerDevices"]

log = logging.getLogger(__name__)
CERTIFICATE_CACHE_SECONDS = 60.0


class PeerDevices:
    """The verified active devices of each address (one cache per client, thread-safe)."""

    def __init__(
        self,
        session: DeviceSession,
        person: ServerClient,
        validator: CertificateValidator | None,
        *,
        certificate_log: CertificateLog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session
        self.person = person
        self.validator = validator
        self.certificate_log = certificate_log
        self.clock = clock
        self._certificates: dict[str, tuple[float, list[x509.Certificate]]] = {}
        self._devices: dict[str, dict[str, DevicePublicKeys]] = {}
        self._lock = threading.Lock()

    def certificates(self, address: str) -> list[x509.Certificate]:
        """The directory's certificates for ``address`` that validate here."""
        address = address.lower()
        now = self.clock()
        with self._lock:
            cached = self._certificates.get(address)
        if cached is not None and now - cached[0] < CERTIFICATE_CACHE_SECONDS:
            return cached[1]
        valid = []
        for certificate in self.person.certificates(address):
            if self.validator is not None:
                try:
                    self.validator.validate(certificate, purpose=KeyPurpose.EMAIL_SIGNATURE)
                except CryptoError as exc:
                    log.warning("a certificate of %s does not validate: %s", address, exc.code)
                    continue
            valid.append(certificate)
        with self._lock:
            self._certificates[address] = (now, valid)
        return valid

    def devices(self, address: str, *, fresh: bool = False) -> dict[str, DevicePublicKeys]:
        """``address``'s active devices whose statements its certificates signed."""
        address = address.lower()
        with self._lock:
            known = self._devices.get(address)
        if known is not None and not fresh:
            return known
        answer = self.session.json("GET", f"/people/{quote(address, safe='@')}/devices")
        certificates = self.certificates(address)
        found: dict[str, DevicePublicKeys] = {}
        for listed in answer.get("devices", []):
            device = self._verified(
                address, listed.get("statement"), listed.get("endorser_statement"), certificates
            )
            if device is not None:
                found[device.device_id] = device
        with self._lock:
            self._devices[address] = found
        return found

    def _verified(
        self,
        address: str,
        statement: object,
        endorser_statement: object,
        certificates: list[x509.Certificate],
    ) -> DevicePublicKeys | None:
        """The device of a listed statement (or of an endorsement, with its endorser's
        statement) if a valid certificate of ``address``, proven in the log, vouches for it."""
        try:
            raw = base64.b64decode(str(statement), validate=True)
            endorser = (
                None
                if endorser_statement is None
                else base64.b64decode(str(endorser_statement), validate=True)
            )
        except (binascii.Error, ValueError):
            log.warning("a device statement of %s is not base64: left out", address)
            return None
        unproven: tuple[str, str] | None = None  # (device id, certificate digest)
        for certificate in certificates:
            try:
                if endorser is None:
                    device = verify_device_statement(raw, certificate)
                else:
                    device = verify_endorsed_device(raw, endorser, certificate)
            except InstantCryptoError:
                continue
            if device.address != address:
                continue
            if self._in_log(certificate, address):
                return device
            unproven = (device.device_id, certificate_sha256(certificate)[:16])
        if unproven is not None:
            log.warning(
                "device %s of %s: its certificate %s is not proven in the evidence log: left out "
                "/ appareil écarté : son certificat est absent du journal de preuves",
                unproven[0],
                address,
                unproven[1],
            )
            return None
        log.warning("a device of %s is not certified by a valid certificate: left out", address)
        return None

    def _in_log(self, certificate: x509.Certificate, address: str) -> bool:
        """Whether the evidence log proves ``certificate`` issued to ``address`` and not
        revoked: the check the mail sender makes (it logs the reason of a refusal)."""
        if self.certificate_log is None:
            return True
        try:
            self.certificate_log.check(certificate, address)
        except CertificateNotInLog:
            return False
        return True
