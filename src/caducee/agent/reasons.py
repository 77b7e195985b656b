"""The texts of the outbox's reason files and notes, one per stable code.

Every text is French first, then English, and says what happened and what to do: the person
who opens ``errors/<name>.reason.txt`` (or a note in ``sent/``) is at the practice, not at a
terminal. Codes are the agent's error codes, the bulk-mail concerns, and the server's
problem+json codes (a server refusal is told as a sentence, never as an HTTP status). The
local pages have their own catalogue; ``caducee agent send`` prints the bulk-mail ones.
"""

from __future__ import annotations

from caducee.agent.bulk_check import Concern

__all__ = ["REASONS", "reason_line", "reason_text"]

_AGAIN_FR = "puis déposez le fichier de nouveau dans la boîte d'envoi"
_AGAIN_EN = "then drop the file into the outbox again"
_UNKNOWN_ADDRESS = (
    "Adresse inconnue de l'annuaire Caducée : {addresses}. Rien n'a été envoyé. Vérifiez "
    f"l'adresse (ligne 12 HPRIM, fichier .to ou nom du fichier), corrigez-la, {_AGAIN_FR}.",
    "Address unknown to the Caducée directory: {addresses}. Nothing was sent. Check the "
    f"address (HPRIM line 12, .to file or file name), correct it, {_AGAIN_EN}.",
)

REASONS: dict[str, tuple[str, str]] = {
    # -- the bulk-mail rules (also printed by `caducee agent send`) ------------------------
    Concern.SENDER_BLOCKED: (
        "Votre boîte est bloquée pour l'envoi après des signalements d'abus : voyez la charte "
        "et contactez le support.",
        "Your mailbox is blocked from sending after reports of misuse: see the charter and "
        "contact the support.",
    ),
    Concern.BULK_WITHOUT_PATIENT: (
        "Refusé sur ce poste : {count} destinataires (au plus {limit} par message) pour un "
        "document qui ne concerne aucun patient. La charte interdit les envois en nombre "
        "(annonces, invitations, questionnaires, lettres d'information). Réduisez la liste "
        "des destinataires si ce document les concerne vraiment.",
        "Refused on this workstation: {count} recipients (at most {limit} per message) for a "
        "document about no patient. The charter forbids bulk mail (announcements, "
        "invitations, questionnaires, newsletters). Shorten the list of recipients if the "
        "document really concerns them.",
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
    # -- the MSSanté gateway -------------------------------------------------------------
    "gateway-off": (
        "La passerelle MSSanté de l'opérateur n'est pas active : les destinataires hors "
        "Caducée ({addresses}) ne peuvent pas être joints. Rien n'est perdu : le fichier est "
        f"ici. Retirez ces destinataires, {_AGAIN_FR}, ou joignez-les par un autre moyen.",
        "The operator's MSSanté gateway is off: recipients outside Caducée ({addresses}) "
        "cannot be reached. Nothing is lost: the file is here. Remove these recipients, "
        f"{_AGAIN_EN}, or reach them another way.",
    ),
    "domain-not-trusted": (
        "Un domaine destinataire n'est pas dans l'espace de confiance MSSanté (liste "
        f"blanche) : {{addresses}}. Vérifiez l'adresse, {_AGAIN_FR}.",
        "A recipient domain is not in the MSSanté trust space (white list): {addresses}. "
        f"Check the address, {_AGAIN_EN}.",
    ),
    "relay-denied": (
        f"Adresse Caducée inconnue : {{addresses}}. Vérifiez l'adresse, {_AGAIN_FR}.",
        f"Unknown Caducée address: {{addresses}}. Check the address, {_AGAIN_EN}.",
    ),
    "too-large": (
        "Trop volumineux pour la passerelle MSSanté (destinataires hors Caducée : "
        f"{{addresses}}). Réduisez la taille du fichier (PDF compressé), {_AGAIN_FR}.",
        "Too large for the MSSanté gateway (recipients outside Caducée: {addresses}). "
        f"Make the file smaller (a compressed PDF), {_AGAIN_EN}.",
    ),
    "plaintext-needs-tls": (
        "Le serveur n'est pas joint en TLS : la copie pour les destinataires hors Caducée "
        "({addresses}) n'a pas été remise en clair. Configurez l'adresse https:// du serveur "
        "dans l'agent, ou contactez le support.",
        "The server is not reached over TLS: the copy for the recipients outside Caducée "
        "({addresses}) was not handed over in clear. Set the server's https:// address in "
        "the agent, or contact the support.",
    ),
    # -- the file itself and its recipients ------------------------------------------------
    "empty-file": (
        "Le fichier est vide : il n'y a rien à envoyer. Vérifiez l'export de votre logiciel "
        f"(export interrompu, disque plein ?), {_AGAIN_FR} une fois complet.",
        "The file is empty: there is nothing to send. Check your software's export "
        f"(interrupted export, full disk?), {_AGAIN_EN} once complete.",
    ),
    "unreadable-file": (
        "Le fichier n'a pas pu être lu : l'agent Caducée n'a pas le droit de le lire (ou "
        "c'est un dossier). Rien n'a été envoyé. Donnez à l'agent le droit de lecture sur les "
        f"fichiers que votre logiciel exporte, {_AGAIN_FR}.",
        "The file could not be read: the Caducée agent is not allowed to read it (or it is a "
        "folder). Nothing was sent. Give the agent read access to the files your software "
        f"exports, {_AGAIN_EN}.",
    ),
    "unrecognised-format": (
        "Format non reconnu : ce fichier n'est ni un compte rendu HPRIM, HPRIM Santé ou HL7, "
        "ni un PDF, une image ou un texte lisible, et rien n'y désigne un destinataire. "
        "Vérifiez que votre logiciel dépose le bon fichier (caducee formats validate "
        "<fichier> le dit) ; pour l'envoyer tel quel, posez à côté un fichier {sidecar} "
        f"avec l'adresse du destinataire, {_AGAIN_FR}.",
        "Unrecognised format: this file is neither an HPRIM, HPRIM Santé or HL7 report, nor "
        "a PDF, an image or readable text, and nothing in it names a recipient. Check that "
        "your software drops the right file (caducee formats validate <file> tells); to send "
        f"it as it is, put the file {{sidecar}} beside it with the recipient's address, "
        f"{_AGAIN_EN}.",
    ),
    "no-recipient": (
        "Aucun destinataire trouvé pour ce fichier. Écrivez l'adresse Caducée du destinataire "
        "sur la ligne 12 de l'en-tête HPRIM, ou dans un fichier {sidecar} posé à côté (une "
        "adresse par ligne), ou nommez le fichier <nom>__to__<adresse>.<ext> ; "
        f"{_AGAIN_FR}.",
        "No recipient found for this file. Write the recipient's Caducée address on HPRIM "
        "header line 12, or in the file {sidecar} beside it (one address per line), or name "
        f"the file <name>__to__<address>.<ext>; {_AGAIN_EN}.",
    ),
    "mixed-recipients": (
        "Les documents de ce fichier HPRIM désignent des destinataires différents sur la "
        "ligne 12 : il n'est pas envoyé, pour que les résultats d'un patient n'aillent jamais "
        "à un médecin désigné par un autre document. Faites un fichier par destinataire "
        f"(ou une ligne 12 identique dans chaque document), {_AGAIN_FR}.",
        "The documents of this HPRIM file name different recipients on line 12: it is not "
        "sent, so that one patient's results never go to a doctor another document names. "
        f"Make one file per recipient (or the same line 12 in every document), {_AGAIN_EN}.",
    ),
    "no-valid-certificate": (
        "Aucun certificat valide pour {addresses} : le message ne peut pas être chiffré pour "
        "ce destinataire (certificat expiré, révoqué ou pas encore émis). Vérifiez l'adresse ; "
        f"si elle est juste, le destinataire doit renouveler son certificat, {_AGAIN_FR}.",
        "No valid certificate for {addresses}: the message cannot be encrypted for this "
        "recipient (certificate expired, revoked or not issued yet). Check the address; if "
        f"it is right, the recipient must renew their certificate, {_AGAIN_EN}.",
    ),
    "certificate-not-in-log": (
        "Un certificat de destinataire ({addresses}) n'est pas prouvé par le journal de "
        "preuves du serveur (absent, révoqué, ou preuve invalide) : rien n'a été chiffré pour "
        "une clé peut-être substituée. Ne renvoyez pas ; contactez le support de l'opérateur.",
        "A recipient certificate ({addresses}) is not proven by the server's evidence log "
        "(absent, revoked, or a bad proof): nothing was encrypted for a key that may have "
        "been substituted. Do not send again; contact the operator's support.",
    ),
    # -- the server's refusals (problem+json codes) ----------------------------------------
    "unknown-mailbox": _UNKNOWN_ADDRESS,
    "unknown-recipient": _UNKNOWN_ADDRESS,
    "inactive-recipient": (
        "La boîte de {addresses} n'est plus active (fermée ou suspendue) : rien n'a été "
        "envoyé. Demandez au destinataire sa nouvelle adresse, corrigez-la, "
        f"{_AGAIN_FR}.",
        "The mailbox of {addresses} is no longer active (closed or suspended): nothing was "
        f"sent. Ask the recipient for their new address, correct it, {_AGAIN_EN}.",
    ),
    "message-too-large": (
        "Le message est trop volumineux pour le serveur. Réduisez sa taille (PDF compressé, "
        f"moins de pièces jointes), {_AGAIN_FR}.",
        "The message is too large for the server. Make it smaller (a compressed PDF, fewer "
        f"attachments), {_AGAIN_EN}.",
    ),
    "not-your-mailbox": (
        "Le serveur refuse que cet agent envoie au nom de cette boîte. Vérifiez l'agent "
        "(caducee agent status) et contactez le support.",
        "The server refuses this agent sending for this mailbox. Check the agent "
        "(caducee agent status) and contact the support.",
    ),
    "auth-refused": (
        "Le serveur a refusé la connexion de l'agent (certificat expiré ou révoqué ?). "
        "Vérifiez l'agent (caducee agent status) et contactez le support ; "
        f"{_AGAIN_FR} ensuite.",
        "The server refused the agent's login (certificate expired or revoked?). Check the "
        f"agent (caducee agent status) and contact the support; {_AGAIN_EN} afterwards.",
    ),
    # -- notes in sent/ ----------------------------------------------------------------------
    "already-sent": (
        "Ce fichier (même contenu, même nom) a déjà été envoyé le {date} comme message "
        "{message_id} : il n'a PAS été envoyé une seconde fois. S'il doit vraiment repartir, "
        f"renommez-le, {_AGAIN_FR}.",
        "This file (same content, same name) was already sent on {date} as message "
        "{message_id}: it was NOT sent again. If it really must go again, rename it, "
        f"{_AGAIN_EN}.",
    ),
}

_FALLBACK = (
    "Refusé ({code}) : le fichier n'a pas été envoyé. Vérifiez le fichier et ses adresses, "
    f"{_AGAIN_FR} ; si le refus se répète, transmettez ce fichier .reason.txt au support.",
    f"Refused ({{code}}): the file was not sent. Check the file and its addresses, {_AGAIN_EN}; "
    "if the refusal happens again, give this .reason.txt file to the support.",
)


class _Values(dict[str, object]):
    """Format values; a value the caller did not have reads ``?`` rather than failing."""

    def __missing__(self, key: str) -> str:
        return "?"


def _texts(code: str, values: dict[str, object]) -> tuple[str, str]:
    french, english = REASONS.get(code, _FALLBACK)
    filled = _Values({"code": code, **values})
    return french.format_map(filled), english.format_map(filled)


def reason_text(code: str, **values: object) -> str:
    """The reason file's text for ``code``: French, then English."""
    french, english = _texts(code, values)
    return f"Français :\n{french}\n\nEnglish:\n{english}\n"


def reason_line(code: str, **values: object) -> str:
    """The same text on one line (``French / English``), for the ``reason:`` field."""
    french, english = _texts(code, values)
    return f"{french} / {english}"
