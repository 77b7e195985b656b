"""Synthetic rows for the store's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caducee.store.models import IssuedCertificate


def certificate_row(serial: str, fingerprint: str) -> IssuedCertificate:
    """An issued-certificate row (a table every migrated database has), invented."""
    now = datetime.now(UTC)
    return IssuedCertificate(
        serial_hex=serial,
        profile="person",
        subject="CN=Synthetic Person",
        email="synthetic@caducee.test",
        not_before=now,
        not_after=now + timedelta(days=365),
        fingerprint_sha256=fingerprint,
        der=b"\x30\x00",
    )
