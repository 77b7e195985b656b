"""A throwaway RFC 3161 time-stamp authority: ``openssl ts -reply`` in a temporary folder."""

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509

CA_CNF = """
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""

TS_CNF = """
[tsa]
default_tsa = tsa1
[tsa1]
serial = {d}/serial
crypto_device = builtin
signer_cert = {d}/tsa.pem
signer_key = {d}/tsa.key
signer_digest = sha256
default_policy = 1.2.250.1.999.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


@dataclass
class TSA:
    folder: Path
    root: x509.Certificate
    intermediate: x509.Certificate | None

    def reply(self, query: bytes) -> bytes:
        """Answer a DER TimeStampReq with a DER TimeStampResp."""
        (self.folder / "q.tsq").write_bytes(query)
        _openssl(
            self.folder, "ts", "-reply", "-config", "ts.cnf", "-queryfile", "q.tsq", "-out", "r.tsr"
        )
        return (self.folder / "r.tsr").read_bytes()


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def _key(folder: Path, name: str, kind: str) -> None:
    if kind == "rsa":
        _openssl(
            folder,
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            f"{name}.key",
        )
    else:
        _openssl(
            folder, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key"
        )


def make_tsa(folder: Path, kind: str = "ec", *, with_intermediate: bool = False) -> TSA:
    """Root CA (optionally an intermediate CA) and a TSA certificate with critical EKU."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed for the RFC 3161 tests: apt-get install openssl")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ca.cnf").write_text(CA_CNF)
    (folder / "ts.cnf").write_text(TS_CNF.format(d=folder))
    (folder / "serial").write_text("01\n")
    _key(folder, "root", kind)
    _openssl(
        folder,
        "req",
        "-new",
        "-x509",
        "-key",
        "root.key",
        "-out",
        "root.pem",
        "-days",
        "30",
        "-config",
        "ca.cnf",
        "-extensions",
        "v3_ca",
        "-subj",
        "/CN=Caducee Test TSA Root",
    )
    issuer = "root"
    if with_intermediate:
        _key(folder, "mid", kind)
        _openssl(
            folder,
            "req",
            "-new",
            "-key",
            "mid.key",
            "-subj",
            "/CN=Caducee Test TSA CA",
            "-out",
            "mid.csr",
            "-config",
            "ca.cnf",
        )
        _openssl(
            folder,
            "x509",
            "-req",
            "-in",
            "mid.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "mid.pem",
            "-days",
            "30",
            "-extfile",
            "ca.cnf",
            "-extensions",
            "v3_ca",
        )
        issuer = "mid"
    _key(folder, "tsa", kind)
    _openssl(
        folder,
        "req",
        "-new",
        "-key",
        "tsa.key",
        "-subj",
        "/CN=Caducee Test TSA",
        "-out",
        "tsa.csr",
        "-config",
        "ca.cnf",
    )
    _openssl(
        folder,
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        f"{issuer}.pem",
        "-CAkey",
        f"{issuer}.key",
        "-CAcreateserial",
        "-out",
        "tsa.pem",
        "-days",
        "30",
        "-extfile",
        "ca.cnf",
        "-extensions",
        "v3_tsa",
    )
    root = x509.load_pem_x509_certificate((folder / "root.pem").read_bytes())
    mid = None
    if with_intermediate:
        mid = x509.load_pem_x509_certificate((folder / "mid.pem").read_bytes())
    return TSA(folder, root, mid)
