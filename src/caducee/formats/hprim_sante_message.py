"""An HPRIM Santé message and its typed views (patients → orders → observations).

Grouping follows the record order: a ``P`` owns the ``OBR`` after it, an ``OBR`` the ``OBX``
after it, and a ``C`` comments the record before it (observation, order or patient).
"""

import re
from dataclasses import dataclass, field
from datetime import date

from caducee.formats.hprim_sante_model import (
    HPRIMSanteDelimiters,
    HPRIMSanteObservation,
    HPRIMSanteOrder,
    HPRIMSantePatient,
    HPRIMSanteRecord,
)

__all__ = ["HPRIMSanteMessage", "read_timestamp"]

_TS_RE = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})(?:([0-9]{2})([0-9]{2})([0-9]{2})?)?$")


def read_timestamp(value: str) -> date | None:
    """``AAAAMMJJ[HHMM[SS]]`` → its date; ``None`` if empty; ``ValueError`` if wrong."""
    if not value:
        return None
    match = _TS_RE.match(value)
    if match is None:
        raise ValueError("not a timestamp")
    if match[4] is not None and (int(match[4]) > 23 or int(match[5]) > 59):
        raise ValueError("not a time")
    if match[6] is not None and int(match[6]) > 59:
        raise ValueError("not a time")
    return date(int(match[1]), int(match[2]), int(match[3]))


@dataclass(frozen=True)
class HPRIMSanteMessage:
    """A message: its delimiters and records (``H`` first, ``L`` last); typed views below."""

    delimiters: HPRIMSanteDelimiters
    records: tuple[HPRIMSanteRecord, ...]

    @property
    def header(self) -> HPRIMSanteRecord:
        return self.records[0]

    @property
    def message_id(self) -> str:
        return self.header.component(2, self.delimiters)

    @property
    def sender(self) -> tuple[str, ...]:
        return self.header.components(4, self.delimiters)

    @property
    def message_type(self) -> str:
        return self.header.component(6, self.delimiters)

    @property
    def receiver(self) -> tuple[str, ...]:
        return self.header.components(9, self.delimiters)

    @property
    def processing_id(self) -> str:
        return self.header.component(11, self.delimiters)

    @property
    def version(self) -> str:
        return self.header.component(12, self.delimiters)

    @property
    def timestamp(self) -> str:
        return self.header.raw(13)

    @property
    def patients(self) -> tuple[HPRIMSantePatient, ...]:
        return _group(self)


@dataclass
class _Obs:
    obs: HPRIMSanteObservation
    comments: list[str] = field(default_factory=list)


@dataclass
class _Order:
    record: HPRIMSanteRecord
    observations: list[_Obs] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


@dataclass
class _Patient:
    record: HPRIMSanteRecord
    orders: list[_Order] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)


def _observation(r: HPRIMSanteRecord, d: HPRIMSanteDelimiters) -> HPRIMSanteObservation:
    value = r.components(5, d)
    return HPRIMSanteObservation(
        code=r.component(3, d, 1),
        label=r.component(3, d, 2),
        value_type=r.component(2, d),
        value=value[0],
        unit=r.component(6, d),
        reference_range=r.component(7, d),
        flag=r.component(8, d),
        status=r.component(11, d),
        timestamp=r.raw(14),
        value_extra=value[1:],
    )


def _order(o: _Order, d: HPRIMSanteDelimiters) -> HPRIMSanteOrder:
    r = o.record
    tests = tuple((rep[0], rep[1] if len(rep) > 1 else "") for rep in r.repetitions(4, d))
    if tests == (("", ""),):
        tests = ()
    return HPRIMSanteOrder(
        sample_id=r.component(2, d),
        tests=tests,
        collected=r.component(7, d),
        observations=tuple(
            HPRIMSanteObservation(**{**vars(x.obs), "comments": tuple(x.comments)})
            for x in o.observations
        ),
        comments=tuple(o.comments),
    )


def _patient(p: _Patient, d: HPRIMSanteDelimiters) -> HPRIMSantePatient:
    r = p.record
    try:
        birth = read_timestamp(r.raw(7))
    except ValueError:
        birth = None
    return HPRIMSantePatient(
        patient_id=r.component(2, d),
        receiver_patient_id=r.component(3, d),
        last_name=r.component(5, d, 1),
        first_name=r.component(5, d, 2),
        maiden_name=r.component(6, d),
        birth_date=birth,
        sex=r.component(8, d),
        orders=tuple(_order(o, d) for o in p.orders),
        comments=tuple(p.comments),
    )


def _group(message: HPRIMSanteMessage) -> tuple[HPRIMSantePatient, ...]:
    d = message.delimiters
    patients: list[_Patient] = []
    for r in message.records:
        if r.type == "P":
            patients.append(_Patient(r))
        elif not patients:
            continue
        elif r.type == "OBR":
            patients[-1].orders.append(_Order(r))
        elif r.type == "OBX" and patients[-1].orders:
            patients[-1].orders[-1].observations.append(_Obs(_observation(r, d)))
        elif r.type == "C":
            text = r.component(3, d)
            orders = patients[-1].orders
            if orders and orders[-1].observations:
                orders[-1].observations[-1].comments.append(text)
            elif orders:
                orders[-1].comments.append(text)
            else:
                patients[-1].comments.append(text)
    return tuple(_patient(p, d) for p in patients)
