"""The committed MISS vectors are what the Python core produces today.

``tests/vectors/instant/make_vectors.py`` regenerates them; any difference from the files in
git (a change of derivation, of wire format, of signature) fails here, before the browser
tests would disagree with Python for a reason nobody wrote down.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.instant.miss import vector_generator

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "instant"


def _generator() -> ModuleType:
    return vector_generator(VECTORS, "miss_make_vectors")


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return _generator()


def test_regenerated_vectors_equal_the_committed_files(generator: ModuleType) -> None:
    committed = generator.committed()
    fresh = generator.build(committed)
    assert sorted(fresh) == sorted(committed)
    for name, vector in fresh.items():
        assert generator.render(vector) == (VECTORS / name).read_text(), name


def test_a_drifted_file_is_reported(generator: ModuleType) -> None:
    committed = generator.committed()
    altered = json.loads(json.dumps(committed))
    altered["hpke.json"]["xwing_open"]["sealed"] = "00" * 1200  # no longer opens: resealed
    fresh = generator.build(altered)
    assert fresh["hpke.json"]["xwing_open"]["sealed"] != "00" * 1200
    assert generator.render(fresh["hpke.json"]) != (VECTORS / "hpke.json").read_text()
    assert generator.render(fresh["ratchet.json"]) == (VECTORS / "ratchet.json").read_text()


def test_the_hybrid_seal_kept_still_opens_with_the_core(generator: ModuleType) -> None:
    vector = generator.committed()["hpke.json"]["xwing_open"]
    opened = generator.BOB.open(bytes.fromhex(vector["sealed"]), bytes.fromhex(vector["info"]))
    assert opened.hex() == vector["plaintext"]
