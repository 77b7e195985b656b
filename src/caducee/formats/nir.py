"""The NIR (French social-security number) and the INS identity traits.

NIR: 13 characters (sex, year, month, department or 2A/2B, commune, order) and a 2-digit key
``97 - (n mod 97)``, where Corsica's 2A counts as 19 and 2B as 18. INS traits follow the
RNIV rules: upper-case unaccented letters, space, hyphen and apostrophe in names.
"""

import re
from dataclasses import dataclass
from datetime import date

from caducee.formats.errors import InvalidIdentity, InvalidNIR

__all__ = ["NIR", "INSIdentity", "compute_nir_key", "parse_nir"]

_NIR_RE = re.compile(
    r"^([1-478])([0-9]{2})([0-9]{2})([0-9]{2}|2[AB])([0-9]{3})([0-9]{3})([0-9]{2})$"
)
_BODY_RE = re.compile(r"^[1-478][0-9]{4}([0-9]{2}|2[AB])[0-9]{6}$")
_NAME_RE = re.compile(r"^[A-Z]+(?:(?:[ '\-]|--)[A-Z]+)*$")
_PLACE_RE = re.compile(r"^([0-9]{5}|2[AB][0-9]{3})$")


def _numeric_body(body: str) -> int:
    """The 13 characters as an integer, 2A read as 19 and 2B as 18."""
    return int(body[:5] + body[5:7].replace("2A", "19").replace("2B", "18") + body[7:])


def compute_nir_key(body: str) -> str:
    """The 2-digit key of a 13-character NIR body; ``InvalidNIR`` if the body is malformed."""
    body = body.upper()
    if not _BODY_RE.match(body):
        raise InvalidNIR("NIR mal formé / malformed NIR", field="nir")
    return f"{97 - _numeric_body(body) % 97:02d}"


@dataclass(frozen=True)
class NIR:
    """A valid NIR: ``body`` (13 characters) and ``key`` (2 digits)."""

    body: str
    key: str

    @property
    def sex(self) -> str:
        """``M`` or ``F`` from the first digit (odd male, even female)."""
        return "M" if int(self.body[0]) % 2 else "F"

    @property
    def birth_year_2(self) -> int:
        return int(self.body[1:3])

    @property
    def birth_month(self) -> int | None:
        """1-12, or ``None`` when the number encodes an unknown month (20-42, 50-99)."""
        month = int(self.body[3:5])
        return month if 1 <= month <= 12 else None

    @property
    def department(self) -> str:
        return self.body[5:7]

    @property
    def provisional(self) -> bool:
        """NIA/temporary numbers start with 7 or 8."""
        return self.body[0] in "78"

    def __str__(self) -> str:
        return f"{self.body} {self.key}"


def parse_nir(text: str, *, line: int | None = None, field: str = "nir") -> NIR:
    """Read ``1234567890123 45`` (spaces, dots and dashes ignored) and check its key."""
    compact = re.sub(r"[\s.\-]", "", text).upper()
    match = _NIR_RE.match(compact)
    if match is None:
        raise InvalidNIR("NIR mal formé / malformed NIR", line=line, field=field)
    month = int(match.group(3))
    if month == 0 or 13 <= month <= 19 or 43 <= month <= 49:
        raise InvalidNIR("Mois du NIR invalide / NIR month invalid", line=line, field=field)
    if match.group(4) == "00":
        raise InvalidNIR(
            "Département du NIR invalide / NIR department invalid", line=line, field=field
        )
    body, key = compact[:13], compact[13:]
    if compute_nir_key(body) != key:
        raise InvalidNIR("Clé du NIR incorrecte / wrong NIR key", line=line, field=field)
    return NIR(body, key)


def _check_name(value: str, field: str) -> None:
    if not value or not _NAME_RE.match(value):
        raise InvalidIdentity(
            "Trait d'identité hors alphabet INS (A-Z, espace, tiret, apostrophe) / "
            "identity trait outside the INS alphabet",
            field=field,
        )


@dataclass(frozen=True)
class INSIdentity:
    """The INS identity traits; constructed only valid (``InvalidIdentity`` otherwise).

    ``first_names`` are the birth first names in order; ``birth_place`` the INSEE code of the
    commune (99xxx abroad). When ``nir`` is given, its sex, year and month must agree.
    """

    birth_name: str
    first_names: tuple[str, ...]
    sex: str
    birth_date: date
    birth_place: str
    nir: NIR | None = None

    def __post_init__(self) -> None:
        _check_name(self.birth_name, "birth_name")
        if not self.first_names:
            raise InvalidIdentity("Prénom manquant / first name missing", field="first_names")
        for first in self.first_names:
            _check_name(first, "first_names")
        if self.sex not in ("M", "F", "I"):
            raise InvalidIdentity("Sexe invalide (M, F, I) / invalid sex", field="sex")
        if not _PLACE_RE.match(self.birth_place):
            raise InvalidIdentity(
                "Code du lieu de naissance invalide / invalid birth place code",
                field="birth_place",
            )
        if self.nir is not None:
            self._check_nir(self.nir)

    def _check_nir(self, nir: NIR) -> None:
        if nir.provisional:
            return
        if self.sex in ("M", "F") and nir.sex != self.sex:
            raise InvalidIdentity("Sexe et NIR discordants / sex and NIR disagree", field="sex")
        if nir.birth_year_2 != self.birth_date.year % 100:
            raise InvalidIdentity(
                "Année de naissance et NIR discordantes / birth year and NIR disagree",
                field="birth_date",
            )
        if nir.birth_month is not None and nir.birth_month != self.birth_date.month:
            raise InvalidIdentity(
                "Mois de naissance et NIR discordants / birth month and NIR disagree",
                field="birth_date",
            )

    @property
    def first_name(self) -> str:
        """The first of the birth first names."""
        return self.first_names[0]
