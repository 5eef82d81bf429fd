"""Prepared statements: the store's hot statements, compiled once per database and run on the
driver's own cursor inside the caller's SQLAlchemy transaction.

Every call writes the same few statements three times (created, accepted, ended). Executed
through SQLAlchemy, each costs several times what the driver and the database take for it: the
compiled form is looked up, the parameters are processed through generic machinery, a result
object is set up. Here each statement is compiled once for the dialect and the columns given,
with the columns' own bind processors (the same conversions SQLAlchemy applies: `UtcDateTime`,
JSON, ...), so the rows stored are the same. The transaction and the connection pool stay
SQLAlchemy's, and a driver's error is raised as SQLAlchemy's own (an `IntegrityError`, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Executable

from callbridge.domain.errors import StorageError

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class Prepared:
    """One statement's SQL for one dialect and how to turn a row into its parameters."""

    sql: str
    names: tuple[str, ...]  # the parameters, in the order the SQL takes them when positional
    positional: bool
    processors: tuple[Processor | None, ...]  # one per name

    @classmethod
    def compile(
        cls, statement: Executable, dialect: Dialect, columns: Sequence[str] | None
    ) -> Prepared:
        """`statement` for `dialect`; an INSERT takes exactly `columns` (None: not an INSERT)."""
        options: dict[str, Any] = {"dialect": dialect}
        if columns is not None:
            options["column_keys"] = list(columns)
        compiled = statement.compile(**options)  # type: ignore[attr-defined]
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup if positional else compiled.binds)
        processors = tuple(
            compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        )
        return cls(compiled.string, names, positional, processors)

    def parameters(self, row: Mapping[str, Any]) -> Any:
        """The driver's parameters for `row`: a list (positional) or a dict (named)."""
        try:
            values = [
                row[name] if process is None else process(row[name])
                for name, process in zip(self.names, self.processors, strict=True)
            ]
        except KeyError as exc:
            raise StorageError(
                f"a row to write has no value for the column {exc.args[0]!r}", column=exc.args[0]
            ) from None
        return values if self.positional else dict(zip(self.names, values, strict=True))

    def execute_many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row, in one driver call."""
        if not rows:
            return
        parameters = [self.parameters(row) for row in rows]
        with self._cursor(conn) as cursor:
            cursor.executemany(self.sql, parameters)

    def returning_first(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Run the statement for each row in order; the first column RETURNING gave for each.

        psycopg sends them all at once (a pipeline) and keeps each one's result; sqlite3 cannot
        return rows from an executemany, and its executes cost no round trip, so one by one.
        """
        if not rows:
            return []
        parameters = [self.parameters(row) for row in rows]
        values = []
        with self._cursor(conn) as cursor:
            if conn.dialect.name == "postgresql":
                cursor.executemany(self.sql, parameters, returning=True)
                values.append(_first(cursor.fetchone()))
                while cursor.nextset():
                    values.append(_first(cursor.fetchone()))
                return values
            for one in parameters:
                cursor.execute(self.sql, one)
                values.append(_first(cursor.fetchone()))
            return values

    @contextmanager
    def _cursor(self, conn: Connection) -> Iterator[Any]:
        """A cursor of the driver's on `conn`; its errors raised as SQLAlchemy's."""
        dbapi_error = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.cursor()
        try:
            yield cursor
        except dbapi_error as exc:
            raise DBAPIError.instance(self.sql, None, exc, dbapi_error) from exc
        finally:
            cursor.close()


def _first(row: Sequence[Any] | None) -> Any:
    if row is None:  # pragma: no cover - an INSERT ... RETURNING returns its row
        raise StorageError("an insert returned no row")
    return row[0]


_prepared: dict[tuple[Executable, str, tuple[str, ...] | None], Prepared] = {}


def prepared(
    conn: Connection, statement: Executable, columns: Sequence[str] | None = None
) -> Prepared:
    """`statement` prepared for `conn`'s database, compiled on first use.

    Memoised, not state: statements are module constants (or memoised themselves, like
    `rows.upsert_statement`), each compiled once per dialect and column list.
    """
    key = (statement, conn.dialect.name, None if columns is None else tuple(columns))
    found = _prepared.get(key)
    if found is None:
        found = _prepared[key] = Prepared.compile(statement, conn.dialect, columns)
    return found
