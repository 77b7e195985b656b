"""The case pages of the agent (in-process, against a real server on SQLite and PostgreSQL):
open a case from the form, read what the other side wrote (a reply, a photo, a file), write,
reply, edit, delete, say "je m'en occupe", and export the case to the patient's record: the
transcript and the photo go through the outbox and land in the recipient's inbox folder.
The pages refuse another Host and a form without the token, as the other agent pages do.

SYNTHETIC TEST MATERIAL: invented people and patient (``conftest``).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from caducee.agent.web import create_web_app
from caducee.instant.payloads import Text
from tests.agent.instant.conftest import ALICE, BOB, PATIENT, Office
from tests.agent.instant.test_client import PNG

pytestmark = pytest.mark.slow
PDF = b"%PDF-1.7\n% compte rendu fictif\n"


@contextmanager
def pages(office: Office, address: str, host: str = "127.0.0.1") -> Iterator[TestClient]:
    app = create_web_app(office.configs[address], office.client(address))
    with TestClient(app, base_url=f"http://{host}") as client:
        yield client


def token_of(text: str) -> str:
    return text.split('name="token" value="', 1)[1].split('"', 1)[0]


def visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def open_case(client: TestClient) -> str:
    listing = client.get("/cases?lang=fr")
    assert listing.status_code == 200, listing.text
    form = {
        "token": token_of(listing.text),
        "participants": BOB,
        "patient_name": PATIENT.name,
        "patient_birth": PATIENT.birth_date,
        "patient_ins": PATIENT.ins,
        "stay": PATIENT.stay or "",
        "text": "Bonjour Bob, avis sur cet ECG ?",
    }
    created = client.post("/cases", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert location.endswith("?done=created")
    return location.split("/cases/", 1)[1].split("?", 1)[0]


def test_the_case_pages_and_the_export(office: Office) -> None:
    bob = office.instant(BOB)
    with pages(office, ALICE) as alice:
        case_id = open_case(alice)
        page = alice.get(f"/cases/{case_id}")
        text = html.unescape(page.text)
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert (
            PATIENT.name in text and "avis sur cet ECG" in text and "Conversation ouverte" in text
        )

        # Bob, on his own Python client, answers: a reply, a photo, a file.
        theirs = bob.case(case_id)
        theirs.sync()
        question = next(e for e in theirs.entries if isinstance(e.payload, Text))
        theirs.say("Rythme sinusal.", reply_to=question.message_id)
        photo = theirs.attach("ecg.png", "image/png", PNG, caption="tracé de 8 h")
        document = theirs.attach("compte-rendu.pdf", "application/pdf", PDF)

        listing = html.unescape(alice.get("/cases").text)
        assert PATIENT.name in listing and "3 non lu(s)" in listing and BOB in listing
        page = alice.get(f"/cases/{case_id}")  # opening it is reading it
        text = html.unescape(page.text)
        assert "En réponse à moi" in text and "« Bonjour Bob, avis sur cet ECG ? »" in text
        photo_src = f"/cases/{case_id}/attachments/{photo.replace('@', '%40')}"
        assert f'src="{photo_src}"' in page.text and "tracé de 8 h" in text
        assert "compte-rendu.pdf" in text
        assert "non lu" not in html.unescape(alice.get("/cases").text)
        theirs.sync()
        assert any(e.kind == "read" and e.sender == ALICE for e in theirs.entries)

        shown = alice.get(photo_src)
        assert shown.status_code == 200 and shown.content == PNG
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["content-disposition"].startswith("inline;")
        download = alice.get(f"/cases/{case_id}/attachments/{document}")
        assert download.content == PDF
        assert download.headers["content-type"] == "application/octet-stream"
        assert download.headers["content-disposition"] == (
            "attachment; filename*=UTF-8''compte-rendu.pdf"
        )
        assert alice.get(f"/cases/{case_id}/attachments/nope").status_code == 404

        # Alice writes, replies, edits, deletes and takes the case, all through the forms.
        token = token_of(page.text)
        base = f"/cases/{case_id}"
        sent = alice.post(
            f"{base}/messages",
            data={"token": token, "text": "Merci, je le revois demain.", "reply_to": photo},
            follow_redirects=False,
        )
        assert sent.status_code == 303 and "done=sent" in sent.headers["location"]
        alice.post(f"{base}/messages", data={"token": token, "text": "Message de trop"})
        theirs.sync()
        mine = {e.payload.text: e.message_id for e in theirs.entries if isinstance(e.payload, Text)}
        edited = alice.post(
            f"{base}/messages/{mine['Merci, je le revois demain.']}/edit",
            data={"token": token, "text": "Merci, je le revois ce soir."},
            follow_redirects=False,
        )
        assert edited.status_code == 303
        deleted = alice.post(
            f"{base}/messages/{mine['Message de trop']}/delete",
            data={"token": token},
            follow_redirects=False,
        )
        assert deleted.status_code == 303
        not_mine = alice.post(f"{base}/messages/{photo}/delete", data={"token": token})
        assert not_mine.status_code == 403
        assert "Seul l'auteur" in html.unescape(not_mine.text)
        assert alice.post(f"{base}/acknowledge", data={"token": token}).status_code == 200
        text = html.unescape(alice.get(base).text)
        assert "Merci, je le revois ce soir." in text and "(modifié)" in text
        assert "Supprimé par moi le" in text and "Message de trop" not in text
        assert "moi : je m'en occupe" in text

        # Bob, on the other side, sees the edit and "deleted by Alice".
        with pages(office, BOB) as his:
            seen = html.unescape(his.get(f"{base}?lang=en").text)
        assert "Merci, je le revois ce soir." in seen and "(edited)" in seen
        assert f"Deleted by {ALICE} at" in seen and f"{ALICE}: I'm handling it" in seen

        # The export: to Alice's own mailbox by default, and to Bob, typed in the form.
        exported = alice.post(
            f"{base}/export", data={"token": token, "to": ""}, follow_redirects=False
        )
        assert exported.status_code == 303 and "done=exported" in exported.headers["location"]
        outbox = office.configs[ALICE].folder("outbox")
        queued = visible(outbox)
        assert len(queued) == 6, queued  # transcript, photo, PDF, each with its side-car
        assert all((outbox / n).read_text() == ALICE for n in queued if n.endswith(".to"))
        alice.post(f"{base}/export", data={"token": token, "to": BOB})
        with office.runtime(ALICE) as runtime:
            outcomes = runtime.watcher().process_ready()
        # The operator's content policy refuses a PDF alone (not filable by the practice
        # software): the PDF stays out, said on the page; the transcript and the photo go.
        states = sorted((o.name.rsplit(".", 1)[1], o.state, o.reason) for o in outcomes)
        assert states == [("pdf", "failed", "content-refused")] * 2 + [
            ("png", "sent", ""),
            ("png", "sent", ""),
            ("txt", "sent", ""),
            ("txt", "sent", ""),
        ], outcomes
        page = html.unescape(alice.get(base).text)
        assert f"vers {ALICE}" in page and f"vers {BOB}" in page
        assert all(o.message_id in page for o in outcomes if o.state == "sent")
        assert page.count("compte-rendu.pdf : refusé") == 2

    for reader in (ALICE, BOB):
        with office.runtime(reader) as runtime:
            runtime.receiver().sync_once()
        inbox = office.configs[reader].folder("inbox")
        files = {name: (inbox / name).read_bytes() for name in visible(inbox)}
        transcripts = [d.decode() for d in files.values() if d.startswith(b"Caduc")]
        assert len(transcripts) == 1, list(files)
        transcript = transcripts[0]
        for expected in (
            f"Patient : {PATIENT.name}",
            f"Né(e) le / born: {PATIENT.birth_date}",
            f"INS : {PATIENT.ins}",
            "Participants : " + ", ".join(sorted([ALICE, BOB])),
            f"— {BOB} — en réponse à / in reply to",
            "Merci, je le revois ce soir.",
            "Version du / version of",
            f"(supprimé par {ALICE} le",
            "je m'en occupe / I'm handling it",
            "Photo « ecg.png » (image/png",
        ):
            assert expected in transcript, (expected, transcript)
        assert "Message de trop" not in transcript
        assert PNG in files.values() and PDF not in files.values()


def test_pages_refuse_another_host_and_a_form_without_its_token(office: Office) -> None:
    with pages(office, ALICE, host="evil.test") as stranger:
        assert stranger.get("/cases").status_code == 403
        assert stranger.post("/cases", data={"participants": BOB}).status_code == 403
    with pages(office, ALICE) as alice:
        case_id = open_case(alice)
        before = alice.get(f"/cases/{case_id}").text
        last = before.count('class="entry')
        for path, form in (
            ("/cases", {"participants": BOB, "patient_name": "X"}),
            (f"/cases/{case_id}/messages", {"text": "sans jeton"}),
            (f"/cases/{case_id}/acknowledge", {}),
            (f"/cases/{case_id}/export", {}),
        ):
            for token in ({}, {"token": "faux"}):
                refused = alice.post(path, data=form | token)
                assert refused.status_code == 403, (path, refused.status_code)
                assert "jeton de sécurité" in html.unescape(refused.text)
        after = alice.get(f"/cases/{case_id}").text
        assert after.count('class="entry') == last
        assert visible(office.configs[ALICE].folder("outbox")) == []
        assert alice.get("/cases/not-a-case").status_code == 404
        bad = alice.post(
            "/cases",
            data={
                "token": token_of(before),
                "participants": BOB,
                "patient_name": "X",
                "patient_ins": "123",
            },
        )
        assert bad.status_code == 422 and "INS" in html.unescape(bad.text)
