"""Root and issuing CA: structure, and save/load through encrypted key files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509

from caducee.crypto.errors import WrongPassphrase
from caducee.pki import AuthorityError, CertificateAuthority, load_authority, save_authority
from tests.pki import pki_factory as f
from tests.pki.conftest import PEMFiles

PASS = b"operator passphrase"


def test_ca_extensions(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    for ca, path_length in ((root, 1), (issuing, 0)):
        ext = ca.certificate.extensions
        bc = ext.get_extension_for_class(x509.BasicConstraints)
        assert bc.critical and bc.value.ca and bc.value.path_length == path_length
        ku = ext.get_extension_for_class(x509.KeyUsage)
        assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
        assert not ku.value.digital_signature
    assert root.is_root and not issuing.is_root
    assert issuing.chain == (root.certificate,)
    assert issuing.certificate.issuer == root.certificate.subject
    cdp = issuing.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    assert cdp.value[0].full_name == [x509.UniformResourceIdentifier(f.URLS.root_crl)]
    issuing.certificate.verify_directly_issued_by(root.certificate)
    assert issuing.certificate.not_valid_after_utc <= root.certificate.not_valid_after_utc


def test_openssl_accepts_issuing_ca(openssl: str, pem: PEMFiles) -> None:
    out = f.openssl("verify", "-x509_strict", "-CAfile", str(pem.root), str(pem.issuing))
    assert out.stdout.strip().endswith("OK")


def test_save_load(tmp_path: Path, issuing: CertificateAuthority) -> None:
    folder = tmp_path / "ca"
    save_authority(issuing, folder, "issuing", PASS, kdf_rounds=1000)
    assert stat.S_IMODE((folder / "issuing.key.pem").stat().st_mode) == 0o600
    loaded = load_authority(folder, "issuing", PASS, f.URLS)
    assert loaded.certificate == issuing.certificate
    assert loaded.chain == issuing.chain
    assert loaded.private_key.public_key() == issuing.private_key.public_key()
    with pytest.raises(AuthorityError, match="already exists"):
        save_authority(issuing, folder, "issuing", PASS, kdf_rounds=1000)
    with pytest.raises(WrongPassphrase):
        load_authority(folder, "issuing", b"wrong passphrase!", f.URLS)


def test_root_save_load_and_mismatch(
    tmp_path: Path, root: CertificateAuthority, issuing: CertificateAuthority
) -> None:
    save_authority(root, tmp_path, "root", PASS, kdf_rounds=1000)
    assert load_authority(tmp_path, "root", PASS, f.URLS).is_root
    (tmp_path / "root.cert.pem").unlink()
    f.write_pem(tmp_path / "root.cert.pem", [issuing.certificate])
    with pytest.raises(AuthorityError, match="does not match"):
        load_authority(tmp_path, "root", PASS, f.URLS)
