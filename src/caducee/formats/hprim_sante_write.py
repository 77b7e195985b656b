"""Write HPRIM Santé messages: records to lines, and ORU messages from typed values.

Records longer than ``MAX_LINE`` are cut into ``A|`` continuation lines, which the parser
joins back. ``build_oru`` escapes every value, so any text reads back unchanged.
"""

from collections.abc import Sequence
from datetime import date

from caducee.formats.errors import MissingField, UnexpectedContent
from caducee.formats.hprim_sante_message import HPRIMSanteMessage
from caducee.formats.hprim_sante_model import (
    HPRIMSanteDelimiters,
    HPRIMSanteObservation,
    HPRIMSanteOrder,
    HPRIMSantePatient,
    HPRIMSanteRecord,
    escape,
)
from caducee.formats.hprim_sante_parse import MAX_LINE

__all__ = ["build_oru", "to_hprim_sante"]


def _physical(text: str, sep: str, max_line: int) -> list[str]:
    """Cut one record's text into a first line and ``A|`` continuations."""
    if len(text) <= max_line:
        return [text]
    out = [text[:max_line]]
    rest = text[max_line:]
    step = max_line - 2
    while rest:
        out.append("A" + sep + rest[:step])
        rest = rest[step:]
    return out


def to_hprim_sante(
    message: HPRIMSanteMessage, *, newline: str = "\r\n", max_line: int = MAX_LINE
) -> str:
    """The message as text; ``UnexpectedContent`` if a raw field holds a line break."""
    d = message.delimiters
    if not message.records or message.records[0].type != "H":
        raise MissingField("Enregistrement H absent / no H record", field="H")
    lines: list[str] = []
    for r in message.records:
        fields = list(r.fields)
        if r.type == "H":
            fields[0] = d.encoding.rstrip() if fields else d.encoding
        for index, value in enumerate(fields, start=1):
            if "\n" in value or "\r" in value or (d.field in value):
                raise UnexpectedContent("Champ invalide / invalid field", field=f"{r.type}.{index}")
        text = d.field.join([r.type, *fields])
        lines.extend(_physical(text, d.field, max(max_line, 10)))
    return newline.join(lines) + newline


class _Fields:
    """Builds one record's raw fields by index, escaping values."""

    def __init__(self, d: HPRIMSanteDelimiters) -> None:
        self.d = d
        self.values: dict[int, str] = {}

    def set(self, index: int, *components: str) -> "_Fields":
        self.values[index] = self.d.component.join(escape(c, self.d) for c in components)
        return self

    def set_raw(self, index: int, raw: str) -> "_Fields":
        self.values[index] = raw
        return self

    def record(self, kind: str) -> HPRIMSanteRecord:
        size = max(self.values, default=0)
        fields = tuple(self.values.get(i, "") for i in range(1, size + 1))
        while len(fields) > 1 and fields[-1] == "":
            fields = fields[:-1]
        return HPRIMSanteRecord(kind, fields)


def _trim(*components: str) -> tuple[str, ...]:
    comps = list(components)
    while len(comps) > 1 and not comps[-1]:
        comps.pop()
    return tuple(comps)


def _ymd(value: date | None) -> str:
    return "" if value is None else f"{value.year:04d}{value.month:02d}{value.day:02d}"


def _observation(
    seq: int, obs: HPRIMSanteObservation, d: HPRIMSanteDelimiters
) -> list[HPRIMSanteRecord]:
    if not obs.code.strip():
        raise MissingField("Code d'analyse absent / no test code", field="OBX.3")
    f = _Fields(d).set(1, str(seq)).set(2, obs.value_type).set(3, obs.code, obs.label, "L")
    f.set(5, *_trim(obs.value, *obs.value_extra)).set(6, obs.unit).set(7, obs.reference_range)
    f.set(8, obs.flag).set(11, obs.status).set_raw(14, obs.timestamp)
    records = [f.record("OBX")]
    records += [_comment(i, c, d) for i, c in enumerate(obs.comments, start=1)]
    return records


def _comment(seq: int, text: str, d: HPRIMSanteDelimiters) -> HPRIMSanteRecord:
    return _Fields(d).set(1, str(seq)).set(2, "L").set(3, text).record("C")


def _order(seq: int, order: HPRIMSanteOrder, d: HPRIMSanteDelimiters) -> list[HPRIMSanteRecord]:
    tests = d.repetition.join(
        d.component.join((escape(code, d), escape(label, d), "L")) for code, label in order.tests
    )
    f = _Fields(d).set(1, str(seq)).set(2, order.sample_id).set_raw(4, tests)
    records = [f.set(7, order.collected).record("OBR")]
    records += [_comment(i, c, d) for i, c in enumerate(order.comments, start=1)]
    for i, obs in enumerate(order.observations, start=1):
        records += _observation(i, obs, d)
    return records


def build_oru(
    patients: Sequence[HPRIMSantePatient],
    *,
    sender: tuple[str, ...],
    receiver: tuple[str, ...],
    timestamp: str,
    message_id: str = "",
    version: str = "H2.2",
    delimiters: HPRIMSanteDelimiters | None = None,
) -> HPRIMSanteMessage:
    """An ORU message (results) for ``patients``; ``timestamp`` is ``AAAAMMJJHHMM``."""
    d = delimiters or HPRIMSanteDelimiters()
    h = _Fields(d).set_raw(1, d.encoding).set(2, message_id).set(4, *sender).set(6, "ORU")
    h.set(9, *receiver).set(11, "P").set(12, version, "C").set_raw(13, timestamp)
    records = [h.record("H")]
    for i, p in enumerate(patients, start=1):
        if not p.last_name.strip():
            raise MissingField("Nom absent / no name", field="P.5")
        f = _Fields(d).set(1, str(i)).set(2, p.patient_id).set(3, p.receiver_patient_id)
        f.set(5, *_trim(p.last_name, p.first_name)).set(6, p.maiden_name)
        records.append(f.set_raw(7, _ymd(p.birth_date)).set(8, p.sex).record("P"))
        records += [_comment(k, c, d) for k, c in enumerate(p.comments, start=1)]
        for k, order in enumerate(p.orders, start=1):
            records += _order(k, order, d)
    records.append(
        _Fields(d).set(1, "1").set(3, str(len(patients))).set(4, str(len(records) + 1)).record("L")
    )
    return HPRIMSanteMessage(d, tuple(records))
