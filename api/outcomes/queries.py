"""Reading outcome events (always through the caller's visibility of the child), the facts the windows are
built from, and the unit cost and deflator tables."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.actors import Actor
from api.children.models import Child
from api.children.queries import visible_to
from api.enrolments.models import Enrolment
from api.outcomes.csv_import import KnownChild
from api.outcomes.models import DeflatorIndex, DeflatorSeries, OutcomeEvent, OutcomeSetting, UnitCost
from api.outcomes.rates import EnrolmentSpan
from api.outcomes.rules import EventKey, OutcomeEventType
from api.pagination import Page, Window, page_of
from api.programmes.models import Cohort


def get_visible_event(
    db_session: Session, *, actor: Actor, event_id: uuid.UUID, for_update: bool = False
) -> OutcomeEvent | None:
    """A current (not voided) event of a child the actor sees."""
    query = (
        select(OutcomeEvent)
        .join(Child, Child.id == OutcomeEvent.child_id)
        .where(OutcomeEvent.id == event_id, OutcomeEvent.voided_at.is_(None), visible_to(actor))
    )
    if for_update:
        query = query.with_for_update(of=OutcomeEvent).execution_options(populate_existing=True)
    return db_session.scalar(query)


def list_child_events(db_session: Session, *, child_id: uuid.UUID, window: Window) -> Page[OutcomeEvent]:
    """A child's current events, the most recent first."""
    return page_of(
        db_session,
        select(OutcomeEvent).where(OutcomeEvent.child_id == child_id, OutcomeEvent.voided_at.is_(None)),
        order_by=(OutcomeEvent.occurred_on.desc(), OutcomeEvent.recorded_at.desc(), OutcomeEvent.id),
        window=window,
    )


def event_recorded(db_session: Session, *, key: EventKey) -> bool:
    return (
        db_session.scalar(
            select(OutcomeEvent.id).where(
                OutcomeEvent.child_id == key.child_id,
                OutcomeEvent.event_type == key.event_type,
                OutcomeEvent.occurred_on == key.occurred_on,
                OutcomeEvent.source == key.source,
                OutcomeEvent.voided_at.is_(None),
            )
        )
        is not None
    )


def missing_episode_recorded(db_session: Session, *, missing_episode_id: uuid.UUID) -> bool:
    return (
        db_session.scalar(
            select(OutcomeEvent.id).where(
                OutcomeEvent.missing_episode_id == missing_episode_id, OutcomeEvent.voided_at.is_(None)
            )
        )
        is not None
    )


def children_by_reference(
    db_session: Session, *, programme_id: uuid.UUID, references: Collection[str]
) -> dict[str, KnownChild]:
    """The programme's own children among the references; other programmes' children are not there."""
    if not references:
        return {}
    rows = db_session.execute(
        select(Child.reference, Child.id, Child.date_of_birth).where(
            Child.programme_id == programme_id, Child.reference.in_(references)
        )
    ).all()
    return {reference: KnownChild(child_id, date_of_birth) for reference, child_id, date_of_birth in rows}


def current_event_keys(db_session: Session, *, child_ids: Collection[uuid.UUID]) -> set[EventKey]:
    if not child_ids:
        return set()
    rows = db_session.execute(
        select(OutcomeEvent.child_id, OutcomeEvent.event_type, OutcomeEvent.occurred_on, OutcomeEvent.source).where(
            OutcomeEvent.child_id.in_(child_ids), OutcomeEvent.voided_at.is_(None)
        )
    ).all()
    return {EventKey(child_id, event_type, occurred_on, source) for child_id, event_type, occurred_on, source in rows}


def list_started_enrolments(db_session: Session, *, programme_id: uuid.UUID) -> dict[uuid.UUID, list[EnrolmentSpan]]:
    """Every enrolment in the programme's cohorts that started, by child."""
    rows = db_session.execute(
        select(
            Enrolment.child_id,
            Enrolment.id,
            Enrolment.cohort_id,
            Enrolment.started_at,
            Enrolment.ended_at,
            Enrolment.moved_from_enrolment_id,
        )
        .join(Cohort, Cohort.id == Enrolment.cohort_id)
        .where(Cohort.programme_id == programme_id, Enrolment.started_at.is_not(None))
    ).all()
    spans: dict[uuid.UUID, list[EnrolmentSpan]] = {}
    for child_id, enrolment_id, cohort_id, started_at, ended_at, moved_from in rows:
        assert started_at is not None
        spans.setdefault(child_id, []).append(EnrolmentSpan(enrolment_id, cohort_id, started_at, ended_at, moved_from))
    return spans


def list_event_dates(
    db_session: Session, *, programme_id: uuid.UUID, child_ids: Collection[uuid.UUID], since: date, until: date
) -> dict[uuid.UUID, list[tuple[OutcomeEventType, date]]]:
    """(type, day) of each current event of the programme's children named, on the days since..until inclusive.

    Read by the children's programme rather than an IN list of hundreds of ids, and as plain rows fetched at once
    (iterating the result fetched them one by one): at national scale this is the outcomes dashboard's largest read
    (bench/README.md)."""
    events: dict[uuid.UUID, list[tuple[OutcomeEventType, date]]] = {child_id: [] for child_id in child_ids}
    if not child_ids:
        return events
    query = (
        select(OutcomeEvent.child_id, OutcomeEvent.event_type, OutcomeEvent.occurred_on)
        .join(Child, Child.id == OutcomeEvent.child_id)
        .where(
            Child.programme_id == programme_id,
            OutcomeEvent.voided_at.is_(None),
            OutcomeEvent.occurred_on >= since,
            OutcomeEvent.occurred_on <= until,
        )
    )
    rows = db_session.connection().execute(query).all()
    for child_id, event_type, occurred_on in rows:
        child_events = events.get(child_id)
        if child_events is not None:
            child_events.append((event_type, occurred_on))
    return events


def get_setting(db_session: Session, *, programme_id: uuid.UUID) -> OutcomeSetting | None:
    return db_session.get(OutcomeSetting, programme_id)


def current_unit_costs(db_session: Session, *, item_codes: Collection[str]) -> dict[str, UnitCost]:
    """The version in force (the highest) of each item asked for that exists."""
    latest = (
        select(UnitCost.item_code, func.max(UnitCost.version).label("version"))
        .where(UnitCost.item_code.in_(item_codes))
        .group_by(UnitCost.item_code)
        .subquery()
    )
    costs = db_session.scalars(
        select(UnitCost).join(
            latest, (UnitCost.item_code == latest.c.item_code) & (UnitCost.version == latest.c.version)
        )
    ).all()
    return {cost.item_code: cost for cost in costs}


def unit_cost_exists(db_session: Session, *, item_code: str) -> bool:
    return db_session.scalar(select(UnitCost.item_code).where(UnitCost.item_code == item_code).limit(1)) is not None


def get_deflator_series(db_session: Session, *, name: str | None) -> DeflatorSeries | None:
    """The named series, or the most recently published when none is named."""
    if name is not None:
        return db_session.get(DeflatorSeries, name)
    return db_session.scalar(select(DeflatorSeries).order_by(DeflatorSeries.published_on.desc()).limit(1))


def deflator_indices(db_session: Session, *, series_name: str) -> dict[str, Decimal]:
    rows = db_session.execute(
        select(DeflatorIndex.financial_year, DeflatorIndex.index_value).where(DeflatorIndex.series_name == series_name)
    ).all()
    return {year: Decimal(str(value)) for year, value in rows}
