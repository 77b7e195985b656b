"""Putting an agent together: enrolment (``init``) and the objects the commands run.

``initialise`` fetches and pins the root CA (optionally checking its SHA-256 fingerprint,
read to the user out of band), creates the key where it will live, sends a CSR with the
enrolment code and stores the certificate. ``AgentRuntime`` opens an initialised folder:
key, client, validator, journal, sender, receiver and outbox watcher.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from caducee.agent.acknowledgement import AckSigner
from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import CONFIG_JSON, CONFIG_TOML, AgentConfig
from caducee.agent.errors import ConfigError, KeystoreError
from caducee.agent.inbox import InboxWriter, write_exclusive
from caducee.agent.incoming import Receiver
from caducee.agent.journal import Journal
from caducee.agent.keystore import build_csr, create_key, load_key
from caducee.agent.ledger_watch import LedgerWatch, known_certificates
from caducee.agent.outbox import OutboxWatcher
from caducee.agent.outgoing import Sender
from caducee.agent.policy_cache import POLICY_FILE, PolicyCache
from caducee.agent.send_checks import SendChecks
from caducee.agent.standing import Standing
from caducee.agent.tomatch import PatientList
from caducee.agent.transparency import CertificateLog
from caducee.agent.trust import make_validator
from caducee.crypto.cms_sign import SignerKey
from caducee.crypto.errors import CryptoError
from caducee.crypto.trust import KeyPurpose

__all__ = ["AgentRuntime", "fingerprint", "initialise"]


def fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the DER certificate, hex, as ``openssl x509 -fingerprint -sha256`` shows it."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _public_der(key: SignerKey | x509.Certificate) -> bytes:
    public = key.public_key()
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def initialise(
    directory: Path,
    *,
    server: str,
    code: str,
    address: str | None,
    key: str,
    secret: bytes,
    root_sha256: str | None = None,
) -> AgentConfig:
    """Join a server with an enrolment code; return the saved configuration."""
    directory = directory.expanduser().resolve()
    if (directory / CONFIG_JSON).exists() or (directory / CONFIG_TOML).exists():
        raise ConfigError(f"{directory} already holds an agent: choose another folder")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = AgentConfig(
        directory=directory, server=server.rstrip("/"), address=address or "", key=key
    )
    with ServerClient(config.server) as client:
        root = x509.load_pem_x509_certificate(client.pki("root.pem"))
        issuing = x509.load_pem_x509_certificate(client.pki("issuing.pem"))
        if root_sha256 and fingerprint(root) != root_sha256.replace(":", "").lower():
            raise ConfigError("the server's root CA does not have the expected fingerprint")
        write_exclusive(directory, config.root, root.public_bytes(serialization.Encoding.PEM))
        write_exclusive(directory, config.issuing, issuing.public_bytes(serialization.Encoding.PEM))
        LedgerWatch(directory, client).pin_key()  # the evidence log's key, pinned on joining
        signing_key = create_key(config, secret)
        answer = client.enrol(code, build_csr(signing_key, address or "agent@caducee.invalid"))
        certificate = x509.load_pem_x509_certificate(str(answer["certificate_pem"]).encode())
        if _public_der(certificate) != _public_der(signing_key):
            raise KeystoreError("the server certified another key than ours: refused")
        enrolled = str(answer["address"]).lower()
        if address and enrolled != address.lower():
            raise ConfigError(f"the code was for {enrolled}, not {address}")
        config = config.with_changes(address=enrolled, serial_hex=str(answer["serial_hex"]))
        try:
            make_validator(config, client).validate(certificate, purpose=KeyPurpose.EMAIL_SIGNATURE)
        except CryptoError as exc:
            raise ConfigError(f"the issued certificate does not validate: {exc.reason}") from None
    write_exclusive(
        directory, config.certificate, certificate.public_bytes(serialization.Encoding.PEM)
    )
    config.save()
    config.ensure_folders()
    return config


@dataclass
class AgentRuntime:
    """An opened agent: one client and journal per thread (call ``open`` once per thread)."""

    config: AgentConfig
    key: SignerKey
    certificate: x509.Certificate
    client: ServerClient
    journal: Journal
    _policy: PolicyCache | None = None
    _standing: Standing | None = None

    @classmethod
    def open(cls, config: AgentConfig, key: SignerKey | None = None) -> AgentRuntime:
        """Open the key (asking for the secret if needed), the client and the journal."""
        certificate = config.load_certificate()
        key = key if key is not None else load_key(config)
        credentials = Credentials(config.address, config.serial_hex, key)
        client = ServerClient(config.server, credentials)
        return cls(config, key, certificate, client, Journal(config.journal_path))

    def close(self) -> None:
        self.client.close()
        self.journal.close()

    def __enter__(self) -> AgentRuntime:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def policy(self) -> PolicyCache:
        """The content policy (server copy, cached in the folder; fetched on first use)."""
        if self._policy is None:
            self._policy = PolicyCache(self.client, self.config.directory / POLICY_FILE)
        return self._policy

    @property
    def standing(self) -> Standing:
        """The sender's limits and sanctions (limits cached in the folder; asked on first use)."""
        if self._standing is None:
            self._standing = Standing(self.client, self.config.directory)
        return self._standing

    def checks(self) -> SendChecks:
        """The bulk-mail rules and the recipients' sorting, for the outbox."""
        return SendChecks(self.client, self.journal, self.standing, self.config.address)

    def sender(self) -> Sender:
        return Sender(
            self.client,
            address=self.config.address,
            certificate=self.certificate,
            key=self.key,
            validator=make_validator(self.config, self.client),
            extra_certs=[self.config.load_issuing()],
            policy=self.policy.current,
            certificate_log=CertificateLog(
                self.client, LedgerWatch(self.config.directory, self.client).pin_key
            ),
        )

    def receiver(self) -> Receiver:
        cfg = self.config
        writer = InboxWriter(
            self.journal,
            inbox=cfg.folder("inbox"),
            archive=cfg.folder("archive"),
            quarantine=cfg.folder("quarantine"),
            output_format=cfg.output_format,
            to_match=cfg.folder("to_match"),
            patients=PatientList(cfg.patients_path).patients if cfg.patients_path else None,
        )
        return Receiver(
            self.client,
            self.journal,
            writer,
            certificate=self.certificate,
            key=self.key,
            validator=make_validator(cfg, self.client),
            ledger=LedgerWatch(
                cfg.directory,
                self.client,
                address=cfg.address,
                known=lambda: known_certificates(cfg.directory, cfg.certificate),
            ),
            workers=cfg.workers,
            signer=AckSigner(
                address=cfg.address,
                certificate=self.certificate,
                key=self.key,
                extra_certs=[cfg.load_issuing()],
            ),
        )

    def watcher(self) -> OutboxWatcher:
        cfg = self.config
        return OutboxWatcher(
            self.sender(),
            self.journal,
            outbox=cfg.folder("outbox"),
            sent=cfg.folder("sent"),
            errors=cfg.folder("errors"),
            pending=cfg.directory / "pending",
            settle=cfg.settle_seconds,
            workers=cfg.workers,
            checks=self.checks(),
            allow_external=cfg.outbox_allows_external,
        )
