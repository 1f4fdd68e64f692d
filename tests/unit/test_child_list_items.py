"""The caseload list's answer is written out by hand (api/children/schemas.list_items) for speed; it must say exactly
what ChildListItemSchema, the contract the OpenAPI document is made from, would."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from api.accounts.models import AppUser
from api.children.models import Child
from api.children.queries import ChildSummary
from api.children.schemas import ChildListItemSchema, list_items
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus


def a_child(name: str) -> Child:
    return Child(
        id=uuid.uuid4(),
        reference=f"YP-{name.upper()[:6]}",
        programme_id=uuid.uuid4(),
        first_name=name,
        last_name="Example",
        date_of_birth=date(2013, 4, 2),
        district="Medway",
        created_at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        updated_at=datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
    )


def an_enrolment(child: Child, status: EnrolmentStatus, **dates: object) -> Enrolment:
    return Enrolment(id=uuid.uuid4(), child_id=child.id, cohort_id=uuid.uuid4(), status=status, **dates)


def test_a_page_of_children_is_written_as_the_schema_dumps_it() -> None:
    active, offered, waiting, none = a_child("Sam"), a_child("Ali"), a_child("Jordan"), a_child("Casey")
    mentor = AppUser(id=uuid.uuid4(), display_name="Mentor Example")
    summaries = [
        ChildSummary(
            active,
            an_enrolment(
                active,
                EnrolmentStatus.ACTIVE,
                started_at=datetime(2026, 11, 1, 9, 30, 15, 123456, tzinfo=UTC),
                planned_end_on=date(2027, 5, 1),
            ),
            "Autumn cohort",
            mentor,
        ),
        ChildSummary(
            offered,
            an_enrolment(offered, EnrolmentStatus.OFFERED, offer_expires_at=datetime(2026, 11, 26, 17, 0, tzinfo=UTC)),
            "Autumn cohort",
            None,
        ),
        ChildSummary(waiting, an_enrolment(waiting, EnrolmentStatus.WAITLISTED), "Spring cohort", None),
        ChildSummary(none, None, None, None),
    ]

    assert list_items(summaries) == ChildListItemSchema(many=True).dump(summaries)


def test_an_empty_page_is_an_empty_list() -> None:
    assert list_items([]) == ChildListItemSchema(many=True).dump([]) == []
