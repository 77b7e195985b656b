"""The MSSanté subject convention for structured documents (Ségur, ANS integration guide).

``XDM/1.0/DDM+<libellé> <NOM> <prénom> <date de naissance JJ/MM/AAAA>``; user interfaces
hide the ``XDM/1.0/DDM+`` prefix (SC.MSS/UX.28); an integration error answer prepends
``[KO Intégration système !][<code>] ``. The subject is clear text on the MSSanté edge only
(DESIGN §1); inside Caducée the outer subject stays neutral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from caducee.gateway.errors import HeaderError

__all__ = ["XDM_PREFIX", "MSSSubject", "display_subject", "make_subject", "parse_subject"]

XDM_PREFIX = "XDM/1.0/DDM+"
KO = re.compile(r"^\[KO Int[ée]gration syst[èe]me !\]\[(\d{1,4})\]\s*")
_TAIL = re.compile(r"^(?P<rest>.*\S)\s+(?P<day>\d{2})/(?P<month>\d{2})/(?P<year>\d{4})$")


@dataclass(frozen=True)
class MSSSubject:
    """The parts of a convention subject; ``error_code`` for a ``[KO ...]`` answer."""

    label: str
    family_name: str
    given_name: str
    birth_date: date
    error_code: str | None = None


def _clean(value: str, what: str) -> str:
    text = " ".join(value.split())
    if not text or any(ord(c) < 32 for c in text):
        raise HeaderError(f"the subject's {what} is empty or not printable")
    return text


def make_subject(label: str, family_name: str, given_name: str, birth_date: date) -> str:
    """``XDM/1.0/DDM+<label> <NOM> <prénom> <JJ/MM/AAAA>`` (family name in capitals)."""
    family = _clean(family_name, "family name").upper()
    if " " in family:
        family = family.replace(" ", "-")  # one token, so the subject reads back
    given = _clean(given_name, "given name").replace(" ", "-")
    born = f"{birth_date.day:02d}/{birth_date.month:02d}/{birth_date.year:04d}"
    return f"{XDM_PREFIX}{_clean(label, 'label')} {family} {given} {born}"


def parse_subject(subject: str) -> MSSSubject | None:
    """The parts of a convention subject, or None when the subject does not follow it."""
    text = " ".join(subject.split())
    error = None
    ko = KO.match(text)
    if ko:
        error, text = ko.group(1), text[ko.end() :]
    if not text.startswith(XDM_PREFIX):
        return None
    tail = _TAIL.match(text[len(XDM_PREFIX) :])
    if tail is None:
        return None
    words = tail["rest"].split(" ")
    if len(words) < 3:
        return None
    try:
        born = date(int(tail["year"]), int(tail["month"]), int(tail["day"]))
    except ValueError:
        return None
    return MSSSubject(" ".join(words[:-2]), words[-2], words[-1], born, error)


def display_subject(subject: str) -> str:
    """The subject as a person should see it: without ``XDM/1.0/DDM+`` (SC.MSS/UX.28)."""
    text = " ".join(subject.split())
    ko = KO.match(text)
    head, rest = (text[: ko.end()], text[ko.end() :]) if ko else ("", text)
    return head + rest.removeprefix(XDM_PREFIX)
