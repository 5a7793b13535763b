"""Statements run again and again, compiled once and run on the stdlib ``sqlite3`` driver.

A repository builds its frequent statements once (``repositories.base``) and runs
them with their values as parameters. SQLAlchemy still does per execution what does
not change between executions: the statement's cache key, the compiled cache lookup,
an execution context, the parameters' processing through that context, a cursor
result and its metadata. That was about 100 µs per statement, against 10 to 40 µs for
the driver to run it: most of a short write's time (a ``PATCH`` runs four).

``Plans`` keeps, per statement object it has seen run twice and per set of parameter
names, what SQLAlchemy compiled for it (``Plan``): the SQL text, which parameter goes
to which placeholder and the bind and result processors of their types. Running a
plan is then the driver's ``execute`` with the processed values, and its rows made
into SQLAlchemy ``Row``\\s by a result whose metadata is made once. What comes out is
what SQLAlchemy's own execution gives: the same processors convert the same values.

- A statement is planned on its **second** run: one built per call (its values inside
  it) is never planned, so it costs SQLAlchemy's execution and nothing more; one
  built once is planned once. Plans go with their statement (weak keys).
- Several parameter sets with the same names run as the driver's ``executemany``, for
  a statement that returns no rows.
- What a plan does not cover runs through SQLAlchemy as before: several parameter
  sets otherwise, an empty expanding ``IN`` list, parameters rendered into the
  SQL (``literal_execute``), a statement whose compiled form is unusual (a missing
  value, result columns that do not match), and every statement while something
  listens for ``before_cursor_execute`` / ``after_cursor_execute`` (tests capturing
  statements see them all).
- A driver error is wrapped as SQLAlchemy wraps it (``DBAPIError.instance``): the
  callers' ``IntegrityError`` and ``OperationalError`` handling is unchanged.

A caller with ``sqlite3`` connections of its own and no SQLAlchemy connection at all
(``sqlite_reads``: reads on read-only connections, off the writer's) runs Core
statements the same way: ``Plans.compiled`` compiles a statement on its first use
(there is no SQLAlchemy execution to fall back to) and ``Plan.fetch`` runs it on the
given connection, its errors the driver's own.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ClauseElement, TextClause
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect, Engine, IteratorResult, Result
from sqlalchemy.engine.result import SimpleResultMetaData
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

from .engine import driver_error

__all__ = ["Affected", "Plan", "Plans", "affected"]

Processor = Callable[[Any], Any]
#: one set of named parameters, none, or several sets with the same names
Parameters = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

#: how SQLAlchemy marks an expanding ``IN`` parameter in the compiled SQL
_EXPANDING = "__[POSTCOMPILE_{}]"
#: a numbered placeholder (``$3``) or an expanding list's, in a ``$n`` statement
_PLACEHOLDER = re.compile(r"\$(\d+)|__\[POSTCOMPILE_(\w+)\]")
#: what a plan answers where it does not apply
_UNPLANNABLE = None


class Affected(IteratorResult[Any]):
    """The result of a statement that returns no rows: ``rowcount`` and ``lastrowid``
    as ``CursorResult`` has them."""

    rowcount: int
    lastrowid: int | None


_NO_ROWS = SimpleResultMetaData([])


class Plan:
    """One statement compiled for one set of parameter names (see the module)."""

    __slots__ = (
        "_expanding",
        "_metadata",
        "_numbered",
        "_order",
        "_processors",
        "_results",
        "sql",
    )

    def __init__(self, compiled: SQLCompiler, names: Sequence[str], dialect: Dialect) -> None:
        self.sql = compiled.string
        order: list[tuple[str, bool, Any]] = []
        binds = compiled.binds
        for name in compiled.positiontup or ():
            bind = binds[name]
            given = name in names
            if not given and (bind.required or bind.callable is not None or bind.expanding):
                raise LookupError(name)  # a value only SQLAlchemy knows how to find
            order.append((name, given, None if given else bind.value))
        self._order = tuple(order)
        processors = compiled._bind_processors
        found = [processors.get(name) for name, _, _ in order]
        if not all(p is None or callable(p) for p in found):
            raise LookupError("a tuple parameter")  # processed per element of a tuple
        self._processors = tuple(cast(Processor | None, p) for p in found)
        self._expanding = tuple(name for name, _, _ in order if binds[name].expanding)
        #: ``$n`` placeholders (asyncpg): the names they number, expanding lists left out
        self._numbered: tuple[str, ...] | None = None
        if dialect.paramstyle == "numeric_dollar":
            self._numbered = tuple(name for name, _, _ in order if name not in self._expanding)
        columns = compiled._result_columns
        if columns:
            self._metadata: SimpleResultMetaData | None = SimpleResultMetaData(
                [c.keyname for c in columns]
            )
            results = [c.type._cached_result_processor(dialect, None) for c in columns]
            self._results = tuple((i, p) for i, p in enumerate(results) if p is not None)
        else:
            self._metadata, self._results = None, ()

    def values(self, params: Mapping[str, Any] | None) -> list[Any]:
        """The positional values of a plan without expanding ``IN`` lists."""
        return [
            (params[name] if given and params is not None else fixed)
            if process is None
            else process(params[name] if given and params is not None else fixed)
            for (name, given, fixed), process in zip(self._order, self._processors, strict=True)
        ]

    def arguments(self, params: Mapping[str, Any] | None) -> tuple[str, list[Any]] | None:
        """The SQL (its expanding ``IN`` lists spelled out) and its positional values;
        None for an empty expanding list (SQLAlchemy renders it as a special case)."""
        if not self._expanding:
            return self.sql, self.values(params)
        values: list[Any] = []
        by_name: dict[str, Any] = {}
        sql = self.sql
        for (name, given, fixed), process in zip(self._order, self._processors, strict=True):
            value = params[name] if given and params is not None else fixed
            if name in self._expanding:
                items = list(value)
                if not items:
                    return None
                if process is not None:
                    items = [process(v) for v in items]
                if self._numbered is None:
                    sql = sql.replace(_EXPANDING.format(name), ", ".join("?" * len(items)))
                values.extend(items)
                by_name[name] = items
            else:
                values.append(value if process is None else process(value))
                by_name[name] = values[-1]
        if self._numbered is not None:
            return self._renumbered(by_name)
        return sql, values

    def _renumbered(self, by_name: dict[str, Any]) -> tuple[str, list[Any]]:
        """``$n`` SQL with each expanding list spelled out and every placeholder
        numbered anew in order (SQLAlchemy numbers the others without the lists, and
        one name may be used twice), and its values in that order."""
        numbered = cast(tuple[str, ...], self._numbered)
        values: list[Any] = []

        def place(found: re.Match[str]) -> str:
            first = len(values) + 1
            if found.group(1) is not None:
                values.append(by_name[numbered[int(found.group(1)) - 1]])
            else:
                values.extend(by_name[found.group(2)])
            return ", ".join(f"${n}" for n in range(first, len(values) + 1))

        return _PLACEHOLDER.sub(place, self.sql), values

    def run(
        self, connection: Connection, params: Parameters, driver: sqlite3.Connection | None = None
    ) -> Result[Any] | None:
        """Run on ``connection``'s driver connection (``driver``, when the caller has
        it at hand), in its transaction or in autocommit for a statement that is its
        own; None: not run, this plan does not apply to ``params`` (see
        ``arguments``), or a value's type refuses it (SQLAlchemy then raises its
        ``StatementError``)."""
        if driver is None:
            driver = cast(sqlite3.Connection, connection.connection.dbapi_connection)
        try:
            if params is not None and not isinstance(params, Mapping):
                sets = self.many_sets(params)
                if sets is None:
                    return None
                sql, values = self.sql, sets
                execute: Callable[[str, Any], sqlite3.Cursor] = driver.executemany
            else:
                arguments = self.arguments(params)
                if arguments is None:
                    return None
                (sql, values), execute = arguments, driver.execute
        except Exception:  # a value its type refuses: SQLAlchemy says which, as ever
            return None
        try:
            cursor = execute(sql, values)
            rows = cursor.fetchall() if self._metadata is not None else None
        except sqlite3.Error as failure:
            raise driver_error(sql, values, failure, connection.dialect) from failure
        if rows is None or self._metadata is None:
            return affected(cursor.rowcount, cursor.lastrowid)
        return self.result(rows)

    def result(self, rows: Sequence[Sequence[Any]]) -> Result[Any]:
        """``rows`` as the driver gave them, converted by the result columns' types."""
        assert self._metadata is not None
        if self._results and rows:
            if len(rows) == 1:  # the frequent case: no columns to make and zip again
                row = list(rows[0])
                for i, process in self._results:
                    value = row[i]
                    if value is not None:
                        row[i] = process(value)
                rows = [tuple(row)]
            else:
                columns: list[Any] = list(zip(*rows, strict=True))
                for i, process in self._results:
                    columns[i] = [None if v is None else process(v) for v in columns[i]]
                rows = list(zip(*columns, strict=True))
        return IteratorResult(self._metadata, iter(rows))

    def fetch(self, driver: sqlite3.Connection, params: Mapping[str, Any]) -> Result[Any]:
        """Run on ``driver`` with one parameter set (``Plans.compiled``): the rows,
        converted by the result columns' types, or ``affected`` for a statement that
        returns none. A driver error is raised as the driver raised it; ``LookupError``
        for an empty expanding list (SQLAlchemy renders that as a special case)."""
        arguments = self.arguments(params)
        if arguments is None:
            raise LookupError("an empty expanding list")
        cursor = driver.execute(*arguments)
        if self._metadata is None:
            return affected(cursor.rowcount, cursor.lastrowid)
        return self.result(cursor.fetchall())

    @property
    def returns_rows(self) -> bool:
        return self._metadata is not None

    def many_sets(self, params: Sequence[Mapping[str, Any]]) -> list[list[Any]] | None:
        """The positional values of each of several parameter sets, for the driver's
        ``executemany``; None where the plan does not apply (a statement that returns
        rows, an expanding ``IN`` list). A value its type refuses raises."""
        if self._metadata is not None or self._expanding:
            return None
        return [self.values(one) for one in params]

    def one_set(self, params: Parameters) -> tuple[str, list[Any]] | None:
        """``arguments`` of one parameter set; None where the plan does not apply
        (several sets, an empty expanding list, a value its type refuses: SQLAlchemy
        then runs the statement and says which)."""
        if params is not None and not isinstance(params, Mapping):
            return None
        try:
            return self.arguments(params)
        except Exception:
            return None


def affected(rowcount: int, lastrowid: int | None = None) -> Affected:
    """The result of a statement that returns no rows."""
    done = Affected(_NO_ROWS, iter(()))
    done.rowcount, done.lastrowid = rowcount, lastrowid
    return done


class Plans:
    """The plans of one dialect's statements (see the module)."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        #: per statement: the plan of each set of parameter names (None: not plannable)
        self._plans: weakref.WeakKeyDictionary[Executable, dict[tuple[str, ...], Plan | None]]
        self._plans = weakref.WeakKeyDictionary()
        #: statements run once so far
        self._seen: weakref.WeakSet[Executable] = weakref.WeakSet()
        #: ``compiled`` is called from several threads
        self._lock = threading.Lock()

    def compiled(self, statement: Executable, names: tuple[str, ...]) -> Plan:
        """``statement``'s plan for parameters named ``names``, compiled on its first
        use (the module says for whom); ``LookupError`` when it has none (a statement
        only SQLAlchemy's execution can run: not for such callers)."""
        with self._lock:
            known = self._plans.get(statement)
            if known is None:
                known = self._plans[statement] = {}
            if names not in known:
                known[names] = self._compile(statement, names)
            plan = known[names]
        if plan is None:
            raise LookupError(f"no plan for {statement!r}")
        return plan

    def for_connection(
        self, connection: Connection | Engine, statement: Executable, params: Any
    ) -> Plan | None:
        """``lookup``, unless something listens for ``connection``'s statements (or,
        before a connection is taken, the engine's: ``before_cursor_execute`` /
        ``after_cursor_execute``: they must see every one, so each runs through
        SQLAlchemy)."""
        dispatch = connection.dispatch
        if dispatch.before_cursor_execute or dispatch.after_cursor_execute:
            return None
        return self.lookup(statement, params)

    def lookup(self, statement: Executable, params: Any) -> Plan | None:
        """``statement``'s plan for ``params``' names, if it has (or now gets) one."""
        if isinstance(params, list):
            if not params or any(p.keys() != params[0].keys() for p in params):
                return None
            names = tuple(params[0])
        elif params is None or isinstance(params, dict):
            names = tuple(params) if params else ()
        else:
            return None
        known = self._plans.get(statement)
        if known is not None:
            if names in known:
                return known[names]
        elif statement not in self._seen:
            self._seen.add(statement)
            return None
        else:
            self._seen.discard(statement)
            known = self._plans[statement] = {}
        plan = known[names] = self._compile(statement, names)
        return plan

    def _compile(self, statement: Executable, names: tuple[str, ...]) -> Plan | None:
        if not isinstance(statement, ClauseElement):
            return _UNPLANNABLE
        try:
            compiled = statement.compile(dialect=self._dialect, column_keys=list(names))
        except sa_exc.SQLAlchemyError:
            return _UNPLANNABLE
        if isinstance(statement, TextClause) or not isinstance(compiled, SQLCompiler):
            return _UNPLANNABLE  # a text's result columns are not known before it runs
        if compiled.literal_execute_params:
            return _UNPLANNABLE
        if compiled.post_compile_params - {b for b in compiled.binds.values() if b.expanding}:
            return _UNPLANNABLE
        try:
            return Plan(compiled, names, self._dialect)
        except LookupError:
            return _UNPLANNABLE
