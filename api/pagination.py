"""One page of a list: which rows a page shows (a window), and the rows it shows with how many the list has.

Every paginated list reads the same way: the filtered select is counted as it stands, then read in its order,
`limit` rows after the first `offset`. No Flask here; api/web.py turns flask-smorest's page parameters into a
window and a page into the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, TypeVarTuple

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.orm import QueryableAttribute, Session

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# A list's order: columns, or columns with .desc().
OrderBy = Sequence[ColumnElement[Any] | QueryableAttribute[Any]]


@dataclass(frozen=True)
class Window:
    """The rows of a list one page shows: `limit` of them, after the first `offset`."""

    offset: int
    limit: int


@dataclass(frozen=True)
class Page(Generic[T]):
    """The rows one page shows, and how many rows the whole list has."""

    items: Sequence[T]
    total: int


def count_rows(db_session: Session, query: Select[*Ts]) -> int:
    """How many rows the select gives, counted as it stands (its joins and filters, no order)."""
    return int(db_session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def page_of(db_session: Session, query: Select[T], *, order_by: OrderBy, window: Window) -> Page[T]:
    """One page of a select of one entity or column, in the order given."""
    total = count_rows(db_session, query)
    items = db_session.scalars(query.order_by(*order_by).offset(window.offset).limit(window.limit)).all()
    return Page(items, total)


def page_of_rows(db_session: Session, query: Select[*Ts], *, order_by: OrderBy, window: Window) -> Page[Row[*Ts]]:
    """One page of a select of several entities or columns, row by row, in the order given."""
    total = count_rows(db_session, query)
    rows = db_session.execute(query.order_by(*order_by).offset(window.offset).limit(window.limit)).all()
    return Page(rows, total)
