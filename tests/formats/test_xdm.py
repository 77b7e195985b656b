"""IHE XDM archives: made and read back, an ANS-layout archive read, and hostile archives.

The ANS-layout archive below is assembled by hand with ``zipfile`` (not by ``make_xdm``):
a default-namespace ``SubmitObjectsRequest`` as the ANS CI-SIS examples write it, with a
CDA R2 document whose header code is a LOINC code. All identities are synthetic.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.formats.errors import FormatError
from caducee.formats.xdm import (
    METADATA_PATH,
    XDMDocument,
    XDMError,
    XDMSubmission,
    cda_code,
    make_xdm,
    read_xdm,
)

CDA_DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.250.1.999.1" extension="DOC-SYNTH-1"/>
  <code code="11488-4" codeSystem="2.16.840.1.113883.6.1" displayName="CR de consultation"/>
  <title>Compte rendu synthetique</title>
</ClinicalDocument>
"""
INS = "248000000000000^^^&1.2.250.1.213.1.4.8&ISO"  # synthetic matricule


def _submission(**changes: object) -> XDMSubmission:
    values: dict[str, object] = {
        "documents": (
            XDMDocument(
                "DOC0001.XML", CDA_DOCUMENT, type_code="11488-4", title="CR de consultation"
            ),
            XDMDocument("DOC0002.PDF", b"%PDF-1.7 synthetic", mime_type="application/pdf"),
        ),
        "unique_id": "1.2.250.1.999.2.20261129",
        "source_id": "1.2.250.1.999",
        "patient_id": INS,
        "submission_time": datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC),
        "author": "Caducée test",
    }
    values.update(changes)
    return XDMSubmission(**values)  # type: ignore[arg-type]


def test_made_and_read_back() -> None:
    submission = _submission()
    archive = make_xdm(submission)
    names = zipfile.ZipFile(io.BytesIO(archive)).namelist()
    assert names[:3] == ["README.TXT", "INDEX.HTM", METADATA_PATH]
    assert "IHE_XDM/SUBSET01/DOC0001.XML" in names
    back = read_xdm(archive)
    assert back.documents[0].content == CDA_DOCUMENT
    assert back.documents[0].type_code == "11488-4"
    assert back.documents[0].title == "CR de consultation"
    assert back.documents[1].mime_type == "application/pdf"
    assert back.unique_id == submission.unique_id
    assert back.source_id == submission.source_id
    assert back.patient_id == INS
    assert back.submission_time == submission.submission_time
    assert back.author == "Caducée test"
    assert back.type_codes == ("11488-4",)
    assert make_xdm(submission) == archive  # reproducible


def test_metadata_checked_by_an_independent_xml_parser() -> None:
    """ElementTree (not our expat reader) finds the ebRIM structure and the hash."""
    import hashlib
    import xml.etree.ElementTree as ET

    archive = zipfile.ZipFile(io.BytesIO(make_xdm(_submission())))
    root = ET.fromstring(archive.read(METADATA_PATH))  # noqa: S314
    rim = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
    assert root.tag == "{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}SubmitObjectsRequest"
    entries = root.findall(f".//{rim}ExtrinsicObject")
    assert len(entries) == 2
    slots = {
        s.get("name"): s.find(f"{rim}ValueList/{rim}Value").text  # type: ignore[union-attr]
        for s in entries[0].findall(f"{rim}Slot")
    }
    assert slots["hash"] == hashlib.sha1(CDA_DOCUMENT, usedforsecurity=False).hexdigest()
    assert slots["URI"] == "DOC0001.XML"
    assert len(root.findall(f".//{rim}Association")) == 2


ANS_METADATA = b"""<?xml version="1.0" encoding="UTF-8"?>
<SubmitObjectsRequest xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
    xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0">
 <rim:RegistryObjectList>
  <rim:ExtrinsicObject id="urn:uuid:0b3e9ac1-0000-4000-8000-000000000001" mimeType="text/xml"
      objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1">
   <rim:Slot name="URI"><rim:ValueList><rim:Value>DOC0001.XML</rim:Value></rim:ValueList></rim:Slot>
   <rim:Name><rim:LocalizedString charset="UTF8" value="Compte rendu" xml:lang="fr-FR"/></rim:Name>
   <rim:Classification classificationScheme="urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
       classifiedObject="urn:uuid:0b3e9ac1-0000-4000-8000-000000000001" id="c1"
       nodeRepresentation="11488-4"/>
   <rim:ExternalIdentifier id="e1"
       identificationScheme="urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
       registryObject="urn:uuid:0b3e9ac1-0000-4000-8000-000000000001" value="1.2.250.1.999.7.1"/>
  </rim:ExtrinsicObject>
  <rim:RegistryPackage id="SS">
   <rim:Slot name="submissionTime"><rim:ValueList>
     <rim:Value>20261129070000</rim:Value></rim:ValueList></rim:Slot>
   <rim:ExternalIdentifier id="e2"
       identificationScheme="urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
       registryObject="SS" value="1.2.250.1.999.7"/>
   <rim:ExternalIdentifier id="e3"
       identificationScheme="urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
       registryObject="SS" value="1.2.250.1.999"/>
  </rim:RegistryPackage>
  <rim:Classification id="c2" classifiedObject="SS"
      classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>
 </rim:RegistryObjectList>
</SubmitObjectsRequest>
"""


def _zip(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _ans_archive(metadata: bytes = ANS_METADATA, **extra: bytes) -> bytes:
    members = [
        ("README.TXT", b"Archive IHE XDM\r\n"),
        ("INDEX.HTM", b"<html><body>index</body></html>"),
        ("IHE_XDM/", b""),
        ("IHE_XDM/SUBSET01/", b""),
        (METADATA_PATH, metadata),
        ("IHE_XDM/SUBSET01/DOC0001.XML", CDA_DOCUMENT),
        *extra.items(),
    ]
    return _zip(members)


def test_ans_layout_read() -> None:
    submission = read_xdm(_ans_archive())
    [document] = submission.documents
    assert document.content == CDA_DOCUMENT
    assert document.type_code == "11488-4"
    assert document.unique_id == "1.2.250.1.999.7.1"
    assert document.title == "Compte rendu"
    assert submission.unique_id == "1.2.250.1.999.7"
    assert submission.submission_time == datetime(2026, 11, 29, 7, 0, tzinfo=UTC)
    assert cda_code(document.content) == "11488-4"


def test_cda_code() -> None:
    assert cda_code(CDA_DOCUMENT) == "11488-4"
    assert cda_code(b'<ClinicalDocument xmlns="urn:hl7-org:v3"><id/></ClinicalDocument>') is None
    with pytest.raises(XDMError, match="not a CDA"):
        cda_code(b"<html/>")
    with pytest.raises(XDMError, match="document type"):
        cda_code(b'<!DOCTYPE x [<!ENTITY a "b">]><ClinicalDocument xmlns="urn:hl7-org:v3"/>')


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../evil.txt", "unsafe path"),
        ("/etc/passwd", "unsafe path"),
        ("IHE_XDM/SUBSET01/../../x", "unsafe path"),
        ("IHE_XDM\\SUBSET01\\x", "unsafe path"),
        ("C:/x", "unsafe path"),
    ],
)
def test_path_traversal_refused(name: str, reason: str) -> None:
    archive = _ans_archive()
    buffer = io.BytesIO(archive)
    with zipfile.ZipFile(buffer, "a") as handle:
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # zipfile would normalise a name given to the constructor
        handle.writestr(info, b"x")
    with pytest.raises(XDMError, match=reason):
        read_xdm(buffer.getvalue())


def test_uri_outside_subset_refused() -> None:
    metadata = ANS_METADATA.replace(b">DOC0001.XML<", b">../../README.TXT<")
    with pytest.raises(XDMError, match="unsafe path"):
        read_xdm(_ans_archive(metadata))
    metadata = ANS_METADATA.replace(b">DOC0001.XML<", b">MISSING.XML<")
    with pytest.raises(XDMError, match="missing from the archive"):
        read_xdm(_ans_archive(metadata))


def test_zip_bomb_refused() -> None:
    document = ("IHE_XDM/SUBSET01/DOC0001.XML", b"\0" * 40_000_000)
    bomb = _zip([(METADATA_PATH, ANS_METADATA), document])
    assert len(bomb) < 100_000
    with pytest.raises(XDMError, match=r"compression ratio|size limit"):
        read_xdm(bomb)


def test_too_many_members_refused() -> None:
    archive = _zip([(f"f{i}.txt", b"") for i in range(300)])
    with pytest.raises(XDMError, match="more than"):
        read_xdm(archive)


def test_entities_refused() -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    with pytest.raises(XDMError, match="document type or entities"):
        read_xdm(_ans_archive(laughs))


@pytest.mark.parametrize(
    ("metadata", "reason"),
    [
        (b"<not xml", "not well-formed"),
        (ANS_METADATA.replace(b"RegistryPackage", b"Other"), "no submission set"),
        (ANS_METADATA.replace(b'name="URI"', b'name="X"'), "no URI slot"),
    ],
)
def test_bad_metadata_refused(metadata: bytes, reason: str) -> None:
    with pytest.raises(XDMError, match=reason):
        read_xdm(_ans_archive(metadata))


def test_hash_and_size_checked() -> None:
    archive = make_xdm(_submission())
    members = zipfile.ZipFile(io.BytesIO(archive))
    rebuilt = [
        (i.filename, members.read(i) if "DOC0001" not in i.filename else CDA_DOCUMENT + b" ")
        for i in members.infolist()
    ]
    with pytest.raises(XDMError, match="size does not match"):
        read_xdm(_zip(rebuilt))


def test_not_a_zip_and_missing_metadata() -> None:
    with pytest.raises(XDMError, match="not a readable zip"):
        read_xdm(b"PK\x03\x04garbage")
    with pytest.raises(XDMError, match=r"no IHE_XDM/SUBSET01/METADATA\.XML"):
        read_xdm(_zip([("README.TXT", b"x")]))


def test_maker_refuses_bad_names_and_sets() -> None:
    with pytest.raises(XDMError):
        XDMDocument("../x.xml", b"")
    with pytest.raises(XDMError):
        make_xdm(_submission(documents=()))
    with pytest.raises(XDMError, match="same name"):
        make_xdm(_submission(documents=(XDMDocument("A.XML", b"1"), XDMDocument("a.xml", b"2"))))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.integers(min_value=0, max_value=4096))
def test_fuzz_only_xdm_errors(noise: bytes, position: int) -> None:
    """Mutated archives: the reader answers or raises ``XDMError``, nothing else."""
    archive = bytearray(make_xdm(_submission()))
    position %= len(archive)
    archive[position : position + len(noise)] = noise
    try:
        read_xdm(bytes(archive))
    except XDMError as exc:
        assert isinstance(exc, FormatError)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", min_size=1, max_size=20),
            st.binary(max_size=200),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda t: t[0].upper(),
    ),
    st.text(max_size=40),
)
def test_round_trip_property(documents: list[tuple[str, bytes]], title: str) -> None:
    items = []
    for name, content in documents:
        try:
            items.append(XDMDocument(name, content, title=title))
        except XDMError:
            return  # not a plain file name: the maker refuses it, which is the property
    submission = _submission(documents=tuple(items))
    back = read_xdm(make_xdm(submission))
    assert [(d.name, d.content, d.title) for d in back.documents] == [
        (d.name, d.content, d.title) for d in items
    ]


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=1024))
def test_fuzz_metadata_xml(metadata: bytes) -> None:
    with contextlib.suppress(XDMError):
        read_xdm(_ans_archive(metadata))
