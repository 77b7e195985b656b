"""Certificate profiles of the operator CA (RFC 5280 §4.2, RFC 8550 §3 for S/MIME).

A profile turns what the *operator* knows about a holder (``Holder``) into a subject name and
extensions; nothing is taken from a CSR but its public key.

RPPS encoding: a person's RPPS number (11 digits) is carried as the French national
health-professional identifier idNat_PS = ``"8" + RPPS`` in the subject ``serialNumber``
attribute (X.520, OID 2.5.4.5), as the ANS directory spells it; ``rpps_of`` reads it back.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from caducee.pki.errors import ProfileError

__all__ = [
    "RPPS_PREFIX",
    "Holder",
    "PKIURLs",
    "Profile",
    "build_extensions",
    "build_subject",
    "rpps_of",
]

RPPS_PREFIX = "8"  # idNat_PS type for an RPPS-identified professional
COUNTRY = "FR"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Extension = tuple[x509.ExtensionType, bool]  # (value, critical)


class Profile(enum.Enum):
    """The kinds of certificate the operator CA issues."""

    PERSON = "person"
    ORGANISATION_MAILBOX = "organisation-mailbox"
    APPLICATION_MAILBOX = "application-mailbox"
    SERVER_TLS = "server-tls"
    OCSP_SIGNER = "ocsp-signer"


@dataclass(frozen=True)
class PKIURLs:
    """Where relying parties fetch CRLs, CA certificates and OCSP (RFC 5280 §4.2.1.13, §4.2.2.1)."""

    base_url: str

    def _url(self, tail: str) -> str:
        return self.base_url.rstrip("/") + "/" + tail

    @property
    def issuing_crl(self) -> str:
        return self._url("crl/issuing.crl")

    @property
    def root_crl(self) -> str:
        return self._url("crl/root.crl")

    @property
    def issuing_ca_cert(self) -> str:
        return self._url("ca/issuing.der")

    @property
    def root_ca_cert(self) -> str:
        return self._url("ca/root.der")

    @property
    def ocsp(self) -> str:
        return self._url("ocsp")


@dataclass(frozen=True)
class Holder:
    """What the operator vouches for; which fields are needed depends on the profile."""

    common_name: str
    email: str | None = None
    given_name: str | None = None
    surname: str | None = None
    rpps: str | None = None
    organisation: str | None = None
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[IPAddress, ...] = ()


def _require(value: str | None, what: str, profile: Profile) -> str:
    if not value:
        raise ProfileError(f"{profile.value} certificate needs {what}")
    return value


def _check_email(email: str) -> str:
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or not email.isascii() or " " in email:
        raise ProfileError(f"not an e-mail address: {email!r}")
    return email


def build_subject(profile: Profile, holder: Holder) -> x509.Name:
    """The subject DN for ``holder`` under ``profile``."""
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY)]
    if holder.organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, holder.organisation))
    if profile is Profile.PERSON:
        rpps = _require(holder.rpps, "an RPPS number", profile)
        if len(rpps) != 11 or not rpps.isascii() or not rpps.isdigit():
            raise ProfileError(f"RPPS number must be 11 digits: {rpps!r}")
        attrs += [
            x509.NameAttribute(
                NameOID.GIVEN_NAME, _require(holder.given_name, "a given name", profile)
            ),
            x509.NameAttribute(NameOID.SURNAME, _require(holder.surname, "a surname", profile)),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, RPPS_PREFIX + rpps),
        ]
    elif profile in (Profile.ORGANISATION_MAILBOX, Profile.APPLICATION_MAILBOX):
        _require(holder.organisation, "an organisation", profile)
        unit = "Application" if profile is Profile.APPLICATION_MAILBOX else "Organisation"
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attrs.append(
        x509.NameAttribute(NameOID.COMMON_NAME, _require(holder.common_name, "a name", profile))
    )
    return x509.Name(attrs)


def rpps_of(name: x509.Name) -> str | None:
    """The RPPS number in a person's subject, or ``None``."""
    for attr in name.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        value = attr.value if isinstance(attr.value, str) else attr.value.decode()
        if value.startswith(RPPS_PREFIX) and len(value) == 12 and value.isdigit():
            return value[len(RPPS_PREFIX) :]
    return None


def _key_usage(*, signature: bool, encipher: bool, agree: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=encipher,
        data_encipherment=False,
        key_agreement=agree,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _san(profile: Profile, holder: Holder) -> x509.SubjectAlternativeName | None:
    names: list[x509.GeneralName] = []
    if profile is Profile.SERVER_TLS:
        if not holder.dns_names and not holder.ip_addresses:
            raise ProfileError("server-tls certificate needs DNS names or IP addresses")
        names += [x509.DNSName(d) for d in holder.dns_names]
        names += [x509.IPAddress(ip) for ip in holder.ip_addresses]
    elif profile is not Profile.OCSP_SIGNER:
        email = _check_email(_require(holder.email, "an e-mail address", profile))
        names.append(x509.RFC822Name(email))
    return x509.SubjectAlternativeName(names) if names else None


def build_extensions(
    profile: Profile,
    holder: Holder,
    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey,
    issuer: x509.Certificate,
    urls: PKIURLs,
) -> Sequence[Extension]:
    """The end-entity extensions of ``profile`` (RFC 5280 §4.2; RFC 6960 §4.2.2.2 for OCSP).

    Mail profiles get digitalSignature plus keyEncipherment for RSA, keyAgreement for EC keys
    (RFC 8550 §4.4.2); every profile carries a CRL distribution point and AIA (caIssuers, OCSP).
    """
    is_rsa = isinstance(public_key, rsa.RSAPublicKey)
    if profile is Profile.OCSP_SIGNER:
        usage = _key_usage(signature=True, encipher=False, agree=False)
        eku = [ExtendedKeyUsageOID.OCSP_SIGNING]
    elif profile is Profile.SERVER_TLS:
        usage = _key_usage(signature=True, encipher=is_rsa, agree=False)
        eku = [ExtendedKeyUsageOID.SERVER_AUTH]
    else:
        usage = _key_usage(signature=True, encipher=is_rsa, agree=not is_rsa)
        eku = [ExtendedKeyUsageOID.EMAIL_PROTECTION]
        if profile is Profile.PERSON:
            eku.append(ExtendedKeyUsageOID.CLIENT_AUTH)
    extensions: list[Extension] = [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (usage, True),
        (x509.ExtendedKeyUsage(eku), False),
        (x509.SubjectKeyIdentifier.from_public_key(public_key), False),
        (_aki(issuer), False),
        (
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(urls.issuing_crl)], None, None, None
                    )
                ]
            ),
            False,
        ),
        (
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(urls.issuing_ca_cert),
                    ),
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.OCSP,
                        x509.UniformResourceIdentifier(urls.ocsp),
                    ),
                ]
            ),
            False,
        ),
    ]
    san = _san(profile, holder)
    if san is not None:
        extensions.append((san, False))
    if profile is Profile.OCSP_SIGNER:
        extensions.append((x509.OCSPNoCheck(), False))
    return extensions


def _aki(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.public_key())  # type: ignore[arg-type]
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
