"""Bulk-mail detection before a send: cues, patient identity, the verdict (pure).

Every text here is invented (people, practices, theses); the NIRs are made up with their
key computed by ``formats.nir``.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.agent.bulk_check import (
    MIN_MANY,
    Concern,
    Cue,
    DocumentFacts,
    assess_send,
    carries_patient,
    charter_rule,
    document_text,
    find_cues,
    fold,
    many_threshold,
    read_facts,
)
from caducee.formats.nir import compute_nir_key
from caducee.policy.bulk import Limits
from tests.agent.helpers import hprim_file

PERSONAL = Limits(20, 500, 30)
GP = "dr.testeur@caducee.test"

ANNOUNCEMENTS: list[tuple[str, set[Cue]]] = [
    (
        "Chers confrères, j'ai le plaisir de vous annoncer mon départ à la retraite le 30 juin. "
        "Mon successeur, le Dr FICTIF, reprendra la patientèle.",
        {Cue.RETIREMENT, Cue.GREETING},
    ),
    ("Je m'installe au 3 rue de l'Essai : voici la nouvelle adresse du cabinet.",
     {Cue.INSTALLATION}),
    ("Vous êtes cordialement invités à notre soirée de formation continue (FMC).",
     {Cue.EVENT}),
    ("Congrès régional de cardiologie : inscriptions en ligne avant le 1er mars.", {Cue.EVENT}),
    (
        "Dans le cadre de ma thèse de médecine générale, merci de répondre à ce questionnaire : "
        "https://forms.gle/fictif",
        {Cue.SURVEY, Cue.LINK},
    ),
    ("Lettre d'information n° 12 du réseau. Pour vous désinscrire, répondez STOP.",
     {Cue.NEWSLETTER}),
    ("Offre spéciale : 20 % de remise sur nos tensiomètres.", {Cue.ADVERTISING}),
    ("Dear colleagues, I am retiring at the end of the month.", {Cue.GREETING, Cue.RETIREMENT}),
    ("You are cordially invited to our annual meeting.", {Cue.EVENT}),
    ("Please fill in this survey for my thesis.", {Cue.SURVEY}),
    ("Our newsletter — click here to unsubscribe.", {Cue.NEWSLETTER, Cue.LINK}),
]  # fmt: skip


def _nir(body: str) -> str:
    return f"{body[0]} {body[1:3]} {body[3:5]} {body[5:7]} {body[7:10]} {body[10:13]} " + (
        compute_nir_key(body)
    )


def _docx(text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(
            "word/document.xml",
            f'<w:document xmlns:w="urn:w"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p>'
            "</w:body></w:document>",
        )
    return buffer.getvalue()


@pytest.mark.parametrize(("text", "expected"), ANNOUNCEMENTS)
def test_french_and_english_cues(text: str, expected: set[Cue]) -> None:
    assert find_cues(text) == expected
    facts = read_facts([("annonce.txt", text.encode("utf-8"))])
    assert facts.announcement and not facts.patient


def test_no_cue_in_ordinary_clinical_words() -> None:
    for text in (
        "These results are within the reference range.",
        "Merci de revoir ce patient en consultation la semaine prochaine.",
        "Le bilan est normal ; contrôle dans trois mois.",
    ):
        assert find_cues(text) == frozenset(), text


def test_cues_are_read_in_file_names_and_documents() -> None:
    pdf = b"%PDF-1.7\n% flyer fictif\n%%EOF\n"
    assert find_cues(document_text("invitation_congres-2026.pdf", pdf)) == {Cue.EVENT}
    assert find_cues(document_text("scan.pdf", pdf)) == frozenset()  # a PDF's text is not read
    docx = _docx("Questionnaire de th\u00e8se : 5 minutes de votre temps")
    assert Cue.SURVEY in find_cues(document_text("document.docx", docx))
    html = b"<html><body><p>Soir\xc3\xa9e <b>FMC</b> le 12 mars</p></body></html>"
    assert find_cues(document_text("a.html", html)) == {Cue.EVENT}


def test_patient_identity() -> None:
    assert carries_patient("cr.hpr", hprim_file(GP, [("FICTIF", "ALICE")]))
    nir = _nir("1800575123456")
    assert carries_patient("lettre.txt", f"Patient : M. FICTIF, NIR {nir}.".encode())
    wrong = nir[:-2] + ("00" if not nir.endswith("00") else "01")
    assert not carries_patient("lettre.txt", f"NIR {wrong}".encode())
    assert carries_patient("lettre.txt", "Mme FICTIVE, née le 01/02/1970, vue ce jour.".encode())
    assert carries_patient("letter.txt", b"Mr FICTIF, date of birth: 3/4/1955.")
    assert not carries_patient("annonce.txt", ANNOUNCEMENTS[0][0].encode())
    # A clinical letter is never an announcement, whatever words it uses.
    letter = "Chers confrères, réunion de concertation pour Mme FICTIVE née le 01/02/1970."
    facts = read_facts([("lettre.txt", letter.encode())])
    assert facts.patient and not facts.announcement


def test_weak_cues_need_company() -> None:
    assert not DocumentFacts(frozenset({Cue.GREETING}), patient=False).announcement
    assert DocumentFacts(frozenset({Cue.GREETING, Cue.LINK}), patient=False).announcement
    assert DocumentFacts(frozenset({Cue.EVENT}), patient=False).announcement
    assert not DocumentFacts(frozenset({Cue.EVENT}), patient=True).announcement


@pytest.mark.parametrize(
    ("cap", "threshold"), [(1, 1), (3, 3), (5, 5), (12, 6), (20, 10), (50, 25), (100, 50)]
)
def test_many_threshold(cap: int, threshold: int) -> None:
    assert many_threshold(Limits(cap, 10, 10)) == threshold


def _facts(text: str, name: str = "doc.txt") -> DocumentFacts:
    return read_facts([(name, text.encode("utf-8"))])


def _never() -> DocumentFacts:
    raise AssertionError("the document was read for a send to few recipients")


def test_verdicts() -> None:
    announcement = ANNOUNCEMENTS[4][0]  # the thesis questionnaire
    note = "Le planning des gardes de mars est en pièce jointe."
    result = hprim_file(GP, [("FICTIF", "ALICE")]).decode("cp1252")

    assert assess_send(1, PERSONAL, _never).concerns == ()
    assert assess_send(10, PERSONAL, _never).concerns == ()  # not more than the threshold
    many = assess_send(12, PERSONAL, lambda: _facts(announcement))
    assert many.concerns == (Concern.ANNOUNCEMENT,) and many.needs_confirmation
    assert many.cue_names == ("survey",) and many.patient is False
    assert assess_send(12, PERSONAL, lambda: _facts(note)).concerns == ()
    over = assess_send(25, PERSONAL, lambda: _facts(note))
    assert over.concerns == (Concern.BULK_WITHOUT_PATIENT,) and over.refused
    held = assess_send(25, PERSONAL, lambda: _facts(result, "cr.hpr"))
    assert held.concerns == (Concern.OVER_LIMIT,) and held.needs_confirmation
    # The 2014 case: a thesis questionnaire to about 11,000 users, stopped before it leaves.
    thesis = assess_send(11_000, PERSONAL, lambda: _facts(announcement))
    assert thesis.refused and thesis.concerns == (Concern.BULK_WITHOUT_PATIENT,)
    # Sanctions: a block refuses even one recipient; a hold asks for a confirmation.
    blocked = assess_send(1, PERSONAL, _never, sanction="block")
    assert blocked.refused and blocked.concerns == (Concern.SENDER_BLOCKED,)
    on_hold = assess_send(1, PERSONAL, _never, sanction="hold")
    assert on_hold.concerns == (Concern.SENDER_HELD,) and on_hold.needs_confirmation
    assert assess_send(1, PERSONAL, _never, sanction="warning").concerns == ()


def test_charter_rule_quotes_the_paragraph_on_bulk_mail() -> None:
    charter = (
        "Charte de bon usage (fictive)\n\n"
        "1. La messagerie sert aux échanges sur la prise en charge des patients.\n\n"
        "2. Les envois en masse sont interdits : annonces de départ en retraite, invitations,\n"
        "questionnaires de thèse, lettres d'information.\n\n"
        "3. Le support répond du lundi au vendredi."
    )
    quoted = charter_rule(charter)
    assert quoted is not None and quoted.startswith("2. Les envois en masse")
    assert "support" not in quoted and "\n" not in quoted
    assert charter_rule("1. Soyez courtois.\n\n2. Protégez votre carte.") is None
    long = charter_rule("Les annonces sont interdites. " * 100, limit=100)
    assert long is not None and len(long) == 100 and long.endswith("…")


# -- properties ------------------------------------------------------------------------

FRENCH = st.text(
    alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyzéèêàçôûœ ',.-")), max_size=200
)
SEVERITY = {False: 0, True: 1}


def _severity(advice: object) -> int:
    refused = getattr(advice, "refused")  # noqa: B009
    return 2 if refused else SEVERITY[bool(getattr(advice, "concerns"))]  # noqa: B009


@given(FRENCH)
def test_fold_is_idempotent_and_cues_ignore_case_and_accents(text: str) -> None:
    assert fold(fold(text)) == fold(text)
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    assert find_cues(text.upper()) == find_cues(text) == find_cues(plain)


@given(
    st.sampled_from([a for a, _ in ANNOUNCEMENTS]),
    st.text(alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz ")), max_size=300),
    st.integers(min_value=1, max_value=200),
)
def test_an_announcement_in_any_text_is_caught(sentence: str, filler: str, cap: int) -> None:
    limits = Limits(cap, 100, 100)
    facts = _facts(f"{filler}\n{sentence}\n{filler}")
    threshold = many_threshold(limits)
    for count in {threshold + 1, cap, cap + 1}:
        advice = assess_send(count, limits, lambda: facts)
        if count > cap:
            assert advice.concerns == (Concern.BULK_WITHOUT_PATIENT,)
        elif count > threshold:
            assert advice.concerns == (Concern.ANNOUNCEMENT,)


@given(
    st.integers(min_value=1, max_value=1000),
    st.integers(min_value=0, max_value=5000),
    st.integers(min_value=1, max_value=20_000),
    st.frozensets(st.sampled_from(list(Cue))),
    st.booleans(),
    st.sampled_from([None, "warning", "hold", "block"]),
)
def test_more_recipients_never_make_the_verdict_milder(
    cap: int, more: int, count: int, cues: frozenset[Cue], patient: bool, sanction: str | None
) -> None:
    limits = Limits(cap, 100, 100)
    facts = DocumentFacts(cues, patient)
    threshold = many_threshold(limits)
    assert min(cap, MIN_MANY) <= threshold <= cap
    fewer = assess_send(count, limits, lambda: facts, sanction=sanction)
    larger = assess_send(count + more, limits, lambda: facts, sanction=sanction)
    assert _severity(fewer) <= _severity(larger)
    if patient:  # patient data is never refused as bulk mail, only held for a moderator
        assert Concern.BULK_WITHOUT_PATIENT not in larger.concerns
    if count <= threshold and sanction in (None, "warning"):
        assert assess_send(count, limits, _never, sanction=sanction).concerns == ()


@settings(max_examples=200)
@given(
    st.sampled_from([b"", b"PK\x03\x04", b"%PDF-", b"MSH|^~\\&|", b"H|\\^&|", b"{", b"<?xml "]),
    st.binary(max_size=2000),
    st.text(max_size=40),
)
def test_reading_never_fails(prefix: bytes, data: bytes, name: str) -> None:
    facts = read_facts([(name, prefix + data)])
    assert isinstance(facts.patient, bool) and facts.cues <= set(Cue)
