from __future__ import annotations

import uuid
from typing import Any

from flask_smorest import Blueprint

from api.auth import CASEWORK, STAFF, current_actor, requires
from api.enrolments.schemas import EndEnrolmentSchema, EnrolmentSchema, MoveEnrolmentSchema
from api.idempotency.http import idempotent
from api.schedules import service
from api.schedules.schemas import PatternCreateSchema, PatternFields, PatternResultSchema, PatternSchema
from api.web import IF_MATCH_HEADER, clock, db_session, etag, expected_version

blp = Blueprint("schedules", __name__, description="Recurring session patterns")


@blp.route("/enrolments/<uuid:enrolment_id>/patterns", methods=["POST"])
@requires(*CASEWORK)
@idempotent
@blp.arguments(PatternCreateSchema)
@blp.response(201, PatternResultSchema)
def set_pattern(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Set a weekly pattern: plans sessions to the enrolment's planned end, in local wall-clock time

    For an active enrolment: weekly slots (ISO weekday 1 to 7 and a local start time) with one duration, kind and place.
    Planned sessions are generated from `starts_on` (today at the earliest) to the enrolment's planned end, at the same
    wall-clock time in the programme's time zone across the changes between BST and GMT, led by the child's key worker
    (a coordinator can set a pattern only once one is allocated). More slots a week than the cohort's weekly cap is
    refused (409 `pattern_exceeds_weekly_cap`, with `max_sessions` and `slots`); a week other sessions already fill is
    skipped for that occurrence and listed in `weeks_skipped_at_cap`, never overfilled. The kind is `one_to_one` unless
    said; a child whose place is in a group-only cohort has only `group` patterns (422 `group_only_enrolment`). A mentor
    may set patterns only for their own caseload. Send an `Idempotency-Key` so a retry replays the first answer instead
    of planning twice. The answer's ETag goes in If-Match to change or end the pattern. Audited.
    """
    result = service.set_pattern(
        db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now(), **body
    )
    return result, etag(result.version)


@blp.route("/enrolments/<uuid:enrolment_id>/patterns", methods=["GET"])
@requires(*CASEWORK)
@blp.response(200, PatternSchema(many=True))
def list_patterns(enrolment_id: uuid.UUID) -> Any:
    """The enrolment's patterns, oldest first

    Every pattern the enrolment has had, ended ones too (with `ended_at`), with its slots, duration, dates and
    `version`. A mentor may read them only for their own caseload (any other enrolment answers 404).
    """
    return service.list_patterns(db_session(), actor=current_actor(), enrolment_id=enrolment_id, now=clock().now())


@blp.route("/patterns/<uuid:pattern_id>", methods=["PUT"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.arguments(PatternFields)
@blp.response(200, PatternResultSchema)
def change_pattern(body: dict[str, Any], pattern_id: uuid.UUID) -> Any:
    """Change a pattern: only its future, untouched sessions are replaced

    Send If-Match with the pattern's ETag (412 `stale_version` with `current_version` if it changed since; 428
    without it). Its future, untouched sessions (planned, never edited and not yet started) are removed and planned
    again from the new slots, from today; anything logged, moved or edited stays as it is. The answer says how many
    sessions were removed and planned, and which weeks were skipped because the weekly cap was already reached. An
    ended pattern cannot change (409 `pattern_ended`), nor become one-to-one or phone for a child in a group-only
    cohort (422 `group_only_enrolment`). Audited.
    """
    result = service.change_pattern(
        db_session(),
        actor=current_actor(),
        pattern_id=pattern_id,
        expected_version=expected_version(),
        now=clock().now(),
        **body,
    )
    return result, etag(result.version)


@blp.route("/patterns/<uuid:pattern_id>/end", methods=["POST"])
@requires(*CASEWORK)
@blp.doc(parameters=[IF_MATCH_HEADER])
@blp.response(200, PatternResultSchema)
def end_pattern(pattern_id: uuid.UUID) -> Any:
    """End a pattern: its future, untouched sessions are removed; everything else stays

    Send If-Match with the pattern's ETag (412 `stale_version` with `current_version` if it changed since; 428
    without it). The pattern ends now and its future, untouched sessions (planned, never edited and not yet started)
    are removed; sessions logged, moved or edited stay. The answer says how many were removed. A pattern already
    ended answers 409 `pattern_ended`. Audited.
    """
    result = service.end_pattern(
        db_session(),
        actor=current_actor(),
        pattern_id=pattern_id,
        expected_version=expected_version(),
        now=clock().now(),
    )
    return result, etag(result.version)


# Ending or moving an enrolment ends its patterns: the operations are the enrolments', the use cases this domain's.
@blp.route("/enrolments/<uuid:enrolment_id>/end", methods=["POST"], tags=["enrolments"])
@requires(*STAFF)
@blp.arguments(EndEnrolmentSchema)
@blp.response(200, EnrolmentSchema)
def end_enrolment(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """End a child's support with a reason: the place is offered to the next child waiting

    Only an active enrolment can end (409 `enrolment_not_active`). It ends now with the reason and note; the key
    worker allocation and the child's session patterns end with it (their future untouched sessions are removed;
    sessions already logged stay), and the child leaves every group series' roster (their lines at its sessions not
    yet started are cancelled by the service). The place is offered at once to the child at the head of the
    waitlist, in the same transaction. Admins and coordinators of its programme; audited.
    """
    return service.end_enrolment_and_its_patterns(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        reason=body["reason"],
        note=body["note"],
        now=clock().now(),
    )


@blp.route("/enrolments/<uuid:enrolment_id>/move", methods=["POST"], tags=["enrolments"])
@requires(*STAFF)
@blp.arguments(MoveEnrolmentSchema)
@blp.response(201, EnrolmentSchema)
def move_enrolment(body: dict[str, Any], enrolment_id: uuid.UUID) -> Any:
    """Step a child up or down to another cohort, keeping their key worker; all or nothing

    A step up or down between two cohorts of one programme, in one transaction: the active enrolment ends (reason
    `moved_cohort`), a new active one starts in the target cohort with the same priority and key worker, and the
    freed place is offered to the head of the source cohort's waitlist. The target needs a free place (409
    `cohort_full`, with `places` and `places_taken`); the same cohort answers 409 `same_cohort`; a cohort of another
    programme answers 404. Session patterns end with the old enrolment, since the new cohort's weekly cap may
    differ, and so do its places on group series' rosters (put the child back through the new enrolment, which
    checks the new cap). Answers 201 with the new enrolment. Admins and coordinators; audited.
    """
    return service.move_enrolment_ending_its_patterns(
        db_session(),
        actor=current_actor(),
        enrolment_id=enrolment_id,
        to_cohort_id=body["cohort_id"],
        note=body["note"],
        now=clock().now(),
    )
