"""``caducee smime``: S/MIME from the command line, in the spirit of ``openssl cms``.

For operators and integrators: sign, encrypt (sign then encrypt when a signer is given),
decrypt and verify RFC 8551 messages with Caducée's own CMS layer. Keys are a PKCS#8 file or
a ``pkcs11:`` URI. Exit status: 0 when it worked; otherwise the error's family (see
``EXIT_CODES``) with ``erreur [code]: reason`` on standard error.
"""

from __future__ import annotations

import email.policy
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from email.parser import BytesParser
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from cryptography import x509

from caducee.commands.revocation_online import OnlineRevocation, parse_crl
from caducee.crypto import errors as crypto_errors
from caducee.crypto.algorithms import ContentEncryption, KeyTransport
from caducee.crypto.cms_decrypt import decrypt_enveloped
from caducee.crypto.cms_envelope import envelope
from caducee.crypto.key_sources import is_token_reference, load_private_key
from caducee.crypto.keyfile import PrivateKey
from caducee.crypto.smime import (
    OpenedMessage,
    build_smime,
    enveloped_entity,
    open_smime,
    sign_smime,
    verify_smime_signed,
)
from caducee.crypto.trust import KeyPurpose, ValidatedChain
from caducee.crypto.x509_validation import PathValidator
from caducee.errors import CaduceeError

__all__ = ["EXIT_CODES", "app"]

app = typer.Typer(
    help="S/MIME en ligne de commande (comme « openssl cms »). / S/MIME on the command line.",
    no_args_is_help=True,
)

EXIT_CODES: dict[type[CaduceeError], int] = {
    crypto_errors.SignatureInvalid: 3,
    crypto_errors.CertificateError: 4,
    crypto_errors.NoRecipientForKey: 5,
    crypto_errors.DecryptionFailed: 5,
    crypto_errors.MalformedMessage: 6,
    crypto_errors.UnsupportedAlgorithm: 6,
    crypto_errors.KeySourceError: 7,
}
CIPHERS = {
    "aes256-cbc": ContentEncryption.AES256_CBC,
    "aes256-gcm": ContentEncryption.AES256_GCM,
    "aes128-cbc": ContentEncryption.AES128_CBC,
    "aes128-gcm": ContentEncryption.AES128_GCM,
}
TRANSPORTS = {
    "oaep-sha256": KeyTransport.RSA_OAEP_SHA256,
    "oaep-sha1": KeyTransport.RSA_OAEP_SHA1,
    "pkcs1": KeyTransport.RSA_PKCS1V15,
}

In = Annotated[Path, typer.Option("--in", help="Message d'entrée / input message ('-': stdin).")]
Out = Annotated[Path | None, typer.Option("--out", help="Sortie / output (défaut: stdout).")]
Cert = Annotated[Path | None, typer.Option("--cert", help="Votre certificat (PEM) / your cert.")]
Key = Annotated[
    str | None, typer.Option("--key", help="Clé: fichier PKCS#8 ou URI pkcs11: / key file or URI.")
]
PassIn = Annotated[
    str | None,
    typer.Option(
        "--passin",
        help="Phrase secrète ou PIN: env:VAR, file:CHEMIN, pass:TEXTE (visible!); "
        "défaut: $CADUCEE_KEY_PASSPHRASE, sinon demandée. / passphrase or PIN source.",
    ),
]
Trust = Annotated[
    list[Path] | None, typer.Option("--trust", help="Ancre(s) de confiance PEM / trust anchors.")
]
Crl = Annotated[
    list[Path] | None,
    typer.Option("--crl", help="CRL (DER ou PEM), répétable / CRL (DER or PEM), repeatable."),
]
CertFile = Annotated[
    list[Path] | None,
    typer.Option(
        "--certfile", help="Certificats à joindre (chaîne) / extra certificates to include."
    ),
]
Untrusted = Annotated[
    list[Path] | None,
    typer.Option("--untrusted", help="Intermédiaires (non ancres) / intermediate certificates."),
]
AskOCSP = Annotated[
    bool, typer.Option("--ocsp", help="Interroger le répondeur OCSP des certificats / ask OCSP.")
]
FetchCrls = Annotated[
    bool, typer.Option("--fetch-crls", help="Télécharger les CRL des certificats / fetch CRLs.")
]


def _fail(exc: CaduceeError) -> NoReturn:
    status = next((c for t, c in EXIT_CODES.items() if isinstance(exc, t)), 1)
    typer.echo(f"erreur [{exc.code}]: {exc.reason}", err=True)
    raise typer.Exit(status)


def _read(path: Path) -> bytes:
    try:
        return sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        typer.echo(f"erreur [unreadable-input]: {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from exc


def _write(out: Path | None, data: bytes) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.write_bytes(data)


def _certificates(path: Path) -> list[x509.Certificate]:
    data = _read(path)
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        typer.echo(f"erreur [bad-certificate]: {path} is not a certificate (PEM or DER)", err=True)
        raise typer.Exit(2) from exc


def _secret(passin: str | None, reference: str) -> str | None:
    if passin:
        kind, _, value = passin.partition(":")
        if kind == "env":
            return os.environ.get(value, "")
        if kind == "file":
            return Path(value).read_text().splitlines()[0] if Path(value).exists() else ""
        if kind == "pass":
            return value
        typer.echo("erreur [bad-passin]: use env:VAR, file:PATH or pass:TEXT", err=True)
        raise typer.Exit(2)
    if "CADUCEE_KEY_PASSPHRASE" in os.environ:
        return os.environ["CADUCEE_KEY_PASSPHRASE"]
    if is_token_reference(reference) and ("pin-value" in reference or "pin-source" in reference):
        return None
    prompt = "PIN" if is_token_reference(reference) else "Phrase secrète / passphrase"
    return str(typer.prompt(prompt, hide_input=True))


def _key_and_cert(
    cert: Path | None, key: str | None, passin: str | None
) -> tuple[x509.Certificate, PrivateKey]:
    if cert is None or key is None:
        typer.echo("erreur [missing-option]: --cert and --key are both needed", err=True)
        raise typer.Exit(2)
    try:
        private_key = load_private_key(key, _secret(passin, key))
    except CaduceeError as exc:
        _fail(exc)
    return _certificates(cert)[0], private_key


class _LearningValidator:
    """A ``PathValidator`` that first learns the CRL URLs of the certificates it is shown."""

    def __init__(self, validator: PathValidator, source: OnlineRevocation) -> None:
        self._validator = validator
        self._source = source

    def validate(
        self,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        *,
        purpose: KeyPurpose,
        at: datetime | None = None,
    ) -> ValidatedChain:
        self._source.learn([certificate, *intermediates])
        return self._validator.validate(certificate, intermediates, purpose=purpose, at=at)


def _validator(
    trust: list[Path] | None,
    crl: list[Path] | None,
    fetch: bool,
    untrusted: list[Path] | None,
    ask_ocsp: bool = False,
) -> _LearningValidator:
    if not trust:
        typer.echo("erreur [missing-option]: --trust is needed to verify a signer", err=True)
        raise typer.Exit(2)
    anchors = [c for path in trust for c in _certificates(path)]
    source = OnlineRevocation([parse_crl(_read(p)) for p in crl or []], fetch, ask_ocsp)
    intermediates = [c for path in untrusted or [] for c in _certificates(path)]
    validator = PathValidator(anchors, intermediates=intermediates, revocation=source)
    return _LearningValidator(validator, source)


def _print_signer(opened: OpenedMessage) -> None:
    signer = opened.signer_certificate.subject.rfc4514_string()
    typer.echo(f"Signataire / signer: {signer}", err=True)
    typer.echo(f"Expéditeur / sender: {opened.sender}", err=True)
    typer.echo("Vérification réussie / verification successful", err=True)


@app.command()
def sign(
    input_path: In,
    out: Out = None,
    cert: Cert = None,
    key: Key = None,
    passin: PassIn = None,
    certfile: CertFile = None,
) -> None:
    """Signer un message MIME (multipart/signed). / Sign a MIME message."""
    certificate, private_key = _key_and_cert(cert, key, passin)
    try:
        extra = [c for path in certfile or [] for c in _certificates(path)]
        _write(out, sign_smime(_read(input_path), certificate, private_key, extra_certs=extra))
    except CaduceeError as exc:
        _fail(exc)


@app.command()
def encrypt(
    input_path: In,
    recip: Annotated[
        list[Path],
        typer.Option(
            "--recip",
            help="Certificat destinataire (répétable) / recipient certificate (repeatable).",
        ),
    ],
    out: Out = None,
    cert: Cert = None,
    key: Key = None,
    passin: PassIn = None,
    certfile: CertFile = None,
    cipher: Annotated[
        str, typer.Option(help="aes256-cbc, aes256-gcm, aes128-cbc, aes128-gcm")
    ] = "aes256-cbc",
    key_transport: Annotated[
        str, typer.Option(help="oaep-sha256, oaep-sha1, pkcs1")
    ] = "oaep-sha256",
) -> None:
    """Chiffrer pour des destinataires; signer d'abord si --cert/--key. / Encrypt (sign first)."""
    if cipher not in CIPHERS or key_transport not in TRANSPORTS:
        typer.echo("erreur [unsupported-algorithm]: see --help for the choices", err=True)
        raise typer.Exit(2)
    recipients = [c for path in recip for c in _certificates(path)]
    data = _read(input_path)
    try:
        if cert is not None or key is not None:
            certificate, private_key = _key_and_cert(cert, key, passin)
            result = build_smime(
                data,
                certificate,
                private_key,
                recipients,
                encryption=CIPHERS[cipher],
                key_transport=TRANSPORTS[key_transport],
                extra_certs=[c for path in certfile or [] for c in _certificates(path)],
            )
        else:
            der = envelope(
                data,
                recipients,
                encryption=CIPHERS[cipher],
                key_transport=TRANSPORTS[key_transport],
            )
            result = enveloped_entity(der, CIPHERS[cipher])
    except CaduceeError as exc:
        _fail(exc)
    _write(out, result)


def _enveloped_der(message: bytes) -> bytes:
    parsed = BytesParser(policy=email.policy.compat32).parsebytes(message)
    if parsed.get_content_type() not in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        raise crypto_errors.MalformedMessage(
            f"not an S/MIME encrypted message ({parsed.get_content_type()})"
        )
    payload = parsed.get_payload(decode=True)
    if not isinstance(payload, bytes) or not payload:
        raise crypto_errors.MalformedMessage("the S/MIME part has no body")
    return payload


@app.command()
def decrypt(
    input_path: In,
    out: Out = None,
    cert: Cert = None,
    key: Key = None,
    passin: PassIn = None,
    trust: Trust = None,
    crl: Crl = None,
    fetch_crls: FetchCrls = False,
    untrusted: Untrusted = None,
    ask_ocsp: AskOCSP = False,
) -> None:
    """Déchiffrer; avec --trust, vérifier aussi la signature. / Decrypt (and verify)."""
    certificate, private_key = _key_and_cert(cert, key, passin)
    message = _read(input_path)
    try:
        if trust:
            validator = _validator(trust, crl, fetch_crls, untrusted, ask_ocsp)
            opened = open_smime(message, certificate, private_key, validator)
            _print_signer(opened)
            _write(out, opened.content)
        else:
            _write(out, decrypt_enveloped(_enveloped_der(message), certificate, private_key))
    except CaduceeError as exc:
        _fail(exc)


@app.command()
def verify(
    input_path: In,
    trust: Trust = None,
    out: Out = None,
    crl: Crl = None,
    fetch_crls: FetchCrls = False,
    untrusted: Untrusted = None,
    ask_ocsp: AskOCSP = False,
) -> None:
    """Vérifier un message signé; affiche le signataire et le contenu. / Verify a signed message."""
    message = _read(input_path)
    validator = _validator(trust, crl, fetch_crls, untrusted, ask_ocsp)
    try:
        opened = verify_smime_signed(message, validator)
    except CaduceeError as exc:
        _fail(exc)
    _print_signer(opened)
    _write(out, opened.content)
