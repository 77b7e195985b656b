"""Patient matching against a synthetic practice list (invented people, NIR keys computed)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caducee.formats.hprim import parse_hprim
from caducee.policy.errors import InvalidPatientList
from caducee.policy.matching import (
    MatchStatus,
    PatientQuery,
    PracticePatient,
    match_patient,
    normalise_name,
    parse_patient_list,
)
from tests.formats import synth

NIR_ALICE = synth.make_nir(2, 80, 5)
NIR_TWIN_A = synth.make_nir(1, 95, 3, "69", "123001")
NIR_TWIN_B = synth.make_nir(1, 95, 3, "69", "123002")

CSV = f"""\
N° dossier;Nom;Prénom(s);Date de naissance;NIR;Nom de naissance
P001;Fictif;Alice;17/05/1980;{NIR_ALICE[:13]} {NIR_ALICE[13:]};
P002;Échantillon-Modèle;Jean-Noël;1962-11-03;;
P003;Durand;Camille, Marie;08/08/1975;;Martinot
P004;Jumeau;Léo;02/03/1995;{NIR_TWIN_A};
P005;Jumeau;Léon;02/03/1995;{NIR_TWIN_B};
P006;Homonyme;Paul;01/01/1950;;
P007;Homonyme;Paul;01/01/1950;;
P008;Essai;Zoé;04/07/2001;;
P009;Lambert;Chloé;15/09/1988;;

"""
PATIENTS = parse_patient_list(CSV.encode("utf-8"))


def q(last: str, first: str, born: date | None, nir: str = "") -> PatientQuery:
    return PatientQuery(last, first, born, nir)


def test_list_is_read_tolerantly() -> None:
    assert len(PATIENTS) == 9
    alice = PATIENTS[0]
    assert alice.nir == NIR_ALICE and alice.birth_date == date(1980, 5, 17)
    assert PATIENTS[1].birth_date == date(1962, 11, 3)
    assert PATIENTS[2].birth_name == "Martinot"
    comma = "id,last_name,first_name,birth_date\nX1,Fictif,Alice,17/05/1980\n"
    latin1 = "Numero;NOM;PRENOM;DDN\nX2;Noël;Zoé;01/02/1990\n".encode("iso-8859-1")
    assert parse_patient_list(comma)[0].patient_id == "X1"
    assert parse_patient_list(latin1)[0].last_name == "Noël"
    assert parse_patient_list("id;nom;prenom;ddn\nX;A;B;03/04/71\n")[0].birth_date is None


@pytest.mark.parametrize(
    ("text", "column"),
    [("nom;prenom;ddn\nA;B;01/01/2000\n", "patient_id"), ("id;nom;prenom\n", "birth_date")],
)
def test_list_missing_columns(text: str, column: str) -> None:
    with pytest.raises(InvalidPatientList) as info:
        parse_patient_list(text)
    assert info.value.column == column and info.value.line == 1


def test_list_empty_id_names_the_line() -> None:
    with pytest.raises(InvalidPatientList) as info:
        parse_patient_list("id;nom;prenom;ddn\nX;A;B;01/01/2000\n;C;D;01/01/2000\n")
    assert info.value.line == 3 and "C" not in str(info.value)


def test_normalise() -> None:
    assert normalise_name("  Échantillon-Modèle ") == "ECHANTILLON MODELE"
    assert normalise_name("d'Œuvre") == "D OEUVRE"


def test_exact_by_nir_even_with_a_typo_in_the_name() -> None:
    result = match_patient(q("FICTIVE", "ALYCE", date(1980, 5, 17), NIR_ALICE), PATIENTS)
    assert (result.status, result.patient_id, result.reason) == (MatchStatus.EXACT, "P001", "nir")


def test_exact_by_traits_with_accents_case_and_hyphens() -> None:
    result = match_patient(q("ECHANTILLON MODELE", "JEAN NOEL", date(1962, 11, 3)), PATIENTS)
    assert (result.status, result.patient_id, result.reason) == (
        MatchStatus.EXACT, "P002", "traits"
    )  # fmt: skip


def test_exact_from_an_hprim_header() -> None:
    (doc,) = parse_hprim(synth.join(synth.hprim_lines()))
    result = match_patient(PatientQuery.from_header(doc.header), PATIENTS)
    assert result.status is MatchStatus.EXACT and result.patient_id == "P001"


def test_birth_name_and_first_of_several_first_names() -> None:
    result = match_patient(q("MARTINOT", "CAMILLE", date(1975, 8, 8)), PATIENTS)
    assert result.status is MatchStatus.EXACT and result.patient_id == "P003"


def test_married_name_unknown_to_the_practice_is_uncertain() -> None:
    # The lab knows her by a married name the practice never recorded.
    result = match_patient(q("LEFEBVRE", "CHLOE", date(1988, 9, 15)), PATIENTS)
    assert result.status is MatchStatus.UNCERTAIN and result.patient_id is None
    assert [c.patient_id for c in result.candidates] == ["P009"]


def test_homonyms_are_uncertain() -> None:
    result = match_patient(q("HOMONYME", "PAUL", date(1950, 1, 1)), PATIENTS)
    assert result.status is MatchStatus.UNCERTAIN and result.reason == "several-candidates"
    assert {c.patient_id for c in result.candidates} == {"P006", "P007"}


def test_twins_with_close_first_names_are_uncertain() -> None:
    result = match_patient(q("JUMEAU", "LEO", date(1995, 3, 2)), PATIENTS)
    assert result.status is MatchStatus.UNCERTAIN and result.reason == "near-twin"
    assert {c.patient_id for c in result.candidates} == {"P004", "P005"}


def test_twin_with_nir_is_exact() -> None:
    result = match_patient(q("JUMEAU", "LEO", date(1995, 3, 2), NIR_TWIN_A), PATIENTS)
    assert result.status is MatchStatus.EXACT and result.patient_id == "P004"


def test_traits_equal_but_nir_differs_is_uncertain() -> None:
    other = synth.make_nir(2, 80, 5, "75", "999999")
    result = match_patient(q("FICTIF", "ALICE", date(1980, 5, 17), other), PATIENTS)
    assert result.status is MatchStatus.UNCERTAIN and "nir-differs" in result.candidates[0].reasons


def test_same_names_other_birth_date_is_uncertain() -> None:
    result = match_patient(q("ESSAI", "ZOE", date(2001, 7, 5)), PATIENTS)
    assert result.status is MatchStatus.UNCERTAIN
    assert result.candidates[0].reasons == ("last-name", "first-name", "other-birth-date")


def test_similar_name_same_birth_date_is_uncertain() -> None:
    result = match_patient(q("FICTYF", "ALICE", date(1980, 5, 17)), PATIENTS)
    assert result.status is MatchStatus.UNCERTAIN and result.patient_id is None


def test_none() -> None:
    result = match_patient(q("INCONNU", "PERSONNE", date(1930, 1, 1)), PATIENTS)
    assert (result.status, result.candidates, result.reason) == (
        MatchStatus.NONE,
        (),
        "no-candidate",
    )
    bad_nir = match_patient(q("INCONNU", "X", None, "123"), PATIENTS)
    assert bad_nir.status is MatchStatus.NONE


names = st.text(st.sampled_from("ABCDEÉÈ- '"), min_size=1, max_size=10).filter(
    lambda s: bool(normalise_name(s))
)


@settings(max_examples=100, deadline=None)
@given(names, names, st.dates(date(1900, 1, 1), date(2030, 1, 1)), st.booleans(), st.data())
def test_ties_are_never_assigned(
    last: str, first: str, born: date, with_nir: bool, data: st.DataObject
) -> None:
    nir = synth.make_nir(1, 80, 1) if with_nir else ""
    twin = PracticePatient("B", last.upper(), first.lower(), born, nir)
    others = data.draw(st.lists(st.builds(PracticePatient, st.text(max_size=3), names, names,
                                          st.none() | st.just(born)), max_size=4))  # fmt: skip
    patients = (PracticePatient("A", last, first, born, nir), twin, *others)
    result = match_patient(q(last, first, born, nir), tuple(patients))
    assert result.status is MatchStatus.UNCERTAIN and result.patient_id is None
    assert {"A", "B"} <= {c.patient_id for c in result.candidates}
