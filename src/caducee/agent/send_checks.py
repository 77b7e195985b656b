"""The checks before a send, shared by the local pages and the outbox watcher.

:meth:`SendChecks.plan` applies the bulk-mail rules (:mod:`caducee.agent.bulk_check`, with
the sender's limits from :class:`~caducee.agent.standing.Standing`) to all the recipients of a
send, then sorts them into Caducée's own and other operators'
(:class:`~caducee.agent.external.RecipientSorter`); a refused send is not sorted (no
directory look-up for 11,000 strangers). What a person confirmed on the local pages is
written in the journal (``confirmed:<sha256>:<name>``) before the file reaches the outbox, so
the watcher does not refuse again what was deliberately sent. The texts here are the reason
files' (French then English); the pages have theirs in their catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from caducee.agent.bulk_check import BulkAdvice, Concern, assess_send, read_facts
from caducee.agent.external import Gateway, RecipientSorter
from caducee.agent.journal import Journal
from caducee.agent.standing import Standing, strongest_level

__all__ = ["CONFIRMED_BULK", "REASONS", "SendChecks", "SendPlan", "reason_text"]

CONFIRMED_BULK = "bulk"

REASONS: dict[str, tuple[str, str]] = {
    Concern.SENDER_BLOCKED: (
        "Votre boîte est bloquée pour l'envoi après des signalements d'abus : voyez la charte "
        "et contactez le support.",
        "Your mailbox is blocked from sending after reports of misuse: see the charter and "
        "contact the support.",
    ),
    Concern.BULK_WITHOUT_PATIENT: (
        "Refusé sur ce poste : {count} destinataires (au plus {limit} par message) pour un "
        "document qui ne concerne aucun patient. La charte interdit les envois en nombre "
        "(annonces, invitations, questionnaires, lettres d'information).",
        "Refused on this workstation: {count} recipients (at most {limit} per message) for a "
        "document about no patient. The charter forbids bulk mail (announcements, "
        "invitations, questionnaires, newsletters).",
    ),
    Concern.ANNOUNCEMENT: (
        "Ce document ressemble à une annonce ({cues}) pour {count} destinataires : c'est ce "
        "que la charte interdit. Personne n'a pu le confirmer depuis la boîte d'envoi ; "
        "envoyez-le depuis les pages locales de l'agent si c'est voulu.",
        "This document looks like an announcement ({cues}) for {count} recipients: that is "
        "what the charter forbids. Nobody could confirm it from the outbox; send it from the "
        "agent's local pages if it is deliberate.",
    ),
    "external-refused": (
        "Destinataire(s) hors de Caducée : {addresses}. Le message quitterait le chiffrement "
        "de bout en bout (remis en clair, sur une connexion TLS, à la passerelle MSSanté). "
        "Depuis la boîte d'envoi, c'est refusé tant que le réglage outbox_allows_external "
        "de l'agent n'est pas activé ; ou envoyez-le depuis les pages locales.",
        "Recipient(s) outside Caducée: {addresses}. The message would leave end-to-end "
        "encryption (handed in clear, over TLS, to the MSSanté gateway). From the outbox "
        "this is refused unless the agent's outbox_allows_external setting is on; or send "
        "it from the local pages.",
    ),
    "external-warning": (
        "Destinataire(s) hors de Caducée : {addresses}. Leur copie quittera le chiffrement de "
        "bout en bout de Caducée : elle sera remise en clair, sur une connexion TLS, à la "
        "passerelle MSSanté. Les destinataires Caducée reçoivent la copie chiffrée.",
        "Recipient(s) outside Caducée: {addresses}. Their copy will leave Caducée's end-to-end "
        "encryption: it is handed in clear, over TLS, to the MSSanté gateway. Caducée "
        "recipients get the encrypted copy.",
    ),
    Concern.OVER_LIMIT: (
        "{count} destinataires, au-delà de votre limite ({limit} par message) : le serveur "
        "retiendra ce message pour un modérateur, qui le remettra ou le refusera.",
        "{count} recipients, over your limit ({limit} per message): the server will hold this "
        "message for a moderator, who will release or refuse it.",
    ),
    Concern.SENDER_HELD: (
        "Vos envois sont vérifiés par un modérateur avant d'être remis (sanction en cours).",
        "Your messages are checked by a moderator before delivery (a sanction is in force).",
    ),
    "gateway-off": (
        "La passerelle MSSanté de l'opérateur n'est pas active : les destinataires hors "
        "Caducée ({addresses}) ne peuvent pas être joints. Rien n'est perdu : le fichier est "
        "ici.",
        "The operator's MSSanté gateway is off: recipients outside Caducée ({addresses}) "
        "cannot be reached. Nothing is lost: the file is here.",
    ),
    "domain-not-trusted": (
        "Un domaine destinataire n'est pas dans l'espace de confiance MSSanté (liste "
        "blanche) : {addresses}. Vérifiez l'adresse.",
        "A recipient domain is not in the MSSanté trust space (white list): {addresses}. "
        "Check the address.",
    ),
    "relay-denied": (
        "Adresse Caducée inconnue : {addresses}. Vérifiez l'adresse.",
        "Unknown Caducée address: {addresses}. Check the address.",
    ),
}


def reason_text(code: str, **values: object) -> str:
    """The reason file's text for ``code``: French, then English."""
    french, english = REASONS.get(code, ("Refusé ({code}).", "Refused ({code})."))
    values = {"code": code, **values}
    return f"Français :\n{french.format(**values)}\n\nEnglish:\n{english.format(**values)}\n"


@dataclass(frozen=True)
class SendPlan:
    """A send's verdict and its recipients sorted (empty when refused)."""

    advice: BulkAdvice
    internal: tuple[str, ...] = ()
    external: tuple[str, ...] = ()


class SendChecks:
    """The bulk-mail rules and the recipients' sorting for one agent."""

    def __init__(
        self,
        directory: Gateway | None,
        journal: Journal,
        standing: Standing,
        address: str,
        *,
        retries: int | None = None,
    ) -> None:
        self.journal = journal
        self.standing = standing
        self.sorter = RecipientSorter(directory, journal, address, retries=retries)

    def plan(
        self,
        recipients: Sequence[str],
        parts: Sequence[tuple[str, bytes]],
        *,
        with_sanctions: bool = False,
    ) -> SendPlan:
        """Assess then sort; the client's errors when a recipient cannot be sorted now.

        ``with_sanctions`` asks the server for the sanctions in force (the pages do; the
        outbox leaves them to the server, which holds or refuses by itself).
        """
        sanction = None
        if with_sanctions:
            sanction = strongest_level(self.standing.sanctions() or [])
        advice = assess_send(
            len(recipients), self.standing.limits(), lambda: read_facts(parts), sanction=sanction
        )
        if advice.refused:
            return SendPlan(advice)
        split = self.sorter.sort(recipients)
        return SendPlan(advice, split.internal, split.external)

    # -- what a person confirmed ----------------------------------------------------------
    def confirm(self, digest: str, name: str) -> None:
        """The person sent an announcement-like document deliberately (local pages)."""
        self.journal.set(f"confirmed:{digest}:{name}", CONFIRMED_BULK)

    def confirmed(self, digest: str, name: str) -> bool:
        return self.journal.get(f"confirmed:{digest}:{name}") == CONFIRMED_BULK
