"""The transaction scopes of api/db.py: a use case commits once at its outermost end, a step joins its caller."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db import TransactionAbandoned, in_transaction_scope, step, transaction, use_case
from api.programmes.models import Programme
from tests.builders import make_programme

REPOSITORY = Path(__file__).resolve().parents[2]


def programmes(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(Programme)) or 0


@step
def rename(db_session: Session, programme: Programme, name: str) -> None:
    programme.name = name


@use_case
def rename_twice(db_session: Session, programme: Programme, first: str, second: str) -> None:
    rename(db_session, programme, first)
    rename_once(db_session, programme, second)


@use_case
def rename_once(db_session: Session, programme: Programme, name: str) -> None:
    rename(db_session, programme, name)


@use_case
def rename_then_fail(db_session: Session, programme: Programme, name: str) -> None:
    rename(db_session, programme, name)
    raise ValueError("refused")


def test_a_step_called_outside_any_use_case_is_refused(db_session):
    programme = make_programme(db_session)

    with pytest.raises(RuntimeError, match="is a step"):
        rename(db_session, programme, "Outside")


def test_a_use_case_inside_another_joins_it_and_the_outermost_commits_once(db_session):
    programme = make_programme(db_session)
    commits: list[int] = []
    original = Session.commit

    def counting_commit(self: Session) -> None:
        commits.append(1)
        original(self)

    Session.commit = counting_commit  # type: ignore[method-assign]
    try:
        rename_twice(db_session, programme, "First", "Second")
    finally:
        Session.commit = original  # type: ignore[method-assign]

    assert len(commits) == 1
    assert not in_transaction_scope(db_session)
    db_session.expire_all()
    assert db_session.get(Programme, programme.id).name == "Second"


def test_a_use_case_that_raises_keeps_nothing(db_session):
    programme = make_programme(db_session)
    name = programme.name

    with pytest.raises(ValueError):
        rename_then_fail(db_session, programme, "Never")

    db_session.expire_all()
    assert db_session.get(Programme, programme.id).name == name


def test_an_inner_failure_caught_by_its_caller_still_spoils_the_transaction(db_session):
    programme = make_programme(db_session)
    name = programme.name

    with pytest.raises(TransactionAbandoned), transaction(db_session):
        rename(db_session, programme, "Half")
        # Carrying on after the failure would commit "Half" without the rest of the change.
        with contextlib.suppress(ValueError):
            rename_then_fail(db_session, programme, "Never")

    db_session.expire_all()
    assert db_session.get(Programme, programme.id).name == name


def test_a_commit_by_hand_inside_a_scope_is_refused(db_session):
    programme = make_programme(db_session)

    with pytest.raises(RuntimeError, match="scope commits"), transaction(db_session):
        rename(db_session, programme, "Early")
        db_session.commit()


def test_no_product_code_commits_or_rolls_back_by_hand():
    """Only api/db.py's scope commits; the scheduler's lock holds its own connection."""
    allowed = {REPOSITORY / "api" / "db.py", REPOSITORY / "scheduling" / "lock.py"}
    by_hand = [
        f"{path.relative_to(REPOSITORY)}:{number}"
        for folder in ("api", "scheduling")
        for path in sorted((REPOSITORY / folder).rglob("*.py"))
        if path not in allowed
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.(commit|rollback)\(\)", line)
    ]
    assert by_hand == []
