"""Does the same-work floor (bench/same_work_floor.py) still run the statements the API runs? (Not a speed check.)

For each compared operation it runs one request on the API and one on the same-work floor, in this process (Flask
test clients), captures every statement each engine sends (SQLAlchemy's before_cursor_execute) and the commits, and
reduces each statement to its kind and table: `SELECT auth_session`, `SELECT enrolment FOR UPDATE`, `INSERT
idempotency_record ON CONFLICT`, `INSERT mentoring_session`, `UPDATE idempotency_record`... (the schema is left out:
the floor writes copies of the API's tables). The two lists must hold the same kinds the same number of times (their
order may differ: the ORM's unit of work orders its inserts by the mappers' dependencies), both must commit once, and
the answers must have the same JSON shape (the same keys, nested). bench/api_load.py runs it before the load and exits
1 on a mismatch; tests/integration/test_same_work_floor.py runs it on every test run, so the floor cannot drift from
the API silently when the API changes.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import event

_SELECT_TABLE = re.compile(r"\bFROM\s+(?!\()\"?([\w.]+)", re.IGNORECASE)
_INSERT_TABLE = re.compile(r"^INSERT\s+INTO\s+\"?([\w.]+)", re.IGNORECASE)
_UPDATE_TABLE = re.compile(r"^UPDATE\s+\"?([\w.]+)", re.IGNORECASE)
_DELETE_TABLE = re.compile(r"^DELETE\s+FROM\s+\"?([\w.]+)", re.IGNORECASE)


def _table(name: str) -> str:
    return name.rsplit(".", 1)[-1].strip('"')


def statement_kind(sql: str) -> str:
    """`SELECT child`, `SELECT enrolment FOR UPDATE`, `INSERT idempotency_record ON CONFLICT`, `UPDATE x`..."""
    text = " ".join(sql.split())
    verb = text.split(" ", 1)[0].upper()
    if verb == "SELECT":
        found = _SELECT_TABLE.search(text)
        kind = f"SELECT {_table(found.group(1)) if found else '(no table)'}"
        return kind + (" FOR UPDATE" if re.search(r"\bFOR UPDATE\b", text, re.IGNORECASE) else "")
    for pattern, name in ((_INSERT_TABLE, "INSERT"), (_UPDATE_TABLE, "UPDATE"), (_DELETE_TABLE, "DELETE")):
        found = pattern.search(text)
        if found:
            kind = f"{name} {_table(found.group(1))}"
            return kind + (" ON CONFLICT" if name == "INSERT" and " ON CONFLICT " in text.upper() else "")
    return text[:60]


@dataclass
class Captured:
    statements: list[str] = field(default_factory=list)
    commits: int = 0

    @property
    def kinds(self) -> list[str]:
        return [statement_kind(sql) for sql in self.statements]


@contextmanager
def capturing(engine: Any) -> Iterator[Captured]:
    captured = Captured()

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        captured.statements.append(sql)

    def commit(_conn: Any) -> None:
        captured.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield captured
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)


def shape(value: Any) -> Any:
    """The JSON's shape: a dict's keys (each with its value's shape), a list's first item's shape."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in sorted(value.items())}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return None


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200


def engine_of(app: Flask) -> Any:
    """The app's engine: the API's (its Database's) or a floor's."""
    return app.extensions["reachable.db"].engine if "reachable.db" in app.extensions else app.extensions["floor.engine"]


def compare(
    operation: str, api: tuple[Flask, Request], floor: tuple[Flask, Request], *, report: bool = True
) -> list[str]:
    """Run one request on each app; the problems found (none: the same statements, one commit each, same shape)."""
    seen: dict[str, tuple[Captured, Any]] = {}
    problems: list[str] = []
    for side, (app, wanted) in (("API", api), ("same-work floor", floor)):
        with capturing(engine_of(app)) as captured:
            answer = app.test_client().open(wanted.path, method=wanted.method, json=wanted.body, headers=wanted.headers)
        if answer.status_code != wanted.expect:
            problems.append(f"{operation}, {side}: answered {answer.status_code}, not {wanted.expect}: {answer.data!r}")
        seen[side] = (captured, answer.get_json(silent=True))
    (api_captured, api_answer), (floor_captured, floor_answer) = seen["API"], seen["same-work floor"]
    if Counter(api_captured.kinds) != Counter(floor_captured.kinds):
        problems.append(
            f"{operation}: the statements differ.\n    API ({len(api_captured.kinds)}):\n"
            + "".join(f"      {kind}\n" for kind in api_captured.kinds)
            + f"    same-work floor ({len(floor_captured.kinds)}):\n"
            + "".join(f"      {kind}\n" for kind in floor_captured.kinds)
        )
    for side, captured in (("API", api_captured), ("same-work floor", floor_captured)):
        if captured.commits != 1:
            problems.append(f"{operation}, {side}: {captured.commits} commits, not 1")
    if shape(api_answer) != shape(floor_answer):
        problems.append(
            f"{operation}: the answers' shapes differ:\n    API {shape(api_answer)}\n    floor {shape(floor_answer)}"
        )
    if report and not problems:
        print(f"  {operation}: the same {len(api_captured.kinds)} statements, one commit each, the same answer shape:")
        print(f"    {', '.join(api_captured.kinds)}")
    return problems
