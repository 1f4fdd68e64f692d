"""Reminder lead times are each programme's to set, and quiet hours the deployment's."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from api.actors import Role
from api.outbox.models import OutboundMessage
from api.outbox.rules import RecipientType
from api.sms.rules import QuietHours, parse_quiet_hours
from scheduling.runner import _quiet_hours
from tests.builders import Team, auth_headers, make_user
from tests.conftest import DEFAULT_NOW


def plan_session_tomorrow(client, team, db_session):
    start = DEFAULT_NOW + timedelta(days=1)
    response = client.post(
        "/sessions",
        json={
            "enrolment_ids": [str(team.enrolment.id)],
            "kind": "one_to_one",
            "location_category": "community_venue",
            "planned_start_at": start.isoformat(),
            "planned_end_at": (start + timedelta(hours=1)).isoformat(),
            "status": "planned",
        },
        headers=team.headers(),
    )
    assert response.status_code == 201, response.json
    return db_session.scalars(select(OutboundMessage).order_by(OutboundMessage.send_after)).all()


def test_a_programme_that_wants_only_the_evening_before_reminder_gets_only_that(client, db_session, clock):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()
    admin = make_user(db_session, Role.ADMIN)
    changed = client.patch(
        f"/programmes/{team.programme.id}",
        json={"reminder_day_before_at": "18:30:00", "reminder_hours_before": None},
        headers=auth_headers(db_session, admin),
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["reminder_day_before_at"], changed.json["reminder_hours_before"]) == ("18:30:00", None)

    [reminder] = plan_session_tomorrow(client, team, db_session)

    assert reminder.dedupe_key.split(":")[4] == "day_before"
    assert reminder.send_after == DEFAULT_NOW.replace(hour=18, minute=30)


def test_the_default_programme_reminds_the_evening_before_and_two_hours_before(client, db_session, clock):
    team = Team(db_session, clock, places=5, with_child=True)
    team.consent_to_sms()

    reminders = plan_session_tomorrow(client, team, db_session)

    assert [reminder.dedupe_key.split(":")[4] for reminder in reminders] == ["day_before", "2h_before"]


def test_quiet_hours_are_read_from_configuration_and_can_be_switched_off():
    parsed = parse_quiet_hours({"child": "20:30-07:45", "carer": None, "mentor": ""})

    assert parsed == {
        RecipientType.CHILD: QuietHours(time(20, 30), time(7, 45)),
        RecipientType.CARER: None,
        RecipientType.MENTOR: None,
    }


@pytest.mark.parametrize("bad", [{"children": "21:00-08:00"}, {"child": "9pm-8am"}, "21:00-08:00"])
def test_the_scheduler_refuses_to_start_with_quiet_hours_it_cannot_read(bad):
    with pytest.raises(SystemExit, match="REACHABLE_SMS_QUIET_HOURS"):
        _quiet_hours(bad)
