"""The MISS web app in French first, and English: its text catalogue (app/i18n.js) and the
language switch.

Static checks read the app's sources: every text key the page and its modules use
(``t("…")``, ``say("…")``, ``localise(…, "…")``, ``data-i18n="…"``, ``data-i18n-attr``) exists
in both languages with the same placeholders, no text is left unused, and the offline shell
lists every module. In Chromium, against a real server: the app opens in French for a French
browser and in English for an English one, the switch (FR | EN) flips the texts, ``<html
lang>`` and the push notice without a reload and is remembered; plurals, dates and lists are
those of the chosen language; the header fits a 360 px phone. Then two paired browsers, one
French and one English, see a deleted message's "supprimé par X le T" / "deleted by X on T"
and the retention notice each in their own language, and switch while the case is open.

SYNTHETIC TEST MATERIAL: invented people, patient and texts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, BrowserContext, Page, Route, ViewportSize, expect

from tests.browser import chromium
from tests.instant.test_pwa import TIMEOUT, Setup, pair
from tests.live_office import open_office
from tests.servers import running_server

APP = Path(__file__).resolve().parents[2] / "src" / "caducee" / "server" / "static" / "instant"
SOURCES = APP / "app"
TEMPLATE = APP.parents[1] / "templates" / "instant" / "app.html"
ZONE = "Europe/Paris"
PHONE: ViewportSize = {"width": 360, "height": 740}
ALICE = "dr.alice.i18n@caducee.test"
BOB = "dr.bob.i18n@caducee.test"

# A key: lower-case words joined by one dot ("case.retention"), as every catalogue key is.
KEY_SHAPE = re.compile(r"^[a-z]+\.[a-z_]+$")
LITERAL = re.compile(r'"([^"\\\n]*)"')
CALLS = re.compile(r"(?<!function )\b(?:t|say)\(\s*([^,)]*)")
ATTRIBUTE = re.compile(r'data-i18n="([^"]*)"')
ATTRIBUTES = re.compile(r'data-i18n-attr="([^"]*)"')
PLACEHOLDER = re.compile(r"\{(\w+)\}")


# -- the catalogue against the sources (no server needed beyond reading the catalogue) -------


def code(text: str) -> str:
    """A module without its comment lines (which may name t() in prose)."""
    return "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith(("//", "*", "/*"))
    )


def scripts() -> dict[str, str]:
    """The app's modules but the catalogue itself, without their comment lines."""
    return {
        p.name: code(p.read_text()) for p in sorted(SOURCES.glob("*.js")) if p.name != "i18n.js"
    }


def keys_used() -> dict[str, set[str]]:
    """Every key the page and its modules name, with where."""
    used: dict[str, set[str]] = {}
    for name, text in scripts().items():
        for literal in LITERAL.findall(text):
            if KEY_SHAPE.match(literal) and not literal.endswith((".js", ".css", ".json")):
                used.setdefault(literal, set()).add(name)
    page = TEMPLATE.read_text()
    for key in ATTRIBUTE.findall(page):
        used.setdefault(key, set()).add("app.html")
    for spec in ATTRIBUTES.findall(page):
        for part in filter(None, (p.strip() for p in spec.split(";"))):
            attribute, _, key = part.partition(":")
            assert attribute and key, f"data-i18n-attr={spec!r}: write attribute:key;…"
            used.setdefault(key.strip(), set()).add("app.html")
    return used


def forms(entry: Any) -> list[str]:
    """A text's forms: itself, or each plural form."""
    if isinstance(entry, str):
        return [entry]
    assert isinstance(entry, dict) and "other" in entry, entry
    assert set(entry) <= {"zero", "one", "two", "few", "many", "other"}, entry
    return [str(v) for v in entry.values()]


def placeholders(entry: Any) -> set[str]:
    found = [set(PLACEHOLDER.findall(form)) for form in forms(entry)]
    assert all(f == found[0] for f in found), f"plural forms differ in placeholders: {entry}"
    return found[0]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("i18n")
    env = {"CADUCEE_DATABASE_URL": f"sqlite+aiosqlite:///{root / 'c.db'}"}
    with running_server(root / "server", env) as url:
        yield url


@pytest.fixture(scope="module")
def catalogue(browser: Browser, base: str) -> dict[str, dict[str, Any]]:
    """CATALOGUE as the browser loads it from the module itself."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(base + "/instant/")
        found: dict[str, dict[str, Any]] = page.evaluate(
            "import('/static/instant/app/i18n.js').then((m) => m.CATALOGUE)"
        )
        return found
    finally:
        context.close()


def test_every_key_used_is_in_both_languages_with_the_same_placeholders(
    catalogue: dict[str, dict[str, Any]],
) -> None:
    used = keys_used()
    assert len(used) > 80, "the walk found too few keys: is the pattern still right?"
    missing = {key: sorted(where) for key, where in used.items() if key not in catalogue}
    assert not missing, f"keys used but not in app/i18n.js: {missing}"
    for key, entry in catalogue.items():
        assert set(entry) == {"fr", "en"}, f"{key}: needs exactly fr and en, has {set(entry)}"
        assert placeholders(entry["fr"]) == placeholders(entry["en"]), key
        for text in forms(entry["fr"]) + forms(entry["en"]):
            assert text.strip(), f"{key}: an empty text"
            # One language at a time now: no "texte / text" pairs left in the catalogue.
            assert " / " not in text, f"{key}: {text!r} is still bilingual"
        assert isinstance(entry["fr"], str) == isinstance(entry["en"], str), (
            f"{key}: plural in one language only"
        )


def test_no_text_in_the_catalogue_is_unused(catalogue: dict[str, dict[str, Any]]) -> None:
    unused = sorted(set(catalogue) - set(keys_used()))
    assert not unused, f"texts nobody shows (remove them, or use them): {unused}"


def test_every_call_names_its_key_literally() -> None:
    """The walk above sees a key only when it is written out: no t(variable)."""
    for name, text in scripts().items():
        for argument in CALLS.findall(text):
            argument = argument.strip()
            literal = LITERAL.fullmatch(argument)
            assert literal and KEY_SHAPE.match(literal.group(1)), (
                f"{name}: t()/say() with {argument!r}; write the key itself"
            )


IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)["'](\.{1,2}/[^"']+)["']""", re.M)


def test_the_offline_shell_holds_every_module() -> None:
    """Every app module, and every module the app imports (at once or on demand), is in the
    service worker's SHELL: the app opens offline with its texts."""
    worker = (SOURCES / "sw.js").read_text()
    listed = set(re.findall(r"\$\{CORE\}([\w./-]+\.js)", worker))
    modules = {f"app/{p.name}" for p in SOURCES.glob("*.js")} - {"app/sw.js", "app/sw_push.js"}
    assert "app/i18n.js" in modules
    assert modules <= listed, f"not in sw.js SHELL: {sorted(modules - listed)}"
    seen: set[str] = set()
    todo = ["app/app.js"]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        text = (APP / module).read_text()
        for target in IMPORT.findall(text):
            resolved = (APP / module).parent.joinpath(target).resolve().relative_to(APP)
            todo.append(resolved.as_posix())
    assert {"app/i18n.js", "app/push.js", "bytes.js"} <= seen, seen
    assert seen <= listed, f"imported by the app but not in sw.js SHELL: {sorted(seen - listed)}"


# -- in Chromium, the page alone ------------------------------------------------------------


def open_app(browser: Browser, base: str, **options: Any) -> tuple[BrowserContext, Page]:
    context = browser.new_context(timezone_id=ZONE, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/instant/")
    expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=TIMEOUT)
    assert errors == [], errors
    return context, page


PAIR_FR = "Associer cet appareil"
PAIR_EN = "Pair this device"


def test_a_french_browser_gets_french_and_an_english_one_english(
    browser: Browser, base: str
) -> None:
    for locale, lang, title, name, group in (
        ("fr-FR", "fr", PAIR_FR, "Téléphone", "Langue"),
        ("en-US", "en", PAIR_EN, "Phone", "Language"),
        ("de-DE", "en", PAIR_EN, "Phone", "Language"),  # no French among its languages
    ):
        context, page = open_app(browser, base, locale=locale)
        try:
            assert page.evaluate("navigator.language") == locale
            expect(page.locator("html")).to_have_attribute("lang", lang)
            expect(page.locator("[data-view=pair] h2")).to_have_text(title)
            expect(page.locator("#pair-form [name=label]")).to_have_value(name)
            expect(page.locator("#language")).to_have_attribute("aria-label", group)
            expect(page.locator(f"#language [data-language={lang}]")).to_have_attribute(
                "aria-pressed", "true"
            )
        finally:
            context.close()


def test_the_switch_flips_the_texts_and_is_remembered(browser: Browser, base: str) -> None:
    context, page = open_app(browser, base, locale="fr-FR", viewport=PHONE)
    try:
        # A status line said in French, from the catalogue (the form's own check bypassed).
        page.evaluate("document.querySelector('#pair-form [name=passphrase]').minLength = 0")
        page.fill("#pair-form [name=address]", "dr.zoe.i18n@caducee.test")
        page.fill("#pair-form [name=passphrase]", "court")
        page.click("#pair-form button")
        status = page.locator("#status")
        expect(status).to_have_text(
            "Phrase secrète trop courte : choisissez-en une de 8 caractères au moins."
        )
        header = page.locator("header small")
        expect(header).to_have_text("messagerie instantanée sécurisée")
        english = page.locator("#language [data-language=en]")

        english.focus()  # by keyboard: the switch is two real buttons
        page.keyboard.press("Enter")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(english).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#language [data-language=fr]")).to_have_attribute(
            "aria-pressed", "false"
        )
        expect(header).to_have_text("secure instant messaging")
        expect(page.locator("[data-view=pair] h2")).to_have_text(PAIR_EN)
        expect(page.locator("#pair-form button")).to_have_text(
            "Create the keys and ask for approval"
        )
        expect(status).to_have_text("Passphrase too short: choose one of at least 8 characters.")
        expect(status).to_have_class(re.compile(r"\berror\b"))
        # What the person typed stays; only the default name follows the language.
        expect(page.locator("#pair-form [name=address]")).to_have_value("dr.zoe.i18n@caducee.test")
        expect(page.locator("#pair-form [name=label]")).to_have_value("Phone")
        assert page.evaluate("document.title") == "MISS · Caducée"

        page.reload()  # remembered, although the browser is French
        expect(page.locator("body")).to_have_attribute("data-ready", "true", timeout=TIMEOUT)
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("[data-view=pair] h2")).to_have_text(PAIR_EN)

        page.click("#language [data-language=fr]")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator("[data-view=pair] h2")).to_have_text(PAIR_FR)
        page.reload()
        expect(page.locator("[data-view=pair] h2")).to_have_text(PAIR_FR)
    finally:
        context.close()


def test_the_header_fits_a_phone_in_both_languages(browser: Browser, base: str) -> None:
    context, page = open_app(browser, base, locale="fr-FR", viewport=PHONE, is_mobile=True)
    try:
        for lang in ("fr", "en"):
            page.click(f"#language [data-language={lang}]")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            for button in page.locator("#language button").all():
                box = button.bounding_box()
                assert box is not None and box["height"] >= 44 and box["width"] >= 44, box
                assert box["x"] + box["width"] <= PHONE["width"], box
    finally:
        context.close()


CHECKS = """async () => {
  const m = await import('/static/instant/app/i18n.js');
  const thrown = (f) => { try { f(); return null; } catch (e) { return e.message; } };
  const out = {
    unknown: thrown(() => m.t("case.nope")),
    unknownInEnglish: thrown(() => m.t("case.nope", {}, "en")),
    noValue: thrown(() => m.t("thread.deleted", { by: "x" })),
    noCount: thrown(() => m.t("case.retention")),
    badLanguage: thrown(() => m.setLanguage("de")),
    browser: [m.fromBrowser(["de-DE", "fr-CA"]), m.fromBrowser(["de-DE"]), m.fromBrowser([])],
  };
  const at = "2026-03-05T14:07:00Z";
  for (const lang of ["fr", "en"]) {
    m.setLanguage(lang);
    out[lang] = {
      days: [0, 1, 2, 30].map((count) => m.t("case.retention", { count })),
      bytes: [1, 1000].map((count) => m.t("size.bytes", { count })),
      size: m.t("size.megabytes", { size: 1.53 }),
      date: m.formatDateTime(at),
      notDate: m.formatDateTime("hier"),
      readers: m.formatList(["a@x.test", "b@x.test", "c@x.test"]),
      deleted: m.t("thread.deleted", { by: "a@x.test", at: m.formatDateTime(at) }),
    };
  }
  return out;
}"""


def spaces(text: str) -> str:
    """Narrow and non-breaking spaces (as ICU writes them) as plain ones."""
    return re.sub(r"[\u00a0\u202f]", " ", text)


def test_plurals_dates_and_missing_texts(browser: Browser, base: str) -> None:
    context, page = open_app(browser, base, locale="en-US")
    try:
        got = page.evaluate(CHECKS)
    finally:
        context.close()
    assert "unknown text key" in got["unknown"] and "case.nope" in got["unknown"]
    assert "app/i18n.js" in got["unknown"]  # says where to add it
    assert got["unknownInEnglish"] == got["unknown"]
    assert got["noValue"] == 'text "thread.deleted" needs a value for {at}'
    assert "count" in got["noCount"]
    assert "fr, en" in got["badLanguage"]
    assert got["browser"] == ["fr", "en", "fr"]

    fr, en = got["fr"], got["en"]
    assert fr["days"] == [
        "Messages effacés après 0 jour",  # French: 0 and 1 are singular
        "Messages effacés après 1 jour",
        "Messages effacés après 2 jours",
        "Messages effacés après 30 jours",
    ]
    assert en["days"] == [
        "Messages deleted after 0 days",
        "Messages deleted after 1 day",
        "Messages deleted after 2 days",
        "Messages deleted after 30 days",
    ]
    assert [spaces(b) for b in fr["bytes"]] == ["1 octet", "1 000 octets"]
    assert en["bytes"] == ["1 byte", "1,000 bytes"]
    assert (fr["size"], en["size"]) == ("1,5 Mo", "1.5 MB")
    # 14:07 UTC is 15:07 in Paris; the browser's English is en-US.
    moment = datetime(2026, 3, 5, 14, 7, tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(ZONE))
    assert spaces(fr["date"]) == moment.strftime("%d/%m/%Y %H:%M") == "05/03/2026 15:07"
    assert spaces(en["date"]) == "3/5/26, 3:07 PM"
    assert fr["notDate"] == en["notDate"] == "hier"  # not a date: shown as it came
    assert fr["readers"] == "a@x.test, b@x.test et c@x.test"
    assert en["readers"] == "a@x.test, b@x.test, and c@x.test"
    assert spaces(fr["deleted"]) == "supprimé par a@x.test le 05/03/2026 15:07"
    assert spaces(en["deleted"]) == "deleted by a@x.test on 3/5/26, 3:07 PM"


@pytest.fixture(scope="module")
def plain(browser: Browser, base: str) -> Iterator[Page]:
    """A page of the app (French) with the catalogue module loaded as window.i18n."""
    context, page = open_app(browser, base, locale="fr-FR")
    page.evaluate("import('/static/instant/app/i18n.js').then((m) => { window.i18n = m; })")
    yield page
    context.close()


VERBATIM = """(texts) => texts.map((text) => {
  i18n.setLanguage("fr");
  const node = document.createElement("span");
  document.body.append(node);
  i18n.localise(node, "compose.reply_to", { text });
  const fr = node.textContent;
  i18n.setLanguage("en");  // the text is rewritten from its saved key and values
  const en = node.textContent;
  node.remove();
  return [fr, en];
})"""


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(max_size=40) | st.sampled_from(["{text}", "{count}", "$&", "$1", '"}']),
        min_size=1,
        max_size=8,
    )
)
def test_a_value_is_put_in_as_it_is_and_kept_across_a_switch(plain: Page, texts: list[str]) -> None:
    """A message quoted in "Réponse à : {text}" may itself hold braces, quotes or "$&": it is
    shown as written, never read as a placeholder or a pattern, in both languages."""
    got = plain.evaluate(VERBATIM, texts)
    assert got == [[f"Réponse à : {text}", f"Reply to: {text}"] for text in texts]


def test_the_push_notice_follows_the_language(browser: Browser, base: str) -> None:
    """The service worker shows the notice in the language the page last chose."""
    context, page = open_app(browser, base, locale="fr-FR")
    try:
        context.grant_permissions(["notifications"], origin=base)
        assert page.evaluate("navigator.serviceWorker.ready.then((r) => !!r.active)")
        worker = next(w for w in context.service_workers if w.url.endswith("/instant/sw.js"))

        def notice() -> dict[str, str]:
            found: dict[str, str] = worker.evaluate("self.caduceeMissPush.notice()")
            return found

        expected_fr = {"title": "Nouveau message sécurisé", "body": "Ouvrez Caducée pour le lire"}
        expected_en = {"title": "New secure message", "body": "Open Caducée to read it"}
        for lang, expected in (("fr", expected_fr), ("en", expected_en)):
            page.click(f"#language [data-language={lang}]")
            for _ in range(100):
                if notice() == {**expected, "lang": lang}:
                    break
                page.wait_for_timeout(50)
            assert notice() == {**expected, "lang": lang}
        worker.evaluate("self.caduceeMissPush.showMissNotice()")
        shown = worker.evaluate(
            """async () => (await self.registration.getNotifications()).map(
                (n) => ({title: n.title, body: n.body, lang: n.lang, tag: n.tag}))"""
        )
        assert shown == [{**expected_en, "lang": "en", "tag": "caducee-miss"}]
        # Nothing written yet (a new browser): the app's name alone, never a blank notice.
        page.evaluate("caches.delete('caducee-miss-notice')")
        assert worker.evaluate("self.caduceeMissPush.notice()")["title"] == "MISS · Caducée"
    finally:
        context.close()


# -- two paired browsers, one French and one English -----------------------------------------


@pytest.fixture(scope="module")
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, browser: Browser
) -> Iterator[Setup]:
    """A server with two enrolled people and their agents (which approve the browsers)."""
    root = tmp_path_factory.mktemp("i18n-office")
    with open_office(request, root, (ALICE, BOB), first_number=81) as office:
        yield Setup(office, browser)


def retention(days: int) -> Any:
    def answer(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["retention_days"] = days
        route.fulfill(response=response, json=body)

    return answer


def test_a_case_in_french_and_in_english(setup: Setup) -> None:
    french = setup.browser.new_context(locale="fr-FR", timezone_id=ZONE)
    english = setup.browser.new_context(
        locale="en-US", timezone_id=ZONE, viewport=PHONE, is_mobile=True, has_touch=True
    )
    try:
        bob = pair(setup, french, BOB, "Téléphone du Dr Bob")
        alice = pair(setup, english, ALICE, "Alice's phone")
        expect(alice.locator("[data-view=cases] h2")).to_have_text("My cases")
        expect(alice.locator("#live")).to_have_text("● live")
        expect(bob.locator("[data-view=cases] h2")).to_have_text("Mes dossiers")
        expect(bob.locator("#live")).to_have_text("● en direct")

        alice.click("details:has(#new-case) > summary")
        alice.fill("#new-case [name=participants]", BOB)
        alice.fill("#new-case [name=patient_name]", "Ninon Fictive-Langue")
        alice.click("#new-case button[type=submit]")
        expect(alice.locator("#patient")).to_contain_text("Ninon Fictive-Langue", timeout=TIMEOUT)
        case_id = str(
            alice.evaluate("import('/static/instant/app/app.js').then((m) => m.state.open)")
        )
        alice.fill("#send textarea", "Message à effacer")
        alice.click("#send button")
        mine = alice.locator("#entries .entry.message").filter(has_text="Message à effacer")
        expect(mine.locator("button.delete")).to_have_text("Delete", timeout=TIMEOUT)
        mine.locator("button.delete").click()
        expect(mine.locator("button.delete")).to_have_text("Confirm the deletion")
        mine.locator("button.delete").click()

        deleted_en = re.compile(rf"deleted by {re.escape(ALICE)} on \d+/\d+/\d\d, \d+:\d\d\s[AP]M")
        deleted_fr = re.compile(rf"supprimé par {re.escape(ALICE)} le \d\d/\d\d/\d{{4}} \d\d:\d\d")
        expect(alice.locator("#entries .entry.deleted")).to_have_text(deleted_en, timeout=TIMEOUT)
        bob.locator(f"#case-list button[data-case='{case_id}']").click(timeout=TIMEOUT)
        expect(bob.locator("#entries .entry.deleted")).to_contain_text(deleted_fr, timeout=TIMEOUT)
        expect(bob.locator("#entries .entry.message").first).to_contain_text("Dossier ouvert")

        # The retention notice, singular and plural, in each one's language.
        for page, days, text in (
            (alice, 1, "Messages deleted after 1 day"),
            (bob, 30, "Messages effacés après 30 jours"),
        ):
            page.route(f"**/api/v1/instant/cases/{case_id}", retention(days))
            page.click("#back")
            page.locator(f"#case-list button[data-case='{case_id}']").click(timeout=TIMEOUT)
            expect(page.locator("#retention")).to_have_text(text, timeout=TIMEOUT)

        # Switching with the case open re-renders it: dates, notes, buttons and the notice.
        alice.click("#language [data-language=fr]")
        expect(alice.locator("html")).to_have_attribute("lang", "fr")
        expect(alice.locator("#retention")).to_have_text("Messages effacés après 1 jour")
        expect(alice.locator("#entries .entry.deleted")).to_contain_text(deleted_fr)
        expect(alice.locator("#back")).to_have_text("← Dossiers")
        expect(alice.locator("#send button")).to_have_text("Envoyer")
        bob.click("#language [data-language=en]")
        expect(bob.locator("#retention")).to_have_text("Messages deleted after 30 days")
        expect(bob.locator("#entries .entry.deleted")).to_contain_text(deleted_en)
        expect(bob.locator("#entries .entry.message").first).to_contain_text("Case opened")
        expect(bob.locator("#live")).to_have_text("● live")
        assert alice.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        french.close()
        english.close()
