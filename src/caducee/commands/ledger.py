"""``caducee verify`` and ``caducee ledger``: check evidence without trusting the operator.

- ``verify RECEIPT --log-key KEY [--tsa-root PEM]``: offline; the record's signature, its
  RFC 9162 §2.1.3 inclusion proof, the checkpoint's signature and, with ``--tsa-root``, its
  RFC 3161 time-stamp (then required). Prints what the record attests, French first.
- ``ledger compare A B --log-key KEY [--proof JSON]``: two checkpoints two agents saw; same
  size and two roots is a fork; different sizes need the §2.1.4 consistency proof.
- ``ledger check --data-dir D``: recompute the whole log from its records (operator side).

Exit status: 0 verified; 1 invalid, with the error's code and reason; 2 undecided.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from datetime import UTC
from pathlib import Path
from typing import Annotated

import typer
from cryptography import x509

from caducee.config import load_settings
from caducee.crypto.cms_verify import verify_signed_data
from caducee.crypto.errors import CryptoError
from caducee.errors import CaduceeError
from caducee.evidence import LogReport, check_log, load_log_key, log_origin
from caducee.ledger import (
    AckStatement,
    Checkpoint,
    EvidenceEvent,
    EvidenceRecord,
    LedgerError,
    MalformedInput,
    NoteVerifierKey,
    VerifiedReceipt,
    compare_checkpoints,
    parse_verifier_key,
    verify_checkpoint,
    verify_checkpoint_consistency,
    verify_receipt,
)
from caducee.ledger.journey import (
    JourneyBroken,
    VerifiedJourney,
    is_journey,
    signed_acknowledgements,
    verify_journey,
)
from caducee.store import Database

__all__ = ["app", "describe_record", "verify_command"]

app = typer.Typer(
    help="Journal de preuves : comparer, contrôler. / Evidence log: compare, check.",
    no_args_is_help=True,
)

# event → (français, English); fields: sender, recipients, actor, id.
_PHRASES: dict[EvidenceEvent, tuple[str, str]] = {
    EvidenceEvent.SUBMISSION_ACCEPTANCE: ("Déposé par {sender}", "submitted by {sender}"),
    EvidenceEvent.SUBMISSION_REJECTION: ("Dépôt refusé pour {sender}", "rejected from {sender}"),
    EvidenceEvent.CONTENT_CONSIGNMENT: (
        "Remis dans la boîte de {recipients}",
        "consigned to the mailbox of {recipients}",
    ),
    EvidenceEvent.CONTENT_HANDOVER: ("Retiré par {actor}", "fetched by {actor}"),
    EvidenceEvent.CONSIGNMENT_ACCEPTANCE: (
        "Accusé de réception signé par {actor}",
        "acknowledged by {actor}",
    ),
    EvidenceEvent.RELAY_TO_EXTERNAL: (
        "Transmis hors de la messagerie pour {recipients}",
        "relayed outside for {recipients}",
    ),
    EvidenceEvent.RECEIVED_FROM_EXTERNAL: (
        "Reçu de l'extérieur, envoyé par {sender}",
        "received from outside, sent by {sender}",
    ),
    EvidenceEvent.CERTIFICATE_ISSUED: ("Certificat {id} émis", "certificate {id} issued"),
    EvidenceEvent.CERTIFICATE_REVOKED: ("Certificat {id} révoqué", "certificate {id} revoked"),
    EvidenceEvent.CHARTER_SIGNED: ("Charte signée par {actor}", "charter signed by {actor}"),
    EvidenceEvent.MODERATION_DECISION: (
        "Décision de modération par {actor}",
        "moderation decision by {actor}",
    ),
    EvidenceEvent.PRESCRIPTION_TRANSITION: (
        "Ordonnance {id} : changement d'état par {actor}",
        "prescription {id}: state changed by {actor}",
    ),
    EvidenceEvent.DEVICE_REGISTERED: (
        "Appareil {id} enregistré par {actor}",
        "device {id} registered by {actor}",
    ),
    EvidenceEvent.DEVICE_REVOKED: (
        "Appareil {id} révoqué par {actor}",
        "device {id} revoked by {actor}",
    ),
    EvidenceEvent.CASE_ROUTED: (
        "Conversation {id} adressée à {recipients}",
        "case {id} routed to {recipients}",
    ),
    EvidenceEvent.CASE_ESCALATED: (
        "Conversation {id} escaladée vers {recipients}",
        "case {id} escalated to {recipients}",
    ),
    EvidenceEvent.CASE_ACKNOWLEDGED: (
        "Conversation {id} prise en charge par {actor}",
        "case {id} taken in hand by {actor}",
    ),
    EvidenceEvent.CASE_READ: (
        "Conversation {id} lue par {actor} : escalade arrêtée",
        "case {id} read by {actor}: escalation stopped",
    ),
}

KeyOpt = Annotated[
    str,
    typer.Option(
        "--log-key",
        help="Clé du journal (<origine>+<id>+<clé>) ou fichier la contenant. / "
        "The log's verifier key, or a file holding it.",
    ),
]


def describe_record(record: EvidenceRecord) -> str:
    """One line, French then English: what the record attests, and when."""
    fr, en = _PHRASES[record.event]
    fields = {
        "sender": record.sender_id or "?",
        "recipients": ", ".join(record.recipient_ids) or "?",
        "actor": record.actor_id,
        "id": record.message_id,
    }
    t = record.time.astimezone(UTC)
    when_fr = t.strftime("le %d/%m/%Y à %H:%M:%S UTC")
    when_en = t.strftime("on %Y-%m-%d %H:%M:%S UTC")
    return f"{fr.format(**fields)} {when_fr} / {en.format(**fields)} {when_en}"


def _fail(title: str, exc: CaduceeError) -> typer.Exit:
    typer.echo(f"{title} — {exc.code}: {exc.reason}", err=True)
    return typer.Exit(1)


def _load_key(text: str) -> NoteVerifierKey:
    path = Path(text)
    if "+" not in text and path.is_file():
        text = path.read_text(encoding="utf-8").strip()
    return parse_verifier_key(text.strip())


def _summary(v: VerifiedReceipt) -> list[str]:
    r = v.record
    lines = [
        "Reçu valide / Valid receipt",
        f"  {describe_record(r)}",
        f"  Message : {r.message_id}",
        f"  Événement / event : {r.event.value}",
        f"  Empreinte du chiffré / ciphertext SHA-256 : {r.ciphertext_sha256}",
        f"  Enregistrement n° {v.leaf_index} du journal {v.checkpoint.origin} "
        f"(taille {v.checkpoint.size}) / record {v.leaf_index} of log {v.checkpoint.origin}",
    ]
    if v.timestamp is not None:
        t = v.timestamp.gen_time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        lines.append(f"  Horodaté / time-stamped : {t} (n° {v.timestamp.serial_number})")
    else:
        lines.append("  Horodatage non vérifié / time-stamp not checked")
    return lines


def verify_command(
    receipt_file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="Reçu / receipt (JSON)")
    ],
    log_key: KeyOpt,
    tsa_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--tsa-root",
            exists=True,
            dir_okay=False,
            help="Racine de l'horodateur (PEM) : l'horodatage devient obligatoire. / "
            "TSA root (PEM): the time-stamp is then required.",
        ),
    ] = None,
) -> None:
    """Vérifier un reçu hors ligne. / Verify a receipt offline."""
    data = receipt_file.read_bytes()
    try:
        key = _load_key(log_key)
        roots = [x509.load_pem_x509_certificate(p.read_bytes()) for p in tsa_root or []]
        if is_journey(data):
            journey = verify_journey(
                data, log_key=key, tsa_roots=roots, require_timestamp=bool(roots)
            )
            lines = _journey_summary(journey)
        else:
            verified = verify_receipt(
                data, log_key=key, tsa_roots=roots, require_timestamp=bool(roots)
            )
            lines = _summary(verified)
    except ValueError as exc:  # an unreadable PEM
        raise _fail("Reçu non vérifié / Receipt not verified", MalformedInput(str(exc))) from None
    except (LedgerError, CryptoError) as exc:
        raise _fail("Reçu invalide / Invalid receipt", exc) from None
    typer.echo("\n".join(lines))


def _journey_summary(journey: VerifiedJourney) -> list[str]:
    """The message's story, step by step, each step verified; signed acknowledgements too."""
    signers = {id(step): _check_acknowledgement(journey, step, der)
               for step, der in signed_acknowledgements(journey)}  # fmt: skip
    lines = [
        "Parcours vérifié / Verified journey",
        f"  Message : {journey.message_id}",
        f"  Empreinte du chiffré / ciphertext SHA-256 : {journey.ciphertext_sha256}",
    ]
    for step in journey.steps:
        lines.append(f"  {step.leaf_index:>8}  {describe_record(step.record)}")
        if id(step) in signers:
            lines.append(f"            {signers[id(step)]}")
        elif step.record.event is EvidenceEvent.CONSIGNMENT_ACCEPTANCE:
            lines.append("            accusé non signé / unsigned acknowledgement")
    stamped = [s for s in journey.steps if s.timestamp is not None]
    if stamped:
        t = stamped[-1].timestamp.gen_time.astimezone(UTC)  # type: ignore[union-attr]
        lines.append(f"  Horodaté / time-stamped : {t:%Y-%m-%d %H:%M:%S} UTC")
    else:
        lines.append("  Horodatage non vérifié / time-stamp not checked")
    return lines


def _check_acknowledgement(journey: VerifiedJourney, step: VerifiedReceipt, der: bytes) -> str:
    """Verify a recipient's signed statement against the record that references it."""
    signed = verify_signed_data(der)
    statement = AckStatement.from_bytes(signed.content)
    record = step.record
    if (statement.message_id, statement.ciphertext_sha256) != (
        journey.message_id,
        journey.ciphertext_sha256,
    ) or statement.recipient.lower() != record.actor_id.lower():
        raise JourneyBroken(
            f"the acknowledgement of record {step.leaf_index} is about another message"
        )
    subject = signed.signer_certificate.subject.rfc4514_string()
    return f"accusé signé par / acknowledgement signed by {subject} ({statement.recipient})"


def _proof(path: Path, first: int, second: int) -> list[bytes]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if (data["first"], data["second"]) != (first, second):
            raise MalformedInput(f"the proof is from {data['first']} to {data['second']}")
        return [base64.b64decode(h, validate=True) for h in data["proof"]]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise MalformedInput(f"the consistency proof file is not readable: {exc}") from exc


@app.command("compare")
def compare_command(
    checkpoint_a: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    checkpoint_b: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    log_key: KeyOpt,
    proof: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Preuve de cohérence (JSON de /api/v1/ledger/consistency). / Consistency proof.",
        ),
    ] = None,
) -> None:
    """Comparer deux points de contrôle (fourche ?). / Compare two checkpoints (fork?)."""
    try:
        key = _load_key(log_key)
        a: Checkpoint = verify_checkpoint(checkpoint_a.read_bytes(), key)
        b: Checkpoint = verify_checkpoint(checkpoint_b.read_bytes(), key)
        compare_checkpoints(a, b)
        old, new = (a, b) if a.size <= b.size else (b, a)
        if old.size != new.size:
            if proof is None:
                typer.echo(
                    f"Tailles {old.size} et {new.size} : il faut la preuve de cohérence "
                    "(--proof). / Different sizes: the consistency proof is needed (--proof).",
                    err=True,
                )
                raise typer.Exit(2)
            verify_checkpoint_consistency(old, new, _proof(proof, old.size, new.size))
    except LedgerError as exc:
        raise _fail("Histoires divergentes / Diverging histories", exc) from None
    typer.echo(
        f"Même histoire : {old.size} ⊆ {new.size} / Same history: size {old.size} "
        f"is a prefix of size {new.size} ({new.origin})"
    )


@app.command("check")
def check_command(
    data_dir: Annotated[Path, typer.Option(exists=True, file_okay=False, help="Dossier / data")],
    log_key: Annotated[
        str | None, typer.Option("--log-key", help="Clé attendue / expected key")
    ] = None,
    database_url: Annotated[str | None, typer.Option(help="Base / database URL")] = None,
) -> None:
    """Recalculer le journal et le comparer au stocké. / Recompute and compare the log."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    try:
        if log_key is not None:
            key = _load_key(log_key)
        else:
            origin = log_origin(settings.mail_domain)
            key = NoteVerifierKey.from_public_key(origin, load_log_key(data_dir).public_key())
    except CaduceeError as exc:
        raise _fail("Contrôle impossible / Cannot check", exc) from None
    try:
        report = asyncio.run(_check(settings.resolved_database_url, key))
    except CaduceeError as exc:
        raise _fail("Journal altéré / Log corrupted", exc) from None
    typer.echo(
        f"Journal intègre / Log intact: {report.tree_size} enregistrements / records, "
        f"{report.nodes} nœuds / nodes, {report.checkpoints} points de contrôle / checkpoints, "
        f"racine / root {report.root_hash.hex()}"
    )


async def _check(url: str, key: NoteVerifierKey) -> LogReport:
    database = Database(url)
    try:
        return await check_log(database, key)
    finally:
        await database.close()
