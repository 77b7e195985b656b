"""Benchmark of the prescriptions service: deposits/s, dispenses/s and card checks/s.

    .venv/bin/python bench/bench_prescriptions.py [--count 300] [--workers 8]
        [--engines sqlite postgresql]

Per engine, through the service (the API minus HTTP): ``deposit`` = $create + $activate
(CMS signature verified, bundle parsed and checked, drug codes looked up, two evidence
records, one access-log line), ``dispense`` = $accept with the paper code + $close with
three lines (signed receipt, evidence, dispensing rows), ``card check`` = challenge + the
card's ECDSA answer verified + path validation + grant; each sequential, then with
``--workers`` concurrent callers. The peer, measured in the same run, is the bare cost of
the cryptography the server cannot avoid: CMS verification + FHIR parse of one bundle (for
deposits), and ECDSA P-256 verification + path validation of one card answer (for card
checks); the ratio says what the database, the ledger and the bookkeeping add.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from caducee.crypto.cms_sign import sign_data
from caducee.crypto.cms_verify import verify_signed_data
from caducee.directory import DirectoryService, luhn_complete
from caducee.directory.models import MailboxCertificate
from caducee.evidence import EvidenceLog, LogIdentity
from caducee.prescriptions import (
    Caller,
    CardAccess,
    CardVerifier,
    DispenseItem,
    Dosage,
    Outcome,
    PrescriptionLine,
    PrescriptionService,
    Role,
    build_bundle,
    card_challenge_data,
    create_card_ca,
    issue_card_certificate,
    parse_bundle,
    parse_drug_code,
    sample_bdpm,
    sign_card_challenge,
)
from caducee.store import Database, upgrade_database
from caducee.store.models import IssuedCertificate

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
NIR = "253072B07300470"
Row = tuple[str, str, str]


def _lines() -> list[PrescriptionLine]:
    return [
        PrescriptionLine(
            Dosage.checked("1", "comprimé", 3, "d", 5), 2, drug=parse_drug_code("3400939000053")
        ),
        PrescriptionLine(
            Dosage.checked("1", "comprimé", 2, "d", 7), 1, drug=parse_drug_code("3400939001470")
        ),
        PrescriptionLine(Dosage.checked("5", "mL", 3, "d", 5), 1, preparation="Sirop synthétique"),
    ]


DISPENSE = [
    DispenseItem(1, Outcome.FULL, 2),
    DispenseItem(2, Outcome.SUBSTITUTED, 1, code="3400939003603"),
    DispenseItem(3, Outcome.NOT_DISPENSED, 0, reason="indisponible"),
]


class Prescriber:
    def __init__(self, rpps: str) -> None:
        self.rpps = rpps
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dr Bench")]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Bench CA")]))
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(ca_key, hashes.SHA256())
        )

    def signed_bundle(self, task_id: str) -> bytes:
        bundle = build_bundle(
            prescription_id=task_id, nir=NIR, patient_family="IMAGINAIRE", patient_given="Léa",
            birth_date=dt.date(1953, 7, 14), gender="female", rpps=self.rpps,
            prescriber_name="Dr Bench", authored_on=dt.datetime.now(dt.UTC).replace(microsecond=0),
            lines=_lines(),
        )  # fmt: skip
        return sign_data(bundle, self.certificate, self.key)


async def _seed(database: Database, prescriber: Prescriber) -> tuple[Caller, Caller]:
    directory = DirectoryService(database)
    await directory.register_person(
        rpps=prescriber.rpps, given_name="Claire", family_name="Bench", profession="médecin"
    )
    doctor = await directory.create_mailbox(
        address="dr.bench@caducee.test", kind="personal", person_rpps=prescriber.rpps
    )
    finess = luhn_complete("44000001")
    await directory.register_organisation(finess=finess, name="Pharmacie Bench", type="pharmacy")
    shop = await directory.create_mailbox(
        address="pharmacie.bench@caducee.test", kind="organisational", organisation_finess=finess
    )
    cert = prescriber.certificate
    serial = format(cert.serial_number, "x")
    async with database.transaction() as session:
        session.add(
            IssuedCertificate(
                serial_hex=serial, profile="person", subject="CN=Dr Bench", email=None,
                not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
                fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
                der=cert.public_bytes(serialization.Encoding.DER),
            )
        )  # fmt: skip
        await session.flush()
        session.add(MailboxCertificate(mailbox_id=doctor, serial_hex=serial))
    return (
        Caller(doctor, "dr.bench@caducee.test", Role.PRESCRIBER, prescriber.rpps),
        Caller(shop, "pharmacie.bench@caducee.test", Role.PHARMACY),
    )


async def _timed(count: int, workers: int, job: Callable[[int], Awaitable[None]]) -> float:
    """Jobs 0..count-1 over ``workers`` concurrent callers; returns jobs/s."""
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            await job(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return count / (time.perf_counter() - start)


async def bench_engine(name: str, url: str, count: int, workers: int) -> list[Row]:
    upgrade_database(url)
    database = Database(url)
    rows: list[Row] = []
    try:
        log = EvidenceLog(
            database, LogIdentity("bench.test/caducee-log", Ed25519PrivateKey.generate())
        )
        ca = create_card_ca()
        access = CardAccess(database, CardVerifier([ca.certificate]))
        service = PrescriptionService(database, log, access, hmac_key=b"k" * 32)
        await service.drugs.replace(sample_bdpm().drugs)
        prescriber = Prescriber(luhn_complete("1000000999"))
        doctor, shop = await _seed(database, prescriber)
        card_key = ec.generate_private_key(ec.SECP256R1())
        card_der = issue_card_certificate(ca, card_key.public_key(), NIR).public_bytes(
            serialization.Encoding.DER
        )
        for parallel in (1, workers):
            label = "sequential" if parallel == 1 else f"{parallel} concurrent"
            # Drafts, then bundles signed "on the workstation" (not timed), then activation.
            drafts: list[tuple[str, str]] = []
            start = time.perf_counter()
            for _ in range(count):
                drafts.append(await service.create(doctor))
            create_rate = count / (time.perf_counter() - start)
            signed = [prescriber.signed_bundle(task_id) for task_id, _ in drafts]

            async def activate(i: int) -> None:
                await service.activate(doctor, drafts[i][0], signed[i])  # noqa: B023

            activate_rate = await _timed(count, parallel, activate)
            deposit = 1 / (1 / create_rate + 1 / activate_rate)
            rows.append((name, f"deposit = create + activate ({label})", f"{deposit:,.0f}/s"))

            async def dispense(i: int) -> None:
                task_id, code = drafts[i]  # noqa: B023
                accepted = await service.accept(shop, task_id, access_code=code)
                await service.close(shop, task_id, accepted.secret, DISPENSE)

            rate = await _timed(count, parallel, dispense)
            rows.append((name, f"dispense = accept + close ({label})", f"{rate:,.0f}/s"))

            async def card_check(_i: int) -> None:
                nonce, _ = await access.challenge(shop.address)
                signature = sign_card_challenge(card_key, nonce, shop.address)
                await access.grant(
                    audience=shop.address, mailbox_id=shop.mailbox_id, nonce=nonce,
                    certificate_der=card_der, signature=signature,
                )  # fmt: skip

            start = time.perf_counter()
            for _ in range(200):  # the card's own signature, to subtract from the timing
                sign_card_challenge(card_key, "n" * 64, shop.address)
            card_sign = (time.perf_counter() - start) / 200
            rate = await _timed(count, parallel, card_check)
            server_side = 1 / (1 / rate - card_sign / parallel)
            rows.append((name, f"card check, server side ({label})", f"{server_side:,.0f}/s"))
    finally:
        await database.close()
    return rows


def references(count: int) -> tuple[list[Row], float, float]:
    prescriber = Prescriber(luhn_complete("1000000999"))
    cms = prescriber.signed_bundle("160.123.456.789.123.58")
    start = time.perf_counter()
    for _ in range(count):
        parse_bundle(verify_signed_data(cms).content)
    bundle_rate = count / (time.perf_counter() - start)
    ca = create_card_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    der = issue_card_certificate(ca, key.public_key(), NIR).public_bytes(serialization.Encoding.DER)
    verifier = CardVerifier([ca.certificate])
    signature = sign_card_challenge(key, "n" * 64, "p@x.test")
    data = card_challenge_data("n" * 64, "p@x.test")
    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    for _ in range(count):
        verifier.verify(der, signature, data, at=now)
    card_rate = count / (time.perf_counter() - start)
    rows = [
        ("-", "peer: CMS verify + FHIR parse of one bundle", f"{bundle_rate:,.0f}/s"),
        ("-", "peer: card answer verify (ECDSA + path)", f"{card_rate:,.0f}/s"),
    ]
    return rows, bundle_rate, card_rate


def _pg_database() -> tuple[str, str]:
    import psycopg

    name = f"caducee_bench_rx_{int(time.time())}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ratio(row: Row, bundle_rate: float, card_rate: float) -> str:
    value = float(row[2].rstrip("/s").replace(",", ""))
    if row[1].startswith("deposit"):
        return f"{value / bundle_rate:.2f}× bare CMS+FHIR"
    if row[1].startswith("card"):
        return f"{value / card_rate:.2f}× bare card verify"
    if row[1].startswith("dispense"):
        return f"{value / bundle_rate:.2f}× bare CMS+FHIR"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    rows, bundle_rate, card_rate = references(max(args.count, 200))
    for engine in args.engines:
        if engine == "sqlite":
            with tempfile.TemporaryDirectory() as folder:
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
                rows += asyncio.run(bench_engine(engine, url, args.count, args.workers))
        else:
            name, url = _pg_database()
            try:
                rows += asyncio.run(bench_engine(engine, url, args.count, args.workers))
            finally:
                _pg_drop(name)
    print("| engine | measure | result | ratio to the same-run peer |\n|---|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} | {_ratio(row, bundle_rate, card_rate)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
