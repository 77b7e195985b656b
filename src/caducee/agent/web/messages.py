"""The local pages' words, French first then English (same keys in both; a test checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.requests import Request

from caducee.i18n import negotiate

__all__ = ["MESSAGES", "layered_translator", "locale_of", "translator"]

FR: dict[str, str] = {
    "app.title": "Caducée — poste de travail",
    "nav.inbox": "Réception",
    "nav.sent": "Envoyés",
    "nav.quarantine": "Quarantaine",
    "nav.send": "Envoyer",
    "nav.prescriptions": "Ordonnances",
    "nav.account": "Mon compte",
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
    "journey.title": "Parcours du message",
    "journey.help": (
        "Chaque étape est une preuve signée du journal du serveur, vérifiée ici avec la clé "
        "du journal enregistrée à l'installation."
    ),
    "journey.accepted": "Accepté par le serveur (dépôt de {who})",
    "journey.rejected": "Refusé par le serveur",
    "journey.consigned": "Déposé dans la boîte de {who}",
    "journey.fetched": "Retiré par le poste de {who}",
    "journey.acknowledged": "Accusé de réception de {who}",
    "journey.relayed": "Transmis hors de la messagerie ({who})",
    "journey.received": "Reçu de l'extérieur ({who})",
    "journey.other": "Événement enregistré ({who})",
    "journey.unverified": "Preuve invalide",
    "journey.verified": "preuve vérifiée",
    "journey.not_verified": "preuve NON vérifiée : {reason}",
    "journey.ack.verified": "accusé signé par le destinataire, signature vérifiée",
    "journey.ack.unsigned": "accusé non signé",
    "journey.ack.invalid": "accusé signé INVALIDE",
    "journey.save": "Enregistrer le reçu",
    "journey.none": "Aucune preuve pour ce message pour l'instant.",
    "journey.unavailable": "Parcours indisponible : le serveur ne répond pas. Réessayez.",
    "journey.verify_help": "Pour vérifier un reçu enregistré, hors ligne :",
    "col.step": "Étape",
    "col.time": "Heure (UTC)",
    "col.proof": "Preuve",
    "sent.journey": "parcours",
    # -- checks before a send (#7 bulk mail, #6 recipients outside Caducée) --------------
    "send.help_external": (
        "Un destinataire hors de Caducée (un autre opérateur MSSanté) reçoit le document en "
        "clair par la passerelle : un avertissement vous le dira avant l'envoi."
    ),
    "send.cancelled": "Envoi annulé : rien n'est parti.",
    "send.offline": (
        "Le serveur ne répond pas : les vérifications avant l'envoi utilisent les dernières "
        "limites connues, et un destinataire hors de votre domaine ne peut pas être vérifié."
    ),
    "send.limits": "Au plus {limit} destinataires par message.",
    "send.limits_default": "(limites par défaut : le serveur n'a pas encore répondu)",
    "send.error.unsorted": (
        "Le serveur ne répond pas : impossible de vérifier si ces destinataires sont dans "
        "Caducée. Rien n'est parti ; réessayez dans un instant."
    ),
    "send.error.expired": (
        "Ce document en attente n'existe plus (annulé, envoyé, ou plus vieux d'un jour) : "
        "recommencez l'envoi."
    ),
    "sanction.warning": "Avertissement de l'opérateur : {reason}",
    "sanction.hold": (
        "Vos messages sont vérifiés par un modérateur avant d'être remis ({reason})."
    ),
    "sanction.block": ("Votre boîte est bloquée pour l'envoi ({reason}) : contactez le support."),
    "charter.read": "Lire la charte de bon usage",
    "charter.says": "La charte de bon usage :",
    "charter.fallback": (
        "La messagerie sécurisée de santé sert aux échanges sur la prise en charge des "
        "patients. Les envois en nombre (annonces de départ en retraite ou d'installation, "
        "invitations à des réunions ou congrès, questionnaires de thèse, lettres "
        "d'information, publicité) sont interdits."
    ),
    "support.contact": "Support : {contact} ({hours})",
    "confirm.title": "Vérifier avant d'envoyer",
    "confirm.summary": "« {name} » pour {count} destinataire(s).",
    "confirm.bulk.title": "C'est ce que la charte interdit",
    "confirm.bulk.text": (
        "Ce document ressemble à une annonce ({cues}) et part à {count} destinataires. La "
        "charte interdit les envois en nombre : annonces, invitations, questionnaires, "
        "lettres d'information."
    ),
    "confirm.over_limit": (
        "{count} destinataires dépassent votre limite de {limit} par message : le serveur "
        "retiendra ce message jusqu'à ce qu'un modérateur le libère."
    ),
    "confirm.held": (
        "Vos messages sont vérifiés par un modérateur avant d'être remis (sanction en "
        "cours) : celui-ci aussi."
    ),
    "confirm.external.title": "Destinataires hors de Caducée",
    "confirm.external.text": (
        "Ce message quittera le chiffrement de bout en bout de Caducée : il sera remis en "
        "clair, sur une connexion TLS, à la passerelle MSSanté, pour {addresses}."
    ),
    "confirm.external.internal": (
        "Les destinataires Caducée ({addresses}) le recevront chiffré de bout en bout, "
        "comme d'habitude."
    ),
    "confirm.external.check": (
        "J'ai compris : remettre ce document en clair à la passerelle MSSanté pour ces "
        "destinataires."
    ),
    "confirm.external.unchecked": (
        "Cochez la case pour confirmer la remise en clair aux destinataires hors de Caducée."
    ),
    "confirm.cancel": "Annuler",
    "confirm.send": "Envoyer quand même",
    "confirm.error.gateway-off": (
        "La passerelle MSSanté de l'opérateur n'est pas active : les destinataires hors de "
        "Caducée ne peuvent pas être joints. Rien n'est parti et le document est gardé : "
        "réessayez plus tard, ou annulez et envoyez-le sans eux."
    ),
    "confirm.error.domain-not-trusted": (
        "Un domaine destinataire n'est pas dans l'espace de confiance MSSanté (liste "
        "blanche) : vérifiez l'adresse. Rien n'est parti ; le document est gardé."
    ),
    "confirm.error.relay-denied": (
        "Cette adresse est dans un domaine de Caducée mais n'y existe pas : vérifiez-la. "
        "Rien n'est parti ; le document est gardé."
    ),
    "confirm.error.too-large": (
        "Document trop volumineux pour la passerelle MSSanté. Rien n'est parti."
    ),
    "confirm.error.other": "La passerelle a refusé le message. Rien n'est parti.",
    "confirm.error.unreachable": (
        "Le serveur ne répond pas : rien n'est parti et le document est gardé. Réessayez."
    ),
    "cue.retirement": "départ en retraite",
    "cue.installation": "installation ou nouvelle adresse",
    "cue.event": "réunion, congrès ou formation",
    "cue.survey": "questionnaire ou thèse",
    "cue.newsletter": "lettre d'information",
    "cue.advertising": "publicité",
    "cue.greeting": "formule adressée à tous",
    "cue.link": "lien",
    "refused.title": "Envoi refusé sur ce poste",
    "refused.sender-blocked": (
        "Votre boîte est bloquée pour l'envoi après des signalements d'abus : voyez la "
        "charte et contactez le support."
    ),
    "refused.bulk-without-patient": (
        "{count} destinataires (au plus {limit} par message) pour un document qui ne "
        "concerne aucun patient : c'est un envoi en nombre, que la charte interdit."
    ),
    "refused.nothing": "Rien n'est parti, et rien n'est gardé sur ce poste.",
    "refused.back": "Retour au formulaire",
    "state.held": "retenu pour modération",
    "sent.external": (
        "{count} destinataire(s) hors de Caducée : copie remise en clair, sur TLS, à la "
        "passerelle MSSanté."
    ),
    "sent.external_badge": "hors Caducée (MSSanté, TLS)",
    "sent.external_state": "état",
    "external.state.title": "Copie remise à la passerelle MSSanté",
    "external.state.help": (
        "Cette copie a quitté le chiffrement de bout en bout : la passerelle la remet en "
        "clair, sur TLS, aux opérateurs MSSanté des destinataires."
    ),
    "external.state.unavailable": "État indisponible : le serveur ne répond pas. Réessayez.",
    "outbound.queued": "en file d'attente",
    "outbound.sent": "remis à l'opérateur du destinataire",
    "outbound.failed": "échec (un avis de non-remise vous est envoyé)",
    "col.domain": "Domaine",
    "col.attempts": "Tentatives",
    "col.reply": "Dernière réponse",
    # -- reporting an unwanted message (#7) ------------------------------------------------
    "report.title": "Signaler un message indésirable",
    "report.help": (
        "Annonce, invitation, questionnaire, publicité sans rapport avec vos patients : le "
        "signalement part à la modération de l'opérateur."
    ),
    "report.reason": "Motif",
    "report.reason.bulk": "Envoi en nombre (annonce, invitation, questionnaire)",
    "report.reason.advertising": "Publicité",
    "report.reason.not-for-me": "Ne m'est pas destiné",
    "report.reason.other": "Autre",
    "report.comment": "Commentaire (facultatif)",
    "report.submit": "Signaler",
    "report.done": "Merci : le message est signalé à la modération.",
    "report.already_done": "Vous avez signalé ce message le {at} ({reason}).",
    "report.error.invalid": "Choisissez un motif (commentaire : 500 caractères au plus).",
    "report.error.unknown": (
        "Ce document ne peut pas être rattaché à un message reçu (modifié, ou déposé à la "
        "main) : il ne peut pas être signalé."
    ),
    "report.error.already": "Ce message est déjà signalé.",
    "report.error.unreachable": (
        "Le serveur ne répond pas : le signalement n'est pas parti. Réessayez."
    ),
    "report.error.not_recipient": (
        "Le serveur ne trouve pas ce message dans votre boîte : il ne peut pas être signalé."
    ),
    "report.error.refused": "Le serveur a refusé le signalement ({code}).",
    "report.offline": "Signalement indisponible : l'agent n'est pas connecté au serveur.",
}

EN: dict[str, str] = {
    "app.title": "Caducée — workstation",
    "nav.inbox": "Inbox",
    "nav.sent": "Sent",
    "nav.quarantine": "Quarantine",
    "nav.send": "Send",
    "nav.prescriptions": "Prescriptions",
    "nav.account": "My account",
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
    "journey.title": "The message's journey",
    "journey.help": (
        "Each step is signed evidence from the server's log, checked here with the log key "
        "recorded when this workstation was set up."
    ),
    "journey.accepted": "Accepted by the server (submitted by {who})",
    "journey.rejected": "Refused by the server",
    "journey.consigned": "In the mailbox of {who}",
    "journey.fetched": "Fetched by the workstation of {who}",
    "journey.acknowledged": "Acknowledged by {who}",
    "journey.relayed": "Relayed outside the network ({who})",
    "journey.received": "Received from outside ({who})",
    "journey.other": "Event recorded ({who})",
    "journey.unverified": "Invalid evidence",
    "journey.verified": "evidence verified",
    "journey.not_verified": "evidence NOT verified: {reason}",
    "journey.ack.verified": "signed by the recipient, signature verified",
    "journey.ack.unsigned": "unsigned acknowledgement",
    "journey.ack.invalid": "INVALID signed acknowledgement",
    "journey.save": "Save the receipt",
    "journey.none": "No evidence for this message yet.",
    "journey.unavailable": "Journey unavailable: the server does not answer. Try again.",
    "journey.verify_help": "To check a saved receipt, offline:",
    "col.step": "Step",
    "col.time": "Time (UTC)",
    "col.proof": "Evidence",
    "sent.journey": "journey",
    # -- checks before a send (#7 bulk mail, #6 recipients outside Caducée) --------------
    "send.help_external": (
        "A recipient outside Caducée (another MSSanté operator) gets the document in clear "
        "through the gateway: a warning will tell you so before sending."
    ),
    "send.cancelled": "Send cancelled: nothing left.",
    "send.offline": (
        "The server does not answer: the checks before sending use the last known limits, "
        "and a recipient outside your domain cannot be checked."
    ),
    "send.limits": "At most {limit} recipients per message.",
    "send.limits_default": "(default limits: the server has not answered yet)",
    "send.error.unsorted": (
        "The server does not answer: cannot check whether these recipients are in Caducée. "
        "Nothing left; try again in a moment."
    ),
    "send.error.expired": (
        "This waiting document no longer exists (cancelled, sent, or older than a day): "
        "start the send again."
    ),
    "sanction.warning": "Warning from the operator: {reason}",
    "sanction.hold": "Your messages are checked by a moderator before delivery ({reason}).",
    "sanction.block": "Your mailbox is blocked from sending ({reason}): contact the support.",
    "charter.read": "Read the charter of good use",
    "charter.says": "The charter of good use:",
    "charter.fallback": (
        "Secure health messaging is for exchanges about patients' care. Bulk mail "
        "(retirement or installation announcements, meeting or congress invitations, thesis "
        "questionnaires, newsletters, advertising) is forbidden."
    ),
    "support.contact": "Support: {contact} ({hours})",
    "confirm.title": "Check before sending",
    "confirm.summary": "“{name}” for {count} recipient(s).",
    "confirm.bulk.title": "This is what the charter forbids",
    "confirm.bulk.text": (
        "This document looks like an announcement ({cues}) and goes to {count} recipients. "
        "The charter forbids bulk mail: announcements, invitations, questionnaires, "
        "newsletters."
    ),
    "confirm.over_limit": (
        "{count} recipients exceed your limit of {limit} per message: the server will hold "
        "this message until a moderator releases it."
    ),
    "confirm.held": (
        "Your messages are checked by a moderator before delivery (a sanction is in force): "
        "this one too."
    ),
    "confirm.external.title": "Recipients outside Caducée",
    "confirm.external.text": (
        "This message will leave Caducée's end-to-end encryption: it will be handed in "
        "clear, over a TLS connection, to the MSSanté gateway, for {addresses}."
    ),
    "confirm.external.internal": (
        "Caducée recipients ({addresses}) will get it encrypted end to end, as usual."
    ),
    "confirm.external.check": (
        "I understand: hand this document in clear to the MSSanté gateway for these recipients."
    ),
    "confirm.external.unchecked": (
        "Tick the box to confirm the clear hand-off to the recipients outside Caducée."
    ),
    "confirm.cancel": "Cancel",
    "confirm.send": "Send anyway",
    "confirm.error.gateway-off": (
        "The operator's MSSanté gateway is off: recipients outside Caducée cannot be "
        "reached. Nothing left and the document is kept: try again later, or cancel and "
        "send it without them."
    ),
    "confirm.error.domain-not-trusted": (
        "A recipient domain is not in the MSSanté trust space (white list): check the "
        "address. Nothing left; the document is kept."
    ),
    "confirm.error.relay-denied": (
        "This address is in one of Caducée's domains but does not exist there: check it. "
        "Nothing left; the document is kept."
    ),
    "confirm.error.too-large": "Document too large for the MSSanté gateway. Nothing left.",
    "confirm.error.other": "The gateway refused the message. Nothing left.",
    "confirm.error.unreachable": (
        "The server does not answer: nothing left and the document is kept. Try again."
    ),
    "cue.retirement": "retirement",
    "cue.installation": "installation or new address",
    "cue.event": "meeting, congress or training",
    "cue.survey": "questionnaire or thesis",
    "cue.newsletter": "newsletter",
    "cue.advertising": "advertising",
    "cue.greeting": "greeting to all",
    "cue.link": "link",
    "refused.title": "Send refused on this workstation",
    "refused.sender-blocked": (
        "Your mailbox is blocked from sending after reports of misuse: see the charter and "
        "contact the support."
    ),
    "refused.bulk-without-patient": (
        "{count} recipients (at most {limit} per message) for a document about no patient: "
        "that is bulk mail, which the charter forbids."
    ),
    "refused.nothing": "Nothing left, and nothing is kept on this workstation.",
    "refused.back": "Back to the form",
    "state.held": "held for moderation",
    "sent.external": (
        "{count} recipient(s) outside Caducée: a copy was handed in clear, over TLS, to the "
        "MSSanté gateway."
    ),
    "sent.external_badge": "outside Caducée (MSSanté, TLS)",
    "sent.external_state": "state",
    "external.state.title": "Copy handed to the MSSanté gateway",
    "external.state.help": (
        "This copy left end-to-end encryption: the gateway delivers it in clear, over TLS, "
        "to the recipients' MSSanté operators."
    ),
    "external.state.unavailable": "State unavailable: the server does not answer. Try again.",
    "outbound.queued": "queued",
    "outbound.sent": "delivered to the recipient's operator",
    "outbound.failed": "failed (a delivery status notice is sent to you)",
    "col.domain": "Domain",
    "col.attempts": "Attempts",
    "col.reply": "Last reply",
    # -- reporting an unwanted message (#7) ------------------------------------------------
    "report.title": "Report as unwanted",
    "report.help": (
        "An announcement, invitation, questionnaire or advertising unrelated to your "
        "patients: the report goes to the operator's moderation."
    ),
    "report.reason": "Reason",
    "report.reason.bulk": "Bulk mail (announcement, invitation, questionnaire)",
    "report.reason.advertising": "Advertising",
    "report.reason.not-for-me": "Not meant for me",
    "report.reason.other": "Other",
    "report.comment": "Comment (optional)",
    "report.submit": "Report",
    "report.done": "Thank you: the message is reported to the moderation.",
    "report.already_done": "You reported this message on {at} ({reason}).",
    "report.error.invalid": "Choose a reason (comment: 500 characters at most).",
    "report.error.unknown": (
        "This document cannot be tied to a received message (changed, or dropped by hand): "
        "it cannot be reported."
    ),
    "report.error.already": "This message is already reported.",
    "report.error.unreachable": "The server does not answer: the report did not leave. Try again.",
    "report.error.not_recipient": (
        "The server does not find this message in your mailbox: it cannot be reported."
    ),
    "report.error.refused": "The server refused the report ({code}).",
    "report.offline": "Reporting unavailable: the agent is not connected to the server.",
}

MESSAGES: Mapping[str, Mapping[str, str]] = {"fr": FR, "en": EN}


def translator(locale: str) -> Callable[..., str]:
    """``_("id", name=value)`` in ``locale`` (French when unknown)."""
    catalogue = MESSAGES.get(locale, FR)

    def translate(message_id: str, /, **values: object) -> str:
        template = catalogue.get(message_id) or FR[message_id]
        return template.format(**values) if values else template

    return translate


def layered_translator(
    messages: Mapping[str, Mapping[str, str]], locale: str
) -> Callable[..., str]:
    """A part's own words (``messages["fr"|"en"]``) first, then the agent's catalogue: the
    prescription and account pages keep their words beside them."""
    catalogue = messages.get(locale, messages["fr"])
    fallback = translator(locale)

    def translate(message_id: str, /, **values: object) -> str:
        template = catalogue.get(message_id)
        if template is None:
            return fallback(message_id, **values)
        return template.format(**values) if values else template

    return translate


def locale_of(request: Request) -> str:
    """The page's language: ``?lang=`` or the ``lang`` cookie, else the browser's choice."""
    explicit = request.query_params.get("lang") or request.cookies.get("lang")
    return negotiate(request.headers.get("accept-language"), explicit)
