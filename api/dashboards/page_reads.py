"""What the dashboard page's periods share, read once for all of them and handed to each period's dashboard.

The page draws 25 dashboards (the year, 12 months, 12 weeks) with no cohort or district filter. Asked alone, each
would read the same spells of support, enrolments and cohorts again; instead these are read once, for the whole
span the page covers, and each period's dashboard takes its part (bench/README.md, "The dashboard page").
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.dashboards import queries, rules
from api.dashboards.queries import SupportSpan
from api.dashboards.rules import Period
from api.dashboards.scope import local_date
from api.enrolments.rules import EnrolmentStatus
from api.programmes.models import Programme
from api.programmes.rules import CohortKind
from api.sessions.rules import SessionStatus


@dataclass(frozen=True)
class PageReads:
    """What the page's periods have in common, read once for all of them, with the page's filters: the spells of
    support overlapping any period (by cohort, as local dates), the open enrolments and the cohorts as they are now
    (the places dashboards' "now" figures, the same for every period), and the sessions counted for each of the
    page's weeks, by their (since, until)."""

    spells: Mapping[uuid.UUID, Sequence[rules.Spell]]
    enrolment_counts: Sequence[tuple[uuid.UUID, EnrolmentStatus, str, int]]
    cohorts: Sequence[tuple[uuid.UUID, str, int, CohortKind]]
    sessions: Mapping[tuple[date, date], dict[SessionStatus, queries.SessionCounts]]


def read_for_page(
    db_session: Session, *, programme: Programme, covering: Period, weeks: Sequence[tuple[date, date]]
) -> PageReads:
    """The reads the page's periods share (the page has no cohort or district filter). The weeks are back to back,
    so their sessions are counted in one pass, split at each Monday's start in the programme's time zone."""
    zone, programme_id = programme.time_zone, programme.id
    bounds = [Period(since, until).starts_at(zone) for since, until in weeks] + [Period(*weeks[-1]).ends_before(zone)]
    by_week = queries.count_sessions_by_period(
        db_session, programme_id=programme_id, cohort_id=None, district=None, bounds=bounds
    )
    return PageReads(
        spells=spells_by_cohort(
            queries.list_support_spans(
                db_session,
                programme_id=programme_id,
                cohort_id=None,
                district=None,
                starts_at=covering.starts_at(zone),
                ends_before=covering.ends_before(zone),
            ),
            ZoneInfo(zone),
        ),
        enrolment_counts=queries.count_enrolments(db_session, programme_id=programme_id, cohort_id=None),
        cohorts=queries.list_cohorts(db_session, programme_id=programme_id, cohort_id=None),
        sessions=dict(zip(weeks, by_week, strict=True)),
    )


def spells_by_cohort(spans: Iterable[SupportSpan], zone: ZoneInfo) -> dict[uuid.UUID, list[rules.Spell]]:
    """Spans of support as spells in local dates, by cohort (a dashboard not given the page's reads its own)."""
    by_cohort: dict[uuid.UUID, list[rules.Spell]] = defaultdict(list)
    for cohort_id, started_at, ended_at in spans:
        if started_at is None:  # excluded by the query; here for the type checker
            continue
        ended_on = local_date(ended_at, zone) if ended_at is not None else None
        by_cohort[cohort_id].append((local_date(started_at, zone), ended_on))
    return by_cohort
