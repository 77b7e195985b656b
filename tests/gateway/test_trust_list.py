"""The MSSanté white list: parsing (synthetic XML in the published layout), refresh, fuzz."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caducee.gateway import TrustList, TrustListError, TrustListRefresher, parse_trust_list
from caducee.gateway.errors import TrustListUnavailable
from caducee.gateway.trust_list import MSSANTE_NAMESPACE, fetch_source, normalise_domain
from tests.gateway.conftest import WHITE_LIST


def test_parse_synthetic_list() -> None:
    parsed = parse_trust_list(WHITE_LIST)
    assert parsed.domains == {"ch-exemple.mssante.fr", "labo-synthese.mssante.fr"}


def test_prefixed_namespace_nested_and_case() -> None:
    document = f"""<n:Liste xmlns:n="{MSSANTE_NAMESPACE}"><n:Operateurs><n:Operateur>
      <n:Domaine><n:Nom> CH-Autre.MSSante.fr. </n:Nom></n:Domaine>
    </n:Operateur></n:Operateurs></n:Liste>""".encode()
    assert parse_trust_list(document).domains == {"ch-autre.mssante.fr"}


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"<ListeBlanche",
        b"<ListeBlanche><Domaine><Nom>a.fr</Nom></Domaine></ListeBlanche>",  # no namespace
        f'<L xmlns="{MSSANTE_NAMESPACE}"><Nom>a.fr</Nom></L>'.encode(),  # Nom outside Domaine
        f'<L xmlns="{MSSANTE_NAMESPACE}"><Domaine><Nom>not a domain</Nom></Domaine></L>'.encode(),
        f'<L xmlns="{MSSANTE_NAMESPACE}"><Domaine><Nom>x</Nom></Domaine></L>'.encode(),
        b'<?xml version="1.0"?><!DOCTYPE L [<!ENTITY a "aaaa">]><L>&a;</L>',
        b'<!DOCTYPE L SYSTEM "file:///etc/passwd"><L/>',
        "<L>é</L>".encode("latin-1"),
        b'<?xml version="1.0" encoding="TF-8"?><L/>',  # found by the fuzzer: LookupError
    ],
)
def test_malformed_is_typed(document: bytes) -> None:
    with pytest.raises(TrustListError):
        parse_trust_list(document)


def test_bad_refresh_keeps_last_good_list() -> None:
    trust = TrustList(local=["caducee.test"])
    assert trust.replace(WHITE_LIST) == 2
    with pytest.raises(TrustListError):
        trust.replace(b"<broken")
    assert trust.allows("CH-EXEMPLE.mssante.fr") and trust.allows("caducee.test")
    assert trust.last_error is not None
    assert not trust.allows("unlisted.example") and not trust.allows("")
    assert not trust.allows("sub.ch-exemple.mssante.fr")  # exact domains only


async def test_refresher_from_file(tmp_path: Path) -> None:
    path = tmp_path / "listeblanchemssante.xml"
    path.write_bytes(WHITE_LIST)
    trust = TrustList()
    refresher = TrustListRefresher(trust, str(path), interval=3600)
    assert await refresher.refresh() is True
    path.write_bytes(b"<truncated")
    assert await refresher.refresh() is False
    path.unlink()
    assert await refresher.refresh() is False  # source gone: unavailable, list kept
    assert trust.allows("labo-synthese.mssante.fr")
    refresher.start()
    await refresher.stop()
    path.write_bytes(WHITE_LIST)
    assert (
        await TrustListRefresher(trust, path.as_uri(), interval=1).refresh() is True
    )  # a file:// URL


def test_fetch_source_unavailable(tmp_path: Path) -> None:
    with pytest.raises(TrustListUnavailable):
        fetch_source(str(tmp_path / "missing.xml"))
    with pytest.raises(TrustListUnavailable):
        fetch_source("http://127.0.0.1:9/listeblanche.xml", timeout=2)


def test_normalise_domain() -> None:
    assert normalise_domain(" Example.ORG. ") == "example.org"
    for bad in ("", "localhost", "-a.fr", "a..fr", "a_b.fr", "é.fr", "a." * 200 + "fr"):
        with pytest.raises(TrustListError):
            normalise_domain(bad)


_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=2000))
def test_fuzz_bytes_only_our_error(data: bytes) -> None:
    with contextlib.suppress(TrustListError):
        parse_trust_list(data)


@_FUZZ
@given(st.data())
def test_fuzz_mutated_list_only_our_error(data: st.DataObject) -> None:
    document = bytearray(WHITE_LIST)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(document) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            document[position] = data.draw(st.integers(0, 255))
        elif action == "delete":
            del document[position]
        else:
            document.insert(position, data.draw(st.sampled_from(b"<>&;/\"'=!?[] \x00\xff")))
    try:
        parsed = parse_trust_list(bytes(document))
    except TrustListError:
        return
    for domain in parsed.domains:
        assert normalise_domain(domain) == domain


@_FUZZ
@given(
    st.lists(st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){1,3}", fullmatch=True), min_size=1)
)
def test_generated_lists_round_trip(domains: list[str]) -> None:
    body = "".join(f"<Domaine><Nom>{d}</Nom></Domaine>" for d in domains)
    document = f'<ListeBlanche xmlns="{MSSANTE_NAMESPACE}">{body}</ListeBlanche>'.encode()
    assert parse_trust_list(document).domains == set(domains)
