from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import CASEWORK, current_actor, requires
from api.groups import reading, service
from api.groups.schemas import (
    JoinSchema,
    SeriesBriefSchema,
    SeriesCreateSchema,
    SeriesListQuerySchema,
    SeriesSchema,
    SeriesUpdateSchema,
)
from api.idempotency.http import idempotent
from api.web import IF_MATCH_HEADER, clock, db_session, etag, expected_version, page_answer, page_window

blp = Blueprint(
    "groups", __name__, description="Group series: a run of group sessions, its roster and who completed it"
)


@blp.route("/group-series", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(SeriesCreateSchema)
@blp.response(201, SeriesSchema)
def create_series(body: dict[str, Any]) -> Any:
    """Create a group series and its sessions (409 series_name_taken on a name the programme already has)

    A name, a capacity (children on the roster at once, 1 to 30), one to 24 sessions at their planned times (each
    ending after it starts, within 12 hours; no two at the same start), a lead facilitator (a mentor of the
    programme; a mentor creating a series leads it unless they name someone else and co-facilitate) and optionally a
    co-facilitator (another active mentor or a coordinator of the programme). `complete_after_sessions` (K): a child
    who attended at least K of the N sessions completed the series; by default three quarters of N, rounded up (6 of
    8). In one transaction the series and its sessions are made: group sessions, planned, led by the lead
    facilitator, `series_id` set, no one booked yet (children are booked as they join the roster). Coordinators and
    admins of the programme; a mentor of the programme only for a series they facilitate (403
    `not_a_facilitator`). 422 `invalid_series` names the field. Send an `Idempotency-Key`: a retry replays the first
    answer. The answer's ETag goes in If-Match to edit the series. Audited.
    """
    view = service.create_series(db_session(), actor=current_actor(), now=clock().now(), **body)
    return view, etag(view.version)


@blp.route("/group-series", methods=["GET"])
@requires(*CASEWORK)
@blp.arguments(SeriesListQuerySchema, location="query")
@blp.response(200, SeriesBriefSchema(many=True))
@blp.paginate()
def list_series(args: dict[str, Any], pagination_parameters: Any) -> Any:
    """The group series you may read, by name, in brief (counts only, no child named)

    Coordinators and admins: their programme's (filter by `programme_id`); a mentor: the series they facilitate and
    those with a child of their caseload on the roster. A page at a time (`page`, `page_size`; `X-Pagination` gives
    the total). Each with its number of sessions, its first and last planned start and how many children are on its
    roster now; `GET /group-series/{series_id}` gives the sessions and the roster.
    """
    page = reading.list_series(
        db_session(),
        actor=current_actor(),
        programme_id=args.get("programme_id"),
        window=page_window(pagination_parameters),
    )
    return page_answer(pagination_parameters, page)


@blp.route("/group-series/<uuid:series_id>", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, SeriesSchema)
def get_series(series_id: uuid.UUID) -> Any:
    """One group series: its sessions with their registers' counts, and its roster with who completed it

    Each session (planned times, status, the lead facilitator, its ETag for `PUT /sessions/{id}/register`) with how
    many register lines say booked, attended, did not attend and cancelled. The roster: everyone who joined, in order
    of joining (a child who left has `left_at`), by reference, with the enrolment and cohort kind they joined
    through, how many of the series' sessions they attended, whether they started (attended one) and whether they
    completed (attended at least `complete_after_sessions`). Coordinators and admins of the programme, the series'
    facilitators, and a mentor with a child of their caseload on the roster now; anyone else 404 (commissioners read
    the dashboards). Audited, a row per child on the roster.
    """
    view = reading.get_series(db_session(), actor=current_actor(), series_id=series_id, now=clock().now())
    return view, etag(view.version)


@blp.route("/group-series/<uuid:series_id>", methods=["PATCH"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(SeriesUpdateSchema)
@blp.response(200, SeriesSchema)
def update_series(body: dict[str, Any], series_id: uuid.UUID) -> Any:
    """Rename a series, or change its capacity, K or co-facilitator

    Send If-Match with the ETag you last read (412 `stale_version` with `current_version`; 428 without it). The
    capacity never goes below the children on the roster now (409 `capacity_below_roster`, with `capacity` and
    `members`); K must be between 1 and the series' sessions (422 `invalid_series`); a name the programme already
    has answers 409 `series_name_taken`; `co_facilitator_id: null` leaves the lead alone. The version covers these
    fields only: a child joining or leaving does not change it. Coordinators and admins of the programme and the
    series' facilitators (403 `not_a_facilitator`). Audited.
    """
    view = service.update_series(
        db_session(),
        actor=current_actor(),
        series_id=series_id,
        expected_version=expected_version(),
        changes=body,
        now=clock().now(),
    )
    return view, etag(view.version)


@blp.route("/group-series/<uuid:series_id>/members", methods=["POST"])
@requires(*CASEWORK)
@blp.arguments(JoinSchema)
@blp.response(201, SeriesSchema)
def join_series(body: dict[str, Any], series_id: uuid.UUID) -> Any:
    """A child joins the roster, and is booked on every session of the series not yet started

    Through their active enrolment in the series' programme, in a one-to-one cohort or a group-only one (422
    `enrolment_not_active_for_series`, `enrolment_in_another_programme`). With the series locked, a full roster
    answers 409 `series_full` (with `capacity` and `members`), a child already on it 409 `already_on_roster`. The
    child is booked (a register line) on each planned session not yet started, each within their planned support
    (422 `session_outside_enrolment`) and their weekly cap (409 `weekly_session_cap_reached` with the `week`), all
    or nothing; their reminders follow. Coordinators and admins of the programme; a mentor facilitating the series
    for a child of their caseload (403 `not_a_facilitator`; 404 for a child not theirs). The answer is the series.
    Audited.
    """
    view = service.join_series(
        db_session(), actor=current_actor(), series_id=series_id, enrolment_id=body["enrolment_id"], now=clock().now()
    )
    return view, etag(view.version)


@blp.route("/group-series/<uuid:series_id>/members/<uuid:child_id>", methods=["DELETE"])
@requires(*CASEWORK)
@blp.response(204)
def leave_series(series_id: uuid.UUID, child_id: uuid.UUID) -> None:
    """A child leaves the roster: their places at the sessions not yet started are cancelled

    Their register lines at the series' planned sessions not yet started become `cancelled_by_service` (which frees
    the place in their week and cancels their reminders); the lines of sessions already held stay, and so does
    their row on the roster, with `left_at`. A child not on the roster now answers 404 `not_on_roster`. Who: as for
    joining. Audited.
    """
    service.leave_series(db_session(), actor=current_actor(), series_id=series_id, child_id=child_id, now=clock().now())
    return None
