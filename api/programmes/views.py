from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from api.actors import Role
from api.auth import ALL_ROLES, current_actor, requires
from api.programmes import service
from api.programmes.schemas import CohortSchema, ProgrammeSchema
from api.web import clock, db_session

blp = Blueprint("programmes", __name__, description="Programmes and their cohorts")


@blp.route("/programmes", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, ProgrammeSchema(many=True))
def list_programmes() -> Any:
    """List the programmes you work in (admins: all)

    Admins see every programme; everyone else sees the one programme their account belongs to. Each comes with its
    settings: time zone, districts, the activities sessions can log, how long an offered place is held, the SMS
    reminder times and the check-in routine. Any role.
    """
    return service.list_programmes(db_session(), actor=current_actor())


@blp.route("/programmes", methods=["POST"])
@requires(Role.ADMIN)
@blp.arguments(ProgrammeSchema)
@blp.response(201, ProgrammeSchema)
def create_programme(body: dict[str, Any]) -> Any:
    """Create a programme

    Admins only. A programme has a unique name, an IANA time zone (`Europe/London` unless said; an unknown zone
    answers 422 `unknown_time_zone`) in which weeks, evenings and reminders are reckoned, its districts, the
    activities a session can log, and how many hours an offered place is held (72 unless said). The check-in routine
    and SMS reminder times may be set now or later; unless said, a check-in link goes every 4 weeks and sessions are
    reminded the day before and a few hours before. Instruments must be ones this deployment offers (`GET
    /instruments`). A name already taken answers 409 `programme_name_taken`.
    """
    return service.create_programme(
        db_session(), now=clock().now(), known_instruments=current_app.extensions["reachable.instruments"], **body
    )


@blp.route("/programmes/<uuid:programme_id>", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, ProgrammeSchema)
def get_programme(programme_id: uuid.UUID) -> Any:
    """One programme

    Its settings, as in the list. Admins may read any programme; everyone else only their own (any other answers
    404, as if it did not exist). The phone app reads `session_activities` here to offer the activities a session
    can log.
    """
    return service.get_programme(db_session(), actor=current_actor(), programme_id=programme_id)


@blp.route("/programmes/<uuid:programme_id>/cohorts", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, CohortSchema(many=True))
def list_cohorts(programme_id: uuid.UUID) -> Any:
    """List a programme's cohorts

    Each cohort with its kind (`one_to_one` or `group_only`), its places (how many children it supports at any one
    time), its weekly session cap
    (`max_sessions_per_week`) and its planned length in weeks. Admins may read any programme's; everyone else only
    their own (any other answers 404).
    """
    return service.list_cohorts(db_session(), actor=current_actor(), programme_id=programme_id)


@blp.route("/programmes/<uuid:programme_id>/cohorts", methods=["POST"])
@requires(Role.ADMIN)
@blp.arguments(CohortSchema)
@blp.response(201, CohortSchema)
def add_cohort(body: dict[str, Any], programme_id: uuid.UUID) -> Any:
    """Add a cohort with its places and intensity

    Admins only. A cohort is a level of support within a programme: its places (children supported at once), its
    intensity (the most sessions a child may have in an ISO week, in programme time) and how many weeks support is
    planned to last. Cohort names are unique within a programme (409 `cohort_name_taken`). Its `kind` is
    `one_to_one` unless said (Protect, Prevent: children mentored one to one); a `group_only` cohort (a level-2
    awareness group) has its own places, taken and waitlisted by the same rules, and its children attend group
    sessions only (a one-to-one or phone session for them answers 422 `group_only_enrolment`).
    """
    return service.add_cohort(db_session(), programme_id=programme_id, now=clock().now(), **body)


@blp.route("/cohorts/<uuid:cohort_id>", methods=["GET"])
@requires(*ALL_ROLES)
@blp.response(200, CohortSchema)
def get_cohort(cohort_id: uuid.UUID) -> Any:
    """One cohort

    Its places, weekly session cap and planned weeks. Admins may read any cohort; everyone else only their own
    programme's (any other answers 404).
    """
    return service.get_cohort(db_session(), actor=current_actor(), cohort_id=cohort_id)
