"""Many rows in one go: ``COPY`` on PostgreSQL, executemany on SQLite.

The group commit writes a batch's relay messages, deliveries, evidence records and Merkle
nodes. On PostgreSQL an executemany is one statement per row (each one bound, dumped by
psycopg in Python, and executed on its own), and an ``unnest`` of arrays costs more still in
psycopg's array dumping. ``COPY ... FROM STDIN`` sends the rows as one stream that psycopg
formats in C and PostgreSQL loads without planning a statement: about a third of the
client's CPU per row, measured on this project's evidence rows. SQLite runs inside the
process, where an executemany costs no round trip: it keeps it.

``COPY`` needs psycopg's blocking connection (the group commit's worker thread has one);
on an async connection these functions fall back to executemany.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Connection,
    DateTime,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    insert,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeEngine

__all__ = ["insert_rows", "insert_rows_returning_ids"]

Model = type[DeclarativeBase] | Table
_BINARY_TYPES: list[tuple[type[TypeEngine[Any]], str]] = [
    (BigInteger, "int8"),  # before Integer, of which it is a kind
    (SmallInteger, "int2"),
    (Integer, "int4"),
    (Boolean, "bool"),
    (DateTime, "timestamp"),
    (LargeBinary, "bytea"),
    (postgresql.JSONB, ""),  # its binary form has a version byte: copied as text
    (JSON, "text"),
    (String, "text"),  # Text too
]


def insert_rows(connection: Connection, model: Model, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys), in the connection's transaction."""
    if not rows:
        return
    table = _table(model)
    rows = _with_defaults(table, rows)
    copier = _copier(connection)
    if copier is None:
        connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    encoders = [_encoder(table, name) for name in names]
    columns = ", ".join(connection.dialect.identifier_preparer.quote(n) for n in names)
    quoted = connection.dialect.identifier_preparer.format_table(table)
    wire = [_binary_type(table.c[name].type) for name in names]
    binary = all(wire)
    statement = f"COPY {quoted} ({columns}) FROM STDIN" + (" (FORMAT BINARY)" if binary else "")
    try:
        with copier.cursor() as cursor, cursor.copy(statement) as copy:
            if binary:
                copy.set_types(wire)
            for row in rows:
                copy.write_row([encode(row[n]) for n, encode in zip(names, encoders, strict=True)])
    except psycopg.Error as error:  # as SQLAlchemy would raise it (IntegrityError, ...)
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


def insert_rows_returning_ids(
    connection: Connection, model: Model, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert ``rows`` and return their new ``id`` primary keys, in the order of ``rows``.

    On PostgreSQL the ids are drawn from the column's sequence first (one round trip), then
    the rows are copied with them.
    """
    if not rows:
        return []
    table = _table(model)
    if _copier(connection) is None:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(connection.scalars(statement, _with_defaults(table, rows)))
    draw = text(
        "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
    )
    ids = [int(i) for i in connection.scalars(draw, {"table": table.name, "count": len(rows)})]
    insert_rows(connection, table, [{"id": i, **row} for i, row in zip(ids, rows, strict=True)])
    return ids


def _table(model: Model) -> Table:
    return model if isinstance(model, Table) else model.__table__  # type: ignore[return-value]


def _with_defaults(table: Table, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the columns' constant Python defaults filled in (``COPY`` knows only the
    database's own defaults). A column whose default is computed must be given."""
    given = set(rows[0])
    missing = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None:
            continue
        if not default.is_scalar:
            raise ValueError(f"{table.name}.{column.name}: give its value (computed default)")
        missing[column.name] = default.arg  # type: ignore[attr-defined]
    return [{**row, **missing} for row in rows]


def _copier(connection: Connection) -> psycopg.Connection[Any] | None:
    """psycopg's blocking connection under ``connection``, if that is what it is."""
    if connection.dialect.name != "postgresql":
        return None
    driver = connection.connection.driver_connection
    return driver if isinstance(driver, psycopg.Connection) else None


def _binary_type(column_type: TypeEngine[Any]) -> str:
    """The PostgreSQL type whose binary form a column takes in ``COPY``, or "" when unknown.

    Binary spares the hex spelling of every ``bytea`` (a relay message's ciphertext): about
    two fifths of the copy's time, measured. ``varchar`` and ``json`` take text's binary
    form (their wire format is their text).
    """
    for kind, name in _BINARY_TYPES:
        if isinstance(column_type, kind):
            if isinstance(column_type, DateTime):
                return "timestamptz" if column_type.timezone else "timestamp"
            return name
    return ""


def _encoder(table: Table, name: str) -> Any:
    """How a value goes into ``COPY``: a JSON column's value as its JSON text (as SQLAlchemy
    stores it, Python's ``None`` as JSON ``null``); anything else as psycopg adapts it."""
    if isinstance(table.c[name].type, JSON):
        return json.dumps
    return _unchanged


def _unchanged(value: Any) -> Any:
    return value
