"""``caducee agent``: the workstation agent (enrol, send, watch the outbox, sync the inbox).

Every command works on one agent folder (``--dir``, or ``CADUCEE_AGENT_DIR``, default
``./agent``). The key's passphrase comes from ``CADUCEE_AGENT_PASSPHRASE`` or a prompt.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.config import CONFIG_JSON, CONFIG_TOML, AgentConfig
from caducee.agent.errors import AgentError, ConfigError, RecipientError
from caducee.agent.external import hand_off
from caducee.agent.journal import Journal
from caducee.agent.keystore import load_key, read_secret
from caducee.agent.ledger_watch import read_alarm
from caducee.agent.outgoing import new_message_id
from caducee.agent.policy_cache import POLICY_FILE
from caducee.agent.recipients import hprim_recipients
from caducee.agent.runtime import AgentRuntime, fingerprint, initialise
from caducee.agent.send_checks import SendPlan, reason_text
from caducee.commands.agent_cases import cases_app
from caducee.crypto.cms_sign import SignerKey
from caducee.crypto.errors import CryptoError

__all__ = ["app"]

app = typer.Typer(
    help="Agent du poste de travail / workstation agent: clés, envoi, réception.",
    no_args_is_help=True,
)
console = Console(stderr=True, soft_wrap=True)  # paths stay whole in logs and CI output

AgentDir = Annotated[
    Path,
    typer.Option(
        "--dir",
        envvar="CADUCEE_AGENT_DIR",
        help="Dossier de l'agent / agent folder.",
    ),
]
DEFAULT_DIR = Path("agent")


def _logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise


@contextmanager
def _failures() -> Iterator[None]:
    """Print a Caducée error as one line and exit with status 2 (no traceback, no content)."""
    try:
        yield
    except (AgentError, CryptoError) as exc:
        console.print(f"[red]Échec / failed[/red] ({exc.code}): {escape(exc.reason)}")
        raise typer.Exit(2) from None


def _load_config(directory: Path) -> AgentConfig:
    """The agent's settings; a folder that is no agent's is told in both languages, with the
    way to name the right one (``--dir``), since the default ``./agent`` is often not it."""
    folder = directory.expanduser().resolve()
    if not any((folder / name).is_file() for name in (CONFIG_JSON, CONFIG_TOML)):
        raise ConfigError(
            f"{folder} n'est pas un dossier d'agent : indiquez le bon avec --dir <dossier> "
            "(ou CADUCEE_AGENT_DIR), ou créez-en un avec `caducee agent init`. / "
            f"{folder} is not an agent folder: give the right one with --dir <folder> "
            "(or CADUCEE_AGENT_DIR), or create one with `caducee agent init`."
        )
    return AgentConfig.load(folder)


def _read_input(file: str) -> bytes:
    """The bytes to send (``-``: standard input); an unreadable file is a one-line error."""
    if file == "-":
        return sys.stdin.buffer.read()
    path = Path(file)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        reason, code = f"Fichier introuvable / file not found: {path}", "file-not-found"
    except IsADirectoryError:
        reason = f"C'est un dossier, pas un fichier / this is a folder, not a file: {path}"
        code = "not-a-file"
    except PermissionError:
        reason = (
            f"Fichier illisible, droits insuffisants / file unreadable, permission denied: {path}"
        )
        code = "file-unreadable"
    except OSError as exc:
        reason = f"Fichier illisible / file unreadable: {path} ({exc.strerror or exc})"
        code = "file-unreadable"
    raise AgentError(reason, code=code)


@app.command()
def init(
    server: Annotated[str, typer.Option(help="Adresse du serveur / server URL.")],
    code: Annotated[str, typer.Option(help="Code d'enrôlement / enrolment code.")],
    directory: AgentDir = DEFAULT_DIR,
    address: Annotated[
        str | None, typer.Option(help="Adresse de la boîte / mailbox address.")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="Fichier de clé à créer / key file to create.")
    ] = None,
    token_uri: Annotated[
        str | None, typer.Option(help="Clé sur carte ou jeton / key on a token (pkcs11:...).")
    ] = None,
    root_sha256: Annotated[
        str | None,
        typer.Option(help="Empreinte attendue de l'AC racine / expected root CA SHA-256."),
    ] = None,
) -> None:
    """Rejoindre un serveur avec un code d'enrôlement. / Join a server with an enrolment code.

    Crée la clé là où elle vivra, envoie la demande de certificat, épingle l'AC racine.
    Creates the key where it will live, sends the CSR, pins the root CA.
    """
    if key_file and token_uri:
        raise typer.BadParameter("--key-file ou/or --token-uri, pas les deux / not both")
    key = token_uri or str(key_file or "key.pem")
    with _failures():
        secret = read_secret(token=bool(token_uri), confirm=True)
        config = initialise(
            directory,
            server=server,
            code=code,
            address=address,
            key=key,
            secret=secret,
            root_sha256=root_sha256,
        )
        root = fingerprint(config.load_root())
    console.print(
        f"[green]✔[/green] {config.address} (certificat / certificate {config.serial_hex})"
    )
    console.print(f"  AC racine épinglée / pinned root CA SHA-256: {root}")
    console.print(f"  Boîte d'envoi / outbox: {config.folder('outbox')}")
    console.print(f"  Boîte de réception / inbox: {config.folder('inbox')}")


@app.command()
def send(
    file: Annotated[
        str, typer.Argument(help="Fichier, ou - pour l'entrée / file, or - for stdin.")
    ],
    to: Annotated[list[str], typer.Option("--to", help="Destinataire(s) / recipient(s).")],
    directory: AgentDir = DEFAULT_DIR,
    name: Annotated[
        str | None, typer.Option(help="Nom du document (entrée) / document name (stdin).")
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            help="Confirmer sans demander (annonce, hors Caducée) / confirm without asking.",
        ),
    ] = False,
) -> None:
    """Envoyer un fichier, signé et chiffré. / Send one file, signed and encrypted.

    The same checks as the local pages: bulk mail refused or confirmed, recipients outside
    Caducée told that their copy leaves end-to-end encryption, and asked."""
    filename = name or ("document.txt" if file == "-" else Path(file).name)
    with _failures():
        data = _read_input(file)
        _confirm_addressee(data, to, yes=yes)
        config = _load_config(directory)
        with AgentRuntime.open(config) as runtime:
            checks = runtime.checks()
            plan = checks.plan(to, [(filename, data)], with_sanctions=True)
            _confirm_plan(plan, yes=yes)
            if plan.internal:
                result = runtime.sender().send(list(plan.internal), filename, data)
                typer.echo(result.message_id)
            if plan.external:
                handed = hand_off(
                    runtime.client,
                    runtime.journal,
                    sender=config.address,
                    recipients=plan.external,
                    name=filename,
                    data=data,
                    digest=hashlib.sha256(data).hexdigest(),
                    message_id=new_message_id(config.address),
                    sorter=checks.sorter,
                )
                typer.echo(handed.message_id)


def _confirm_addressee(data: bytes, to: list[str], *, yes: bool) -> None:
    """A result addressed on HPRIM line 12 to someone ``--to`` leaves out: say so, and ask
    (unless ``yes``); exit 2 when not sent. A patient's result sent to the wrong doctor is
    a disclosure, and ``--to`` overrides the line the outbox would have followed."""
    try:
        addressed = hprim_recipients(data)
    except RecipientError:  # documents naming different recipients: --to decides
        return
    chosen = {a.lower() for a in to}
    left_out = [a for a in addressed if a.lower() not in chosen]
    if not left_out:
        return
    console.print(
        f"Attention : ce fichier HPRIM est adressé (ligne 12) à {', '.join(left_out)}, "
        f"qui n'est pas parmi les destinataires choisis ({', '.join(to)}). / Warning: this "
        f"HPRIM file is addressed (line 12) to {', '.join(left_out)}, who is not among the "
        f"chosen recipients ({', '.join(to)}).",
        markup=False,
    )
    if not yes and not _asked("Envoyer quand même ? / Send anyway?"):
        console.print("Rien n'a été envoyé. / Nothing was sent.")
        raise typer.Exit(2)


def _asked(question: str) -> bool:
    """The person's answer; no answer (standard input already read, or closed) is no."""
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:
        return False


def _confirm_plan(plan: SendPlan, *, yes: bool) -> None:
    """Refuse, or ask (unless ``yes``), as the send page does; exit 2 when not sent."""
    advice = plan.advice
    values = {
        "count": advice.recipients,
        "limit": advice.limit,
        "cues": ", ".join(advice.cue_names),
        "addresses": ", ".join(plan.external),
    }
    if advice.refused:
        console.print(reason_text(advice.concerns[0].value, **values))
        raise typer.Exit(2)
    questions = [reason_text(c.value, **values) for c in advice.concerns]
    if plan.external:
        questions.append(reason_text("external-warning", **values))
    for question in questions:
        console.print(question)
        if not yes and not _asked("Envoyer quand même ? / Send anyway?"):
            console.print("Rien n'a été envoyé. / Nothing was sent.")
            raise typer.Exit(2)


@app.command()
def watch(
    directory: AgentDir = DEFAULT_DIR,
    once: Annotated[bool, typer.Option(help="Un seul passage / one pass only.")] = False,
) -> None:
    """Surveiller la boîte d'envoi et envoyer chaque fichier déposé. / Watch the outbox."""
    _logging()
    with _failures():
        config = _load_config(directory)
        with AgentRuntime.open(config) as runtime:
            watcher = runtime.watcher()
            if once:
                for outcome in watcher.once():
                    typer.echo(f"{outcome.state}\t{outcome.name}\t{outcome.message_id}")
                return
            stop = threading.Event()
            try:
                watcher.run(stop)
            except KeyboardInterrupt:
                stop.set()


@app.command()
def sync(
    directory: AgentDir = DEFAULT_DIR,
    once: Annotated[bool, typer.Option(help="Un seul passage / one pass only.")] = False,
) -> None:
    """Recevoir : déchiffrer, vérifier, écrire dans la boîte de réception. / Receive."""
    _logging()
    with _failures():
        config = _load_config(directory)
        with AgentRuntime.open(config) as runtime:
            receiver = runtime.receiver()
            if once:
                receiver.check_ledger()
                report = receiver.sync_once()
                typer.echo(
                    f"delivered={len(report.delivered)} files={report.files} "
                    f"duplicates={report.duplicates} quarantined={len(report.quarantined)}"
                    + (f" failed={report.failed}" if report.failed else "")
                )
                if report.failed:
                    raise typer.Exit(1)
                return
            stop = threading.Event()
            try:
                receiver.run(stop, poll_timeout=config.poll_timeout)
            except KeyboardInterrupt:
                stop.set()


@app.command()
def status(directory: AgentDir = DEFAULT_DIR) -> None:
    """État de l'agent : identité, dossiers, derniers envois et réceptions. / Agent status."""
    with _failures():
        config = _load_config(directory)
        certificate = config.load_certificate()
        typer.echo(f"address: {config.address}")
        typer.echo(f"server: {config.server}")
        typer.echo(
            f"certificate: {config.serial_hex} until {certificate.not_valid_after_utc:%Y-%m-%d}"
        )
        typer.echo(f"key: {'token' if config.key_is_token else 'file'}")
        policy = config.directory / POLICY_FILE
        if policy.exists():
            typer.echo(f"content policy: {policy.read_text('utf-8').strip()}")
        alarm = read_alarm(config.directory)
        typer.echo(f"evidence log: {'ALARM ' + alarm if alarm else 'consistent so far'}")
        with Journal(config.journal_path) as journal:
            typer.echo(f"cursor: {journal.cursor}")
            for folder in ("outbox", "inbox", "quarantine", "errors"):
                path = config.folder(folder)
                count = (
                    sum(1 for p in path.iterdir() if not p.name.startswith("."))
                    if path.is_dir()
                    else 0
                )
                typer.echo(f"{folder}: {count} file(s) in {path}")
            for record in journal.recent_outgoing(10):
                typer.echo(
                    f"sent {record.state}\t{record.name}\t{record.message_id}\t{record.reason}"
                )
            for message_id, sequence, sender, state, reason, _at in journal.recent_incoming(10):
                typer.echo(f"received {state}\t{sequence}\t{sender}\t{message_id}\t{reason}")


def _start_web(config: AgentConfig, port: int, key: SignerKey) -> uvicorn.Server:
    """Serve the local pages on 127.0.0.1:``port`` in a background thread."""
    from caducee.agent.web import create_web_app

    client = ServerClient(config.server, Credentials(config.address, config.serial_hex, key))
    server = uvicorn.Server(
        uvicorn.Config(
            create_web_app(config, client),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    threading.Thread(target=server.run, name="web", daemon=True).start()
    return server


@app.command()
def run(
    directory: AgentDir = DEFAULT_DIR,
    web: Annotated[bool, typer.Option(help="Pages locales / local web pages.")] = True,
    web_port: Annotated[int, typer.Option(help="Port des pages (127.0.0.1) / pages port.")] = 8765,
) -> None:
    """Envoi, réception et pages locales jusqu'à Ctrl-C. / Watch, sync and pages until Ctrl-C."""
    _logging()
    with _failures():
        config = _load_config(directory)
        key = load_key(config)  # asked once, shared by both loops
        stop = threading.Event()

        def outbox_loop() -> None:
            with AgentRuntime.open(config, key) as runtime:
                runtime.policy.refresh()  # at start, then hourly as files are sent
                runtime.watcher().run(stop)

        def sync_loop() -> None:
            with AgentRuntime.open(config, key) as runtime:
                runtime.receiver().run(stop, poll_timeout=config.poll_timeout)

        threads = [
            threading.Thread(target=outbox_loop, name="outbox", daemon=True),
            threading.Thread(target=sync_loop, name="sync", daemon=True),
        ]
        for thread in threads:
            thread.start()
        pages = _start_web(config, web_port, key) if web else None
        console.print(f"Agent {config.address} en marche / running (Ctrl-C)")
        if pages is not None:
            console.print(f"  Pages locales / local pages: http://127.0.0.1:{web_port}/")
        try:
            while all(t.is_alive() for t in threads):  # one loop gone: stop, be restarted
                for thread in threads:
                    thread.join(timeout=0.5)
        except KeyboardInterrupt:
            stop.set()
        if pages is not None:
            pages.should_exit = True
        if not stop.is_set():
            raise AgentError("a loop stopped unexpectedly; see the log")


devices_app = typer.Typer(
    help="Mes appareils de messagerie instantanée (MISS) / my instant messaging devices.",
    no_args_is_help=True,
)
app.add_typer(devices_app, name="devices")
app.add_typer(cases_app, name="cases")


@devices_app.command("approve")
def devices_approve(
    code: Annotated[str, typer.Argument(help="Code affiché par l'appareil / the device's code.")],
    directory: AgentDir = DEFAULT_DIR,
    yes: Annotated[
        bool, typer.Option("--yes", help="Sans confirmation / do not ask to confirm.")
    ] = False,
) -> None:
    """Approuver un navigateur : certifier ses clés avec ma clé. / Approve a browser's keys."""
    from cryptography.hazmat.primitives import serialization

    from caducee.agent.devices import approve, fetch_pairing
    from caducee.instant.pairing import key_fingerprint

    with _failures():
        config = _load_config(directory)
        key = load_key(config)
        credentials = Credentials(config.address, config.serial_hex, key)
        with ServerClient(config.server, credentials) as client:
            request = fetch_pairing(client, code)
            typer.echo(f"appareil / device: {request.label} ({request.keys.device_id})")
            typer.echo(f"adresse / address: {request.keys.address}")
            typer.echo(f"clé de signature / signing key: {request.signing_fingerprint}")
            typer.echo(f"clé de chiffrement / encryption key: {request.hpke_fingerprint}")
            root = config.load_root().public_bytes(serialization.Encoding.DER)
            typer.echo(f"autorité racine / root authority: {key_fingerprint(root)}")
            if not yes and not typer.confirm(
                "Les empreintes sont-elles celles affichées par l'appareil ? / "
                "Do the fingerprints match the device's?"
            ):
                raise typer.Exit(1)
            registered = approve(client, key, request)
        typer.echo(f"approuvé / approved: {registered['device_id']}")


@devices_app.command("list")
def devices_list(directory: AgentDir = DEFAULT_DIR) -> None:
    """Mes appareils, révoqués compris. / My devices, revoked ones included."""
    from caducee.agent.devices import list_devices

    with _failures():
        config = _load_config(directory)
        credentials = Credentials(config.address, config.serial_hex, load_key(config))
        with ServerClient(config.server, credentials) as client:
            for device in list_devices(client):
                state = f"revoked {device['revoked_at']}" if device["revoked_at"] else "active"
                typer.echo(f"{device['device_id']}\t{state}\t{device['registered_at']}")


@devices_app.command("revoke")
def devices_revoke(
    device_id: Annotated[str, typer.Argument(help="Identifiant de l'appareil / device id.")],
    directory: AgentDir = DEFAULT_DIR,
) -> None:
    """Révoquer un de mes appareils. / Revoke one of my devices."""
    from caducee.agent.devices import revoke_device

    with _failures():
        config = _load_config(directory)
        credentials = Credentials(config.address, config.serial_hex, load_key(config))
        with ServerClient(config.server, credentials) as client:
            changed = revoke_device(client, device_id)
        typer.echo(f"{'révoqué / revoked' if changed else 'déjà révoqué / already revoked'}")


if __name__ == "__main__":
    app()
