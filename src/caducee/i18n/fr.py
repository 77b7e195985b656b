"""Messages en français (la langue par défaut)."""

MESSAGES: dict[str, str] = {
    "app.tagline": "Messagerie sécurisée de santé, chiffrée de bout en bout",
    "nav.language": "English",
    "status.title": "État du service",
    "status.operator": "Opérateur",
    "status.version": "Version",
    "status.ready": "Le service est prêt.",
    "status.not_ready": "Le service n'est pas prêt : {reason}",
    "status.database": "Base de données",
    "status.blobs": "Stockage des messages chiffrés",
    "status.ca": "Autorité de certification",
    "status.ca_root": "Racine",
    "status.ca_issuing": "Autorité émettrice",
    "status.ca_fingerprint": "Empreinte SHA-256",
    "status.ca_valid_until": "Valide jusqu'au",
    "status.certificates": "Certificats émis",
    "status.revoked": "dont révoqués",
    "status.support": "Assistance",
    "status.not_initialised": (
        "Le déploiement n'est pas initialisé : lancez « caducee server init »."
    ),
    "status.downloads": "Téléchargements",
    "status.download_root": "Certificat racine (PEM)",
    "status.download_crl": "Liste de révocation (CRL)",
}
