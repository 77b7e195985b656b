"""Throughput of S/MIME sign+encrypt and decrypt+verify of a 4 KB message, on one core.

What is measured (be careful reading the figures):
- ``build``: ``build_smime`` = 1 RSA-2048 private op (PKCS#1 v1.5 signature) + 1 public op
  (OAEP-SHA256 key transport, one recipient) + SHA-256, AES-256-CBC, ASN.1 and MIME work.
- ``open``: ``open_smime`` = 1 private op (OAEP unwrap) + 1 public op (signature check) +
  the same symmetric/ASN.1/MIME work; the certificate validator is a no-op stand-in, so
  path validation (done elsewhere) is NOT included. ``OpenedMessage.message`` (the inner
  message as an ``EmailMessage``) is parsed on first access, so it is not in ``open``
  either; the ``open+.message`` row adds it.
- ``RSA limit``: ``openssl speed -seconds 3 rsa2048`` private ops/s measured in the same run
  (it divides by user CPU time, so ours are measured in process CPU time too, which keeps
  the ratio meaningful on a shared machine); each message needs exactly one private op, so
  that is the ceiling for one core. The rates of a bare ``key.sign`` and a bare OAEP
  ``key.decrypt`` through ``cryptography`` are shown as well (``% bare op``): they are the real
  ceilings of any Python code using that binding, and steadier than ``openssl speed`` on a
  loaded machine.
- ``openssl cms``: one ``openssl cms`` process per step (sign, then encrypt; decrypt, then
  verify) for N messages. This includes process start-up and certificate parsing per message,
  so it is shown raw and also minus 2 x the start-up of ``openssl version`` (an estimate).
Synthetic keys only. Run: ``.venv/bin/python bench/bench_smime.py``.
"""

from __future__ import annotations

import datetime
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from caducee.crypto.smime import build_smime, open_smime
from caducee.crypto.trust import KeyPurpose, ValidatedChain

N_OURS = 300
N_OPENSSL = 30
NOW = datetime.datetime.now(datetime.UTC)


def _party(
    name: str, ca_key: rsa.RSAPrivateKey | None
) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} SYNTHETIC BENCH")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(f"{name}@bench.test")]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .sign(ca_key or key, hashes.SHA256())
    )
    return cert, key


class _NoValidation:
    """Accepts any certificate: path validation is outside what this benchmark measures."""

    def validate(
        self,
        certificate: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        *,
        purpose: KeyPurpose,
        at: datetime.datetime | None = None,
    ) -> ValidatedChain:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        emails = tuple(san.value.get_values_for_type(x509.RFC822Name))
        return ValidatedChain(certificate, (certificate,), emails, NOW, False)


def _rate(n: int, fn: Callable[[], object]) -> float:
    """Operations per second of this process's CPU time (as ``openssl speed`` counts)."""
    fn()
    start = time.process_time()
    for _ in range(n):
        fn()
    return n / (time.process_time() - start)


def _rsa_private_ops_per_second() -> float:
    out = subprocess.run(
        ["openssl", "speed", "-seconds", "3", "rsa2048"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"^rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)", out, re.M)
    if match is None:
        raise SystemExit(f"cannot read openssl speed output:\n{out}")
    return float(match.group(1))


def _openssl_seconds(tmp: Path, args: Sequence[Sequence[str]], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        for a in args:
            subprocess.run(a, check=True, capture_output=True, cwd=tmp)
    return (time.perf_counter() - start) / n


def _pem(path: Path, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def main() -> None:
    s_cert, s_key = _party("sender", None)
    r_cert, r_key = _party("rcpt", None)
    body = ("Résultat SYNTHETIQUE 0123456789 abcdefghij\n" * 100)[:4000]
    inner = (
        "From: sender@bench.test\nTo: rcpt@bench.test\nSubject: bench\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n\n" + body
    ).encode()
    message = build_smime(inner, s_cert, s_key, [r_cert])
    validator = _NoValidation()
    build = _rate(N_OURS, lambda: build_smime(inner, s_cert, s_key, [r_cert]))
    opened = _rate(N_OURS, lambda: open_smime(message, r_cert, r_key, validator))
    parsed = _rate(N_OURS, lambda: open_smime(message, r_cert, r_key, validator).message)
    limit = _rsa_private_ops_per_second()
    bare = _rate(N_OURS, lambda: s_key.sign(b"x" * 100, padding.PKCS1v15(), hashes.SHA256()))
    oaep_pad = padding.OAEP(
        mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None
    )
    wrapped = r_cert.public_key().encrypt(b"k" * 32, oaep_pad)
    bare_dec = _rate(N_OURS, lambda: r_key.decrypt(wrapped, oaep_pad))

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        _pem(tmp / "s", s_cert, s_key)
        _pem(tmp / "r", r_cert, r_key)
        (tmp / "in.eml").write_bytes(b"Content-Type: message/rfc822\n\n" + inner)
        oaep = ["-keyopt", "rsa_padding_mode:oaep", "-keyopt", "rsa_oaep_md:sha256"]
        sign = [
            "openssl",
            "cms",
            "-sign",
            "-in",
            "in.eml",
            "-signer",
            "s.pem",
            "-inkey",
            "s.key",
            "-out",
            "signed.eml",
        ]
        enc = [
            "openssl",
            "cms",
            "-encrypt",
            "-aes256",
            "-in",
            "signed.eml",
            "-recip",
            "r.pem",
            *oaep,
            "-out",
            "enc.eml",
        ]
        dec = [
            "openssl",
            "cms",
            "-decrypt",
            "-in",
            "enc.eml",
            "-recip",
            "r.pem",
            "-inkey",
            "r.key",
            "-out",
            "dec.eml",
        ]
        ver = ["openssl", "cms", "-verify", "-noverify", "-in", "dec.eml", "-out", "out.eml"]
        ossl_build = _openssl_seconds(tmp, [sign, enc], N_OPENSSL)
        ossl_open = _openssl_seconds(tmp, [dec, ver], N_OPENSSL)
        startup = _openssl_seconds(tmp, [["openssl", "version"]], N_OPENSSL)

    print(f"RSA-2048 private ops/s (openssl speed, 1 core): {limit:8.0f}")
    print(
        f"bare cryptography key.sign/s (CPU time):        {bare:8.0f}"
        f"  ({100 * bare / limit:.0f}% of openssl speed)"
    )
    print(
        f"bare cryptography OAEP key.decrypt/s (CPU time): {bare_dec:8.0f}"
        f"  ({100 * bare_dec / limit:.0f}% of openssl speed)"
    )
    print(f"openssl process start-up (openssl version):     {startup * 1e3:8.2f} ms")
    print()
    print(
        f"{'operation (4 KB)':<22}{'ours msg/s':>11}{'% RSA lim':>10}{'% bare op':>10}"
        f"{'openssl cms ms':>16}{'minus start-up':>16}{'ours/openssl':>14}"
    )
    for name, ours, ossl, ceiling in (
        ("sign+encrypt", build, ossl_build, bare),
        ("decrypt+verify", opened, ossl_open, bare_dec),
        ("  open+.message", parsed, ossl_open, bare_dec),
    ):
        corrected = max(ossl - 2 * startup, 1e-9)
        print(
            f"{name:<22}{ours:>11.0f}{100 * ours / limit:>9.1f}%{100 * ours / ceiling:>9.1f}%"
            f"{ossl * 1e3:>16.2f}{corrected * 1e3:>16.2f}"
            f"{ours * corrected:>13.2f}x"
        )
    print("(% bare op = vs the bare key.sign / OAEP key.decrypt rate above, same process)")
    print("(ours/openssl = our throughput vs 1 / start-up-corrected openssl time per message)")
    print(
        "decrypt+verify uses a NO-OP certificate validator (path validation not measured);"
        " .message (EmailMessage) is parsed lazily: '  open+.message' includes it."
    )


if __name__ == "__main__":
    main()
