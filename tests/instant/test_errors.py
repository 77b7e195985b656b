"""The typed error tree: one root under CaduceeError, one stable code per kind."""

from __future__ import annotations

from caducee.errors import CaduceeError
from caducee.instant import errors


def test_every_instant_error_is_a_caducee_error_with_its_own_code() -> None:
    kinds = [
        v
        for v in vars(errors).values()
        if isinstance(v, type) and issubclass(v, errors.InstantCryptoError)
    ]
    assert len(kinds) == 10
    assert all(issubclass(k, CaduceeError) for k in kinds)
    codes = [k.code for k in kinds]
    assert len(set(codes)) == len(codes)
    assert all(c.startswith("instant-") for c in codes)


def test_an_error_carries_its_reason_and_code() -> None:
    error = errors.ReplayedMessage("message counter 3 was already received")
    assert error.code == "instant-replayed"
    assert error.reason == "message counter 3 was already received"
