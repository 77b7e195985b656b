"""The case pages' words, French first then English (same keys; a test checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["MESSAGES", "translator"]

FR: dict[str, str] = {
    "cases.title": "Conversations sur un patient (MISS)",
    "cases.help": (
        "Messagerie instantanée chiffrée de bout en bout : ce poste déchiffre les messages "
        "et l'identité du patient, le serveur n'en voit rien."
    ),
    "cases.none": "Aucune conversation pour l'instant.",
    "cases.col.patient": "Patient",
    "cases.col.participants": "Participants",
    "cases.col.unread": "Non lus",
    "cases.col.messages": "Messages",
    "cases.unknown_patient": "— (illisible sur ce poste)",
    "cases.unread": "{count} non lu(s)",
    "cases.open": "Ouvrir",
    "cases.sync_failed": "non synchronisée ({code})",
    "cases.refresh": "Actualiser",
    "cases.device": "Appareil de ce poste : {device} (clé de signature {fingerprint})",
    "cases.new.title": "Nouvelle conversation",
    "cases.new.participants": "Participants (adresses Caducée, séparées par des virgules)",
    "cases.new.patient_name": "Nom et prénom du patient",
    "cases.new.patient_birth": "Date de naissance",
    "cases.new.patient_ins": "INS (NIR, 15 caractères, facultatif)",
    "cases.new.stay": "Séjour (facultatif)",
    "cases.new.text": "Premier message (facultatif)",
    "cases.new.submit": "Ouvrir la conversation",
    "cases.new.help": "L'identité du patient voyage uniquement chiffrée, dans le premier message.",
    "case.back": "Retour aux conversations",
    "case.patient": "Patient : {name}",
    "case.born": "né(e) le {date}",
    "case.ins": "INS {ins}",
    "case.stay": "séjour : {stay}",
    "case.participants": "Participants : {people}",
    "case.handled_by": "Pris en charge par {who}",
    "case.retention": "Conservée {days} jours sur le serveur (chiffrée), selon l'établissement.",
    "case.empty": "Aucun message.",
    "case.me": "moi",
    "case.opened": "Conversation ouverte",
    "case.unreadable": "Illisible sur ce poste ({code})",
    "case.edited": "modifié",
    "case.edited_at": "modifié le {at}",
    "case.versions": "Versions précédentes",
    "case.deleted": "Supprimé par {who} le {at}",
    "case.reply_to": "En réponse à {who} :",
    "case.quote_deleted": "message supprimé",
    "case.read_by": "Lu par : {people}",
    "case.read_event": "{who} a lu jusqu'au message n° {upto}",
    "case.ack_event": "{who} : je m'en occupe",
    "case.photo": "Photo {name}",
    "case.blurred": "(floutée)",
    "case.file": "Fichier {name} ({size} octets)",
    "case.reply": "Répondre",
    "case.edit": "Modifier",
    "case.edit.submit": "Enregistrer la modification",
    "case.delete": "Supprimer",
    "case.send.title": "Écrire",
    "case.send.replying": "Réponse à {who} : « {excerpt} »",
    "case.send.cancel_reply": "Annuler la réponse",
    "case.send.text": "Message",
    "case.send.file": "Photo ou fichier (facultatif)",
    "case.send.caption_help": "Avec une photo, le texte sert de légende.",
    "case.send.submit": "Envoyer",
    "case.ack": "Je m'en occupe",
    "case.ack.help": "Signale aux participants que vous prenez le patient en charge.",
    "case.export.title": "Exporter vers le dossier du patient",
    "case.export.help": (
        "La conversation (texte lisible, photos et fichiers à part) part par la messagerie "
        "Caducée, chiffrée, vers votre propre boîte par défaut : elle arrive dans votre dossier "
        "de réception pour le logiciel du cabinet."
    ),
    "case.export.to": "Destinataire (vide : votre boîte, {address})",
    "case.export.submit": "Exporter vers le dossier du patient",
    "case.export.done": "Exporté le {at} vers {to}",
    "case.export.file": "{name} : {state}",
    "case.export.message": "message {id}",
    "state.queued": "en attente d'envoi",
    "notice.sent": "Message envoyé.",
    "notice.edited": "Message modifié.",
    "notice.deleted": "Message supprimé (les participants voient « supprimé par »).",
    "notice.acknowledged": "Prise en charge signalée.",
    "notice.exported": "Export déposé dans la boîte d'envoi ; il part dans un instant.",
    "notice.created": "Conversation ouverte.",
    "error.forbidden": "Formulaire expiré ou invalide (jeton de sécurité) : rien n'a été fait.",
    "error.offline": (
        "Cet agent n'est pas connecté au serveur : lancez « caducee agent run » pour voir vos "
        "conversations."
    ),
    "error.unreachable": "Le serveur Caducée ne répond pas : réessayez dans un moment.",
    "error.case_not_found": "Conversation introuvable (ou vous n'en faites plus partie).",
    "error.refused": "Le serveur a refusé : {code}.",
    "error.miss-invalid-input": "Valeur invalide : {detail}",
    "error.miss-message-too-large": (
        "Trop grand pour un message (2 Mo environ au plus) : envoyez-le par la messagerie Caducée."
    ),
    "error.miss-not-your-message": "Seul l'auteur d'un message peut le modifier ou le supprimer.",
    "error.miss-unknown-message": "Ce message n'existe pas ou ne peut plus être modifié.",
    "error.miss-device-file": ("Les clés de l'appareil de ce poste ne s'ouvrent pas : {detail}"),
    "error.miss-not-connected": (
        "Cet agent n'est pas connecté au serveur : lancez « caducee agent run »."
    ),
    "error.miss-client-error": "Action impossible : {detail}",
    "error.instant-unknown-participant": "Adresse inconnue de l'annuaire : {detail}",
}

EN: dict[str, str] = {
    "cases.title": "Cases about a patient (MISS)",
    "cases.help": (
        "End-to-end encrypted instant messaging: this workstation decrypts the messages and the "
        "patient's identity, the server sees none of it."
    ),
    "cases.none": "No case yet.",
    "cases.col.patient": "Patient",
    "cases.col.participants": "Participants",
    "cases.col.unread": "Unread",
    "cases.col.messages": "Messages",
    "cases.unknown_patient": "— (unreadable on this workstation)",
    "cases.unread": "{count} unread",
    "cases.open": "Open",
    "cases.sync_failed": "not synced ({code})",
    "cases.refresh": "Refresh",
    "cases.device": "This workstation's device: {device} (signing key {fingerprint})",
    "cases.new.title": "New case",
    "cases.new.participants": "Participants (Caducée addresses, separated by commas)",
    "cases.new.patient_name": "Patient's name",
    "cases.new.patient_birth": "Date of birth",
    "cases.new.patient_ins": "INS (NIR, 15 characters, optional)",
    "cases.new.stay": "Stay (optional)",
    "cases.new.text": "First message (optional)",
    "cases.new.submit": "Open the case",
    "cases.new.help": "The patient's identity travels only encrypted, in the first message.",
    "case.back": "Back to the cases",
    "case.patient": "Patient: {name}",
    "case.born": "born {date}",
    "case.ins": "INS {ins}",
    "case.stay": "stay: {stay}",
    "case.participants": "Participants: {people}",
    "case.handled_by": "Handled by {who}",
    "case.retention": "Kept {days} days on the server (encrypted), as your organisation set.",
    "case.empty": "No message.",
    "case.me": "me",
    "case.opened": "Case opened",
    "case.unreadable": "Unreadable on this workstation ({code})",
    "case.edited": "edited",
    "case.edited_at": "edited at {at}",
    "case.versions": "Earlier versions",
    "case.deleted": "Deleted by {who} at {at}",
    "case.reply_to": "In reply to {who}:",
    "case.quote_deleted": "deleted message",
    "case.read_by": "Read by: {people}",
    "case.read_event": "{who} read up to message {upto}",
    "case.ack_event": "{who}: I'm handling it",
    "case.photo": "Photo {name}",
    "case.blurred": "(blurred)",
    "case.file": "File {name} ({size} bytes)",
    "case.reply": "Reply",
    "case.edit": "Edit",
    "case.edit.submit": "Save the edit",
    "case.delete": "Delete",
    "case.send.title": "Write",
    "case.send.replying": "Reply to {who}: “{excerpt}”",
    "case.send.cancel_reply": "Cancel the reply",
    "case.send.text": "Message",
    "case.send.file": "Photo or file (optional)",
    "case.send.caption_help": "With a photo, the text is its caption.",
    "case.send.submit": "Send",
    "case.ack": "I'm handling it",
    "case.ack.help": "Tells the participants that you take care of the patient.",
    "case.export.title": "Export to the patient's record",
    "case.export.help": (
        "The case (a readable text, photos and files apart) goes by Caducée mail, encrypted, "
        "to your own mailbox by default: it arrives in your inbox folder for the practice "
        "software."
    ),
    "case.export.to": "Recipient (empty: your mailbox, {address})",
    "case.export.submit": "Export to the patient's record",
    "case.export.done": "Exported at {at} to {to}",
    "case.export.file": "{name}: {state}",
    "case.export.message": "message {id}",
    "state.queued": "waiting to be sent",
    "notice.sent": "Message sent.",
    "notice.edited": "Message edited.",
    "notice.deleted": "Message deleted (the participants see “deleted by”).",
    "notice.acknowledged": "You are handling it: the participants are told.",
    "notice.exported": "The export is in the outbox; it leaves in a moment.",
    "notice.created": "Case opened.",
    "error.forbidden": "Expired or invalid form (security token): nothing was done.",
    "error.offline": (
        "This agent is not connected to the server: run “caducee agent run” to see your cases."
    ),
    "error.unreachable": "The Caducée server does not answer: try again in a moment.",
    "error.case_not_found": "Case not found (or you are no longer in it).",
    "error.refused": "The server refused: {code}.",
    "error.miss-invalid-input": "Invalid value: {detail}",
    "error.miss-message-too-large": (
        "Too large for a message (about 2 MB at most): send it by Caducée mail."
    ),
    "error.miss-not-your-message": "Only the author of a message can edit or delete it.",
    "error.miss-unknown-message": "This message does not exist or can no longer be changed.",
    "error.miss-device-file": "This workstation's device keys do not open: {detail}",
    "error.miss-not-connected": (
        "This agent is not connected to the server: run “caducee agent run”."
    ),
    "error.miss-client-error": "Cannot do that: {detail}",
    "error.instant-unknown-participant": "Address not in the directory: {detail}",
}

MESSAGES: Mapping[str, Mapping[str, str]] = {"fr": FR, "en": EN}


def translator(locale: str) -> Callable[..., str]:
    """``_("id", n=1)``: these pages' words first, then the agent's own catalogue."""
    from caducee.agent.web.messages import layered_translator  # no import cycle

    return layered_translator(MESSAGES, locale)
