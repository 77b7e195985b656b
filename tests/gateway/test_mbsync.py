"""mbsync (Debian ``isync``) synchronises a Caducée mailbox out of Caducée's Dovecot.

A third real IMAP client after ``imaplib`` and fetchmail: mbsync logs in over STARTTLS with
an application password (checking the server's certificate), pulls INBOX into a local
Maildir, and ``openssl cms`` decrypts the file it wrote with the recipient's key: the
message stayed encrypted end to end through Dovecot and the client's disk.
"""

from __future__ import annotations

import subprocess
from email import message_from_bytes
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from caducee.crypto.smime import NEUTRAL_SUBJECT
from tests.gateway.conftest import Person, in_thread
from tests.gateway.test_dovecot import (  # noqa: F401  (the Dovecot fixture)
    BODY,
    IMAPWorld,
    _send,
    imap_world,
)
from tests.peers import require_tool


def _mbsyncrc(folder: Path, port: int, person: Person, cafile: Path) -> Path:
    """An isync 1.4 configuration: STARTTLS required, certificate checked (``localhost``)."""
    maildir = folder / "Mail"
    maildir.mkdir()
    rc = folder / "mbsyncrc"
    rc.write_text(
        f"IMAPAccount caducee\nHost localhost\nPort {port}\nUser {person.address}\n"
        f'Pass "{person.password}"\nSSLType STARTTLS\nSSLVersions TLSv1.2 TLSv1.3\n'
        f"CertificateFile {cafile}\nAuthMechs PLAIN\n\n"
        "IMAPStore caducee-remote\nAccount caducee\n\n"
        f"MaildirStore local\nPath {maildir}/\nInbox {maildir}/INBOX\n\n"
        "Channel caducee\nFar :caducee-remote:\nNear :local:\nPatterns INBOX\n"
        "Sync Pull\nCreate Near\nExpunge None\n"
    )
    rc.chmod(0o600)
    return rc


def _openssl_decrypt(folder: Path, mail: Path, person: Person) -> bytes:
    cert, key = folder / "recipient.pem", folder / "recipient.key"
    cert.write_bytes(person.certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        person.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key.chmod(0o600)
    result = subprocess.run(
        ["openssl", "cms", "-decrypt", "-in", str(mail), "-recip", str(cert), "-inkey", str(key)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return result.stdout


async def test_mbsync_pulls_the_ciphertext_into_a_maildir(
    imap_world: IMAPWorld,  # noqa: F811
    tmp_path: Path,
) -> None:
    mbsync = require_tool("mbsync", "isync")
    world = imap_world.world
    alice = await world.person("Alice")
    bob = await world.person("Bob")
    await in_thread(_send, world, alice, bob, "<imap-mbsync@caducee.test>")
    assert await imap_world.delivery.run_once() == 1
    rc = _mbsyncrc(tmp_path, imap_world.port, bob, world.tls.cert)

    def sync() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [mbsync, "-c", str(rc), "-V", "caducee"],
            capture_output=True,
            text=True,
            timeout=60,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )

    result = await in_thread(sync)
    assert result.returncode == 0, result.stdout + result.stderr
    inbox = tmp_path / "Mail" / "INBOX"
    [mail] = [p for sub in ("new", "cur") for p in (inbox / sub).iterdir()]
    raw = mail.read_bytes()
    assert BODY.encode() not in raw  # the Maildir holds ciphertext only
    message = message_from_bytes(raw)
    assert message["Subject"] == NEUTRAL_SUBJECT
    assert message.get_content_type() == "application/pkcs7-mime"
    assert BODY.encode() in await in_thread(_openssl_decrypt, tmp_path, mail, bob)
    # The login went over TLS, with the application password, as Dovecot logged it.
    assert imap_world.dovecot.files is not None
    logins = [
        line
        for line in imap_world.dovecot.files.log.read_text().splitlines()
        if f"Login: user=<{bob.address}>" in line
    ]
    assert logins and all("TLS" in line for line in logins), logins
    # A second run is a no-op: nothing duplicated on the client's disk.
    again = await in_thread(sync)
    assert again.returncode == 0, again.stdout + again.stderr
    assert len([p for sub in ("new", "cur") for p in (inbox / sub).iterdir()]) == 1
    # A wrong password is refused, and nothing more is written.
    (tmp_path / "bad").mkdir()
    bad = _mbsyncrc(tmp_path / "bad", imap_world.port, bob, world.tls.cert)
    bad.write_text(bad.read_text().replace(bob.password, "not-the-password"))
    refused = await in_thread(
        subprocess.run,
        [mbsync, "-c", str(bad), "caducee"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert refused.returncode != 0
    assert not any((tmp_path / "bad" / "Mail" / "INBOX").glob("*/*"))
