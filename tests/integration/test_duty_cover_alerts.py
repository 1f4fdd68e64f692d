"""Gaps in duty cover: the hourly check raises one programme-wide alert (normal, never texted) while the coming 7
days have gaps, counts no repeat while the rota stays the same, and resolves it once the rota covers the week.

The clock stands on Monday 23 November 2026, 14:00 UTC; the rota covers only Saturday night.
"""

from __future__ import annotations

from datetime import timedelta

from api.alerts import service as alerts
from api.alerts.models import Alert
from api.alerts.rules import AlertKind, AlertState, Urgency
from scheduling.jobs import check_duty_cover
from tests.alerting import events, job_context, messages_of
from tests.builders import Team, utc
from tests.conftest import DEFAULT_NOW

SATURDAY_6PM = utc(2026, 11, 28, 18)
SUNDAY_8AM = utc(2026, 11, 29, 8)


def gap_alerts(db_session, team: Team) -> list[Alert]:
    return [
        alert
        for alert in db_session.query(Alert).populate_existing().order_by(Alert.raised_at)
        if alert.programme_id == team.programme.id and alert.kind is AlertKind.DUTY_COVER_GAP
    ]


def test_a_rota_with_gaps_raises_one_normal_alert_that_is_not_texted(db_session, team):
    duty = team.on_call()
    team.duty_shift(duty, SATURDAY_6PM, SUNDAY_8AM)

    alerts.check_duty_cover(db_session, now=DEFAULT_NOW)

    [alert] = gap_alerts(db_session, team)
    assert (alert.child_id, alert.urgency, alert.state, alert.occurrences, alert.escalate_at) == (
        None,
        Urgency.NORMAL,
        AlertState.RAISED,
        1,
        None,
    )
    assert alert.detail == "Nobody on duty in the next 7 days: now to Sat 28 Nov 18:00; Sun 29 Nov 08:00 onwards."
    assert events(db_session, alert.id) == ["raised"]
    assert messages_of(db_session) == []


def test_the_same_rota_an_hour_later_counts_no_repeat(db_session, session_factory, clock, team):
    duty = team.on_call()
    team.duty_shift(duty, SATURDAY_6PM, SUNDAY_8AM)
    alerts.check_duty_cover(db_session, now=DEFAULT_NOW)
    clock.advance(hours=1)

    check_duty_cover(job_context(session_factory, clock))
    clock.advance(hours=1)
    check_duty_cover(job_context(session_factory, clock))

    [alert] = gap_alerts(db_session, team)
    assert (alert.occurrences, alert.last_raised_at) == (1, DEFAULT_NOW)
    assert events(db_session, alert.id) == ["raised"]


def test_a_changed_gap_counts_as_a_repeat(db_session, team):
    duty = team.on_call()
    team.duty_shift(duty, SATURDAY_6PM, SUNDAY_8AM)
    alerts.check_duty_cover(db_session, now=DEFAULT_NOW)
    team.duty_shift(duty, DEFAULT_NOW + timedelta(hours=2), DEFAULT_NOW + timedelta(hours=20))

    alerts.check_duty_cover(db_session, now=DEFAULT_NOW + timedelta(hours=1))

    [alert] = gap_alerts(db_session, team)
    assert (alert.occurrences, alert.last_raised_at) == (2, DEFAULT_NOW + timedelta(hours=1))
    assert events(db_session, alert.id) == ["raised", "repeated"]


def test_the_alert_is_resolved_once_the_rota_covers_the_week(db_session, team):
    duty = team.on_call()
    team.duty_shift(duty, SATURDAY_6PM, SUNDAY_8AM)
    alerts.check_duty_cover(db_session, now=DEFAULT_NOW)
    team.duty_shift(duty, DEFAULT_NOW, SATURDAY_6PM)
    team.duty_shift(duty, SUNDAY_8AM, DEFAULT_NOW + timedelta(days=8))
    later = DEFAULT_NOW + timedelta(hours=1)

    alerts.check_duty_cover(db_session, now=later)
    alerts.check_duty_cover(db_session, now=later + timedelta(hours=1))

    [alert] = gap_alerts(db_session, team)
    assert (alert.state, alert.resolved_at, alert.resolved_by_user_id) == (AlertState.RESOLVED, later, None)
    assert alert.resolution_note == "The rota now covers the coming days."
    assert events(db_session, alert.id) == ["raised", "resolved"]


def test_a_gap_that_begins_between_two_checks_is_not_counted_again(db_session, team):
    # The rota does not change: only the moment the gap begins passes between the hourly checks, so the gap that
    # began "at 14:30" now begins "now".
    duty = team.on_call()
    team.duty_shift(duty, DEFAULT_NOW - timedelta(hours=1), DEFAULT_NOW + timedelta(minutes=30))
    team.duty_shift(duty, SATURDAY_6PM, SUNDAY_8AM)
    alerts.check_duty_cover(db_session, now=DEFAULT_NOW)

    alerts.check_duty_cover(db_session, now=DEFAULT_NOW + timedelta(hours=1))

    [alert] = gap_alerts(db_session, team)
    assert (alert.occurrences, alert.last_raised_at) == (1, DEFAULT_NOW)
    assert events(db_session, alert.id) == ["raised"]
    # Its description follows the moment it was checked.
    assert alert.detail == "Nobody on duty in the next 7 days: now to Sat 28 Nov 18:00; Sun 29 Nov 08:00 onwards."


def test_a_rota_cut_short_is_counted_as_a_repeat(db_session, team):
    duty = team.on_call()
    shift = team.duty_shift(duty, DEFAULT_NOW, DEFAULT_NOW + timedelta(hours=3))
    team.duty_shift(duty, SATURDAY_6PM, DEFAULT_NOW + timedelta(days=8))
    alerts.check_duty_cover(db_session, now=DEFAULT_NOW)
    shift.ends_at = DEFAULT_NOW + timedelta(hours=2)
    db_session.commit()

    alerts.check_duty_cover(db_session, now=DEFAULT_NOW + timedelta(hours=1))

    [alert] = gap_alerts(db_session, team)
    assert (alert.occurrences, alert.detail) == (
        2,
        "Nobody on duty in the next 7 days: Mon 23 Nov 16:00 to Sat 28 Nov 18:00.",
    )
    assert events(db_session, alert.id) == ["raised", "repeated"]
