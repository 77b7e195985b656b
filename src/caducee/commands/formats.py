"""``caducee formats``: read and check HPRIM files from the command line.

``parse FILE`` prints the documents as JSON; ``validate FILE`` lists every problem with its
line and field and exits 1 when the file is invalid (0 when valid); ``convert FILE --to
hprim|hl7|fhir`` converts a result (HPRIM, HPRIM Santé, HL7 v2, FHIR). Messages are French
first, then English; problems never quote patient content, only positions.
"""

import dataclasses
import json
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from caducee.formats.convert import convert as convert_bytes
from caducee.formats.errors import FormatError
from caducee.formats.hprim import parse_hprim, validate_hprim
from caducee.formats.hprim_sante import parse_hprim_sante, validate_hprim_sante
from caducee.formats.problems import Problem, Severity
from caducee.formats.sniff import FileKind, sniff

__all__ = ["app"]

app = typer.Typer(
    help="Formats de santé (HPRIM médecin, HPRIM Santé). / Health formats (HPRIM).",
    no_args_is_help=True,
)


class Kind(StrEnum):
    AUTO = "auto"
    HPRIM = "hprim"
    HPRIM_SANTE = "hprim-sante"


FileArg = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, readable=True, help="Fichier / file"),
]
KindOpt = Annotated[
    Kind, typer.Option("--format", "-f", help="Format (auto: d'après le contenu / by content)")
]


def _kind(data: bytes, kind: Kind) -> Kind:
    if kind is not Kind.AUTO:
        return kind
    found = sniff(data)
    if found is FileKind.HPRIM_SANTE:
        return Kind.HPRIM_SANTE
    if found is FileKind.HPRIM:
        return Kind.HPRIM
    typer.echo(
        f"Format non reconnu ({found.value}) : précisez --format. / "
        f"Unrecognised format ({found.value}): use --format.",
        err=True,
    )
    raise typer.Exit(1)


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "results") and hasattr(value, "lab"):
            out["lab"] = [
                {"kind": "RES" if hasattr(item, "code") else "TEX", **_jsonable(item)}
                for item in value.lab
            ]
        return out
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


def _where(line: int | None, field: str | None) -> str:
    parts = []
    if line is not None:
        parts.append(f"ligne/line {line}")
    if field is not None:
        parts.append(f"champ/field {field}")
    return ", ".join(parts) or "-"


@app.command()
def parse(file: FileArg, kind: KindOpt = Kind.AUTO) -> None:
    """Lire un fichier et l'afficher en JSON. / Parse a file and print it as JSON."""
    data = file.read_bytes()
    chosen = _kind(data, kind)
    try:
        if chosen is Kind.HPRIM:
            payload: Any = {"format": "hprim", "documents": _jsonable(parse_hprim(data))}
        else:
            message = parse_hprim_sante(data)
            payload = {
                "format": "hprim-sante",
                "message_type": message.message_type,
                "version": message.version,
                "sender": list(message.sender),
                "receiver": list(message.receiver),
                "timestamp": message.timestamp,
                "patients": _jsonable(message.patients),
            }
    except FormatError as exc:
        typer.echo(
            f"Fichier illisible / unreadable file [{exc.code}] ({_where(exc.line, exc.field)}): "
            f"{exc.reason}",
            err=True,
        )
        raise typer.Exit(1) from None
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


@app.command()
def validate(
    file: FileArg,
    kind: KindOpt = Kind.AUTO,
    strict: Annotated[
        bool, typer.Option(help="Les avertissements invalident aussi. / Warnings fail too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Sortie JSON / JSON output")] = False,
) -> None:
    """Vérifier un fichier ; code 1 s'il est invalide. / Check a file; exit 1 if invalid."""
    data = file.read_bytes()
    chosen = _kind(data, kind)
    problems: list[Problem] = (
        validate_hprim(data) if chosen is Kind.HPRIM else validate_hprim_sante(data)
    )
    failing = [p for p in problems if strict or p.severity is Severity.ERROR]
    if as_json:
        typer.echo(
            json.dumps(
                {"valid": not failing, "problems": [p.to_dict() for p in problems]},
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for p in problems:
            label = "ERREUR/ERROR" if p.severity is Severity.ERROR else "avert./warning"
            typer.echo(f"{label} [{p.code}] {_where(p.line, p.field)}: {p.message}")
        if failing:
            typer.echo(f"Invalide / invalid: {len(failing)} problème(s)/problem(s).")
        else:
            typer.echo("Valide / valid.")
    if failing:
        raise typer.Exit(1)


class Target(StrEnum):
    HPRIM = "hprim"
    HL7 = "hl7"
    FHIR = "fhir"


@app.command()
def convert(
    file: FileArg,
    to: Annotated[Target, typer.Option("--to", help="Format cible / target format")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Fichier à créer (jamais écrasé) / file to create"),
    ] = None,
) -> None:
    """Convertir un résultat. / Convert a result (HPRIM, HL7 v2, FHIR)."""
    data = file.read_bytes()
    try:
        out = convert_bytes(data, to.value)
    except FormatError as exc:
        typer.echo(
            f"Conversion impossible / cannot convert [{exc.code}] "
            f"({_where(exc.line, exc.field)}): {exc.reason}",
            err=True,
        )
        raise typer.Exit(1) from None
    if output is None:
        typer.echo(out, nl=False)
        return
    try:
        with output.open("xb") as fh:
            fh.write(out)
    except FileExistsError:
        typer.echo("Le fichier existe déjà / file already exists", err=True)
        raise typer.Exit(1) from None
