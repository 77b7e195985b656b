"""The account pages' words, French first then English (same keys; a test checks)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["MESSAGES", "translator"]

FR: dict[str, str] = {
    "acc.title": "Mon compte",
    "acc.unreachable": "Le serveur Caducée ne répond pas : ces informations ne peuvent pas "
    "être affichées pour l'instant. Réessayez dans un moment.",
    "acc.no_client": "Cet agent n'est pas connecté au serveur (identité non chargée) : "
    "lancez « caducee agent run » pour voir votre compte.",
    "acc.refused": "Le serveur a refusé : {detail}",
    "acc.forbidden": "Formulaire expiré ou invalide (jeton de sécurité) : rien n'a été "
    "modifié. Rechargez la page et recommencez.",
    # support
    "acc.support.title": "Assistance",
    "acc.support.contact": "Contact : {contact}",
    "acc.support.hours": "Horaires : {hours}",
    "acc.support.operator": "Opérateur : {operator}",
    "acc.charter.link": "Charte de bon usage",
    # limits
    "acc.limits.title": "Mes limites d'envoi",
    "acc.limits.text": "Vous pouvez adresser un message à {recipients} destinataires au plus, "
    "envoyer {messages} messages par heure, et écrire à {new} nouveaux correspondants par "
    "heure. Au-delà, le message est retenu pour examen par un modérateur : il n'est pas "
    "perdu, mais il n'est pas distribué tant qu'il n'est pas accepté.",
    "acc.limits.why": "Ces limites protègent la messagerie des envois en nombre (annonces, "
    "invitations, questionnaires), que la charte interdit.",
    # sanctions
    "acc.sanctions.title": "Mes sanctions",
    "acc.sanctions.none": "Aucune sanction : vos envois sont normaux.",
    "acc.sanctions.level.warning": "Avertissement",
    "acc.sanctions.level.hold": "Retenue",
    "acc.sanctions.level.block": "Blocage",
    "acc.sanctions.explain.warning": "Vos envois continuent normalement ; une nouvelle "
    "infraction à la charte peut conduire à retenir vos messages.",
    "acc.sanctions.explain.hold": "Chacun de vos messages est retenu et examiné par un "
    "modérateur avant d'être distribué.",
    "acc.sanctions.explain.block": "Vos envois sont refusés. Contactez l'assistance.",
    "acc.sanctions.lifted": "levée le {date}",
    "acc.sanctions.active": "en vigueur",
    "acc.col.level": "Niveau",
    "acc.col.reason": "Motif",
    "acc.col.since": "Depuis",
    "acc.col.state": "État",
    "acc.holds.title": "Mes messages retenus",
    "acc.holds.none": "Aucun message retenu.",
    "acc.col.message": "Message",
    "acc.col.recipients": "Destinataires",
    "acc.hold.held": "retenu, en attente d'un modérateur",
    "acc.hold.released": "accepté et distribué",
    "acc.hold.refused": "refusé",
    # application passwords
    "acc.pw.title": "Mots de passe d'application (logiciels de messagerie)",
    "acc.pw.help": "Pour lire et envoyer votre messagerie Caducée avec un logiciel standard "
    "(Thunderbird, mutt…), créez un mot de passe propre à ce logiciel. Les messages restent "
    "chiffrés : importez aussi votre certificat dans le logiciel. Révoquez le mot de passe "
    "si vous n'utilisez plus ce logiciel ou ce poste.",
    "acc.pw.label": "Nom du logiciel ou du poste (ex. « Thunderbird cabinet »)",
    "acc.pw.create": "Créer un mot de passe",
    "acc.pw.none": "Aucun mot de passe d'application.",
    "acc.pw.col.label": "Libellé",
    "acc.pw.col.created": "Créé le",
    "acc.pw.col.used": "Dernière utilisation",
    "acc.pw.never": "jamais",
    "acc.pw.active": "actif",
    "acc.pw.revoked": "révoqué le {date}",
    "acc.pw.revoke": "Révoquer",
    "acc.pw.revoked_done": "Mot de passe révoqué : ce logiciel ne peut plus se connecter.",
    "acc.pw.created": "Mot de passe créé pour « {label} ». Notez-le maintenant : il ne sera "
    "plus jamais affiché.",
    "acc.pw.username": "Identifiant",
    "acc.pw.password": "Mot de passe",
    "acc.pw.imap": "Réception (IMAP)",
    "acc.pw.smtp": "Envoi (SMTP)",
    "acc.pw.server": "{host}, port {port}, {security}",
    "acc.pw.autoconfig": "Configuration automatique (Thunderbird)",
    "acc.pw.label_missing": "Indiquez un libellé (1 à 100 caractères) : rien n'a été créé.",
    "acc.pw.gateway_off": "La messagerie pour logiciels standard (IMAP/SMTP) n'est pas "
    "proposée par ce serveur pour l'instant : aucun mot de passe ne peut être créé.",
    "acc.pw.too_many": "Vous avez atteint le nombre maximal de mots de passe actifs : "
    "révoquez-en un d'abord.",
    "acc.pw.unknown": "Ce mot de passe n'existe pas ou n'est pas le vôtre : rien n'a changé.",
    "acc.establishment.link": "Gérer mon établissement",
    # the manager's page
    "est.title": "Mon établissement",
    "est.none": "Vous ne gérez aucun établissement enregistré auprès de l'opérateur.",
    "est.finess": "FINESS {finess}",
    "est.charter.title": "Charte de bon usage",
    "est.charter.version": "Version {version}, empreinte SHA-256 :",
    "est.charter.none": "Aucune charte n'est publiée pour l'instant.",
    "est.charter.signed": "Votre établissement a accepté la version en vigueur ({version}).",
    "est.charter.missing": "Votre établissement n'a pas accepté la charte en vigueur : ses "
    "membres ne peuvent pas être inscrits tant qu'elle n'est pas signée.",
    "est.charter.outdated": "Une nouvelle version de la charte est publiée (votre "
    "établissement a signé la version {signed}) : lisez-la et signez-la.",
    "est.charter.sign": "J'ai lu la charte et je l'accepte au nom de l'établissement",
    "est.charter.signed_done": "Charte signée : l'acceptation est enregistrée comme preuve.",
    "est.people.title": "Membres",
    "est.people.none": "Aucun membre enregistré.",
    "est.col.name": "Nom",
    "est.col.rpps": "RPPS",
    "est.col.profession": "Profession",
    "est.col.mailbox": "Messagerie",
    "est.col.code": "Inscription",
    "est.code.make": "Code d'inscription",
    "est.code.shown": "Code d'inscription pour {address} : à transmettre à la personne, "
    "utilisable une seule fois, valable jusqu'au {expires}. Il ne sera plus affiché.",
    "est.code.refused_charter": "Refusé : l'établissement doit d'abord accepter la charte en "
    "vigueur ; aucun code n'a été créé.",
    "est.add.title": "Ajouter un membre",
    "est.add.rpps": "Numéro RPPS (11 chiffres)",
    "est.add.given": "Prénom",
    "est.add.family": "Nom",
    "est.add.profession": "Profession",
    "est.add.specialty": "Spécialité (facultatif)",
    "est.add.mailbox": "Adresse de messagerie",
    "est.add.submit": "Ajouter",
    "est.add.done": "Membre ajouté : créez-lui un code d'inscription.",
    "est.add.bad_rpps": "Numéro RPPS invalide (11 chiffres, clé de Luhn) : personne n'a été "
    "ajouté.",
    "est.add.missing": "Prénom, nom, profession et adresse sont obligatoires : personne n'a "
    "été ajouté.",
    "est.add.bad_mailbox": "Adresse de messagerie invalide : personne n'a été ajouté.",
    "est.add.exists": "Cette personne ou cette adresse est déjà enregistrée : rien n'a changé.",
    "est.not_manager": "Vous ne gérez pas cet établissement.",
    "est.stale": "La charte a changé entre-temps : relisez la version affichée et signez-la.",
    # my MISS devices
    "dev.link": "Mes appareils de messagerie instantanée",
    "dev.title": "Mes appareils",
    "dev.back_account": "← Mon compte",
    "dev.help": "Chaque appareil (un navigateur associé à votre poste, ou ce poste lui-même) "
    "a ses propres clés pour lire vos conversations de messagerie instantanée. Révoquez un "
    "appareil perdu, volé, ou que vous n'utilisez plus.",
    "dev.approve_hint": "Pour associer un nouveau navigateur, saisissez le code qu'il affiche "
    "avec « caducee agent devices approve CODE ».",
    "dev.none": "Aucun appareil enregistré.",
    "dev.col.device": "Appareil",
    "dev.col.registered": "Enregistré le",
    "dev.col.key": "Clé de chiffrement",
    "dev.col.approval": "Approuvé par",
    "dev.this": "Ce poste",
    "dev.active": "actif",
    "dev.revoked": "révoqué le {date}",
    "dev.kem.pq": "post-quantique (ML-KEM-768 + X25519)",
    "dev.kem.classic": "classique (X25519 seul, non post-quantique)",
    "dev.kem.unknown": "inconnue (KEM {kem})",
    "dev.certified": "votre certificat (approuvé depuis un poste)",
    "dev.endorsed": "l'appareil",
    "dev.revoke": "Révoquer",
    "dev.registered_on": "Enregistré le {date}.",
    "dev.confirm.title": "Révoquer cet appareil ?",
    "dev.confirm.means": "Un appareil révoqué ne peut plus lire les nouveaux messages : ses "
    "clés sont retirées de vos conversations (les clés des conversations sont renouvelées "
    "sans lui) et il ne peut plus se connecter. La révocation est définitive ; les messages "
    "qu'il a déjà reçus restent sur l'appareil.",
    "dev.confirm.self": "C'est l'appareil de ce poste : la messagerie instantanée s'arrête "
    "sur ce poste. À la prochaine ouverture des Conversations, le poste créera un nouvel "
    "appareil, certifié par votre certificat.",
    "dev.confirm.endorsed": "Ces appareils, qu'il a approuvés, seront révoqués avec lui :",
    "dev.confirm.submit": "Révoquer définitivement",
    "dev.confirm.cancel": "Annuler",
    "dev.done.revoked": "Appareil révoqué : il ne peut plus lire les nouveaux messages.",
    "dev.done.self": "Appareil de ce poste révoqué : la messagerie instantanée est arrêtée "
    "sur ce poste jusqu'à la prochaine ouverture des Conversations (un nouvel appareil sera "
    "alors créé).",
    "dev.done.already": "Cet appareil était déjà révoqué : rien n'a changé.",
    "dev.unknown": "Cet appareil n'existe pas ou n'est pas le vôtre : rien n'a changé.",
    "dev.already": "Cet appareil est déjà révoqué : rien n'a changé.",
}

EN: dict[str, str] = {
    "acc.title": "My account",
    "acc.unreachable": "The Caducée server does not answer: this information cannot be "
    "shown for now. Try again in a moment.",
    "acc.no_client": "This agent is not connected to the server (no identity loaded): run "
    "“caducee agent run” to see your account.",
    "acc.refused": "The server refused: {detail}",
    "acc.forbidden": "Expired or invalid form (security token): nothing was changed. "
    "Reload the page and try again.",
    "acc.support.title": "Support",
    "acc.support.contact": "Contact: {contact}",
    "acc.support.hours": "Hours: {hours}",
    "acc.support.operator": "Operator: {operator}",
    "acc.charter.link": "Charter of good use",
    "acc.limits.title": "My sending limits",
    "acc.limits.text": "You may address a message to at most {recipients} recipients, send "
    "{messages} messages an hour, and write to {new} new correspondents an hour. Beyond "
    "that, the message is held for a moderator: it is not lost, but it is not delivered "
    "until it is accepted.",
    "acc.limits.why": "These limits protect the network from bulk mail (announcements, "
    "invitations, questionnaires), which the charter forbids.",
    "acc.sanctions.title": "My sanctions",
    "acc.sanctions.none": "No sanction: your messages go through normally.",
    "acc.sanctions.level.warning": "Warning",
    "acc.sanctions.level.hold": "Hold",
    "acc.sanctions.level.block": "Block",
    "acc.sanctions.explain.warning": "Your messages go through normally; another breach of "
    "the charter may lead to your messages being held.",
    "acc.sanctions.explain.hold": "Each of your messages is held and reviewed by a "
    "moderator before it is delivered.",
    "acc.sanctions.explain.block": "Your messages are refused. Contact support.",
    "acc.sanctions.lifted": "lifted on {date}",
    "acc.sanctions.active": "in force",
    "acc.col.level": "Level",
    "acc.col.reason": "Reason",
    "acc.col.since": "Since",
    "acc.col.state": "State",
    "acc.holds.title": "My held messages",
    "acc.holds.none": "No held message.",
    "acc.col.message": "Message",
    "acc.col.recipients": "Recipients",
    "acc.hold.held": "held, waiting for a moderator",
    "acc.hold.released": "accepted and delivered",
    "acc.hold.refused": "refused",
    "acc.pw.title": "Application passwords (mail clients)",
    "acc.pw.help": "To read and send your Caducée mail with a standard mail client "
    "(Thunderbird, mutt…), make a password for that client. Messages stay encrypted: also "
    "import your certificate into the client. Revoke the password when you no longer use "
    "that client or workstation.",
    "acc.pw.label": "Name of the client or workstation (e.g. “Thunderbird practice”)",
    "acc.pw.create": "Create a password",
    "acc.pw.none": "No application password.",
    "acc.pw.col.label": "Label",
    "acc.pw.col.created": "Created on",
    "acc.pw.col.used": "Last used",
    "acc.pw.never": "never",
    "acc.pw.active": "active",
    "acc.pw.revoked": "revoked on {date}",
    "acc.pw.revoke": "Revoke",
    "acc.pw.revoked_done": "Password revoked: that client can no longer connect.",
    "acc.pw.created": "Password created for “{label}”. Write it down now: it will never be "
    "shown again.",
    "acc.pw.username": "User name",
    "acc.pw.password": "Password",
    "acc.pw.imap": "Incoming (IMAP)",
    "acc.pw.smtp": "Outgoing (SMTP)",
    "acc.pw.server": "{host}, port {port}, {security}",
    "acc.pw.autoconfig": "Automatic configuration (Thunderbird)",
    "acc.pw.label_missing": "Give a label (1 to 100 characters): nothing was created.",
    "acc.pw.gateway_off": "Mail for standard clients (IMAP/SMTP) is not offered by this "
    "server for now: no password can be created.",
    "acc.pw.too_many": "You have reached the largest number of active passwords: revoke one first.",
    "acc.pw.unknown": "This password does not exist or is not yours: nothing changed.",
    "acc.establishment.link": "Manage my establishment",
    "est.title": "My establishment",
    "est.none": "You do not manage any establishment registered with the operator.",
    "est.finess": "FINESS {finess}",
    "est.charter.title": "Charter of good use",
    "est.charter.version": "Version {version}, SHA-256 digest:",
    "est.charter.none": "No charter is published yet.",
    "est.charter.signed": "Your establishment has accepted the current version ({version}).",
    "est.charter.missing": "Your establishment has not accepted the current charter: its "
    "people cannot be enrolled until it is signed.",
    "est.charter.outdated": "A new version of the charter is published (your establishment "
    "signed version {signed}): read it and sign it.",
    "est.charter.sign": "I have read the charter and accept it for the establishment",
    "est.charter.signed_done": "Charter signed: the acceptance is recorded as evidence.",
    "est.people.title": "People",
    "est.people.none": "No one registered.",
    "est.col.name": "Name",
    "est.col.rpps": "RPPS",
    "est.col.profession": "Profession",
    "est.col.mailbox": "Mailbox",
    "est.col.code": "Enrolment",
    "est.code.make": "Enrolment code",
    "est.code.shown": "Enrolment code for {address}: give it to the person; it works once, "
    "until {expires}. It will not be shown again.",
    "est.code.refused_charter": "Refused: the establishment must first accept the current "
    "charter; no code was made.",
    "est.add.title": "Add a person",
    "est.add.rpps": "RPPS number (11 digits)",
    "est.add.given": "Given name",
    "est.add.family": "Family name",
    "est.add.profession": "Profession",
    "est.add.specialty": "Specialty (optional)",
    "est.add.mailbox": "Mail address",
    "est.add.submit": "Add",
    "est.add.done": "Person added: now make their enrolment code.",
    "est.add.bad_rpps": "Invalid RPPS number (11 digits, Luhn key): no one was added.",
    "est.add.missing": "Given name, family name, profession and address are required: no "
    "one was added.",
    "est.add.bad_mailbox": "Invalid mail address: no one was added.",
    "est.add.exists": "This person or address is already registered: nothing changed.",
    "est.not_manager": "You do not manage this establishment.",
    "est.stale": "The charter changed meanwhile: read the version shown and sign it.",
    "dev.link": "My instant messaging devices",
    "dev.title": "My devices",
    "dev.back_account": "← My account",
    "dev.help": "Each device (a browser paired with your workstation, or this workstation "
    "itself) has its own keys to read your instant messaging conversations. Revoke a device "
    "that is lost, stolen, or that you no longer use.",
    "dev.approve_hint": "To pair a new browser, enter the code it shows with "
    "“caducee agent devices approve CODE”.",
    "dev.none": "No device registered.",
    "dev.col.device": "Device",
    "dev.col.registered": "Registered on",
    "dev.col.key": "Encryption key",
    "dev.col.approval": "Approved by",
    "dev.this": "This workstation",
    "dev.active": "active",
    "dev.revoked": "revoked on {date}",
    "dev.kem.pq": "post-quantum (ML-KEM-768 + X25519)",
    "dev.kem.classic": "classical (X25519 alone, not post-quantum)",
    "dev.kem.unknown": "unknown (KEM {kem})",
    "dev.certified": "your certificate (approved from a workstation)",
    "dev.endorsed": "the device",
    "dev.revoke": "Revoke",
    "dev.registered_on": "Registered on {date}.",
    "dev.confirm.title": "Revoke this device?",
    "dev.confirm.means": "A revoked device can no longer read new messages: its keys are "
    "rotated out of your conversations (the conversations' keys are renewed without it) and "
    "it can no longer connect. Revocation is final; messages it already received stay on "
    "the device.",
    "dev.confirm.self": "This is this workstation's device: instant messaging stops on this "
    "workstation. The next time Cases is opened, the workstation makes a new device, "
    "certified by your certificate.",
    "dev.confirm.endorsed": "These devices, which it approved, are revoked with it:",
    "dev.confirm.submit": "Revoke for good",
    "dev.confirm.cancel": "Cancel",
    "dev.done.revoked": "Device revoked: it can no longer read new messages.",
    "dev.done.self": "This workstation's device revoked: instant messaging has stopped on "
    "this workstation until Cases is next opened (a new device is made then).",
    "dev.done.already": "This device was already revoked: nothing changed.",
    "dev.unknown": "This device does not exist or is not yours: nothing changed.",
    "dev.already": "This device is already revoked: nothing changed.",
}

MESSAGES: Mapping[str, Mapping[str, str]] = {"fr": FR, "en": EN}


def translator(locale: str) -> Callable[..., str]:
    """``_("id", n=1)``: these pages' words first, then the agent's own catalogue."""
    from caducee.agent.web.messages import layered_translator  # no import cycle

    return layered_translator(MESSAGES, locale)
