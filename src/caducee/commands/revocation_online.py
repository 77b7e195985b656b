"""Revocation answers fetched over HTTP, for the command line.

CRLs from a certificate's CRL distribution points and OCSP answers from the responder its
AIA names (RFC 5280 §4.2.1.13, RFC 6960 §A.1), on top of those given as files. The pure
``PathValidator`` checks every answer's signature and freshness; this module only fetches.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from caducee.crypto.x509_validation import StaticRevocationSource

__all__ = ["OnlineRevocation", "parse_crl"]


class OnlineRevocation(StaticRevocationSource):
    """CRLs given on the command line, plus those fetched from CRL distribution points, and
    OCSP answers from the responder a certificate names (RFC 6960 over HTTP POST)."""

    def __init__(
        self, crls: list[x509.CertificateRevocationList], fetch: bool, ask_ocsp: bool = False
    ) -> None:
        super().__init__(crls)
        self._fetch = fetch
        self._ask_ocsp = ask_ocsp
        self._fetched: dict[str, x509.CertificateRevocationList | None] = {}
        self._issued_urls: dict[x509.Name, list[str]] = {}

    def learn(self, certificates: Sequence[x509.Certificate]) -> None:
        for certificate in certificates:
            try:
                points = certificate.extensions.get_extension_for_class(
                    x509.CRLDistributionPoints
                ).value
            except x509.ExtensionNotFound:
                continue
            urls = [
                name.value
                for point in points
                for name in point.full_name or []
                if isinstance(name, x509.UniformResourceIdentifier)
            ]
            self._issued_urls.setdefault(certificate.issuer, []).extend(urls)

    def crl_for(self, issuer: x509.Certificate) -> x509.CertificateRevocationList | None:
        given = super().crl_for(issuer)
        if given is not None or not self._fetch:
            return given
        for url in self._issued_urls.get(issuer.subject, []):
            if url not in self._fetched:
                try:
                    answer = httpx.get(url, timeout=10)
                    self._fetched[url] = parse_crl(answer.content) if answer.is_success else None
                except (httpx.HTTPError, ValueError):
                    self._fetched[url] = None
            if self._fetched[url] is not None:
                return self._fetched[url]
        return None

    def ocsp_for(
        self, certificate: x509.Certificate, issuer: x509.Certificate
    ) -> ocsp.OCSPResponse | None:
        if not self._ask_ocsp:
            return None
        try:
            access = certificate.extensions.get_extension_for_class(
                x509.AuthorityInformationAccess
            ).value
        except x509.ExtensionNotFound:
            return None
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(certificate, issuer, hashes.SHA256())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        for description in access:
            if description.access_method != AuthorityInformationAccessOID.OCSP:
                continue
            url = description.access_location.value
            try:
                answer = httpx.post(
                    url,
                    content=request,
                    headers={"content-type": "application/ocsp-request"},
                    timeout=10,
                )
                response = ocsp.load_der_ocsp_response(answer.content)
            except (httpx.HTTPError, ValueError):
                continue
            if response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL:
                return response
        return None


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    if b"-----BEGIN" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)
