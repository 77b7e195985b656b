"""``caducee demo``: the main job on the embedded default, running on this machine.

A server (SQLite, local blobs) with its CA; a lab and two GPs registered and enrolled; their
agents running with outbox and inbox folders under ``./var/demo``; a synthetic HPRIM result
dropped into the lab's outbox and arriving, decrypted and verified, in a GP's inbox. Every
person here is invented. The agents' key passphrase is a demonstration constant: never
use this set-up for real data.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from caducee.directory.identifiers import luhn_complete

__all__ = ["app", "synthetic_result"]

app = typer.Typer(help="Démonstration de bout en bout. / End-to-end demonstration.")
console = Console(soft_wrap=True)  # paths stay whole when the output is a log, not a terminal
DEMO_PASSPHRASE = "demonstration-caducee-seulement"  # noqa: S105 - a demo's, said so above


@dataclass(frozen=True)
class DemoParty:
    name: str
    address: str
    kind: str  # "lab" or "gp"
    web_port: int


def _parties(port: int) -> list[DemoParty]:
    return [
        DemoParty("Laboratoire Fictif de Démonstration", "labo.demo@caducee.test", "lab", port + 1),
        DemoParty("Dr Alice IMAGINAIRE", "alice.imaginaire@caducee.test", "gp", port + 2),
        DemoParty("Dr Bruno INVENTE", "bruno.invente@caducee.test", "gp", port + 3),
    ]


def synthetic_result(recipient: str, patient: tuple[str, str], stamp: datetime) -> bytes:
    """An invented HPRIM médecin result for ``recipient`` (CRLF, ISO-8859-1)."""
    last, first = patient
    lines = [
        stamp.strftime("D%y%m%d%H%M%S"),
        last,
        first,
        "12 RUE DE LA DEMONSTRATION",
        "",
        "69000 LYON",
        "14/07/1985",
        "",
        stamp.strftime("%y%m%d%H%M"),
        stamp.strftime("%d/%m/%Y"),
        "LABDEMO labo.demo@caducee.test",
        f"DRDEMO {recipient}",
        "Bilan biologique (données fictives de démonstration)",
        "****LAB****",
        "RES|Glycémie à jeun|GLY|N|1,32|g/l|0,70|1,10|H|F",
        "RES|Hémoglobine|HB|N|13,9|g/dl|12,0|16,0|N|F",
        "RES|INR|INR|N|4,1||2,0|3,0|H|F",
        "****FIN****",
        "****FINFICHIER****",
    ]
    return ("\r\n".join(lines) + "\r\n").encode("iso-8859-1")


def port_in_use(port: int) -> bool:
    """Whether something already listens on ``port`` (tried as the server will bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _refuse_busy_ports(port: int, parties: list[DemoParty]) -> None:
    """Stop, before anything starts, when the server's or an agent's port is taken."""
    for taken in (p for p in (port, *(x.web_port for x in parties)) if port_in_use(p)):
        console.print(
            f"[red]Le port {taken} est déjà utilisé[/red] (une autre démonstration tourne ?) : "
            f"arrêtez-la (Ctrl-C) ou choisissez un autre port avec --port (les agents prennent "
            f"les trois suivants). / Port {taken} is already in use (another demo running?): "
            "stop it (Ctrl-C) or choose another port with --port (the agents take the next "
            "three)."
        )
        raise typer.Exit(2)


def _env() -> dict[str, str]:
    return {**os.environ, "CADUCEE_AGENT_PASSPHRASE": DEMO_PASSPHRASE}


def _wait_for(url: str, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    console.print(f"[red]{what} n'a pas démarré / did not start[/red]; see {log}")
    console.print(_tail(log), markup=False, highlight=False)
    raise typer.Exit(2)


def _tail(log: Path, lines: int = 15) -> str:
    """The end of a process's log, printed when it fails so the reason is on screen."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join("  | " + line for line in text.splitlines()[-lines:])


def _register(base: str, data_dir: Path, party: DemoParty, number: int) -> str:
    """Register one invented organisation or person and its mailbox; return an enrolment code."""
    from caducee.server.auth import OPERATOR_TOKEN_FILE, ensure_operator_token

    ensure_operator_token(data_dir)
    token = (data_dir / OPERATOR_TOKEN_FILE).read_text().strip()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as admin:
        if party.kind == "lab":
            finess = luhn_complete(f"{69000000 + number:08d}")
            admin.post(
                "/api/v1/admin/organisations",
                json={
                    "finess": finess,
                    "name": party.name,
                    "type": "lab",
                    "city": "LYON",
                    "postcode": "69000",
                    "region": "Auvergne-Rhône-Alpes",
                },
            ).raise_for_status()
            mailbox = {"address": party.address, "kind": "organisational", "organisation": finess}
        else:
            rpps = luhn_complete(f"{1000069000 + number:010d}")
            given, family = party.name.removeprefix("Dr ").split(" ", 1)
            admin.post(
                "/api/v1/admin/people",
                json={
                    "rpps": rpps,
                    "given_name": given,
                    "family_name": family,
                    "profession": "Médecin",
                    "specialty": "Médecine générale",
                },
            ).raise_for_status()
            mailbox = {"address": party.address, "kind": "personal", "person": rpps}
        admin.post("/api/v1/admin/mailboxes", json=mailbox).raise_for_status()
        answer = admin.post(f"/api/v1/admin/mailboxes/{party.address}/enrolment-code")
        answer.raise_for_status()
        return str(answer.json()["code"])


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "caducee.cli", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=_env(),
        )


@app.callback(invoke_without_command=True)
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Dossier / folder.")] = Path("var/demo"),
    port: Annotated[int, typer.Option(help="Port du serveur / server port.")] = 8400,
    once: Annotated[
        bool, typer.Option(help="S'arrêter après la première livraison / stop after delivery.")
    ] = False,
) -> None:
    """Lancer la démonstration jusqu'à Ctrl-C. / Run the demonstration until Ctrl-C."""
    from caducee.agent.runtime import initialise

    _refuse_busy_ports(port, _parties(port))
    directory = directory.resolve()
    server_dir = directory / "server"
    base = f"http://127.0.0.1:{port}"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)  # synthetic, but as it would be
    os.environ.setdefault("CADUCEE_PUBLIC_URL", base)
    subprocess.run(
        [sys.executable, "-m", "caducee.cli", "server", "init", "--data-dir", str(server_dir)],
        check=True,
        env=_env(),
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        server = _start(
            ["server", "run", "--data-dir", str(server_dir), "--port", str(port)],
            directory / "server.log",
        )
        processes.append(server)
        _wait_for(f"{base}/healthz", server, "Le serveur / the server", directory / "server.log")
        parties = _parties(port)
        for number, party in enumerate(parties, start=1):
            agent_dir = directory / party.address.split("@")[0]
            if not (agent_dir / "agent.json").exists():
                code = _register(base, server_dir, party, number)
                initialise(
                    agent_dir,
                    server=base,
                    code=code,
                    address=party.address,
                    key="key.pem",
                    secret=DEMO_PASSPHRASE.encode(),
                )
            log = directory / f"{agent_dir.name}.log"
            agent = _start(
                ["agent", "run", "--dir", str(agent_dir), "--web-port", str(party.web_port)], log
            )
            processes.append(agent)
            _wait_for(f"http://127.0.0.1:{party.web_port}/", agent, party.address, log)
        lab_dir = directory / parties[0].address.split("@")[0]
        gp_dir = directory / parties[1].address.split("@")[0]
        now = datetime.now()
        name = f"resultat-{now:%Y%m%d-%H%M%S}.hpr"
        before = set((gp_dir / "inbox").glob("*"))
        result = synthetic_result(parties[1].address, ("FICTIF", "Camille"), now)
        (lab_dir / "outbox" / name).write_bytes(result)
        console.print(f"Résultat déposé / result dropped: {lab_dir / 'outbox' / name}")
        arrived = _wait_for_file(gp_dir / "inbox", before)
        _summary(base, parties, directory, arrived)
        if once:
            return
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        console.print("[red]Un processus s'est arrêté / a process stopped[/red]: see the logs")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        console.print("Arrêt / stopping…")
    finally:
        # The agents first: the server then has no push connection left to wait for.
        for process in reversed(processes):
            process.terminate()
        for process in reversed(processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_file(inbox: Path, before: set[Path]) -> Path | None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        new = [p for p in inbox.glob("*") if p not in before and not p.name.startswith(".")]
        if new:
            return new[0]
        time.sleep(0.3)
    return None


def _summary(base: str, parties: list[DemoParty], directory: Path, arrived: Path | None) -> None:
    console.print()
    if arrived is not None:
        console.print(f"[green]✔ Arrivé, déchiffré et vérifié / arrived:[/green] {arrived}")
    else:
        console.print("[red]✘ Pas encore arrivé / not arrived yet[/red]: see the logs below")
    console.print(f"\nServeur / server: {base}/  (API: {base}/docs)")
    from caducee.server.auth import OPERATOR_TOKEN_FILE

    console.print(
        f"Console de l'opérateur / operator console: {base}/console  (jeton / token: "
        f"{directory / 'server' / OPERATOR_TOKEN_FILE})"
    )
    for party in parties:
        folder = directory / party.address.split("@")[0]
        console.print(f"\n{party.name} <{party.address}>")
        console.print(f"  pages:  http://127.0.0.1:{party.web_port}/")
        console.print(f"  outbox: {folder / 'outbox'}")
        console.print(f"  inbox:  {folder / 'inbox'}")
    console.print(f"\nJournaux / logs: {directory}/*.log")
    _command_line(parties, directory)
    console.print(
        "Déposez un autre fichier HPRIM dans l'outbox du laboratoire pour le voir arriver. "
        "/ Drop another HPRIM file into the lab's outbox to see it arrive. Ctrl-C pour arrêter."
    )


def _command_line(parties: list[DemoParty], directory: Path) -> None:
    """How to drive the demo's agents with ``caducee agent``: their folder (``--dir``, or
    ``CADUCEE_AGENT_DIR``) and the key passphrase (``CADUCEE_AGENT_PASSPHRASE``).

    The demo's passphrase is printed: it is a constant of this public source file guarding
    invented people's keys on a throw-away local server, not a secret (a real agent's
    passphrase is never printed)."""
    lab, gp = parties[0], parties[1]
    lab_dir = shlex.quote(str(directory / lab.address.split("@")[0]))
    console.print(
        "\nLigne de commande / command line (passphrase de démonstration seulement / "
        "demonstration passphrase only):",
        markup=False,
    )
    for line in (
        f"  export CADUCEE_AGENT_PASSPHRASE={shlex.quote(DEMO_PASSPHRASE)}",
        f"  caducee agent status --dir {lab_dir}",
        f"  caducee agent send resultat.hpr --to {gp.address} --dir {lab_dir}",
        f"  (ou / or: export CADUCEE_AGENT_DIR={lab_dir})",
    ):
        console.print(line, markup=False, highlight=False)
