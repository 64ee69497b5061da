"""Hot prebuilt statements run on SQLite's driver directly, compiled once for each shape.

SQLAlchemy Core spends well over 100 µs of Python on each execution of even a prebuilt statement
(cache-key lookup, execution context, result metadata), about ten times SQLite's own work for the
desk's small keyed reads and updates (measured here: 138-173 µs against 15-17 µs). The statements that
intake, the pipeline, timers and the outbox run thousands of times a simulated day are wrapped in
``Fast``: on SQLite the statement is compiled once for each shape (the lengths of its expanding ``IN``
lists), parameters and results are converted by the column types' own bind and result processors, and it
runs on the unit of work's driver connection, inside the same transaction (as ``storage/bulk.py`` does for
inserts). On any other backend it is an ordinary ``Connection.execute``.
``tests/contract/test_fast_statements.py`` runs every wrapped statement both ways and compares the results.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

Params = Mapping[str, Any]
_GIVEN, _LITERAL = -1, -2
Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Shape:
    """One compiled form: the SQL text and, for each ``?``, where its value comes from and how to convert it."""

    sql: str
    #: (parameter name, index into an expanding list or _GIVEN or _LITERAL, bind processor); a literal is a
    #: value written into the statement (``status == "pending"``): it is in ``literals``
    binds: tuple[tuple[str, int, Processor], ...]
    literals: Mapping[str, Any]


#: Every wrapped statement, so the contract test can run them all both ways.
REGISTRY: list[Fast] = []


class Fast:
    """A prebuilt statement with a fast path on SQLite."""

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self._lock = threading.Lock()
        self._compiled: SQLCompiler | None = None
        self._expanding: tuple[str, ...] = ()
        self._shapes: dict[tuple[int, ...], _Shape] = {}
        self._results: tuple[Processor, ...] = ()
        REGISTRY.append(self)

    # -- the calls the repositories make ---------------------------------------------------------------

    def rows(self, conn: Connection, params: Params | None = None) -> list[Mapping[str, Any]]:
        """Every row, as a mapping of column name to value."""
        params = params or {}
        if conn.dialect.name != "sqlite":
            return [dict(row) for row in conn.execute(self.statement, dict(params)).mappings()]
        cursor = self._cursor(conn, params)  # compiles first: the processors are known after it
        keys, convert = [column[0] for column in cursor.description], self._results
        found: list[Mapping[str, Any]] = []
        if len(set(keys)) != len(keys):  # a name twice: the last one wins, converted as its own column
            for raw in cursor.fetchall():
                pairs = zip(keys, raw, convert, strict=True)
                found.append({k: (v if p is None or v is None else p(v)) for k, v, p in pairs})
            return found
        # Only the columns with a processor are converted, each row built by ``dict(zip())``: a comprehension
        # over every column of every row cost more than SQLite reading them.
        converted = [(k, p) for k, p in zip(keys, convert, strict=True) if p is not None]
        for raw in cursor.fetchall():
            row = dict(zip(keys, raw, strict=True))
            for k, p in converted:
                if (v := row[k]) is not None:
                    row[k] = p(v)
            found.append(row)
        return found

    def first(self, conn: Connection, params: Params | None = None) -> Mapping[str, Any] | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def scalars(self, conn: Connection, params: Params | None = None) -> list[Any]:
        """The first column of every row."""
        params = params or {}
        if conn.dialect.name != "sqlite":
            return list(conn.execute(self.statement, dict(params)).scalars())
        raw = [row[0] for row in self._cursor(conn, params).fetchall()]
        convert = self._results[0] if self._results else None
        return raw if convert is None else [None if v is None else convert(v) for v in raw]

    def scalar(self, conn: Connection, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        found = self.scalars(conn, params)
        return found[0] if found else None

    def rowcount(self, conn: Connection, params: Params | None = None) -> int:
        """Run an UPDATE or DELETE; how many rows it changed."""
        params = params or {}
        if conn.dialect.name != "sqlite":
            return max(int(conn.execute(self.statement, dict(params)).rowcount), 0)
        cursor = self._cursor(conn, params)
        try:
            return max(int(cursor.rowcount), 0)
        finally:
            cursor.close()

    def many(self, conn: Connection, rows: Sequence[Params]) -> None:
        """Run an INSERT, UPDATE or DELETE once for each of ``rows`` (which name the same parameters, and no
        ``IN`` list), in one call: the driver's ``executemany`` on SQLite."""
        if not rows:
            return
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, [dict(row) for row in rows])
            return
        compiled = self._compiled or self._compile(conn)
        shape = self._shapes.get(()) or self._shape(compiled, rows[0], ())
        values = [_values(shape, row) for row in rows]
        _driver(conn).executemany(shape.sql, values)

    # -- SQLite ----------------------------------------------------------------------------------------

    def _cursor(self, conn: Connection, params: Params) -> Any:
        compiled = self._compiled or self._compile(conn)
        lengths = tuple(_rounded(len(params[name])) for name in self._expanding)
        if lengths:
            params = _padded(params, self._expanding, lengths)
        shape = self._shapes.get(lengths) or self._shape(compiled, params, lengths)
        return _driver(conn).execute(shape.sql, _values(shape, params))

    def _compile(self, conn: Connection) -> SQLCompiler:
        with self._lock:
            if self._compiled is None:
                compiled = self.statement.compile(dialect=conn.dialect)
                assert isinstance(compiled, SQLCompiler)
                self._expanding = tuple(name for name, bind in compiled.binds.items() if bind.expanding)
                # What a SELECT gives, or an UPDATE's RETURNING (nothing without one)
                columns = list(self.statement.selected_columns if isinstance(self.statement, Select)
                               else self.statement.exported_columns)
                self._results = tuple(
                    c.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None) for c in columns
                )
                self._compiled = compiled
            return self._compiled

    def _shape(self, compiled: SQLCompiler, params: Params, lengths: tuple[int, ...]) -> _Shape:
        state = compiled.construct_expanded_state(dict(params))
        origin: dict[str, tuple[str, int]] = {}
        for name, expanded in state.parameter_expansion.items():
            for index, key in enumerate(expanded):
                origin[key] = (name, index)
        binds, literals = [], {}
        for key in state.positiontup or ():
            name, index = origin.get(key, (key, _GIVEN))
            if index == _GIVEN and name not in params:
                index, literals[name] = _LITERAL, state.parameters[name]
            kind = compiled.binds[name].type.dialect_impl(compiled.dialect)
            binds.append((name, index, kind.bind_processor(compiled.dialect)))
        shape = _Shape(state.statement, tuple(binds), literals)
        self._shapes[lengths] = shape
        return shape


def _values(shape: _Shape, params: Params) -> list[Any]:
    """The values for the shape's ``?``, in order, converted as the column types store them."""
    values = []
    for name, index, convert in shape.binds:
        value = params[name][index] if index >= 0 else params[name] if index == _GIVEN else shape.literals[name]
        values.append(value if convert is None or value is None else convert(value))
    return values


def _driver(conn: Connection) -> Any:
    """The driver connection, in the unit of work's transaction."""
    if not conn.in_transaction():  # SQLAlchemy begins lazily; the driver must not run outside a transaction
        conn.begin()
    return conn.connection.driver_connection


#: ``IN`` lists up to this long keep their own shape; longer ones are rounded up to a multiple of it.
_ROUND_TO = 16


def _rounded(length: int) -> int:
    """The length an ``IN`` list is run with. A batch's lists have a new length nearly every time, and a new
    shape costs ~400 µs to compile (and SQLite a new prepare), more than running it: rounding keeps a
    statement to ~30 shapes up to 500 values, for at most 15 repeated values (``x IN (a, b, b)`` is
    ``x IN (a, b)``)."""
    return length if length <= _ROUND_TO else -(-length // _ROUND_TO) * _ROUND_TO


def _padded(params: Params, expanding: tuple[str, ...], lengths: tuple[int, ...]) -> Params:
    """``params`` with each expanding list repeated at its last value up to its rounded length."""
    padded = dict(params)
    for name, length in zip(expanding, lengths, strict=True):
        values = list(params[name])
        if values and len(values) < length:
            padded[name] = values + [values[-1]] * (length - len(values))
    return padded
