"""The small invented programme of the commissioner dashboards' tests (tests/api/test_dashboards.py) and of the
dashboard page's (tests/api/test_dashboard_page.py), `at`, a London time of day on a given day, in UTC, and
`add_series`, a group series as rows (tests/api/test_group_delivery_dashboard.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from api.actors import Role
from api.alerts.models import Alert
from api.alerts.rules import URGENCY, AlertKind, AlertState, new_code
from api.enrolments.models import Enrolment
from api.enrolments.rules import EnrolmentStatus
from api.groups.models import GroupSeries, SeriesMember
from api.sessions.models import MentoringSession, SessionCarer
from api.sessions.register_rules import Attendance, CarerRelationship
from api.sessions.rules import LocationCategory, SessionKind, SessionStatus, local_timing, local_week
from api.sessions.service import attendee_row
from api.wellbeing.check_ins import score_row
from api.wellbeing.models import CheckIn
from api.wellbeing.scoring import CheckInChannel, ScoreKind
from tests.builders import admit_child, allocate, make_cohort, make_programme, make_user, unique
from tests.conftest import DEFAULT_NOW

LONDON = ZoneInfo("Europe/London")


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON).astimezone(UTC)


class World:
    """Cohort A (10 places): six children with known spells, referrals, sessions and check-ins; cohort B (3 places):
    one active, one offered, two waitlisted. Four of A's children live in Dartford, two in Medway."""

    def __init__(self, db_session):
        self.db_session = db_session
        self.programme = make_programme(db_session)
        self.coordinator = make_user(db_session, Role.COORDINATOR, programme=self.programme)
        self.commissioner = make_user(db_session, Role.COMMISSIONER, programme=self.programme)
        self.mentor = make_user(db_session, Role.MENTOR, programme=self.programme, max_caseload=2)
        self.mentor_two = make_user(db_session, Role.MENTOR, programme=self.programme, max_caseload=10)
        self.admin = make_user(db_session, Role.ADMIN)
        self.cohort_a = make_cohort(db_session, programme=self.programme, name="A", places=10)
        self.cohort_b = make_cohort(db_session, programme=self.programme, name="B", places=3)
        self.a = [self.admit(self.cohort_a, "Dartford" if n < 4 else "Medway") for n in range(6)]
        self.b = [self.admit(self.cohort_b, "Dartford") for _ in range(4)]
        # Spells in cohort A: (started, ended) local dates.
        self.spells = [
            (date(2025, 12, 1), None),
            (date(2026, 2, 10), date(2026, 4, 1)),
            (date(2026, 3, 1), None),
            (date(2026, 6, 15), None),
            (date(2025, 6, 1), date(2025, 12, 31)),  # ended before the period
            (date(2026, 5, 20), date(2026, 7, 10)),
        ]
        self.referred = [
            date(2025, 11, 20),
            date(2026, 1, 20),
            date(2026, 2, 1),
            date(2026, 6, 1),
            date(2025, 5, 1),
            date(2026, 5, 1),
        ]
        for enrolment, (started, ended), referred in zip(self.a, self.spells, self.referred, strict=True):
            enrolment.started_at = at(started, 9)
            enrolment.ended_at = at(ended, 9) if ended else None
            enrolment.status = EnrolmentStatus.ENDED if ended else EnrolmentStatus.ACTIVE
            enrolment.referred_on = referred
        _b_active, b_offered, *b_waiting = self.b
        b_offered.status, b_offered.started_at = EnrolmentStatus.OFFERED, None
        for enrolment in b_waiting:
            enrolment.status, enrolment.started_at = EnrolmentStatus.WAITLISTED, None
        db_session.commit()
        allocate(db_session, enrolment=self.a[0], mentor=self.mentor, by=self.coordinator)
        allocate(db_session, enrolment=self.a[2], mentor=self.mentor, by=self.coordinator)
        allocate(db_session, enrolment=self.a[3], mentor=self.mentor_two, by=self.coordinator)
        self.sessions: list[tuple[datetime, SessionStatus, list[Enrolment]]] = []
        self._waiting_alerts = 0

    def admit(self, cohort, district):
        from api.children.models import Child

        enrolment = admit_child(self.db_session, cohort=cohort, by=self.coordinator)
        child = self.db_session.get(Child, enrolment.child_id)
        child.district = district
        self.db_session.commit()
        return enrolment

    def session(
        self,
        start: datetime,
        status: SessionStatus,
        enrolments: list[Enrolment],
        *,
        did_not_attend: tuple[Enrolment, ...] = (),
    ) -> None:
        """A session as the services write it; a group session held has its register taken: every child attended
        but those in `did_not_attend`."""
        row = MentoringSession(
            programme_id=self.programme.id,
            mentor_id=self.mentor.id,
            kind=SessionKind.GROUP if len(enrolments) > 1 else SessionKind.ONE_TO_ONE,
            location_category=LocationCategory.COMMUNITY_VENUE,
            status=status,
            planned_start_at=start,
            planned_end_at=start + timedelta(hours=1),
            local_week=local_week(start, "Europe/London"),
            created_at=DEFAULT_NOW,
            created_by_user_id=self.coordinator.id,
            updated_at=DEFAULT_NOW,
            updated_by_user_id=self.coordinator.id,
        )
        self.db_session.add(row)
        self.db_session.flush()
        for enrolment in enrolments:
            line = attendee_row(row, enrolment, local_timing(start, "Europe/London"))
            if row.kind is SessionKind.GROUP and status is SessionStatus.COMPLETED:
                line.attendance = Attendance.DID_NOT_ATTEND if enrolment in did_not_attend else Attendance.ATTENDED
            self.db_session.add(line)
        self.db_session.commit()
        self.sessions.append((start, status, enrolments))

    def score(self, enrolment: Enrolment, instrument: str, measure: str, completed: datetime, value: str) -> None:
        check_in = CheckIn(
            child_id=enrolment.child_id,
            instrument_key=instrument,
            instrument_version="1",
            channel=CheckInChannel.IN_SESSION,
            completed_at=completed,
            recorded_by_user_id=self.coordinator.id,
        )
        self.db_session.add(check_in)
        self.db_session.flush()
        self.db_session.add(score_row(check_in, ScoreKind.DERIVED, measure, Decimal(value)))
        self.db_session.commit()

    def alert(
        self,
        kind: AlertKind,
        raised_at: datetime,
        acknowledged_after: timedelta | None = None,
        *,
        programme_id=None,
        child_id=None,
    ) -> None:
        """An alert about one of cohort A's children, acknowledged by the coordinator `acknowledged_after` it was
        raised (None: still waiting). Only kinds the alert table's CHECK constraint takes here: safeguarding_concern
        (urgent) and wellbeing_drop (high)."""
        acknowledged_at = raised_at + acknowledged_after if acknowledged_after is not None else None
        if child_id is None:
            # One open alert per child and kind: those still waiting are spread over cohort A's six children.
            waiting = 0 if acknowledged_at else self._waiting_alerts
            self._waiting_alerts += acknowledged_at is None
            child_id = self.a[waiting % len(self.a)].child_id
        self.db_session.add(
            Alert(
                programme_id=programme_id or self.programme.id,
                child_id=child_id,
                kind=kind,
                detail="Invented for the dashboards' tests.",
                raised_by_user_id=self.mentor.id,
                raised_at=raised_at,
                acknowledged_at=acknowledged_at,
                acknowledged_by_user_id=self.coordinator.id if acknowledged_at else None,
                acknowledgement_note="Seen." if acknowledged_at else None,
                urgency=URGENCY[kind],
                # Resolved once acknowledged, so several can be about one child and kind (one may be open).
                state=AlertState.RESOLVED if acknowledged_at else AlertState.RAISED,
                resolved_at=acknowledged_at,
                code=new_code(),
                occurrences=1,
                last_raised_at=raised_at,
            )
        )
        self.db_session.commit()


# One session of a series: its start, its status, and (where its register differs from everyone attending a session
# held, or booked on one not yet held) each child's line, by their enrolment's position in `members`.
SeriesSession = tuple[datetime, SessionStatus, dict[int, Attendance]]


def add_series(
    db_session,
    *,
    programme,
    facilitator,
    by,
    members: list[Enrolment],
    sessions: list[SeriesSession],
    complete_after: int,
    name: str | None = None,
    left: dict[int, datetime] | None = None,
    carers: dict[int, int] | None = None,
) -> GroupSeries:
    """A group series written as direct rows (the series service is not the dashboards' to call): its roster
    (`left`: members who left, by position, and when), its sessions with a register line for each member still on
    the roster at the session's start (a line given in a session's dict is written even after they left), and
    `carers`: how many carers came to the session at that position."""
    left, carers = left or {}, carers or {}
    series = GroupSeries(
        programme_id=programme.id,
        name=name or unique("Series"),
        capacity=max(len(members), 1),
        complete_after_sessions=complete_after,
        lead_facilitator_id=facilitator.id,
        created_at=DEFAULT_NOW,
        created_by_user_id=by.id,
        updated_at=DEFAULT_NOW,
        updated_by_user_id=by.id,
    )
    db_session.add(series)
    db_session.flush()
    first_start = min((start for start, _status, _lines in sessions), default=DEFAULT_NOW)
    for position, enrolment in enumerate(members):
        db_session.add(
            SeriesMember(
                series_id=series.id,
                enrolment_id=enrolment.id,
                child_id=enrolment.child_id,
                joined_at=first_start - timedelta(days=7),
                joined_by_user_id=by.id,
                left_at=left.get(position),
                left_by_user_id=by.id if position in left else None,
            )
        )
    for number, (start, status, lines) in enumerate(sessions):
        row = MentoringSession(
            programme_id=programme.id,
            mentor_id=facilitator.id,
            kind=SessionKind.GROUP,
            location_category=LocationCategory.COMMUNITY_VENUE,
            status=status,
            planned_start_at=start,
            planned_end_at=start + timedelta(hours=1),
            local_week=local_week(start, "Europe/London"),
            series_id=series.id,
            created_at=DEFAULT_NOW,
            created_by_user_id=by.id,
            updated_at=DEFAULT_NOW,
            updated_by_user_id=by.id,
        )
        db_session.add(row)
        db_session.flush()
        for position, enrolment in enumerate(members):
            still_on_roster = position not in left or left[position] > start
            if position not in lines and not still_on_roster:
                continue
            line = attendee_row(row, enrolment, local_timing(start, "Europe/London"))
            if position in lines:
                line.attendance = lines[position]
            elif status is SessionStatus.COMPLETED:
                line.attendance = Attendance.ATTENDED
            db_session.add(line)
        for _ in range(carers.get(number, 0)):
            db_session.add(
                SessionCarer(
                    session_id=row.id,
                    relationship=CarerRelationship.PARENT,
                    recorded_at=start,
                    recorded_by_user_id=facilitator.id,
                )
            )
    db_session.commit()
    return series
