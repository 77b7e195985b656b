"""``caducee prescriptions``: the drug database import, the test card CA and test cards."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives import serialization
from rich.console import Console

from caducee.config import load_settings
from caducee.errors import CaduceeError

__all__ = ["CARD_CA_NAME", "app"]

app = typer.Typer(
    help="Ordonnances numériques : base des médicaments, cartes de test. / "
    "E-prescriptions: drug database, test cards.",
    no_args_is_help=True,
)
console = Console()
CARD_CA_NAME = "card-ca"

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Dossier des données / data folder (défaut: ./var)."),
]
Passphrase = Annotated[
    str,
    typer.Option(
        envvar="CADUCEE_CARD_CA_PASSPHRASE",
        prompt=True,
        hide_input=True,
        help="Phrase de passe de la clé de l'AC de test / the test CA key's passphrase.",
    ),
]


def _fail(exc: CaduceeError | OSError) -> typer.Exit:
    reason = exc.reason if isinstance(exc, CaduceeError) else str(exc)
    console.print(f"[red]Échec / failed:[/red] {reason}")
    return typer.Exit(2)


@app.command("import-drugs")
def import_drugs(
    cis_file: Annotated[Path, typer.Argument(help="CIS_bdpm.txt", exists=True, dir_okay=False)],
    cip_file: Annotated[Path, typer.Argument(help="CIS_CIP_bdpm.txt", exists=True, dir_okay=False)],
    data_dir: DataDir = None,
) -> None:
    """Importer la base publique des médicaments (remplace le catalogue).

    Import the public drug database files (tab-separated, Windows-1252) into the server's
    catalogue, replacing it in one transaction; rows that break the format are listed.
    """
    from caducee.prescriptions import read_bdpm
    from caducee.prescriptions.drugs import DrugCatalogue
    from caducee.store import Database, upgrade_database

    settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
    try:
        result = read_bdpm(cis_file.read_bytes(), cip_file.read_bytes())
        upgrade_database(settings.resolved_database_url)

        async def run() -> int:
            database = Database(settings.resolved_database_url)
            try:
                return await DrugCatalogue(database).replace(result.drugs)
            finally:
                await database.close()

        count = asyncio.run(run())
    except (CaduceeError, OSError) as exc:
        raise _fail(exc) from exc
    for name, line, why in result.skipped[:20]:
        console.print(f"[yellow]ignorée / skipped[/yellow] {name}:{line} {why}")
    console.print(
        f"[green]✔[/green] {count} présentations importées / presentations imported "
        f"({len(result.skipped)} lignes ignorées / rows skipped)"
    )


@app.command("card-ca")
def card_ca(
    directory: Annotated[Path, typer.Option("--dir", help="Dossier de l'AC / CA folder.")],
    passphrase: Passphrase,
    data_dir: DataDir = None,
    install: Annotated[
        bool, typer.Option(help="La faire reconnaître par le serveur / trust it on the server.")
    ] = True,
) -> None:
    """Créer l'AC « Assurance Maladie » de TEST qui certifie les cartes de test.

    Create the TEST "health insurance" CA that certifies test cards (never a real one), and
    by default install its certificate in ``<data>/prescriptions/card-ca/`` so the server
    accepts its cards (restart the server to take it into account).
    """
    from caducee.pki import save_authority
    from caducee.prescriptions import create_card_ca

    try:
        ca = create_card_ca()
        save_authority(ca, directory, CARD_CA_NAME, passphrase.encode())
        if install:
            settings = load_settings(**({"data_dir": data_dir} if data_dir else {}))
            target = settings.data_dir / "prescriptions" / "card-ca"
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(directory / f"{CARD_CA_NAME}.cert.pem", target / "test-card-ca.pem")
    except (CaduceeError, OSError) as exc:
        raise _fail(exc) from exc
    console.print(f"[green]✔[/green] AC de cartes de test / test card CA: {directory}")


@app.command("test-card")
def test_card(
    ca_dir: Annotated[Path, typer.Option("--ca-dir", help="Dossier de l'AC / CA folder.")],
    nir: Annotated[str, typer.Option(help="NIR (15 caractères) du titulaire / holder's NIR.")],
    passphrase: Passphrase,
    out: Annotated[Path, typer.Option(help="Certificat de la carte (PEM) / card certificate.")],
    token_uri: Annotated[
        str | None,
        typer.Option(help="Jeton PKCS#11 de la carte (pkcs11:token=…) / the card's token."),
    ] = None,
    pin: Annotated[str | None, typer.Option(envvar="CADUCEE_CARD_PIN", help="PIN")] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="Sinon, une clé logicielle / else a software key file.")
    ] = None,
) -> None:
    """Fabriquer une carte Vitale de TEST : une clé sur un jeton PKCS#11 (ou un fichier).

    Make a TEST card: a key pair generated on a PKCS#11 token (SoftHSM2) or in an encrypted
    key file, certified by the test card CA with the holder's NIR.
    """
    from caducee.crypto.keyfile import KeyKind, generate_private_key, save_key_file
    from caducee.pki import PKIURLs, load_authority
    from caducee.prescriptions import issue_card_certificate

    if (token_uri is None) == (key_file is None):
        console.print("[red]--token-uri OU/OR --key-file[/red]")
        raise typer.Exit(2)
    try:
        ca = load_authority(ca_dir, CARD_CA_NAME, passphrase.encode(), PKIURLs("http://x.invalid"))
        if token_uri is not None:
            from caducee.crypto.pkcs11_keys import generate_token_key, store_certificate_on_token

            public = generate_token_key(
                token_uri, label="carte-vitale", key_id=b"\x01", kind=KeyKind.EC_P256, pin=pin
            )
            certificate = issue_card_certificate(ca, public, nir)
            store_certificate_on_token(
                token_uri, certificate, label="carte-vitale", key_id=b"\x01", pin=pin
            )
        else:
            assert key_file is not None
            key = generate_private_key(KeyKind.EC_P256)
            save_key_file(key_file, key, (pin or "").encode())
            certificate = issue_card_certificate(ca, key.public_key(), nir)
        out.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    except (CaduceeError, OSError) as exc:
        raise _fail(exc) from exc
    console.print(f"[green]✔[/green] Carte de test / test card: {out}")
