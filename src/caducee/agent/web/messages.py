"""The local pages' words, French first then English (same keys in both; a test checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["MESSAGES", "translator"]

FR: dict[str, str] = {
    "app.title": "Caducée — poste de travail",
    "nav.inbox": "Réception",
    "nav.sent": "Envoyés",
    "nav.quarantine": "Quarantaine",
    "nav.send": "Envoyer",
    "nav.other_language": "English",
    "ledger.alarm": "Alerte : le journal de preuves du serveur est incohérent",
    "nav.to_match": "À rapprocher",
    "badge.pdf_only": "PDF seul",
    "badge.pdf_only_help": "Résultat reçu en PDF seul : non intégrable automatiquement.",
    "results.title": "Résultats",
    "results.patient": "Patient : {last} {first}, né(e) le {born}",
    "col.analysis": "Analyse",
    "col.value": "Valeur",
    "col.unit": "Unité",
    "col.range": "Valeurs de référence",
    "col.flag": "Interprétation",
    "results.abnormal": "anormal",
    "results.normal": "normal",
    "results.computed": "(calculé par Caducée)",
    "tomatch.title": "Documents à rapprocher",
    "tomatch.help": (
        "Le patient de ces documents est incertain : choisissez-le. "
        "Aucun document n'est attribué sans vous."
    ),
    "tomatch.empty": "Aucun document à rapprocher.",
    "tomatch.document": "Le document concerne",
    "tomatch.reason": "Motif",
    "tomatch.candidates": "Patients possibles",
    "tomatch.new": "Nouveau patient (le logiciel du cabinet le créera)",
    "tomatch.choose": "Classer dans ce dossier",
    "tomatch.done": "Document classé : « {name} ».",
    "tomatch.id": "n° {id}",
    "inbox.title": "Documents reçus",
    "inbox.empty": "Aucun document reçu pour l'instant.",
    "inbox.count": "{count} document(s) dans {folder}",
    "col.name": "Nom",
    "col.size": "Taille",
    "col.date": "Date",
    "col.state": "État",
    "col.recipients": "Destinataires",
    "col.message": "Message",
    "col.code": "Code",
    "col.reason": "Raison",
    "document.download": "Télécharger l'original",
    "document.back": "Retour à la réception",
    "sent.title": "Envois",
    "sent.empty": "Aucun envoi pour l'instant.",
    "sent.queued": "« {name} » est déposé dans la boîte d'envoi ; il partira dans un instant.",
    "state.sent": "envoyé",
    "state.pending": "en cours",
    "state.failed": "refusé",
    "quarantine.title": "Messages mis de côté",
    "quarantine.empty": "Aucun message en quarantaine.",
    "quarantine.help": "Ces messages n'ont pas pu être ouverts ou vérifiés ; ils sont conservés.",
    "send.title": "Envoyer un document",
    "send.to": "Destinataire(s), séparés par des virgules",
    "send.file": "Document",
    "send.submit": "Envoyer",
    "send.help": "Le document est signé et chiffré sur ce poste avant de partir.",
    "error.recipient": "Indiquez au moins une adresse de destinataire valide.",
    "error.file": "Choisissez un document non vide.",
    "error.forbidden": "Requête refusée (jeton de formulaire invalide).",
    "error.not_found": "Document introuvable.",
}

EN: dict[str, str] = {
    "app.title": "Caducée — workstation",
    "nav.inbox": "Inbox",
    "nav.sent": "Sent",
    "nav.quarantine": "Quarantine",
    "nav.send": "Send",
    "nav.other_language": "Français",
    "ledger.alarm": "Alarm: the server's evidence log is inconsistent",
    "nav.to_match": "To match",
    "badge.pdf_only": "PDF only",
    "badge.pdf_only_help": "Result received as a PDF alone: it cannot be filed automatically.",
    "results.title": "Results",
    "results.patient": "Patient: {last} {first}, born {born}",
    "col.analysis": "Test",
    "col.value": "Value",
    "col.unit": "Unit",
    "col.range": "Reference range",
    "col.flag": "Interpretation",
    "results.abnormal": "abnormal",
    "results.normal": "normal",
    "results.computed": "(computed by Caducée)",
    "tomatch.title": "Documents to match",
    "tomatch.help": (
        "The patient of these documents is uncertain: choose them. "
        "No document is filed without you."
    ),
    "tomatch.empty": "No document to match.",
    "tomatch.document": "The document is about",
    "tomatch.reason": "Reason",
    "tomatch.candidates": "Possible patients",
    "tomatch.new": "New patient (the practice software will create them)",
    "tomatch.choose": "File for this patient",
    "tomatch.done": "Document filed: “{name}”.",
    "tomatch.id": "no. {id}",
    "inbox.title": "Received documents",
    "inbox.empty": "No document received yet.",
    "inbox.count": "{count} document(s) in {folder}",
    "col.name": "Name",
    "col.size": "Size",
    "col.date": "Date",
    "col.state": "State",
    "col.recipients": "Recipients",
    "col.message": "Message",
    "col.code": "Code",
    "col.reason": "Reason",
    "document.download": "Download the original",
    "document.back": "Back to the inbox",
    "sent.title": "Sent",
    "sent.empty": "Nothing sent yet.",
    "sent.queued": "“{name}” is in the outbox; it will leave in a moment.",
    "state.sent": "sent",
    "state.pending": "in progress",
    "state.failed": "refused",
    "quarantine.title": "Messages set aside",
    "quarantine.empty": "No message in quarantine.",
    "quarantine.help": "These messages could not be opened or verified; they are kept.",
    "send.title": "Send a document",
    "send.to": "Recipient(s), separated by commas",
    "send.file": "Document",
    "send.submit": "Send",
    "send.help": "The document is signed and encrypted on this workstation before it leaves.",
    "error.recipient": "Give at least one valid recipient address.",
    "error.file": "Choose a non-empty document.",
    "error.forbidden": "Request refused (invalid form token).",
    "error.not_found": "Document not found.",
}

MESSAGES: Mapping[str, Mapping[str, str]] = {"fr": FR, "en": EN}


def translator(locale: str) -> Callable[..., str]:
    """``_("id", name=value)`` in ``locale`` (French when unknown)."""
    catalogue = MESSAGES.get(locale, FR)

    def translate(message_id: str, /, **values: object) -> str:
        template = catalogue.get(message_id) or FR[message_id]
        return template.format(**values) if values else template

    return translate
