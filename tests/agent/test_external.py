"""Recipients outside Caducée, the sender's standing, and the outbox's checks, against an
in-memory server (httpx's transport seam) speaking the real routes' answers.

The real server and gateway are in ``test_web_send_end_to_end.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from caducee.agent.client import Credentials, ServerClient
from caducee.agent.errors import NetworkError, ServerError
from caducee.agent.external import (
    EXTERNAL_REASON,
    GatewayRefused,
    RecipientSorter,
    external_name,
    hand_off,
    outbound_state,
    travels_safely,
)
from caducee.agent.journal import Journal
from caducee.agent.outbox import OutboxWatcher
from caducee.agent.send_checks import SendChecks
from caducee.agent.standing import FALLBACK_LIMITS, LIMITS_FILE, Standing, strongest_level
from tests.agent.helpers import hprim_file
from tests.agent.test_outbox import FakeSender

ME = "labo.fictif@caducee.test"
GP = "dr.testeur@caducee.test"
PEER = "dr.martin@ch-exemple.mssante.fr"
OTHER_DOMAIN = "autre.caducee.test"
KEY = ec.generate_private_key(ec.SECP256R1())
CHARTER = (
    "Charte de bon usage (fictive)\n\n1. La messagerie sert aux soins.\n\n"
    "2. Les envois en masse sont interdits : annonces, invitations, questionnaires de thèse."
)


class Server:
    """The routes the agent calls before and for a send, with switchable answers."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.mailboxes = {GP, f"dr.b@{OTHER_DOMAIN}"}
        self.gateway: tuple[int, dict[str, object]] | None = None  # a refusal to answer
        self.down = False
        self.limits = {
            "recipients_per_message": 20,
            "messages_per_hour": 500,
            "new_recipients_per_hour": 30,
            "charter_url": "http://s.test/charter",
        }
        self.sanctions: list[dict[str, object]] = []
        self.handed: list[tuple[str, bytes]] = []
        self.reports: list[dict[str, object]] = []
        self.report_refusal: tuple[int, str] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.calls.append(f"{request.method} {path}")
        if self.down:
            raise httpx.ConnectError("refused")
        if path == "/api/v1/auth/challenge":
            return httpx.Response(200, json={"challenge": "c"})
        if path == "/api/v1/auth/token":
            return httpx.Response(
                200, json={"access_token": "t", "expires_at": "2099-01-01T00:00:00Z"}
            )
        if path == "/api/v1/policy/limits":
            return httpx.Response(200, json=self.limits)
        if path == "/api/v1/policy/sanctions":
            return httpx.Response(200, json={"sanctions": self.sanctions, "holds": []})
        if path.startswith("/api/v1/directory/mailboxes/"):
            address = path.split("/")[5]
            if address in self.mailboxes:
                return httpx.Response(200, json={"address": address, "certificates": []})
            return httpx.Response(404, json={"code": "unknown-mailbox", "detail": "no mailbox"})
        if path == "/api/v1/interop/outbound" and request.method == "POST":
            if self.gateway is not None:
                return httpx.Response(self.gateway[0], json=self.gateway[1])
            self.handed.append((request.headers["caducee-to"], request.content))
            headers = message_from_bytes(request.content)
            message_id = str(headers["Message-ID"]).strip("<>")
            to = request.headers["caducee-to"].split(",")
            return httpx.Response(
                202, json={"message_id": message_id, "recipients": to, "state": "queued"}
            )
        if path == "/api/v1/charter":
            return httpx.Response(200, json={"version": 1, "text": CHARTER,
                                             "url": "http://s.test/charter"})  # fmt: skip
        if path == "/api/v1/support":
            return httpx.Response(200, json={"contact": "support@s.test", "hours": "8 h-19 h"})
        if path == "/api/v1/reports":
            if self.report_refusal is not None:
                status, code = self.report_refusal
                return httpx.Response(status, json={"code": code, "detail": code})
            self.reports.append(json.loads(request.content))
            return httpx.Response(201, json={"id": len(self.reports), "status": "open"})
        if path.startswith("/api/v1/interop/outbound/"):
            return httpx.Response(200, json={"domains": [{"domain": "x", "state": "sent"}]})
        return httpx.Response(404, json={"code": "not-found", "detail": path})


@pytest.fixture
def server() -> Server:
    return Server()


@pytest.fixture
def client(server: Server) -> ServerClient:
    credentials = Credentials(ME, "01", KEY)
    return ServerClient(
        "https://s.test", credentials, transport=httpx.MockTransport(server), sleep=lambda _: None
    )


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite")


def test_sorting_recipients(server: Server, client: ServerClient, journal: Journal) -> None:
    sorter = RecipientSorter(client, journal, ME)
    split = sorter.sort([GP, "x.unknown@caducee.test", PEER, f"dr.b@{OTHER_DOMAIN}"])
    assert split.internal == (GP, "x.unknown@caducee.test", f"dr.b@{OTHER_DOMAIN}")
    assert split.external == (PEER,)
    # Our own domain is never looked up; another domain of Caducée is learned once.
    looked_up = [c.split("/")[-2] for c in server.calls if "/directory/" in c]
    assert looked_up == [PEER, f"dr.b@{OTHER_DOMAIN}"]
    assert sorter.internal_domains() == {"caducee.test", OTHER_DOMAIN}
    server.calls.clear()
    assert sorter.sort([f"dr.c@{OTHER_DOMAIN}"]).internal == (f"dr.c@{OTHER_DOMAIN}",)
    assert server.calls == []
    # No answer: nothing is decided (never "external" by default).
    server.down = True
    with pytest.raises(NetworkError):
        sorter.sort(["someone@elsewhere.test"])


def _parts(content: bytes) -> list[Message]:
    return [p for p in message_from_bytes(content).walk() if p.get_filename()]


def test_hand_off(server: Server, client: ServerClient, journal: Journal) -> None:
    data = hprim_file(PEER, [("FICTIF", "ALICE")])
    args = {"sender": ME, "recipients": [PEER], "name": "cr.hpr", "data": data,
            "digest": "ab" * 32, "message_id": "m1@caducee.test"}  # fmt: skip
    handed = hand_off(client, journal, **args)
    assert handed.message_id == "m1@caducee.test" and handed.recipients == (PEER,)
    [(to, content)] = server.handed
    assert to == PEER
    message = message_from_bytes(content)
    assert message["To"] == PEER and message["From"] == ME
    [part] = _parts(content)
    assert part.get_filename() == "cr.hpr" and part.get_payload(decode=True) == data
    record = journal.outgoing("ab" * 32, external_name("cr.hpr"))
    assert record is not None and record.state == "sent" and record.reason == EXTERNAL_REASON
    # Again (a retry after a crash): not handed twice.
    assert hand_off(client, journal, **{**args, "message_id": "m2@caducee.test"}).again
    assert len(server.handed) == 1
    assert outbound_state(client, "m1@caducee.test") == [{"domain": "x", "state": "sent"}]


def test_no_plaintext_over_a_clear_network(server: Server, journal: Journal) -> None:
    """Without TLS to a remote server, nothing is handed over (loopback is this machine)."""
    assert travels_safely("https://caducee.example") and travels_safely("http://127.0.0.1:8400")
    assert not travels_safely("http://caducee.example")
    credentials = Credentials(ME, "01", KEY)
    clear = ServerClient("http://s.test", credentials, transport=httpx.MockTransport(server))
    with pytest.raises(GatewayRefused) as refused:
        hand_off(clear, journal, sender=ME, recipients=[PEER], name="a.txt", data=b"x",
                 digest="cd" * 32, message_id="m9@caducee.test")  # fmt: skip
    assert refused.value.code == "plaintext-needs-tls" and server.handed == []
    assert journal.outgoing("cd" * 32, external_name("a.txt")) is None


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "gateway-off"), (403, "domain-not-trusted"), (403, "relay-denied"), (413, "too-large")],
)
def test_gateway_refusals(
    server: Server, client: ServerClient, journal: Journal, status: int, code: str
) -> None:
    server.gateway = (status, {"code": code, "detail": f"refused {PEER}"})
    sorter = RecipientSorter(client, journal, ME)
    with pytest.raises(GatewayRefused) as caught:
        hand_off(client, journal, sender=ME, recipients=[PEER], name="a.txt", data=b"x",
                 digest="cd" * 32, message_id="m3@caducee.test", sorter=sorter)  # fmt: skip
    assert caught.value.code == code
    assert server.calls.count("POST /api/v1/interop/outbound") <= 2  # no long retries
    record = journal.outgoing("cd" * 32, external_name("a.txt"))
    assert record is not None and record.state == "failed" and record.reason == code
    learned = "ch-exemple.mssante.fr" in sorter.internal_domains()
    assert learned is (code == "relay-denied")


def test_a_gateway_outage_keeps_the_message_id(
    server: Server, client: ServerClient, journal: Journal
) -> None:
    server.gateway = (500, {"code": "boom", "detail": "later"})
    args = {"sender": ME, "recipients": [PEER], "name": "a.txt", "data": b"x",
            "digest": "ef" * 32}  # fmt: skip
    with pytest.raises(ServerError):
        hand_off(client, journal, message_id="first@caducee.test", **args)
    record = journal.outgoing("ef" * 32, external_name("a.txt"))
    assert record is not None and record.state == "pending"
    server.gateway = None
    again = hand_off(client, journal, message_id="second@caducee.test", **args)
    assert again.message_id == "first@caducee.test"


def test_standing(server: Server, client: ServerClient, tmp_path: Path) -> None:
    standing = Standing(client, tmp_path)
    assert standing.limits().recipients_per_message == 20 and standing.origin == "server"
    assert json.loads((tmp_path / LIMITS_FILE).read_text())["recipients_per_message"] == 20
    assert standing.charter_url == "http://s.test/charter"
    server.sanctions = [
        {"level": "warning", "reason": "annonces", "created_at": "2026-01-02T00:00:00"},
        {"level": "hold", "reason": "signalements", "created_at": "2026-01-03T00:00:00"},
        {"level": "block", "reason": "levée", "created_at": "2026-01-01", "lifted_at": "x"},
    ]
    sanctions = standing.sanctions()
    assert sanctions is not None and strongest_level(sanctions) == "hold"
    # Unreachable: the copy in the folder, then the platform default, never a failure.
    server.down = True
    cached = Standing(client, tmp_path)
    assert cached.limits().recipients_per_message == 20 and cached.origin == "cache"
    assert cached.sanctions() is None and cached.charter() is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert Standing(client, empty).limits() == FALLBACK_LIMITS
    assert Standing(None, empty).limits() == FALLBACK_LIMITS


# -- the outbox, with nobody to ask --------------------------------------------------------


class GatewaySender(FakeSender):
    """A ``FakeSender`` with the client the watcher hands external copies to."""

    address = ME

    def __init__(self, client: ServerClient) -> None:
        super().__init__()
        self.client = client


def _watcher(root: Path, client: ServerClient, allow_external: bool = False) -> OutboxWatcher:
    (root / "outbox").mkdir(parents=True, exist_ok=True)
    journal = Journal(root / "journal.sqlite")
    checks = SendChecks(client, journal, Standing(client, root), ME)
    return OutboxWatcher(
        GatewaySender(client),
        journal,
        outbox=root / "outbox",
        sent=root / "sent",
        errors=root / "errors",
        pending=root / "pending",
        settle=0.0,
        checks=checks,
        allow_external=allow_external,
    )


def _drop(root: Path, name: str, data: bytes, to: list[str]) -> None:
    (root / "outbox" / f"{name}.to").write_text("\n".join(to))
    path = root / "outbox" / name
    path.write_bytes(data)
    os.utime(path, (time.time() - 10, time.time() - 10))


def _reason(root: Path, name: str) -> str:
    return (root / "errors" / f"{name}.reason.txt").read_text("utf-8")


MANY = [f"dr.{n}@caducee.test" for n in range(12)]
CROWD = [f"dr.{n}@caducee.test" for n in range(25)]
RETIREMENT = "Chers confrères, je vous annonce mon départ à la retraite.".encode()


def test_the_outbox_refuses_bulk_mail(tmp_path: Path, client: ServerClient) -> None:
    watcher = _watcher(tmp_path, client)
    _drop(tmp_path, "annonce.txt", RETIREMENT, MANY)
    _drop(tmp_path, "planning.txt", b"Planning des gardes de mars.", CROWD)
    _drop(tmp_path, "cr.hpr", hprim_file(GP, [("FICTIF", "ALICE")]), CROWD)
    _drop(tmp_path, "annonce2.txt", RETIREMENT + b" 2", MANY)
    digest = hashlib.sha256(RETIREMENT + b" 2").hexdigest()
    assert watcher.checks is not None
    watcher.checks.confirm(digest, "annonce2.txt")  # sent deliberately from the local pages
    outcomes = {o.name: (o.state, o.reason) for o in watcher.process_ready()}
    assert outcomes == {
        "annonce.txt": ("failed", "announcement"),
        "planning.txt": ("failed", "bulk-without-patient"),
        "cr.hpr": ("sent", ""),  # over the cap with a patient: the server will hold it
        "annonce2.txt": ("sent", ""),
    }
    reason = _reason(tmp_path, "annonce.txt")
    assert "charte" in reason and "charter" in reason and "retirement" in reason
    assert reason.index("Français") < reason.index("English")
    assert "25 destinataires (au plus 20" in _reason(tmp_path, "planning.txt")
    assert sorted(p.name for p in (tmp_path / "errors").iterdir()) == [
        "annonce.txt", "annonce.txt.reason.txt", "annonce.txt.to",
        "planning.txt", "planning.txt.reason.txt", "planning.txt.to",
    ]  # fmt: skip


def test_the_outbox_and_external_recipients(
    tmp_path: Path, server: Server, client: ServerClient
) -> None:
    refusing = _watcher(tmp_path / "off", client)
    _drop(tmp_path / "off", "cr.txt", b"Compte rendu fictif.", [GP, PEER])
    [outcome] = refusing.process_ready()
    assert (outcome.state, outcome.reason) == ("failed", "external-refused")
    reason = _reason(tmp_path / "off", "cr.txt")
    assert PEER in reason and "outbox_allows_external" in reason and "TLS" in reason
    assert server.handed == []

    allowing = _watcher(tmp_path / "on", client, allow_external=True)
    _drop(tmp_path / "on", "cr.txt", b"Compte rendu fictif.", [GP, PEER])
    [outcome] = allowing.process_ready()
    assert outcome.state == "sent"
    assert [to for to, _ in server.handed] == [PEER]
    assert isinstance(allowing.sender, GatewaySender)
    assert [p.recipients for p in allowing.sender.submitted] == [(GP,)]  # encrypted for GP
    records = {r.name: r for r in allowing.journal.recent_outgoing()}
    assert records[external_name("cr.txt")].recipients == (PEER,)
    assert records["cr.txt"].recipients == (GP,)

    _drop(tmp_path / "on", "seul.txt", b"Pour l'exterieur seulement.", [PEER])
    [outcome] = allowing.process_ready()
    assert outcome.state == "sent" and len(server.handed) == 2
    assert [p.name for p in (tmp_path / "on" / "sent").iterdir() if p.suffix == ".txt"]

    server.gateway = (503, {"code": "gateway-off", "detail": "the MSSanté gateway is off"})
    _drop(tmp_path / "on", "plus.txt", b"Encore.", [PEER])
    [outcome] = allowing.process_ready()
    assert (outcome.state, outcome.reason) == ("failed", "gateway-off")
    assert "Rien n'est perdu" in _reason(tmp_path / "on", "plus.txt")

    server.down = True
    _drop(tmp_path / "on", "plus2.txt", b"Encore 2.", [PEER])
    [outcome] = allowing.process_ready()
    assert outcome.state == "postponed" and (tmp_path / "on" / "outbox" / "plus2.txt").exists()
