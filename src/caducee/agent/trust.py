"""The agent's trust decisions: the pinned root, the server's CRLs, the S/MIME wrapper.

The root CA certificate is fetched once at ``init`` and pinned in the agent folder; every
certificate (a recipient's before encrypting, a sender's after decrypting) must chain to it
and not be revoked, using CRLs fetched from the server (``/pki/crl/*.crl``, signed by the
CA, so the server cannot forge them without the CA key).
"""

from __future__ import annotations

import base64
import time

from cryptography import x509

from caducee.agent.client import ServerClient
from caducee.agent.config import AgentConfig
from caducee.crypto.smime import enveloped_entity
from caducee.crypto.x509_validation import PathValidator

__all__ = [
    "CRL_CACHE_SECONDS",
    "HTTPRevocationSource",
    "der_to_smime",
    "make_validator",
    "smime_to_der",
]

CRL_CACHE_SECONDS = 60.0


class HTTPRevocationSource:
    """A ``RevocationSource`` fetching the operator CA's CRLs over HTTP (cached briefly)."""

    def __init__(
        self,
        client: ServerClient,
        root: x509.Certificate,
        issuing: x509.Certificate,
        *,
        max_age: float = CRL_CACHE_SECONDS,
    ) -> None:
        self._client = client
        self._names = {root.subject: "crl/root.crl", issuing.subject: "crl/issuing.crl"}
        self._max_age = max_age
        self._cache: dict[str, tuple[float, x509.CertificateRevocationList]] = {}

    def crl_for(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        name = self._names.get(issuer.subject)
        if name is None:
            return None
        cached = self._cache.get(name)
        if cached is not None and time.monotonic() - cached[0] < self._max_age:
            return cached[1]
        try:
            crl = x509.load_der_x509_crl(self._client.pki(name))
        except ValueError:
            return None  # unreadable: the validator then refuses with RevocationUnknown
        self._cache[name] = (time.monotonic(), crl)
        return crl


def make_validator(config: AgentConfig, client: ServerClient) -> PathValidator:
    """A path validator anchored on the pinned root, with the server's CRLs."""
    root, issuing = config.load_root(), config.load_issuing()
    return PathValidator(
        [root], intermediates=[issuing], revocation=HTTPRevocationSource(client, root, issuing)
    )


def der_to_smime(der: bytes) -> bytes:
    """Wrap a DER CMS enveloped ContentInfo as an application/pkcs7-mime entity (RFC 8551 §3.3)."""
    return enveloped_entity(der)


def smime_to_der(message: bytes) -> bytes:
    """The DER CMS of an application/pkcs7-mime message made by ``build_smime`` (base64 body)."""
    for separator in (b"\r\n\r\n", b"\n\n"):
        _head, found, body = message.partition(separator)
        if found:
            return base64.b64decode(b"".join(body.split()), validate=True)
    raise ValueError("not a MIME entity")
