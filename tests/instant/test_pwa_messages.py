"""The MISS web app's messages in Chromium: the payload format shared with Python (vectors
and fuzzing), then two paired browsers in one case: a reply quotes its original, an edit shows
the new text as edited, a deletion shows "supprimé par X le T" on both sides (never a silent
removal), a photo arrives with the dragged rectangle pixelated before encryption, a file
arrives byte-identical, the sender key rotates on schedule, the retention notice shows, the
notifications button answers, a reloaded page reads its own earlier messages, and a 375 px
phone has no horizontal scroll with a photo in the case.

Browsers are paired as in ``test_pwa.py`` (its module-scoped server fixture is reused).
SYNTHETIC TEST MATERIAL: invented people, patient, texts, a generated checkerboard photo and
random file bytes.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import (
    BrowserContext,
    FilePayload,
    Page,
    Route,
    ViewportSize,
    expect,
)

from caducee.directory.identifiers import luhn_complete
from caducee.instant.errors import MalformedInstantData
from caducee.instant.payloads import (
    MAX_ATTACHMENT_BYTES,
    Acknowledgement,
    Attachment,
    Deletion,
    Edit,
    Payload,
    Read,
    Text,
    decode_payload,
)
from tests.agent.helpers import operator_client
from tests.instant import test_pwa as pwa
from tests.instant.test_pwa import ALICE, BOB, DEVICE_PASSPHRASE, TIMEOUT, Setup, entries, pair

setup = pwa.setup  # one server for this module too (the fixture of test_pwa.py)

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "instant" / "payloads.json"
PATIENT = "Léon Fictif-Exemple"
PHONE: ViewportSize = {"width": 375, "height": 740}
# The checkerboard photo: 400 × 300, squares of 10 px; the blurred rectangle in its pixels.
WIDTH, HEIGHT, SQUARE = 400, 300, 10
BLUR = (100, 75, 260, 195)  # x0, y0, x1, y1


def checkerboard_png() -> bytes:
    """A black and white checkerboard PNG, written by hand (no imaging library needed)."""
    rows = b"".join(
        b"\x00" + bytes(255 if (x // SQUARE + y // SQUARE) % 2 else 0 for x in range(WIDTH))
        for y in range(HEIGHT)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", WIDTH, HEIGHT, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# -- the payload format: the browser reads and writes what Python does ----------------------


@pytest.fixture(scope="module")
def plain(setup: Setup) -> Iterator[Page]:
    """A page of the app's origin with payloads.js loaded as window.payloads."""
    context = setup.browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(setup.base + "/instant/")
    page.evaluate("import('/static/instant/app/payloads.js').then((m) => { window.payloads = m; })")
    yield page
    context.close()


CHECK = """([cases, encode]) => {
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const bytes = (h) => new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
  const b64 = (b) => btoa(Array.from(b, (x) => String.fromCharCode(x)).join(""));
  const norm = (v) => v.data instanceof Uint8Array ? { ...v, data: b64(v.data) } : v;
  return cases.map((c) => {
    try {
      const value = payloads.decodePayload(bytes(c.bytes));
      const out = { value: norm(value) };
      if (encode) out.bytes = hex(payloads.encodePayload(value));
      return out;
    } catch (e) {
      return { error: e.message, code: e.code ?? null };
    }
  });
}"""


def test_the_browser_reads_and_writes_every_payload_vector(plain: Page) -> None:
    vectors = json.loads(VECTORS.read_text())
    written = plain.evaluate(CHECK, [vectors["written"], True])
    for vector, got in zip(vectors["written"], written, strict=True):
        assert got == {"value": vector["value"], "bytes": vector["bytes"]}, vector["why"]
    read = plain.evaluate(CHECK, [vectors["read"], False])
    for vector, got in zip(vectors["read"], read, strict=True):
        assert got == {"value": vector["value"]}, vector["why"]
    refused = plain.evaluate(CHECK, [vectors["refused"], False])
    for vector, got in zip(vectors["refused"], refused, strict=True):
        assert got == {"error": vector["error"], "code": "instant-malformed"}, vector["why"]
    assert len(vectors["written"]) >= 10 and len(vectors["refused"]) >= 15


KEYS = st.sampled_from(
    ["type", "text", "reply_to", "target", "name", "media_type", "data", "blurred", "upTo"]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 1 << 40)
    | st.text(max_size=12)
    | st.sampled_from(["QUJD", "QQ==", "text", "photo", "file", "read", "edit", "deletion"])
)
TYPES = st.sampled_from(["text", "edit", "deletion", "photo", "file", "read", "ack", "poll"])
OBJECTS = st.builds(
    lambda kind, rest: {"type": kind, **rest},
    TYPES,
    st.dictionaries(KEYS.filter(lambda k: k != "type"), SCALARS, max_size=6),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        OBJECTS.map(lambda o: json.dumps(o, ensure_ascii=False).encode()) | st.binary(max_size=24),
        min_size=1,
        max_size=8,
    )
)
def test_the_browser_decodes_like_python_on_any_input(plain: Page, samples: list[bytes]) -> None:
    """Fuzzed objects and bytes: the same value, or a refusal on both sides."""
    got = plain.evaluate(CHECK, [[{"bytes": s.hex()} for s in samples], False])
    for sample, browser in zip(samples, got, strict=True):
        try:
            python = decode_payload(sample)
        except MalformedInstantData as error:
            assert browser == {"error": str(error), "code": "instant-malformed"}, sample
            continue
        assert "value" in browser, (sample, browser)
        assert browser["value"] == as_json(python), sample


def as_json(payload: Payload) -> dict[str, Any]:
    """A decoded payload as payloads.js returns it (data in base64, absent fields null)."""
    match payload:
        case Text(text, reply_to):
            return {"type": "text", "text": text, "reply_to": reply_to}
        case Edit(target, text):
            return {"type": "edit", "target": target, "text": text}
        case Deletion(target):
            return {"type": "deletion", "target": target}
        case Attachment():
            fields = dataclasses.asdict(payload)
            fields["data"] = base64.b64encode(payload.data).decode()
            return {"type": fields.pop("kind"), **fields}
        case Read(up_to):
            return {"type": "read", "upTo": up_to}
        case Acknowledgement():
            return {"type": "ack"}
    raise AssertionError(f"not generated here: {payload!r}")


# -- two browsers in one case -------------------------------------------------------------


@dataclass
class Pair:
    alice: Page
    bob: Page
    case_id: str


def app(page: Page, expression: str, arg: Any = None) -> Any:
    """Evaluate ``expression`` with ``m`` the app module and ``arg`` its argument."""
    return page.evaluate(
        f"(arg) => import('/static/instant/app/app.js').then((m) => {expression})", arg
    )


@pytest.fixture(scope="module")
def people(setup: Setup) -> Iterator[Pair]:
    alice_ctx: BrowserContext = setup.browser.new_context(locale="fr-FR")
    bob_ctx = setup.browser.new_context(
        locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        alice = pair(setup, alice_ctx, ALICE, "Poste du Dr Alice")
        bob = pair(setup, bob_ctx, BOB, "Téléphone du Dr Bob")
        alice.click("summary")
        alice.fill("#new-case [name=participants]", BOB)
        alice.fill("#new-case [name=patient_name]", PATIENT)
        alice.click("#new-case button[type=submit]")
        expect(alice.locator("#patient")).to_contain_text(PATIENT, timeout=TIMEOUT)
        case_id = str(app(alice, "m.state.open"))
        bob.locator(f"#case-list button[data-case='{case_id}']").click(timeout=TIMEOUT)
        expect(bob.locator("#patient")).to_contain_text(PATIENT, timeout=TIMEOUT)
        yield Pair(alice, bob, case_id)
    finally:
        alice_ctx.close()
        bob_ctx.close()


def send(page: Page, text: str) -> None:
    page.fill("#send textarea", text)
    page.click("#send button")
    expect(entries(page).filter(has_text=text)).to_have_count(1, timeout=TIMEOUT)


def message(page: Page, text: str) -> Any:
    """The message whose own text (not a quote of it) contains ``text``."""
    return page.locator("#entries .entry.message").filter(
        has=page.locator(".what, .caption", has_text=text)
    )


def test_reply_edit_and_deletion_between_two_browsers(people: Pair) -> None:
    alice, bob = people.alice, people.bob
    send(alice, "Créatinine à 180, que faire ?")
    expect(message(bob, "Créatinine à 180")).to_have_count(1, timeout=TIMEOUT)
    # Bob answers that message: his reply quotes it on both sides.
    message(bob, "Créatinine à 180").locator("button.reply").click()
    expect(bob.locator("#compose-context")).to_contain_text("Créatinine à 180")
    send(bob, "Arrêtez la metformine.")
    for page in (alice, bob):
        reply = message(page, "Arrêtez la metformine")
        expect(reply.locator(".quote")).to_contain_text("Créatinine à 180", timeout=TIMEOUT)
    # Alice's receipt sits under the last message it covers.
    expect(bob.locator("#entries .entry.read").last).to_contain_text(
        f"lu par {ALICE}", timeout=TIMEOUT
    )
    # Only the sender may edit or delete: Bob has no such button on Alice's message.
    expect(message(bob, "Créatinine à 180").locator("button.edit")).to_have_count(0)
    expect(message(bob, "Créatinine à 180").locator("button.delete")).to_have_count(0)
    # Alice edits her message: both see the new text, marked edited; the quote follows.
    message(alice, "Créatinine à 180").locator("button.edit").click()
    alice.fill("#send textarea", "Créatinine à 210, que faire ?")
    alice.click("#send button")
    for page in (alice, bob):
        edited = message(page, "Créatinine à 210")
        expect(edited).to_contain_text("modifié", timeout=TIMEOUT)
        expect(message(page, "Créatinine à 180")).to_have_count(0)
        expect(message(page, "Arrêtez la metformine").locator(".quote")).to_contain_text(
            "Créatinine à 210"
        )
    # Alice deletes it (asked, then confirmed): a marker, never a silent removal.
    message(alice, "Créatinine à 210").locator("button.delete").click()
    message(alice, "Créatinine à 210").locator("button.delete").click()
    for page in (alice, bob):
        deleted = page.locator("#entries .entry.deleted")
        expect(deleted).to_have_count(1, timeout=TIMEOUT)
        expect(deleted).to_contain_text(re.compile(rf"supprimé par {re.escape(ALICE)} le \S+"))
        expect(deleted).not_to_contain_text("Créatinine")
        expect(message(page, "Arrêtez la metformine").locator(".quote")).to_contain_text("supprimé")
    kinds = app(
        alice,
        "m.state.cases.get(arg).entries.filter((e) => e.senderDevice === m.state.device.deviceId)"
        ".map((e) => e.kind)",
        people.case_id,
    )
    assert "edit" in kinds and "deletion" in kinds


def test_a_photo_arrives_with_the_dragged_region_pixelated(people: Pair) -> None:
    alice, bob = people.alice, people.bob
    alice.set_input_files(
        "#photo-input",
        files=FilePayload(name="plaie.png", mimeType="image/png", buffer=checkerboard_png()),
    )
    canvas = alice.locator("#photo-canvas")
    expect(canvas).to_be_visible(timeout=TIMEOUT)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    scale_x, scale_y = box["width"] / WIDTH, box["height"] / HEIGHT
    x0, y0, x1, y1 = BLUR
    alice.mouse.move(box["x"] + x0 * scale_x, box["y"] + y0 * scale_y)
    alice.mouse.down()
    alice.mouse.move(box["x"] + x1 * scale_x, box["y"] + y1 * scale_y, steps=5)
    alice.mouse.up()
    alice.fill("#photo-caption", "Plaie J3")
    alice.click("#photo-send")
    photo = bob.locator("#entries .entry.message").filter(has_text="Plaie J3")
    expect(photo.locator("img.photo")).to_be_visible(timeout=TIMEOUT)
    expect(photo).to_contain_text("zones floutées")
    stats = bob.evaluate(
        """async ([img, blur, square]) => {
            const node = document.querySelector(img);
            await node.decode();
            const c = document.createElement("canvas");
            c.width = node.naturalWidth; c.height = node.naturalHeight;
            const ctx = c.getContext("2d");
            ctx.drawImage(node, 0, 0);
            const px = ctx.getImageData(0, 0, c.width, c.height).data;
            const grey = (x, y) => px[(y * c.width + x) * 4];
            const original = (x, y) =>
                (Math.floor(x / square) + Math.floor(y / square)) % 2 ? 255 : 0;
            const region = (x0, y0, x1, y1) => {
                const values = []; let diff = 0;
                for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
                    values.push(grey(x, y)); diff += Math.abs(grey(x, y) - original(x, y));
                }
                const mean = values.reduce((a, b) => a + b, 0) / values.length;
                const spread = values.reduce((a, b) => a + (b - mean) ** 2, 0);
                const sd = Math.sqrt(spread / values.length);
                return { sd, diff: diff / values.length };
            };
            const [x0, y0, x1, y1] = blur;
            return { width: c.width, height: c.height, media: node.src.slice(0, 5),
                     inside: region(x0 + 10, y0 + 10, x1 - 10, y1 - 10),
                     outside: region(10, 10, 90, 60) };
        }""",
        ["[data-message-id] img.photo[alt='Plaie J3']", list(BLUR), SQUARE],
    )
    assert (stats["width"], stats["height"]) == (WIDTH, HEIGHT)
    assert stats["media"] == "blob:"
    # Outside the rectangle the checkerboard is intact (JPEG noise aside)...
    assert stats["outside"]["sd"] > 100 and stats["outside"]["diff"] < 30, stats
    # ...inside, its pixels are gone: far from the original and nearly uniform.
    assert stats["inside"]["diff"] > 80 and stats["inside"]["sd"] < 40, stats
    sent = app(
        alice,
        "m.state.cases.get(arg).entries.filter((e) => e.body?.type === 'photo')"
        ".map((e) => ({blurred: e.body.blurred, type: e.body.media_type, head: e.body.data[0]}))",
        people.case_id,
    )
    assert sent == [{"blurred": True, "type": "image/jpeg", "head": 0xFF}]  # JPEG, not the PNG
    # A 375 px phone with the photo in the case: nothing wider than the screen.
    width = bob.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


def test_a_file_arrives_byte_identical(people: Pair) -> None:
    alice, bob = people.alice, people.bob
    data = os.urandom(300_000)
    alice.set_input_files(
        "#file-input",
        files=FilePayload(name="compte-rendu-fictif.pdf", mimeType="application/pdf", buffer=data),
    )
    link = bob.locator("#entries a.file").filter(has_text="compte-rendu-fictif.pdf")
    expect(link).to_have_count(1, timeout=TIMEOUT)
    assert link.get_attribute("download") == "compte-rendu-fictif.pdf"
    got = bob.evaluate(
        """async (selector) => {
            const a = [...document.querySelectorAll(selector)].at(-1);
            const b = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
            const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
            return [a.href.slice(0, 5), b.length,
                    Array.from(digest, (x) => x.toString(16).padStart(2, "0")).join("")];
        }""",
        "#entries a.file",
    )
    assert got == ["blob:", len(data), hashlib.sha256(data).hexdigest()]
    # A file that says it is a page stays a download: opened in a tab, a blob URL would run
    # the sender's script in the app's origin.
    alice.set_input_files(
        "#file-input",
        files=FilePayload(
            name="piege.html", mimeType="text/html", buffer=b"<script>alert(1)</script>"
        ),
    )
    trap = bob.locator("#entries a.file").filter(has_text="piege.html")
    expect(trap).to_have_count(1, timeout=TIMEOUT)
    served = bob.evaluate(
        "async (a) => (await (await fetch(a.href)).blob()).type", trap.element_handle()
    )
    assert served == "application/octet-stream"
    # Over 2 MB: refused before anything is encrypted, with what to do instead.
    alice.set_input_files(
        "#file-input",
        files=FilePayload(
            name="gros.bin",
            mimeType="application/octet-stream",
            buffer=bytes(MAX_ATTACHMENT_BYTES + 1),
        ),
    )
    expect(alice.locator("#status")).to_contain_text("messagerie Caducée", timeout=TIMEOUT)
    expect(bob.locator("#entries a.file").filter(has_text="gros.bin")).to_have_count(0)


def test_scheduled_rotation_and_the_receiver_keeps_reading(people: Pair) -> None:
    alice, bob = people.alice, people.bob
    before = app(
        alice,
        "(() => { const c = m.state.cases.get(arg); c.rotation.messages = 2;"
        " return c.group.generation; })()",
        people.case_id,
    )
    for n in range(3):
        send(alice, f"Contrôle n°{n} à 16 h")
    after = app(alice, "m.state.cases.get(arg).group.generation", people.case_id)
    assert after > before
    for n in range(3):
        expect(message(bob, f"Contrôle n°{n}")).to_have_count(1, timeout=TIMEOUT)
    # The age limit too: a chain older than the limit is replaced at the next message.
    app(
        alice,
        "(() => { const c = m.state.cases.get(arg); c.rotation = {messages: 500, ms: 0}; })()",
        people.case_id,
    )
    send(alice, "Contrôle tardif")
    later = app(alice, "m.state.cases.get(arg).group.generation", people.case_id)
    assert later > after
    expect(message(bob, "Contrôle tardif")).to_have_count(1, timeout=TIMEOUT)
    app(
        alice,
        "(() => { const c = m.state.cases.get(arg); c.rotation = {messages: 500, ms: 864e5}; })()",
        people.case_id,
    )


def test_retention_notice_and_notifications_button(setup: Setup, people: Pair) -> None:
    bob = people.bob
    expect(bob.locator("#retention")).to_be_hidden()  # the field absent: no notice

    def with_retention(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["retention_days"] = 30
        route.fulfill(response=response, json=body)

    bob.route(f"**/api/v1/instant/cases/{people.case_id}", with_retention)
    try:
        bob.click("#back")
        bob.locator(f"#case-list button[data-case='{people.case_id}']").click()
        expect(bob.locator("#retention")).to_have_text(
            "Messages effacés après 30 jours", timeout=TIMEOUT
        )
    finally:
        bob.unroute(f"**/api/v1/instant/cases/{people.case_id}")
    bob.click("#back")
    bob.click("#push")
    expect(bob.locator("#push-state")).to_contain_text("Notifications", timeout=TIMEOUT)
    # The page has no policy that would block the blob: URLs of photos and files.
    policy = bob.request.get(setup.base + "/instant/").headers.get("content-security-policy")
    assert policy is None or "blob:" in policy, policy


def test_a_reloaded_page_reads_its_own_earlier_messages(people: Pair) -> None:
    alice = people.alice
    alice.reload()
    alice.fill("#unlock-form [name=passphrase]", DEVICE_PASSPHRASE)
    alice.click("#unlock-form button")
    alice.locator(f"#case-list button[data-case='{people.case_id}']").click(timeout=TIMEOUT)
    expect(message(alice, "Contrôle n°2")).to_have_count(1, timeout=TIMEOUT)
    expect(alice.locator("#patient")).to_contain_text(PATIENT)  # her own first message
    expect(alice.locator("#entries .entry.deleted")).to_have_count(1)
    expect(alice.locator("#entries img.photo")).to_have_count(1)
    expect(alice.locator("#entries .unreadable")).to_have_count(0)
    mine = app(
        alice,
        "m.state.cases.get(arg).entries.filter((e) => e.senderDevice === m.state.device.deviceId)"
        ".map((e) => [e.kind, e.error])",
        people.case_id,
    )
    assert len(mine) >= 8 and all(error is None for _, error in mine), mine
    # A new message after the reload goes out under a new generation, also readable by Bob.
    send(alice, "Après rechargement")
    people.bob.locator(f"#case-list button[data-case='{people.case_id}']").click()
    expect(message(people.bob, "Après rechargement")).to_have_count(1, timeout=TIMEOUT)


def test_a_case_addressed_to_a_role_reaches_whoever_is_on_duty(setup: Setup, people: Pair) -> None:
    """Alice does not know who is on call: she finds the role by words, Bob (on duty) gets it."""
    alice, bob = people.alice, people.bob
    with operator_client(setup.base, setup.database.parent / "server") as admin:
        finess = luhn_complete("75990001")
        created = admin.post(
            "/api/v1/admin/organisations",
            json={"finess": finess, "name": "CHU Fictif des Gardes", "type": "university_hospital",
                  "city": "Valence"},
        )  # fmt: skip
        assert created.status_code == 201, created.text
        unit = {"organisation": finess, "kind": "service", "name": "Cardiologie"}
        service = admin.post(f"{pwa.API}/units", json=unit)
        assert service.status_code == 201, service.text
        unit = {**unit, "kind": "role", "name": "Cardiologue de garde"}
        role = admin.post(f"{pwa.API}/units", json={**unit, "service": service.json()["id"]})
        assert role.status_code == 201, role.text
        now = datetime.now(UTC)
        shift = {"address": BOB, "starts_at": (now - timedelta(hours=1)).isoformat(),
                 "ends_at": (now + timedelta(hours=11)).isoformat()}  # fmt: skip
        on_duty = admin.post(f"{pwa.API}/roles/{role.json()['id']}/shifts", json=shift)
        assert on_duty.status_code == 201, on_duty.text

    alice.click("#back")
    if not alice.locator("#role-query").is_visible():
        alice.click("summary")
    alice.fill("#role-query", "garde valence")
    choice = alice.locator("#role-results button")
    expect(choice).to_have_count(1, timeout=TIMEOUT)
    shown = "Cardiologue de garde — Cardiologie, CHU Fictif des Gardes (Valence)"
    expect(choice).to_have_text(shown)
    choice.click()
    expect(alice.locator("#role-chosen")).to_contain_text("Cardiologue de garde")
    alice.fill("#new-case [name=patient_name]", "Octave Fictif-Garde")
    alice.click("#new-case button[type=submit]")
    expect(alice.locator("#patient")).to_contain_text("Octave Fictif-Garde", timeout=TIMEOUT)
    case_id = str(app(alice, "m.state.open"))
    assert case_id != people.case_id

    bob.click("#back")
    bob.locator(f"#case-list button[data-case='{case_id}']").click(timeout=TIMEOUT)
    expect(bob.locator("#patient")).to_contain_text("Octave Fictif-Garde", timeout=TIMEOUT)


def open_case(page: Page, case_id: str) -> None:
    if page.locator("#back").is_visible():
        page.click("#back")
    page.locator(f"#case-list button[data-case='{case_id}']").click(timeout=TIMEOUT)


def test_a_new_device_is_approved_from_an_existing_one_and_reads_the_case(
    setup: Setup, people: Pair
) -> None:
    """No agent involved: Alice's browser vouches for her new phone after comparing keys."""
    alice, bob = people.alice, people.bob
    context = setup.browser.new_context(
        locale="fr-FR", viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        phone = context.new_page()
        phone.goto(setup.base + "/instant/")
        phone.fill("#pair-form [name=address]", ALICE)
        phone.fill("#pair-form [name=label]", "Second téléphone du Dr Alice")
        phone.fill("#pair-form [name=passphrase]", DEVICE_PASSPHRASE)
        phone.click("#pair-form button")
        code = phone.locator("#pair-code")
        expect(code).to_have_text(re.compile(r"^[A-Z2-9]{8}$"), timeout=TIMEOUT)

        if alice.locator("#back").is_visible():
            alice.click("#back")
        alice.click("#approve-box summary")
        alice.fill("#approve-code", code.inner_text())
        alice.click("#approve-form button[type=submit]")
        expect(alice.locator("#approve-label")).to_have_text("Second téléphone du Dr Alice")
        expect(alice.locator("#approve-signing")).to_have_text(
            phone.locator("#pair-signing").inner_text()
        )
        expect(alice.locator("#approve-hpke")).to_have_text(
            phone.locator("#pair-hpke").inner_text()
        )
        alice.click("#approve-confirm")
        expect(alice.locator("#status")).to_contain_text("approuvé", timeout=TIMEOUT)
        expect(phone.locator("section[data-view=cases]")).to_be_visible(timeout=TIMEOUT)

        # Bob's browser now seals its keys to the endorsed phone too: it reads what follows.
        open_case(bob, people.case_id)
        send(bob, "Visible sur le nouveau téléphone")
        open_case(phone, people.case_id)
        expect(message(phone, "Visible sur le nouveau téléphone")).to_have_count(1, timeout=TIMEOUT)
    finally:
        context.close()
