"""``Session``: what the repositories use of a session, whichever runs the statements."""

from __future__ import annotations

from typing import Any, Protocol, TypeVarTuple, overload

from sqlalchemy.engine import Result, ScalarResult
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

__all__ = ["Session"]

Ts = TypeVarTuple("Ts")


class Session(Protocol):
    """``AsyncSession`` (PostgreSQL, in-memory SQLite) or ``InlineSession`` (a SQLite
    file: ``inline``)."""

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*Ts], params: Any = None
    ) -> Result[*Ts]: ...
    @overload
    async def execute(
        self, statement: Executable, params: Any = None
    ) -> Result[*tuple[Any, ...]]: ...
    async def scalar(self, statement: Executable, params: Any = None) -> Any: ...
    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...
