"""Generate the synthetic HPRIM corpus in ``tests/formats/corpus/``.

Every person, address and number here is invented; NIR keys are computed, not copied.
Run: ``.venv/bin/python tests/formats/make_corpus.py``. Writes the files, ``expected.json``
(what each file must give) and ``README.md`` (the quirk each file exercises).
"""

import json
from dataclasses import dataclass
from pathlib import Path

from caducee.formats.nir import compute_nir_key

HERE = Path(__file__).parent / "corpus"


def nir(sex: int, yy: int, mm: int, dept: str, order: int) -> str:
    body = f"{sex}{yy:02d}{mm:02d}{dept}{(order * 37) % 1000:03d}{order % 1000:03d}"
    return f"{body} {compute_nir_key(body)}"


@dataclass
class Person:
    pid: str
    last: str
    first: str
    addr1: str
    addr2: str
    cp_city: str
    dob: str
    nir: str
    folder: str
    exam: str


PEOPLE = [
    Person("0000100001", "FICTIF", "ALICE", "1 RUE DE L'ESSAI", "", "75011 PARIS",
           "03/04/1971", nir(2, 71, 4, "75", 11), "D24000101", "02/01/2025"),
    Person("0000100002", "EXEMPLAIRE", "BRUNO", "12 AVENUE DU MODELE", "BAT C",
           "69003 LYON", "17/11/1958", nir(1, 58, 11, "69", 22), "D24000102", "03/01/2025"),
    Person("0000100003", "TESTARD-PROTO", "CELINE", "4 IMPASSE DES ESSAIS", "",
           "20000 AJACCIO", "29/02/1984", nir(2, 84, 2, "2A", 33), "D24000103", "04/01/2025"),
    Person("0000100004", "D'ECHANTILLON", "DENIS", "LIEU-DIT LE GABARIT", "",
           "20200 BASTIA", "01/12/1949", nir(1, 49, 12, "2B", 44), "D24000104", "05/01/2025"),
]  # fmt: skip

RES_BASIC = [
    "RES|GLYCEMIE A JEUN|GLY|N|0.95|g/l|0.70|1.10|N|F|5.27|mmol/l|3.89|6.11",
    "RES|POTASSIUM|K|N|5.9|mmol/l|3.5|5.0|H|F",
    "RES|INR|INR|N|3.1||2.0|3.0|H|F",
]


def header(p: Person, *, pad: bool = False) -> list[str]:
    lines = [p.pid, p.last, p.first, p.addr1, p.addr2, p.cp_city, p.dob, p.nir, p.folder,
             p.exam, "LABFIC01   labo.fictif", "DRTEST01   dr.testeur"]  # fmt: skip
    return [line.ljust(30) for line in lines] if pad else lines


def doc(p: Person, text: list[str], lab: list[str] | None, *, pad: bool = False) -> list[str]:
    lines = header(p, pad=pad) + text
    if lab is not None:
        lines += ["****LAB****", *lab]
    return [*lines, "****FIN****"]


def hprim_file(*docs: list[str], end: bool = True) -> list[str]:
    lines = [line for d in docs for line in d]
    return [*lines, "****FINFICHIER****"] if end else lines


TEXT = ["", "        BIOCHIMIE", "GLYCEMIE A JEUN      0,95 g/l   (0,70-1,10)", ""]
FILES: dict[str, tuple[bytes, dict[str, object], str]] = {}


def add(name: str, lines: list[str], quirk: str, expect: dict[str, object], *,
        nl: str = "\r\n", enc: str = "iso-8859-1") -> None:  # fmt: skip
    FILES[name] = ((nl.join(lines) + nl).encode(enc), expect, quirk)


def ok(n: int, results: int | None = None, kind: str = "hprim") -> dict[str, object]:
    out: dict[str, object] = {"kind": kind, "documents": n}
    if results is not None:
        out["results"] = results
    return out


def bad(error: str, line: int | None, field: str | None, kind: str = "hprim") -> dict[str, object]:
    return {"kind": kind, "error": error, "line": line, "field": field}


def build_hprim() -> None:
    a, b, c, d = PEOPLE
    base = hprim_file(doc(a, TEXT, RES_BASIC))
    add("hprim_ok_crlf.hpr", base, "CRLF line endings, ISO-8859-1", ok(1, 3))
    add("hprim_ok_lf.hpr", base, "LF line endings", ok(1, 3), nl="\n")
    add("hprim_ok_cr.hpr", base, "CR-only line endings (old Mac)", ok(1, 3), nl="\r")
    accents = hprim_file(
        doc(a, ["Hémoglobine glyquée : résultat contrôlé, µg/l, 37 °C"], RES_BASIC)
    )
    add("hprim_ok_utf8.hpr", accents, "UTF-8 without BOM, accents", ok(1, 3), enc="utf-8")
    add("hprim_ok_utf8_bom.hpr", accents, "UTF-8 with BOM", ok(1, 3), enc="utf-8-sig")
    add("hprim_ok_latin1.hpr", accents, "ISO-8859-1 accents", ok(1, 3), enc="iso-8859-1")
    euro = hprim_file(doc(a, ["Cœur : examen réalisé, coût 12 €"], RES_BASIC))
    add("hprim_ok_cp1252.hpr", euro, "Windows-1252 (œ, €)", ok(1, 3), enc="cp1252")
    add("hprim_ok_macroman.hpr", accents, "MacRoman accents", ok(1, 3), enc="mac_roman")
    add("hprim_ok_utf16le.hpr", accents, "UTF-16 LE with BOM", ok(1, 3), enc="utf-16")
    FILES["hprim_ok_utf16be.hpr"] = (
        "\ufeff".encode("utf-16-be") + ("\r\n".join(accents) + "\r\n").encode("utf-16-be"),
        ok(1, 3), "UTF-16 BE with BOM",
    )  # fmt: skip
    html = ["<p>Dosage de la cr&eacute;atinine<br />", "R&eacute;sultat normal&nbsp;:<br/>OK</p>"]
    add("hprim_ok_html.hpr", hprim_file(doc(a, html, RES_BASIC)), "HTML in the text", ok(1, 3))
    comma = ["RES|CREATININE|CREA|N|8,3|mg/l|6,0|11,0|N|F|73,5|umol/l|53,1|97,4"]
    add("hprim_ok_comma.hpr", hprim_file(doc(b, TEXT, comma)), "comma decimals", ok(1, 1))
    mixed = ["RES|UREE|UREE|N|0.24|g/l|0,15|0,42|N|F|4.01|mmol/l|2,51|7,01"]
    add("hprim_ok_mixed_decimals.hpr", hprim_file(doc(b, TEXT, mixed)),
        "point in value, comma in ranges", ok(1, 1))  # fmt: skip
    padded = ["RES|  Hémoglobine   : |HB|N|13.3|g/dl|12.5|15.5|N|F",
              "RES|LEUCOCYTES :|GB|N|2.92|G/l|4.00|10.00|L|F"]  # fmt: skip
    add("hprim_ok_padded_labels.hpr", hprim_file(doc(b, TEXT, padded)),
        "padded labels and ' : '", ok(1, 2))  # fmt: skip
    lines = hprim_file(doc(b, TEXT, RES_BASIC))
    lines[lines.index("****LAB****")] = " ****LAB****"
    add("hprim_ok_lab_space.hpr", lines, "****LAB**** preceded by a space", ok(1, 3))
    lines = hprim_file(doc(b, TEXT, RES_BASIC))
    lines.insert(-1, "")
    add("hprim_ok_blank_before_end.hpr", lines, "empty line before ****FINFICHIER****", ok(1, 3))
    trailing = ["RES|CRP|CRP|N|3|mg/l||5|N|F||||||||", "RES|FERRITINE|FERR|N|80|ug/l|20|200|N|F||"]
    add("hprim_ok_trailing_fields.hpr", hprim_file(doc(b, TEXT, trailing)),
        "trailing empty fields beyond 13", ok(1, 2))  # fmt: skip
    code_only = ["RES||IGET 005|A", "RES||NUM(1.1)|N|4.2"]
    add("hprim_ok_code_only.hpr", hprim_file(doc(c, TEXT, code_only)),
        "code-only RES lines (empty label)", ok(1, 2))  # fmt: skip
    bare = ["TEX", "TEX|        ALLERGIE", "TEX", *RES_BASIC[:1], "TEX"]
    add("hprim_ok_bare_tex.hpr", hprim_file(doc(c, TEXT, bare)), "bare TEX lines", ok(1, 1))
    multi = hprim_file(doc(a, TEXT, RES_BASIC), doc(b, TEXT, RES_BASIC[:2]), doc(c, TEXT, None))
    add("hprim_ok_three_documents.hpr", multi, "three documents in one file", ok(3, 5))
    add("hprim_ok_no_lab.hpr", hprim_file(doc(d, TEXT, None)), "text only, no ****LAB****",
        ok(1, 0))  # fmt: skip
    add("hprim_ok_padded_header.hpr", hprim_file(doc(a, TEXT, RES_BASIC, pad=True)),
        "header lines padded to 30 columns", ok(1, 3))  # fmt: skip
    add("hprim_ok_blank_line13.hpr", hprim_file(doc(a, [" ", *TEXT], RES_BASIC)),
        "blank 13th line after the header", ok(1, 3))  # fmt: skip
    for name, dob, quirk in (
        ("hprim_ok_dob_yy.hpr", "03/04/71", "two-digit birth year"),
        ("hprim_ok_dob_iso.hpr", "1971-04-03", "ISO birth date AAAA-MM-JJ"),
    ):
        lines = hprim_file(doc(a, TEXT, RES_BASIC))
        lines[6] = dob
        add(name, lines, quirk, ok(1, 3))
    lines = hprim_file(doc(a, TEXT, RES_BASIC))
    lines[7] = ""
    add("hprim_ok_no_nir.hpr", lines, "NIR line empty", ok(1, 3))
    add("hprim_ok_nir_2a.hpr", hprim_file(doc(c, TEXT, RES_BASIC)), "NIR born in Corse-du-Sud (2A)",
        ok(1, 3))  # fmt: skip
    add("hprim_ok_nir_2b.hpr", hprim_file(doc(d, TEXT, RES_BASIC)), "NIR born in Haute-Corse (2B)",
        ok(1, 3))  # fmt: skip
    flags = [f"RES|ESSAI {f or 'VIDE'}|E{i}|N|{i}|u|1|5|{f}|F" for i, f in
             enumerate(["L", "H", "LL", "HH", "N", ""])]  # fmt: skip
    add("hprim_ok_flags.hpr", hprim_file(doc(a, TEXT, flags)), "every abnormal flag", ok(1, 6))
    less = ["RES|TROPONINE|TROP|N|<0.013|ug/l||0.014|N|F", "RES|PSA|PSA|N|>100|ng/ml||4|HH|F"]
    add("hprim_ok_comparators.hpr", hprim_file(doc(b, TEXT, less)), "values '<0.013', '>100'",
        ok(1, 2))  # fmt: skip
    alpha = ["RES|ASPECT DU SERUM|ASP|A|Limpide||||N|F", "RES|GROUPE|GRP|A|O Rh+||||| C"]
    add("hprim_ok_alpha.hpr", hprim_file(doc(b, TEXT, alpha)), "alphanumeric results, status C",
        ok(1, 2))  # fmt: skip
    odd = [*RES_BASIC[:1], "COMMENTAIRE LIBRE DANS LA PARTIE LAB", *RES_BASIC[1:]]
    add("hprim_ok_odd_lab_line.hpr", hprim_file(doc(c, TEXT, odd)),
        "non TEX/RES line in the lab part (kept as text, warning)", ok(1, 3))  # fmt: skip
    FILES["hprim_ok_dos_eof.hpr"] = (
        ("\r\n".join(base) + "\r\n\x1a").encode("iso-8859-1"),
        ok(1, 3),
        "DOS end-of-file ^Z",
    )
    many = [f"RES|ANALYSE {i}|A{i:03d}|N|{i},5|u|{i}|{i + 1}|N|F" for i in range(150)]
    add("hprim_ok_many_results.hpr", hprim_file(doc(d, TEXT, many)), "150 RES lines",
        ok(1, 150))  # fmt: skip
    add("hprim_ok_no_finfichier.hpr", hprim_file(doc(a, TEXT, RES_BASIC), end=False),
        "****FINFICHIER**** missing after a complete document (warning)", ok(1, 3))  # fmt: skip
    lines = hprim_file(doc(a, TEXT, RES_BASIC))
    lines.insert(0, "")
    add("hprim_ok_leading_blank.hpr", lines, "blank line before the first document", ok(1, 3))
    long_text = [f"Ligne de compte rendu numéro {i} : rien à signaler." for i in range(300)]
    add("hprim_ok_long_text.hpr", hprim_file(doc(b, long_text, None)), "300-line report",
        ok(1, 0))  # fmt: skip
    lines = hprim_file(doc(a, TEXT, RES_BASIC))
    lines += ["", "signature du transport"]
    add("hprim_ok_after_end.hpr", lines, "content after ****FINFICHIER**** (warning)", ok(1, 3))

    # Deliberately bad files: the typed error, line and field they must give.
    good = hprim_file(doc(a, TEXT, RES_BASIC))
    add("hprim_bad_truncated.hpr", good[:-3], "cut before ****FIN****",
        bad("TruncatedDocument", len(good) - 3, "****FIN****"))  # fmt: skip
    lines = [*good[:-2], "****FINFICHIER****"]
    add("hprim_bad_no_fin.hpr", lines, "****FINFICHIER**** without ****FIN****",
        bad("TruncatedDocument", len(lines), "****FIN****"))  # fmt: skip
    add("hprim_bad_short_header.hpr", [*good[:8], "****FIN****", "****FINFICHIER****"],
        "header of 8 lines", bad("MissingHeaderLine", 9, "file_number"))  # fmt: skip
    for name, idx, value, error, field, quirk in (
        ("hprim_bad_dob.hpr", 6, "31/02/1980", "InvalidDate", "birth_date", "31 February"),
        ("hprim_bad_dob_empty.hpr", 6, "", "MissingField", "birth_date", "empty birth date"),
        ("hprim_bad_exam_date.hpr", 9, "2025/13/45", "InvalidDate", "exam_date", "bad exam date"),
        ("hprim_bad_nir_key.hpr", 7, a.nir[:-2] + f"{(int(a.nir[-2:]) % 97) + 1:02d}",
         "InvalidNIR", "nir", "NIR with a wrong key"),
        ("hprim_bad_nir_shape.hpr", 7, "12345", "InvalidNIR", "nir", "NIR too short"),
        ("hprim_bad_no_last_name.hpr", 1, "", "MissingField", "last_name", "empty last name"),
    ):  # fmt: skip
        lines = list(good)
        lines[idx] = value
        add(name, lines, quirk, bad(error, idx + 1, field))
    lines = list(good)
    at = lines.index("****LAB****") + 2
    lines[at] = "RES|POTASSIUM|K|N|5.9|mmol/l|3.5|5.0|H|F|||||EXTRA"
    add("hprim_bad_res_fields.hpr", lines, "RES line with 14 fields",
        bad("MalformedResultLine", at + 1, "RES"))  # fmt: skip
    lines = list(good)
    lines[at] = "RES|||N|5.9"
    add("hprim_bad_res_empty.hpr", lines, "RES line with neither label nor code",
        bad("MalformedResultLine", at + 1, "code"))  # fmt: skip
    second = doc(b, TEXT, RES_BASIC)
    second[6] = "45/45/1945"
    first = doc(a, TEXT, RES_BASIC)
    add("hprim_bad_second_doc.hpr", hprim_file(first, second), "bad date in the 2nd document",
        bad("InvalidDate", len(first) + 7, "birth_date"))  # fmt: skip
    FILES["hprim_bad_utf16_no_bom.hpr"] = (
        ("\r\n".join(good) + "\r\n").encode("utf-16-le"),
        bad("UnknownEncoding", None, "encoding"), "UTF-16 without BOM",
    )  # fmt: skip
    FILES["hprim_bad_binary.hpr"] = (
        bytes(range(256)) * 4,
        bad("UnknownEncoding", None, "encoding"),
        "binary garbage",
    )
    FILES["hprim_bad_empty.hpr"] = (b"", bad("MissingHeaderLine", 1, "patient_id"), "empty file")


H = "H|~^\\&|ESSAI.HPR||LABFIC~LABO FICTIF||ORU|||CABTEST~CABINET TEST||P|H2.1~C|202501021530"
P1 = "P|1|1001|X0001||FICTIF~ALICE|MODELE|19710403|F||1 RUE DE L'ESSAI~~PARIS~~75011"
P2 = "P|2|1002|X0002||EXEMPLAIRE~BRUNO||19581117|M"
OBR = "OBR|1|ECH0001~|~E0001|GLY~GLYCEMIE~L^K~POTASSIUM~L|S||202501020800||||N"
OBX1 = "OBX|1|NM|GLY~GLYCEMIE~L||5.2|mmol/l|4.1 - 5.9|N|||F|||202501021000|BIO~1"
OBX2 = "OBX|2|NM|K~POTASSIUM~L||5.9|mmol/l|3.5 - 5.0|H|||F|||202501021001|BIO~2"
C1 = "C|1|L|Prélèvement à jeun"


def build_sante() -> None:
    base = [H, P1, OBR, OBX1, C1, OBX2, "L|1||1|6"]
    s = "hprim-sante"
    add("sante_ok_crlf.hpr", base, "CRLF, one patient", ok(1, kind=s))
    add("sante_ok_cr.hpr", base, "CR-only line endings", ok(1, kind=s), nl="\r")
    add("sante_ok_utf8.hpr", base, "UTF-8", ok(1, kind=s), enc="utf-8")
    long_obr = OBR + "|||202501020815||PRESC~DR PRESCRIPTEUR FICTIF~L~SRV~Clinique Imaginaire~L"
    cont = [H, P1, long_obr[:60], "A|" + long_obr[60:120], "A|" + long_obr[120:], OBX1, "L|1"]
    add("sante_ok_continuation.hpr", cont, "OBR split over A| lines", ok(1, kind=s))
    variant = [line.replace("~", "\x01").replace("^", "\x02") for line in base]
    variant = [v.replace("\x01", "\\").replace("\x02", "^") for v in variant]
    variant[0] = variant[0].replace("H|\\^\\&|", "H|\\^&~|", 1)
    add("sante_ok_variant_delims.hpr", variant, "variant delimiters H|\\^&~|", ok(1, kind=s))
    esc = [H, P1, OBR, "OBX|1|ST|COM~COMMENTAIRE~L||A\\S\\B \\R\\ C\\E\\D|||N|||F", "L|1"]
    add("sante_ok_escapes.hpr", esc, "escape sequences in a value", ok(1, kind=s))
    add("sante_ok_two_patients.hpr", [H, P1, OBR, OBX1, P2, OBR, OBX2, "L|1||2|7"],
        "two patients", ok(2, kind=s))  # fmt: skip
    fic = [H, P1, OBR, "OBX|1|FIC|TEXTE~~L||SYSFIC~FIC0001.TXT~TXT", "L|1"]
    add("sante_ok_fic.hpr", fic, "OBX of type FIC (file reference)", ok(1, kind=s))
    add("sante_ok_latin1.hpr", base, "ISO-8859-1 comment", ok(1, kind=s), enc="iso-8859-1")
    add("sante_ok_blank_lines.hpr", [H, "", P1, OBR, "", OBX1, "L|1", ""],
        "blank lines between records", ok(1, kind=s))  # fmt: skip
    add("sante_bad_no_h.hpr", [P1, OBR, OBX1, "L|1"], "no H record",
        bad("InvalidDelimiters", 1, "H", s))  # fmt: skip
    add("sante_bad_delims.hpr", ["H|~~\\&|X.HPR", P1, "L|1"], "repeated delimiter",
        bad("InvalidDelimiters", 1, "H.1", s))  # fmt: skip
    add("sante_bad_no_l.hpr", [H, P1, OBR, OBX1], "no L record",
        bad("TruncatedDocument", 4, "L", s))  # fmt: skip
    add("sante_bad_obx_first.hpr", [H, P1, OBX1, "L|1"], "OBX before any OBR",
        bad("UnexpectedContent", 3, "OBX", s))  # fmt: skip
    add("sante_bad_orphan_a.hpr", ["A|suite orpheline", H, "L|1"],
        "A| as the first line (so no H record)", bad("InvalidDelimiters", 1, "H", s))  # fmt: skip
    add("sante_bad_dob.hpr", [H, P1.replace("19710403", "19711303"), "L|1"], "month 13",
        bad("InvalidDate", 2, "P.7", s))  # fmt: skip
    add("sante_bad_no_name.hpr", [H, "P|1|1001|||~ALICE||19710403|F", "L|1"], "empty name",
        bad("MissingField", 2, "P.5", s))  # fmt: skip


def main() -> None:
    build_hprim()
    build_sante()
    HERE.mkdir(exist_ok=True)
    for old in HERE.glob("*.hpr"):
        old.unlink()
    expected = {}
    readme = ["# Synthetic HPRIM corpus", "",
              "Generated by `tests/formats/make_corpus.py`; every name, address and NIR is",
              "invented (NIR keys computed). `expected.json` says what each file must give.",
              "", "| file | quirk | expected |", "|---|---|---|"]  # fmt: skip
    for name, (data, expect, quirk) in sorted(FILES.items()):
        (HERE / name).write_bytes(data)
        expected[name] = expect
        if "error" in expect:
            outcome = f"{expect['error']} (line {expect['line']}, field {expect['field']})"
        else:
            outcome = f"{expect['documents']} document(s)"
        readme.append(f"| `{name}` | {quirk} | {outcome} |")
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    (HERE / "README.md").write_text("\n".join(readme) + "\n")
    print(f"{len(FILES)} files in {HERE}")


if __name__ == "__main__":
    main()
